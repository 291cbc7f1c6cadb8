"""Accounts signed in through an external OpenID provider: found, linked or created.

An identity already linked (provider, subject) signs in its account. Otherwise the provider's
email decides: an account with that address is linked only when the provider says the address
is verified (else anyone who can make an account there with a victim's address would take over
the victim's account here); no account with it, one is created, without a password. An account
linked so whose own address was never verified loses its password and sessions: whoever made it
need not have owned the address (else they could register a victim's address here first and keep
a way in after the victim signs in with the provider).
"""

from __future__ import annotations

import hmac
import re
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import BadGateway, Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from domain.users import oauth, repository, service
from domain.users.models import Role, User
from infra.crypto import Keyring
from infra.logging import get_logger
from infra.oidc import FlowStore, OIDCClient, OIDCError, OIDCRegistry
from infra.settings import Settings

log = get_logger("domain.users.external")
NOT_ALNUM = re.compile(r"[^a-z0-9_]+")


def _provider(oidc: OIDCRegistry, name: str) -> OIDCClient:
    client = oidc.client(name)
    if client is None:
        raise NotFound("No such sign-in provider.")
    return client


async def begin(oidc: OIDCRegistry, flows: FlowStore, provider: str) -> tuple[str, str]:
    """A new flow with this provider: its authorization URL, and the state the browser keeps."""
    client = _provider(oidc, provider)
    state, flow = await flows.start(provider)
    try:
        return await client.authorization_url(state, flow), state
    except OIDCError as exc:
        log.warning("oidc_provider_unavailable", provider=provider, error=str(exc))
        raise BadGateway("The sign-in provider is unavailable; try again later.") from None


async def finish(
    session: AsyncSession,
    keyring: Keyring,
    oidc: OIDCRegistry,
    flows: FlowStore,
    provider: str,
    *,
    code: str | None,
    state: str | None,
    browser_state: str | None,
    error: str | None,
) -> str:
    """Check the provider's answer (state against the browser's, PKCE through the exchange,
    the ID token), sign the account in; returns a one-time login code for `exchange_code`."""
    client = _provider(oidc, provider)
    if error is not None:
        raise Unauthorized("The provider did not sign you in.")
    if not (state and browser_state and hmac.compare_digest(state, browser_state)):
        raise Unauthorized("This sign-in was not started in this browser; start again.")
    flow = await flows.finish(state)
    if flow is None or flow.provider != provider or not code:
        raise Unauthorized("This sign-in expired or was already used; start again.")
    try:
        tokens = await client.exchange(code, flow)
        claims = await client.verify_id_token(tokens["id_token"], flow.nonce)
    except OIDCError as exc:
        log.warning("oidc_sign_in_refused", provider=provider, error=str(exc))
        raise Unauthorized("The provider's answer could not be verified; start again.") from None
    user = await sign_in(session, keyring, provider, claims, tokens)
    # Redeemed after this request committed; if the commit failed, the code names an account
    # that does not exist and the exchange answers 401.
    return await flows.new_login_code(str(user.id))


async def exchange_code(
    session: AsyncSession, settings: Settings, flows: FlowStore, code: str
) -> service.IssuedTokens:
    """Our token pair for a one-time login code (it works once, for a minute)."""
    user_id = await flows.redeem_login_code(code)
    user = await repository.get(session, uuid.UUID(user_id)) if user_id else None
    if user is None or user.deleted_at is not None:
        raise Unauthorized("The sign-in code is invalid, used or expired.")
    if not user.is_active:
        raise Forbidden("This account is suspended.")
    return await service.start_session(session, settings, user)


async def sign_in(
    session: AsyncSession,
    keyring: Keyring,
    provider: str,
    claims: dict[str, Any],
    tokens: dict[str, Any],
) -> User:
    """The account for these verified ID-token claims; its provider tokens stored encrypted."""
    subject = str(claims["sub"])
    linked = await repository.get_oauth_account_by_provider(session, provider, subject)
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
                "An account with this email exists and the provider has not verified the "
                "address, so it cannot be linked; sign in with your password instead."
            )
        if not existing.email_verified:
            await _end_pre_registration(session, existing)
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


async def _end_pre_registration(session: AsyncSession, user: User) -> None:
    """An account whose address was never proven may have been made by someone else, waiting
    for the address's owner to sign in here (pre-registration): its password and sessions
    end, so the account is the owner's alone from now on."""
    now = datetime.now(UTC)
    user.password_hash = None
    user.tokens_valid_after = now
    await repository.revoke_all_for_user(session, user.id, now)
    log.info("unverified_account_claimed", user_id=str(user.id))


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
