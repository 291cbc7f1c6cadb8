"""AES-256-GCM with a key ring: round trips, binding to context, tampering, rotation, settings."""

from __future__ import annotations

import base64

import pytest
from pydantic import ValidationError

from infra.crypto import (
    DEV_SECRETS_ENCRYPTION_KEYS,
    NONCE_BYTES,
    DecryptionError,
    Keyring,
    KeyringError,
    generate_key_entry,
    key_id_of,
)
from infra.settings import Settings

OLD, NEW = generate_key_entry("old"), generate_key_entry("new")
CONTEXT = b"storyloom/oauth_accounts/access_token_encrypted/1"
SECRET = b"ya29.a0-provider-access-token"


def test_round_trip_under_the_first_key_with_a_fresh_nonce_each_time() -> None:
    ring = Keyring.parse(f"{NEW},{OLD}")
    first, second = ring.encrypt(SECRET, CONTEXT), ring.encrypt(SECRET, CONTEXT)
    assert ring.current == "new" and key_id_of(first) == "new"
    assert SECRET not in first
    assert first != second, "a nonce must never repeat"
    header = ring.header()
    assert (
        first.startswith(header)
        and first[len(header) : len(header) + NONCE_BYTES]
        != (second[len(header) : len(header) + NONCE_BYTES])
    )
    assert ring.decrypt(first, CONTEXT) == ring.decrypt(second, CONTEXT) == SECRET
    assert ring.decrypt(ring.encrypt(b"", CONTEXT), CONTEXT) == b""


def test_every_configured_key_decrypts_but_only_the_first_encrypts() -> None:
    sealed_by_old = Keyring.parse(OLD).encrypt(SECRET, CONTEXT)
    both = Keyring.parse(f"{NEW},{OLD}")
    assert both.decrypt(sealed_by_old, CONTEXT) == SECRET
    assert not both.is_current(sealed_by_old)
    assert both.is_current(both.encrypt(SECRET, CONTEXT))


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda b: b[:-1] + bytes([b[-1] ^ 1]), id="flipped tag bit"),
        pytest.param(lambda b: b[:10] + bytes([b[10] ^ 0x80]) + b[11:], id="flipped nonce bit"),
        pytest.param(lambda b: b[:-20], id="truncated"),
        pytest.param(lambda b: b[:5], id="header only"),
        pytest.param(lambda b: b"", id="empty"),
        pytest.param(lambda b: bytes([2]) + b[1:], id="unknown format version"),
        pytest.param(lambda b: b.replace(b"new", b"old", 1), id="key id swapped"),
        pytest.param(lambda b: b.replace(b"new", b"zzz", 1), id="unknown key id"),
        pytest.param(lambda b: bytes([1, 0]) + b[2:], id="empty key id"),
    ],
)
def test_tampering_fails_cleanly(damage: object) -> None:
    ring = Keyring.parse(f"{NEW},{OLD}")
    blob = ring.encrypt(SECRET, CONTEXT)
    with pytest.raises(DecryptionError):
        ring.decrypt(damage(blob), CONTEXT)  # type: ignore[operator]


def test_a_blob_is_bound_to_its_row_and_column() -> None:
    ring = Keyring.parse(NEW)
    blob = ring.encrypt(SECRET, CONTEXT)
    for elsewhere in (
        b"storyloom/oauth_accounts/access_token_encrypted/2",
        b"storyloom/oauth_accounts/refresh_token_encrypted/1",
        b"",
    ):
        with pytest.raises(DecryptionError):
            ring.decrypt(blob, elsewhere)


def test_an_unknown_key_fails_cleanly_and_names_the_key() -> None:
    blob = Keyring.parse(OLD).encrypt(SECRET, CONTEXT)
    with pytest.raises(DecryptionError, match="'old'"):
        Keyring.parse(NEW).decrypt(blob, CONTEXT)


@pytest.mark.parametrize(
    "config",
    [
        "",
        " , ",
        "nokey",
        "k1:not base64!",
        "k1:" + base64.b64encode(b"too short").decode(),
        f"{NEW},{NEW}",
        "bad id:" + NEW.split(":", 1)[1],
    ],
)
def test_malformed_key_rings_are_refused(config: str) -> None:
    with pytest.raises(KeyringError):
        Keyring.parse(config)
    with pytest.raises(ValidationError, match="SECRETS_ENCRYPTION_KEYS"):
        Settings(SECRETS_ENCRYPTION_KEYS=config)


def test_urlsafe_keys_and_spaces_are_accepted() -> None:
    key = base64.urlsafe_b64encode(bytes(range(200, 232))).decode()
    ring = Keyring.parse(f" k1 : {key} , {OLD} ")
    assert ring.current == "k1" and ring.key_ids == ["k1", "old"]


def test_production_refuses_the_development_key() -> None:
    production = {"STORYLOOM_ENV": "production", "JWT_SECRET": "x" * 40}
    with pytest.raises(ValidationError, match="SECRETS_ENCRYPTION_KEYS must be set"):
        Settings(**production)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Settings(**production, SECRETS_ENCRYPTION_KEYS=DEV_SECRETS_ENCRYPTION_KEYS)  # type: ignore[arg-type]
    settings = Settings(**production, SECRETS_ENCRYPTION_KEYS=f"{NEW},{OLD}")  # type: ignore[arg-type]
    assert Keyring.parse(settings.secrets_encryption_keys.get_secret_value()).current == "new"
    assert Settings(STORYLOOM_ENV="development").secrets_encryption_keys.get_secret_value() == (
        DEV_SECRETS_ENCRYPTION_KEYS
    )
