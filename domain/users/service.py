"""Accounts and sessions: registration, login, refresh-token rotation, profiles."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import Conflict, Forbidden, NotFound, TooManyRequests, Unauthorized
from domain.users import repository
from domain.users.models import RefreshToken, Role, User
from infra.logging import get_logger
from infra.security import (
    digest_refresh_token,
    hash_password,
    issue_access_token,
    new_refresh_token,
    verify_password,
)
from infra.settings import Settings
from infra.throttle import LoginThrottle

log = get_logger("domain.users")


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    expires_in: int


async def create_user(
    session: AsyncSession, *, email: str, username: str, password: str, role: Role = Role.USER
) -> User:
    """Create an account; email and username are unique, case-insensitively."""
    email, username = email.strip().lower(), username.strip().lower()
    email_taken, username_taken = await repository.exists_with(session, email, username)
    if email_taken or username_taken:
        field = "email" if email_taken else "username"
        raise Conflict(f"That {field} is already registered.", field=field)
    user = User(
        email=email, username=username, password_hash=hash_password(password), role=role.value
    )
    session.add(user)
    await session.flush()
    return user


async def authenticate(session: AsyncSession, login: str, password: str) -> User:
    """The account for these credentials, or Unauthorized; banned accounts cannot sign in."""
    user = await repository.get_by_login(session, login)
    if not verify_password(password, user.password_hash if user else None) or user is None:
        raise Unauthorized("Wrong login or password.")
    if not user.is_active:
        raise Forbidden("This account is suspended.")
    user.last_login_at = datetime.now(UTC)
    return user


async def sign_in(
    session: AsyncSession, throttle: LoginThrottle, login: str, password: str, address: str
) -> User:
    """`authenticate`, refused with 429 while the account or address has too many failures.

    The refusal comes before the password hash is checked, known account or not; a wrong
    password that reaches a limit is answered 429 at once. Only a success gives back the
    failure reserved for the attempt (a suspended account's right password keeps it).
    """
    wait = await throttle.reserve(login, address)
    if wait:
        raise TooManyRequests("Too many failed sign-ins; try again later.", retry_after=wait)
    try:
        user = await authenticate(session, login, password)
    except Unauthorized:
        wait = await throttle.failed(login, address)
        if wait:
            log.warning("sign_in_throttled", address=address)
            raise TooManyRequests(
                "Too many failed sign-ins; try again later.", retry_after=wait
            ) from None
        raise
    await throttle.succeeded(login, address)
    return user


async def start_session(session: AsyncSession, settings: Settings, user: User) -> IssuedTokens:
    """Issue a new token pair in a new refresh-token family."""
    return await _issue(session, settings, user, family_id=uuid.uuid4())


async def _issue(
    session: AsyncSession, settings: Settings, user: User, family_id: uuid.UUID
) -> IssuedTokens:
    access, ttl = issue_access_token(settings, user.id, user.role)
    refresh, digest = new_refresh_token()
    await repository.add_refresh_token(
        session,
        RefreshToken(
            user_id=user.id,
            family_id=family_id,
            token_hash=digest,
            expires_at=datetime.now(UTC) + timedelta(seconds=settings.refresh_token_ttl_seconds),
        ),
    )
    return IssuedTokens(access_token=access, refresh_token=refresh, expires_in=ttl)


class SessionRevoked(Unauthorized):
    """The refresh token's family was revoked just now; the caller must commit that change."""


async def rotate(session: AsyncSession, settings: Settings, token: str) -> IssuedTokens:
    """Exchange a live refresh token for a new pair; replaying a used one kills its family."""
    now = datetime.now(UTC)
    stored = await repository.get_refresh_token_for_update(session, digest_refresh_token(token))
    if stored is None or stored.revoked_at is not None or stored.expires_at <= now:
        raise Unauthorized("The refresh token is not valid.")
    if stored.used_at is not None:
        await repository.revoke_family(session, stored.family_id, now)
        log.warning("refresh_token_replayed", user_id=str(stored.user_id))
        raise SessionRevoked("The refresh token was already used; the session is revoked.")
    user = await repository.get(session, stored.user_id)
    if user is None or not user.is_active:
        await repository.revoke_family(session, stored.family_id, now)
        raise SessionRevoked("The account cannot sign in.")
    stored.used_at = now
    return await _issue(session, settings, user, family_id=stored.family_id)


async def logout(session: AsyncSession, token: str) -> None:
    """Revoke the refresh token's whole family; unknown tokens are ignored (idempotent)."""
    stored = await repository.get_refresh_token_for_update(session, digest_refresh_token(token))
    if stored is not None:
        await repository.revoke_family(session, stored.family_id, datetime.now(UTC))


async def get_public(session: AsyncSession, username: str) -> User:
    user = await repository.get_by_username(session, username)
    if user is None or not user.is_active:
        raise NotFound("No such user.")
    return user


PROFILE_FIELDS = frozenset({"display_name", "avatar_url", "bio"})


async def update_profile(
    session: AsyncSession, user_id: uuid.UUID, changes: dict[str, object]
) -> User:
    """Apply profile changes; only display name, avatar and bio can change here."""
    user = await repository.get(session, user_id)
    if user is None:
        raise NotFound("No such user.")
    for field, value in changes.items():
        if field in PROFILE_FIELDS:
            setattr(user, field, value)
    await session.flush()
    await session.refresh(user)
    return user


async def set_role(session: AsyncSession, login: str, role: Role) -> User:
    """Give the account with this email or username another role (the operator's command)."""
    user = await repository.get_by_login(session, login)
    if user is None:
        raise NotFound(f"No user with email or username {login!r}.")
    user.role = role.value
    return user


async def ban(session: AsyncSession, user: User) -> None:
    """Deactivate an account and end all its sessions."""
    user.is_active = False
    await repository.revoke_all_for_user(session, user.id, datetime.now(UTC))


async def ensure_admin(session: AsyncSession, email: str, password: str, username: str) -> User:
    """Create the bootstrap admin, or promote and re-activate the account with that email.

    A username already held by another account (say the admin email changed) gets a numbered
    suffix instead: start-up must never fail because of data already in the database. Two
    processes starting at once take turns (a transaction-scoped lock): the second finds the
    first's admin instead of failing on its unique email.
    """
    await repository.lock_admin_bootstrap(session)
    existing = await repository.get_by_email(session, email.strip().lower())
    if existing is not None:
        existing.role = Role.ADMIN.value
        existing.is_active = True
        return existing
    free = await _free_username(session, username.strip().lower())
    if free != username.strip().lower():
        log.warning("admin_username_taken", wanted=username, using=free)
    return await create_user(
        session, email=email, username=free, password=password, role=Role.ADMIN
    )


async def _free_username(session: AsyncSession, wanted: str) -> str:
    """`wanted`, or `wanted_2`, `wanted_3`... (cut to 32 characters) when that one is taken."""
    candidate, n = wanted, 1
    while await repository.get_by_username(session, candidate) is not None:
        n += 1
        suffix = f"_{n}"
        candidate = wanted[: 32 - len(suffix)] + suffix
    return candidate
