"""Secrets at rest: AES-256-GCM under named keys, so keys can be rotated without downtime.

The key ring comes from SECRETS_ENCRYPTION_KEYS, `kid:base64key` entries separated by commas:
the first key encrypts, every key decrypts. A ciphertext is

    version (1 byte) | key id length (1 byte) | key id | nonce (12 random bytes) | AES-GCM output

and its associated data is that header plus a context naming the row and column it belongs to,
so a blob copied to another row, column or key id fails to decrypt instead of leaking.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from infra.logging import get_logger

FORMAT_VERSION = 1
NONCE_BYTES = 12
KEY_BYTES = 32
log = get_logger("infra.crypto")
_KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
# Development and tests only: settings refuse it in production, and using it logs a warning.
DEV_SECRETS_ENCRYPTION_KEYS = (
    "dev:" + base64.b64encode(b"storyloom-dev-key-not-for-prod!!").decode()
)


class KeyringError(ValueError):
    """The configured key ring is malformed: bad entry, duplicate id, wrong key length."""


class DecryptionError(Exception):
    """The blob is malformed, tampered with, bound to other data, or under an unknown key."""


def encode_key(key: bytes) -> str:
    return base64.b64encode(key).decode()


def generate_key_entry(key_id: str | None = None) -> str:
    """A fresh `kid:base64key` entry for SECRETS_ENCRYPTION_KEYS."""
    key_id = key_id or f"k{secrets.token_hex(4)}"
    if not _KEY_ID.match(key_id):
        raise KeyringError(f"key id {key_id!r} must match {_KEY_ID.pattern}")
    return f"{key_id}:{encode_key(AESGCM.generate_key(bit_length=256))}"


def _decode_key(key_id: str, text: str) -> bytes:
    try:
        # Both alphabets, so keys pasted from either kind of tool work.
        key = base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise KeyringError(f"key {key_id!r} is not valid base64") from exc
    if len(key) != KEY_BYTES:
        raise KeyringError(f"key {key_id!r} must be {KEY_BYTES} bytes, not {len(key)}")
    return key


@dataclass(frozen=True)
class Keyring:
    """Named AES-256 keys; `current` encrypts, any of them decrypts."""

    current: str
    keys: dict[str, bytes]

    @classmethod
    def parse(cls, config: str) -> Keyring:
        keys: dict[str, bytes] = {}
        order: list[str] = []
        for entry in (part.strip() for part in config.split(",")):
            if not entry:
                continue
            key_id, sep, text = entry.partition(":")
            key_id = key_id.strip()
            if not sep or not _KEY_ID.match(key_id):
                raise KeyringError(f"entries are kid:base64key, kid matching {_KEY_ID.pattern}")
            if key_id in keys:
                raise KeyringError(f"key id {key_id!r} appears twice")
            keys[key_id] = _decode_key(key_id, text.strip())
            order.append(key_id)
        if not order:
            raise KeyringError("no key configured")
        return cls(current=order[0], keys=keys)

    @property
    def key_ids(self) -> list[str]:
        return list(self.keys)

    def header(self, key_id: str | None = None) -> bytes:
        """The plaintext prefix of every blob under `key_id` (default: the current key)."""
        raw = (key_id or self.current).encode("ascii")
        return bytes((FORMAT_VERSION, len(raw))) + raw

    def encrypt(self, plaintext: bytes, context: bytes) -> bytes:
        header = self.header()
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.keys[self.current]).encrypt(nonce, plaintext, header + context)
        return header + nonce + sealed

    def decrypt(self, blob: bytes, context: bytes) -> bytes:
        key_id, header, nonce, sealed = _split(blob)
        key = self.keys.get(key_id)
        if key is None:
            raise DecryptionError(f"encrypted under key {key_id!r}, which is not configured")
        try:
            return AESGCM(key).decrypt(nonce, sealed, header + context)
        except InvalidTag as exc:
            raise DecryptionError("the ciphertext or its context does not authenticate") from exc

    def is_current(self, blob: bytes) -> bool:
        """Whether `blob` is already under the current key (rotation skips it)."""
        return bytes(blob).startswith(self.header())


def load_keyring(config: str) -> Keyring:
    """The key ring from SECRETS_ENCRYPTION_KEYS, warning when it is the development key."""
    if config == DEV_SECRETS_ENCRYPTION_KEYS:
        log.warning("secrets_dev_key_in_use", hint="set SECRETS_ENCRYPTION_KEYS")
    return Keyring.parse(config)


def key_id_of(blob: bytes) -> str:
    return _split(blob)[0]


def _split(blob: bytes) -> tuple[str, bytes, bytes, bytes]:
    blob = bytes(blob)
    if len(blob) < 2 or blob[0] != FORMAT_VERSION:
        raise DecryptionError("unknown ciphertext format")
    end = 2 + blob[1]
    # 16 bytes of GCM tag at least: a shorter blob cannot be a ciphertext of ours.
    if blob[1] == 0 or len(blob) < end + NONCE_BYTES + 16:
        raise DecryptionError("truncated ciphertext")
    try:
        key_id = blob[2:end].decode("ascii")
    except UnicodeDecodeError as exc:
        raise DecryptionError("malformed key id") from exc
    return key_id, blob[:end], blob[end : end + NONCE_BYTES], blob[end + NONCE_BYTES :]
