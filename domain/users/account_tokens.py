"""Email verification and password reset: single-use, expiring tokens sent by mail.

A token is 32 random bytes (URL-safe base64) mailed to the account's address; only its SHA-256
digest is stored, so a leaked table cannot be turned into working links. Redeeming marks it
used in the same transaction that applies its effect, under a row lock, so it works once.
"""

from __future__ import annotations

import hmac
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import Conflict, InvalidInput, NotFound, TooManyRequests
from domain.users import mails, repository
from domain.users.models import AccountToken, TokenPurpose, User
from infra.logging import get_logger
from infra.mail import Mail, enqueue_mail
from infra.queue import PendingJob, enqueue_after_commit
from infra.security import digest_refresh_token, hash_password, new_mailed_token
from infra.settings import Settings
from infra.throttle import LoginThrottle, normalize_login

log = get_logger("domain.users.tokens")
# The queue job that looks the address up, issues the token and mails it (worker/jobs.py).
SEND_PASSWORD_RESET = "send_password_reset"
BAD_TOKEN = "The link is invalid, already used or expired; ask for a new one."


async def issue(
    session: AsyncSession, settings: Settings, user: User, purpose: TokenPurpose
) -> str:
    """A new token for `user`, stored as its digest; returns the token itself, for the mail."""
    ttl = (
        settings.verify_email_token_ttl_seconds
        if purpose is TokenPurpose.VERIFY_EMAIL
        else settings.password_reset_token_ttl_seconds
    )
    token, digest = new_mailed_token()
    await repository.add_account_token(
        session,
        AccountToken(
            user_id=user.id,
            purpose=purpose.value,
            token_hash=digest,
            email=user.email,
            expires_at=datetime.now(UTC) + timedelta(seconds=ttl),
        ),
    )
    return token


async def redeem(session: AsyncSession, token: str, purpose: TokenPurpose) -> User:
    """The account the token was issued to, the token now used; else 422 and nothing changes."""
    digest = digest_refresh_token(token)
    stored = await repository.get_account_token_for_update(session, digest)
    now = datetime.now(UTC)
    # The lookup is by digest; the comparison is constant-time all the same, so no code path
    # ever compares secret material byte by byte.
    valid = (
        stored is not None
        and hmac.compare_digest(stored.token_hash, digest)
        and stored.purpose == purpose.value
        and stored.used_at is None
        and stored.expires_at > now
    )
    user = await repository.get(session, stored.user_id) if valid and stored else None
    # A token proves the address it was mailed to, not one the account has since.
    if stored is None or user is None or user.deleted_at is not None or user.email != stored.email:
        raise InvalidInput(BAD_TOKEN, errors=[{"pointer": "/token", "message": BAD_TOKEN}])
    await repository.spend_account_tokens(session, user.id, purpose.value, now)
    return user


async def reserve_attempt(throttle: LoginThrottle, email: str, address: str) -> None:
    """One more mail asked for this address and client, or 429 when either is at its limit."""
    wait = await throttle.reserve(email, address)
    if wait:
        raise TooManyRequests("Too many requests for this address; try again later.", wait)


async def request_password_reset(
    session: AsyncSession, throttle: LoginThrottle, email: str, address: str
) -> None:
    """Count the request, then queue the worker's lookup: the same work for any address.

    Whether an account has the address is decided in the worker (`mail_for_reset`), so neither
    the answer nor its timing here tells.
    """
    email = normalize_login(email)
    await reserve_attempt(throttle, email, address)
    enqueue_after_commit(session, PendingJob(SEND_PASSWORD_RESET, kwargs={"email": email}))


async def mail_for_reset(session: AsyncSession, settings: Settings, email: str) -> Mail | None:
    """The reset mail for the account with this address (a token issued), or None.

    Runs in the worker, never in the request: the request does the same work whether or not
    the address is known (see api.routes.auth.request_password_reset).
    """
    user = await repository.get_by_email(session, email)
    if user is None or user.deleted_at is not None:
        return None
    token = await issue(session, settings, user, TokenPurpose.PASSWORD_RESET)
    return mails.password_reset(settings, user.email, user.username, token)


async def reset_password(session: AsyncSession, token: str, password: str) -> User:
    """Set a new password and end every session: refresh families revoked, access tokens
    issued before now refused."""
    user = await redeem(session, token, TokenPurpose.PASSWORD_RESET)
    now = datetime.now(UTC)
    user.password_hash = hash_password(password)
    user.tokens_valid_after = now
    # The mail reached the address: that proves it as well as a verification link would.
    user.email_verified = True
    await repository.revoke_all_for_user(session, user.id, now)
    log.info("password_reset", user_id=str(user.id))
    return user


async def send_verification(
    session: AsyncSession,
    settings: Settings,
    throttle: LoginThrottle,
    user_id: uuid.UUID,
    address: str,
) -> User:
    """Mail the account a verification link (after commit); 409 when already verified."""
    user = await repository.get(session, user_id)
    if user is None or user.deleted_at is not None:
        raise NotFound("No such user.")
    if user.email_verified:
        raise Conflict("This email address is already verified.")
    await reserve_attempt(throttle, f"verify:{user.email}", address)
    await mail_verification_link(session, settings, user)
    return user


async def mail_verification_link(session: AsyncSession, settings: Settings, user: User) -> None:
    """Issue a verification token and mail its link once the transaction commits."""
    token = await issue(session, settings, user, TokenPurpose.VERIFY_EMAIL)
    enqueue_mail(session, mails.verify_email(settings, user.email, user.username, token))


async def verify_email(session: AsyncSession, token: str) -> User:
    user = await redeem(session, token, TokenPurpose.VERIFY_EMAIL)
    user.email_verified = True
    return user
