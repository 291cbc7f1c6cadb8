"""Accounts signed in through an external OpenID provider: found, linked or created.

An identity already linked (provider, subject) signs in its account. Otherwise the provider's
email decides: an account with that address is linked only when the provider says the address
is verified (else anyone who can make an account there with a victim's address would take over
the victim's account here); no account with it, one is created, without a password.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import Conflict, Forbidden, InvalidInput
from domain.users import oauth, repository
from domain.users.models import Role, User
from infra.crypto import Keyring
from infra.logging import get_logger

log = get_logger("domain.users.external")
NOT_ALNUM = re.compile(r"[^a-z0-9_]+")


async def sign_in(
    session: AsyncSession,
    keyring: Keyring,
    provider: str,
    claims: dict[str, Any],
    tokens: dict[str, Any],
) -> User:
    """The account for these verified ID-token claims; its provider tokens stored encrypted."""
    subject = str(claims["sub"])
    linked = await oauth.get_by_provider(session, provider, subject)
    if linked is not None:
        user = await repository.get(session, linked.user_id)
    else:
        user = await _by_email_or_new(session, provider, claims)
    if user is None or user.deleted_at is not None:
        raise Forbidden("This account no longer exists.")
    if not user.is_active:
        raise Forbidden("This account is suspended.")
    expires_in = tokens.get("expires_in")
    await oauth.link_account(
        session,
        keyring,
        user_id=user.id,
        provider=provider,
        provider_account_id=subject,
        access_token=tokens.get("access_token"),
        refresh_token=tokens.get("refresh_token"),
        expires_at=(
            datetime.now(UTC) + timedelta(seconds=int(expires_in))
            if isinstance(expires_in, int | float)
            else None
        ),
    )
    user.last_login_at = datetime.now(UTC)
    return user


async def _by_email_or_new(session: AsyncSession, provider: str, claims: dict[str, Any]) -> User:
    email = _email_of(claims)
    verified = claims.get("email_verified") is True
    existing = await repository.get_by_email(session, email)
    if existing is not None:
        if not verified:
            raise Conflict(
                "An account with this email exists; the provider has not verified the address, "
                "so it cannot be linked. Sign in with your password and link it from there.",
            )
        log.info("external_identity_linked", provider=provider, user_id=str(existing.id))
        existing.email_verified = True
        return existing
    username = await _free_username(session, claims, email)
    user = User(
        email=email,
        username=username,
        password_hash=None,
        role=Role.USER.value,
        email_verified=verified,
        display_name=_display_name(claims),
    )
    session.add(user)
    await session.flush()
    log.info("external_account_created", provider=provider, user_id=str(user.id))
    return user


def _email_of(claims: dict[str, Any]) -> str:
    raw = claims.get("email")
    if not isinstance(raw, str):
        raise InvalidInput("The provider shared no email address; allow it and try again.")
    try:
        return validate_email(raw, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise InvalidInput("The provider's email address is not valid.") from None


def _display_name(claims: dict[str, Any]) -> str | None:
    name = claims.get("name")
    return name.strip()[:100] or None if isinstance(name, str) else None


async def _free_username(session: AsyncSession, claims: dict[str, Any], email: str) -> str:
    """The provider's preferred username (or the address's local part), made ours and free."""
    wanted = claims.get("preferred_username")
    base = NOT_ALNUM.sub("_", str(wanted or email.partition("@")[0]).lower()).strip("_")[:24]
    base = base if len(base) >= 3 else f"user_{base}".strip("_")
    candidate = base
    while await repository.get_by_username(session, candidate) is not None:
        candidate = f"{base}_{secrets.token_hex(3)}"
    return candidate
