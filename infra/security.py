"""Password hashing (Argon2id) and access tokens (JWT with a pinned algorithm).

The argon2 parameters live here and nowhere else. Refresh tokens are opaque random strings,
stored only as SHA-256 digests, so a refresh token can never pass as an access token.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from infra.settings import Settings

# RFC 9106's second recommended option (64 MiB, t=3, p=4) costs ~60 ms here; we use the
# OWASP minimum for Argon2id (19 MiB, t=2, p=1) to keep login latency and memory predictable.
ARGON2_PARAMETERS = {"time_cost": 2, "memory_cost": 19_456, "parallelism": 1}

_password_hash = PasswordHash((Argon2Hasher(**ARGON2_PARAMETERS),))  # type: ignore[arg-type]
# A hash to verify against when the account does not exist, so timing reveals nothing.
_DUMMY_HASH = _password_hash.hash("storyloom-dummy-password")


def hash_password(password: str) -> str:
    return _password_hash.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    if password_hash is None:
        _password_hash.verify(password, _DUMMY_HASH)
        return False
    try:
        return _password_hash.verify(password, password_hash)
    except Exception:  # noqa: BLE001 - a malformed stored hash is a failed login, not a crash
        return False


class InvalidToken(Exception):
    """The token is missing, malformed, expired, forged or of the wrong kind."""


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    role: str
    expires_at: datetime
    issued_at: datetime

    def issued_before(self, moment: datetime | None) -> bool:
        """True when the account ended its sessions after this token was issued."""
        return moment is not None and self.issued_at < moment


def issue_access_token(settings: Settings, user_id: uuid.UUID, role: str) -> tuple[str, int]:
    now = datetime.now(UTC)
    ttl = settings.access_token_ttl_seconds
    claims = {
        "sub": str(user_id),
        "role": role,
        "typ": "access",
        "iss": settings.jwt_issuer,
        # Microseconds kept (a float), so a token issued just after a password reset, in the
        # same second, is not mistaken for one issued before it.
        "iat": now.timestamp(),
        "nbf": now,
        "exp": now + timedelta(seconds=ttl),
        "jti": uuid.uuid4().hex,
    }
    token = jwt.encode(
        claims, settings.jwt_secret.get_secret_value(), algorithm=settings.jwt_algorithm
    )
    return token, ttl


def decode_access_token(settings: Settings, token: str) -> AccessClaims:
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret.get_secret_value(),
            algorithms=[settings.jwt_algorithm],
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "iat", "sub", "iss", "typ"]},
        )
        if claims.get("typ") != "access":
            raise InvalidToken("not an access token")
        return AccessClaims(
            user_id=uuid.UUID(claims["sub"]),
            role=str(claims.get("role", "user")),
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
            issued_at=datetime.fromtimestamp(float(claims["iat"]), UTC),
        )
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise InvalidToken(str(exc)) from exc


class VerifiedTokens:
    """Access tokens already verified, so that a token polled every second is checked once.

    Bounded (the least recently used go first). An entry serves only until the token's own
    expiry, so the cache never lengthens a token's life; only tokens that verified are kept.
    Whether the account is still active, and whether it ended its sessions after the token was
    issued (`AccessClaims.issued_before`), is checked on every request, not here.
    """

    def __init__(self, settings: Settings, size: int = 4096) -> None:
        self._settings = settings
        self._size = size
        self._claims: OrderedDict[str, AccessClaims] = OrderedDict()

    def decode(self, token: str) -> AccessClaims:
        claims = self._claims.get(token)
        if claims is not None and claims.expires_at > datetime.now(UTC):
            self._claims.move_to_end(token)
            return claims
        self._claims.pop(token, None)
        claims = decode_access_token(self._settings, token)
        self._claims[token] = claims
        if len(self._claims) > self._size:
            self._claims.popitem(last=False)
        return claims


def new_mailed_token() -> tuple[str, str]:
    """A random 32-byte token for a mail link, and the SHA-256 digest stored for it."""
    token = secrets.token_urlsafe(32)
    return token, digest_refresh_token(token)


def new_refresh_token() -> tuple[str, str]:
    """A fresh opaque refresh token and the digest stored for it."""
    token = secrets.token_urlsafe(48)
    return token, digest_refresh_token(token)


def digest_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
