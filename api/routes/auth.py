"""Sign-up, sign-in and refresh-token rotation."""

from __future__ import annotations

import hmac
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Cookie, Depends, Path, Query, Response, status
from fastapi.responses import RedirectResponse
from fastapi.security import OAuth2PasswordRequestForm

from api.deps import (
    ClientAddressDep,
    CurrentUser,
    KeyringDep,
    LoginThrottleDep,
    OIDCDep,
    OIDCFlowsDep,
    ResetThrottleDep,
    SessionDep,
    SettingsDep,
)
from domain.errors import BadGateway, Forbidden, NotFound, Unauthorized
from domain.users import account_tokens, external_sign_in, repository, service
from infra.logging import get_logger
from infra.oidc import FLOW_SECONDS, PROVIDER_NAME, OIDCClient, OIDCError, OIDCRegistry
from infra.queue import PendingJob, enqueue_after_commit
from infra.throttle import normalize_login
from schemas.common import Problem
from schemas.users import (
    LoginCodeIn,
    LoginIn,
    MailAccepted,
    Me,
    PasswordResetConfirmIn,
    PasswordResetIn,
    RefreshIn,
    RegisterIn,
    TokenPair,
    VerifyEmailConfirmIn,
)

router = APIRouter(prefix="/v1/auth", tags=["auth"])
log = get_logger("api.auth")
PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem},
    403: {"model": Problem},
    422: {"model": Problem},
}
SIGN_IN_PROBLEMS: dict[int | str, dict[str, Any]] = {
    **PROBLEMS,
    429: {
        "model": Problem,
        "description": "Too many failed sign-ins for this account or address",
        "headers": {
            "Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}
        },
    },
}


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=Me,
    responses={409: {"model": Problem}, 422: {"model": Problem}},
)
async def register(body: RegisterIn, session: SessionDep, response: Response) -> Me:
    """Create an account with the `user` role."""
    user = await service.create_user(
        session, email=body.email, username=body.username, password=body.password
    )
    response.headers["Location"] = f"/v1/users/{user.username}"
    return Me.model_validate(user)


@router.post("/login", response_model=TokenPair, responses=SIGN_IN_PROBLEMS)
async def login(
    body: LoginIn,
    session: SessionDep,
    settings: SettingsDep,
    throttle: LoginThrottleDep,
    address: ClientAddressDep,
) -> TokenPair:
    """Sign in with email or username; returns an access and a refresh token."""
    user = await service.sign_in(session, throttle, body.login, body.password, address)
    tokens = await service.start_session(session, settings, user)
    return TokenPair.model_validate(tokens)


@router.post("/token", response_model=TokenPair, responses=SIGN_IN_PROBLEMS)
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
    throttle: LoginThrottleDep,
    address: ClientAddressDep,
) -> TokenPair:
    """The OAuth2 password flow, for the docs' Authorize button."""
    user = await service.sign_in(session, throttle, form.username, form.password, address)
    tokens = await service.start_session(session, settings, user)
    return TokenPair.model_validate(tokens)


@router.post("/refresh", response_model=TokenPair, responses=PROBLEMS)
async def refresh(body: RefreshIn, session: SessionDep, settings: SettingsDep) -> TokenPair:
    """Rotate: a new pair for a live refresh token; a replayed one revokes its family."""
    try:
        tokens = await service.rotate(session, settings, body.refresh_token)
    except service.SessionRevoked:
        await session.commit()  # the revocation must outlive the 401
        raise
    return TokenPair.model_validate(tokens)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=PROBLEMS)
