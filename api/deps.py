"""FastAPI dependencies that read like English in a signature."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from api import consistency
from domain.errors import Forbidden, Unauthorized
from domain.operations.metered import Ledger, LedgeredChecker
from domain.users import repository as users
from domain.users.models import Role, User
from infra import queue
from infra.crypto import Keyring, load_keyring
from infra.db import Database, wrote
from infra.logging import get_logger
from infra.media_urls import MediaUrls
from infra.oidc import FLOW_SECONDS, PROVIDER_NAME, FlowStore, OIDCRegistry
from infra.providers import registry
from infra.providers.moderation import ContentChecker
from infra.replicas import ALWAYS_PRIMARY
from infra.security import AccessClaims, InvalidToken, VerifiedTokens
from infra.settings import Settings
from infra.throttle import LoginThrottle, ThrottlePolicy

log = get_logger("api.deps")

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/v1/auth/token", auto_error=False)

# Dependencies are `async def` even when they do not await: FastAPI runs a plain `def`
# dependency in a worker thread, a thread hop per request for reading an attribute.


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def media_urls_of(request: Request) -> MediaUrls:
    """The app's MediaUrls, read directly by hot routes that skip the dependency machinery."""
    urls: MediaUrls = request.app.state.media_urls
    return urls


async def get_media_urls(request: Request) -> MediaUrls:
    return media_urls_of(request)


async def get_content_checker(request: Request) -> ContentChecker:
    """The app's content checker, built once from settings unless the app was given one.

    OpenAI's moderation when a key is set; during its outage, the local term list answers.
    """
    checker = getattr(request.app.state, "content_checker", None)
    if checker is None:
        settings = request.app.state.settings
        checker = registry.content_checker(settings, on_error="local")
        if registry.uses_openai(settings):  # a remote call: in the provider ledger
            checker = LedgeredChecker(checker, Ledger(request.app.state.db))
        request.app.state.content_checker = checker
    return checker


async def get_login_throttle(request: Request) -> LoginThrottle:
    """Failed sign-in counters on the queue's Redis, namespaced by the queue name."""
    throttle = getattr(request.app.state, "login_throttle", None)
    if throttle is None:
        settings: Settings = request.app.state.settings
        policy = ThrottlePolicy(
            account_limit=settings.login_failures_per_account,
            address_limit=settings.login_failures_per_address,
            window_seconds=settings.login_failure_window_seconds,
        )
        throttle = LoginThrottle(request.app.state.queue, settings.queue_name, policy)
        request.app.state.login_throttle = throttle
    return throttle


async def get_password_reset_throttle(request: Request) -> LoginThrottle:
    """Reset mails asked for, per address asked about and per client (no reservation returns)."""
    throttle = getattr(request.app.state, "password_reset_throttle", None)
    if throttle is None:
        settings: Settings = request.app.state.settings
        policy = ThrottlePolicy(
            account_limit=settings.password_resets_per_account,
            address_limit=settings.password_resets_per_address,
            window_seconds=settings.password_reset_window_seconds,
        )
        throttle = LoginThrottle(
            request.app.state.queue, settings.queue_name, policy, kind="password-resets"
        )
        request.app.state.password_reset_throttle = throttle
    return throttle


async def get_oidc(request: Request) -> OIDCRegistry:
    """The configured OpenID providers (OIDC_PROVIDERS), built once per app."""
    registry_ = getattr(request.app.state, "oidc", None)
    if registry_ is None:
        registry_ = OIDCRegistry(request.app.state.settings)
        request.app.state.oidc = registry_
    return registry_


async def get_oidc_flows(request: Request) -> FlowStore:
    settings: Settings = request.app.state.settings
    return FlowStore(request.app.state.queue, settings.queue_name)


async def get_keyring(request: Request) -> Keyring:
    """SECRETS_ENCRYPTION_KEYS, parsed once: it seals provider tokens (domain.users.oauth)."""
    keyring = getattr(request.app.state, "keyring", None)
    if keyring is None:
        settings: Settings = request.app.state.settings
        keyring = load_keyring(settings.secrets_encryption_keys.get_secret_value())
        request.app.state.keyring = keyring
    return keyring


async def client_address(request: Request) -> str:
    """The peer address (behind a proxy, uvicorn's --forwarded-allow-ips sets it)."""
    return request.client.host if request.client else "unknown"


async def unit_of_work(request: Request) -> AsyncIterator[AsyncSession]:
    """A primary session whose transaction commits when the handler returns without error.

    Jobs enqueued during the request are pushed only after the commit succeeded; a commit
    that changed something hands out a consistency token (see api.consistency).
    """
    db: Database = request.app.state.db
    async with db.session() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            queue.drop_pending(session)
            await session.rollback()
            raise
        if db.has_replicas and wrote(session):
            await consistency.remember_write(request, db)
        pending = queue.take_pending(session)
        if pending:
            try:
                await queue.push(request.app.state.queue, pending)
            except Exception as exc:  # noqa: BLE001 - the rows are committed: recovery enqueues them
                log.warning("enqueue_left_to_recovery", jobs=len(pending), error=repr(exc))


@asynccontextmanager
async def reading(request: Request) -> AsyncIterator[AsyncSession]:
    """A session for reads: a replica that has replayed the caller's writes, else the primary.

    The caller's writes are the consistency token presented, and (signed in) the last write
    position kept for them; a replica that fails mid-read is retried on the primary.
    """
    db: Database = request.app.state.db
    after = await consistency.required_lsn(request, db)
    async with db.reading(after) as session:
        yield session


async def read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """`reading` as a dependency (ReadSessionDep)."""
    async with reading(request) as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
MediaUrlsDep = Annotated[MediaUrls, Depends(get_media_urls)]
ContentCheckerDep = Annotated[ContentChecker, Depends(get_content_checker)]
LoginThrottleDep = Annotated[LoginThrottle, Depends(get_login_throttle)]
ResetThrottleDep = Annotated[LoginThrottle, Depends(get_password_reset_throttle)]
ClientAddressDep = Annotated[str, Depends(client_address)]
OIDCDep = Annotated[OIDCRegistry, Depends(get_oidc)]
OIDCFlowsDep = Annotated[FlowStore, Depends(get_oidc_flows)]
# A configured OpenID provider's name, as a path parameter.
OIDCProviderName = Annotated[str, Path(pattern=PROVIDER_NAME.pattern, max_length=32)]
# How long a started OpenID sign-in may take (its state cookie lives as long).
OIDC_FLOW_SECONDS = FLOW_SECONDS
KeyringDep = Annotated[Keyring, Depends(get_keyring)]
SessionDep = Annotated[AsyncSession, Depends(unit_of_work, scope="function")]
ReadSessionDep = Annotated[AsyncSession, Depends(read_session, scope="function")]


def verified_claims(request: Request, token: str) -> AccessClaims:
    """The token's claims, verified (or found verified earlier by this process)."""
    tokens: VerifiedTokens = request.app.state.access_tokens
    return tokens.decode(token)


async def access_claims(
    request: Request, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> AccessClaims:
    """The verified token alone, for hot reads that check the account in their own query."""
    if not token:
        raise Unauthorized("Sign in to do this.")
    try:
        return verified_claims(request, token)
    except InvalidToken as exc:
        raise Unauthorized("The access token is invalid or expired.") from exc


ClaimsDep = Annotated[AccessClaims, Depends(access_claims)]
# The verified token's claims, for fast-path handlers that read them without the dependency.
Claims = AccessClaims


async def _user_from_token(request: Request, token: str | None) -> User | None:
    if not token:
        return None
    try:
        claims = verified_claims(request, token)
    except InvalidToken as exc:
        raise Unauthorized("The access token is invalid or expired.") from exc
    db: Database = request.app.state.db
    # The primary (a ban or a sign-out everywhere counts at once), in autocommit: one round
    # trip, where a session's transaction would add a BEGIN and a ROLLBACK around it.
    async with db.reading(ALWAYS_PRIMARY) as session:
        user = await users.get(session, claims.user_id)
    if user is None or user.deleted_at is not None:
        raise Unauthorized("The access token's account no longer exists.")
    if claims.issued_before(user.tokens_valid_after):
        raise Unauthorized("The access token was issued before the account's sessions ended.")
    return user


async def optional_user(
    request: Request,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> User | None:
    """The caller when a valid token is presented; banned accounts browse as strangers."""
    user = await _user_from_token(request, token)
    return user if user is not None and user.is_active else None


async def current_user(
    request: Request,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> User:
    """The authenticated, active caller."""
    user = await _user_from_token(request, token)
    if user is None:
        raise Unauthorized("Sign in to do this.")
    if not user.is_active:
        raise Forbidden("This account is suspended.")
    return user


def require_role(role: Role):  # noqa: ANN201 - a dependency factory
    async def dependency(user: Annotated[User, Depends(current_user)]) -> User:
        if Role(user.role).rank < role.rank:
            raise Forbidden(f"This needs the {role.value} role.")
        return user

    return dependency


OptionalUser = Annotated[User | None, Depends(optional_user)]
CurrentUser = Annotated[User, Depends(current_user)]
ModeratorUser = Annotated[User, Depends(require_role(Role.MODERATOR))]
AdminUser = Annotated[User, Depends(require_role(Role.ADMIN))]