async def logout(body: RefreshIn, session: SessionDep) -> Response:
    """End the session that this refresh token belongs to."""
    await service.logout(session, body.refresh_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


RESET_PROBLEMS: dict[int | str, dict[str, Any]] = {
    422: {"model": Problem},
    429: {
        "model": Problem,
        "description": "Too many reset mails asked for this address, or from this client",
        "headers": {
            "Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}
        },
    },
}
RESET_ACCEPTED = "If an account has this address, a mail with a reset link is on its way."


@router.post(
    "/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=MailAccepted,
    responses=RESET_PROBLEMS,
)
async def request_password_reset(
    body: PasswordResetIn,
    session: SessionDep,
    throttle: ResetThrottleDep,
    address: ClientAddressDep,
) -> MailAccepted:
    """Mail a single-use reset link to the account with this address, if there is one.

    The answer, and the work done before it, are the same whether or not the address is
    known: the worker looks the account up, so nothing here takes longer for a real one.
    """
    email = normalize_login(body.email)
    await account_tokens.reserve_attempt(throttle, email, address)
    job = PendingJob(account_tokens.SEND_PASSWORD_RESET, kwargs={"email": email})
    enqueue_after_commit(session, job)
    return MailAccepted(detail=RESET_ACCEPTED)


@router.post(
    "/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={422: {"model": Problem}},
)
async def confirm_password_reset(body: PasswordResetConfirmIn, session: SessionDep) -> Response:
    """Set a new password with the mailed token; every session of the account ends.

    The mail links to the web app's `/reset-password?token=...`, whose form posts here."""
    await account_tokens.reset_password(session, body.token, body.password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/verify-email",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=MailAccepted,
    responses={s: {"model": Problem} for s in (401, 403, 409, 429)},
)
async def request_email_verification(
    caller: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    throttle: ResetThrottleDep,
    address: ClientAddressDep,
) -> MailAccepted:
    """Mail the caller a single-use link that confirms their address; 409 when already done."""
    user = await repository.get(session, caller.id)
    if user is None:
        raise NotFound("No such user.")
    await account_tokens.reserve_attempt(throttle, f"verify:{user.email}", address)
    await account_tokens.send_verification(session, settings, user)
    return MailAccepted(detail=f"A confirmation link is on its way to {user.email}.")


@router.post(
    "/verify-email/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={422: {"model": Problem}},
)
async def confirm_email(body: VerifyEmailConfirmIn, session: SessionDep) -> Response:
    """Mark the address verified with the mailed token (it works once).

    The mail links to the web app's `/verify-email?token=...`, which posts the token here."""
    await account_tokens.verify_email(session, body.token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# OpenID Connect sign-in. The browser goes to `login`, the provider sends it back to `callback`,
# which redirects it to the web app's `/login/callback#code=<one-time code>`; the app posts
# that code to `oidc/exchange` for our token pair. The pair never rides in a URL, and the code
# works once, for a minute.
OIDC_STATE_COOKIE = "storyloom_oidc_state"
ProviderName = Annotated[str, Path(pattern=PROVIDER_NAME.pattern, max_length=32)]
REDIRECT = {"description": "Redirect to the provider (login) or to the web app (callback)"}


def _provider(oidc: OIDCRegistry, name: str) -> OIDCClient:
    client = oidc.client(name)
    if client is None:
        raise NotFound("No such sign-in provider.")
    return client


@router.get(
    "/oidc/{provider}/login",
    status_code=status.HTTP_302_FOUND,
    response_class=RedirectResponse,
    responses={302: REDIRECT, **{s: {"model": Problem} for s in (404, 422, 502)}},
)
async def oidc_login(
    provider: ProviderName, oidc: OIDCDep, flows: OIDCFlowsDep, settings: SettingsDep
) -> RedirectResponse:
    """Start signing in with an external OpenID provider: a redirect to it (state, nonce and
    an S256 PKCE challenge); a cookie ties the flow to this browser."""
    client = _provider(oidc, provider)
    state, flow = await flows.start(provider)
    try:
        url = await client.authorization_url(state, flow)
    except OIDCError as exc:
        log.warning("oidc_provider_unavailable", provider=provider, error=str(exc))
        raise BadGateway("The sign-in provider is unavailable; try again later.") from None
    response = RedirectResponse(url, status_code=status.HTTP_302_FOUND)
    response.set_cookie(
        OIDC_STATE_COOKIE,
        state,
        max_age=FLOW_SECONDS,
        path=f"/v1/auth/oidc/{provider}/callback",
        httponly=True,
        secure=settings.links_base_url.startswith("https://"),
        samesite="lax",  # sent on the provider's top-level redirect back to us
    )
    return response


@router.get(
    "/oidc/{provider}/callback",
    status_code=status.HTTP_302_FOUND,
    response_class=RedirectResponse,
    responses={302: REDIRECT, **{s: {"model": Problem} for s in (401, 403, 404, 409, 422, 502)}},
)
async def oidc_callback(
    provider: ProviderName,
    oidc: OIDCDep,
    flows: OIDCFlowsDep,
    session: SessionDep,
    settings: SettingsDep,
    keyring: KeyringDep,
    code: Annotated[str | None, Query(max_length=2048)] = None,
    state: Annotated[str | None, Query(max_length=256)] = None,
    error: Annotated[str | None, Query(max_length=256)] = None,
    cookie_state: Annotated[str | None, Cookie(alias=OIDC_STATE_COOKIE, max_length=256)] = None,
) -> RedirectResponse:
    """Where the provider sends the browser back: state, PKCE and the ID token (signature,
    issuer, audience, nonce) are checked, the account found, linked or created; then a redirect
    to the web app's `/login/callback#code=...`. Linking to an existing account by email needs
    the provider's verified email (else 409)."""
    client = _provider(oidc, provider)
    if error is not None:
        raise Unauthorized("The provider did not sign you in.")
    if not (state and cookie_state and hmac.compare_digest(state, cookie_state)):
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
    user = await external_sign_in.sign_in(session, keyring, provider, claims, tokens)
    # Redeemed by `oidc/exchange` after this request committed; if the commit failed, the
    # code names an account that does not exist and the exchange answers 401.
    login_code = await flows.new_login_code(str(user.id))
    response = RedirectResponse(
        f"{settings.links_base_url}/login/callback#code={login_code}",
        status_code=status.HTTP_302_FOUND,
    )
    response.delete_cookie(OIDC_STATE_COOKIE, path=f"/v1/auth/oidc/{provider}/callback")
    return response


@router.post(
    "/oidc/exchange",
    response_model=TokenPair,
    responses={s: {"model": Problem} for s in (401, 403, 422)},
)
async def oidc_exchange(
    body: LoginCodeIn, flows: OIDCFlowsDep, session: SessionDep, settings: SettingsDep
) -> TokenPair:
    """Trade the one-time code from `/login/callback#code=...` for an access and refresh token."""
    user_id = await flows.redeem_login_code(body.code)
    user = await repository.get(session, uuid.UUID(user_id)) if user_id else None
    if user is None or user.deleted_at is not None:
        raise Unauthorized("The sign-in code is invalid, used or expired.")
    if not user.is_active:
        raise Forbidden("This account is suspended.")
    tokens = await service.start_session(session, settings, user)
    return TokenPair.model_validate(tokens)
