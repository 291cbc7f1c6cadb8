"""Sign-up, sign-in and refresh-token rotation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Cookie, Depends, Query, Response, status
from fastapi.responses import RedirectResponse
from fastapi.security import OAuth2PasswordRequestForm

from api.deps import (
    OIDC_FLOW_SECONDS,
    ClientAddressDep,
    CurrentUser,
    KeyringDep,
    LoginThrottleDep,
    OIDCDep,
    OIDCFlowsDep,
    OIDCProviderName,
    ResetThrottleDep,
    SessionDep,
    SettingsDep,
)
from api.errors import problem_responses, throttled
from domain.users import account_tokens, external_sign_in, service
from schemas.users import (
    LoginCodeIn,
    LoginIn,
    MailAccepted,
    Me,
    OIDCProviders,
    PasswordResetConfirmIn,
    PasswordResetIn,
    RefreshIn,
    RegisterIn,
    TokenPair,
    VerifyEmailConfirmIn,
)

router = APIRouter(prefix="/v1/auth", tags=["auth"])
PROBLEMS = problem_responses(401, 403, 422)
SIGN_IN_PROBLEMS = problem_responses(
    401,
    403,
    422,
    others={
        429: throttled("Too many failed sign-ins for this account or address"),
    },
)


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=Me,
    responses=problem_responses(409, 422),
)
async def register(
    body: RegisterIn, session: SessionDep, settings: SettingsDep, response: Response
) -> Me:
    """Create an account with the `user` role; a link to verify its email is mailed to it."""
    user = await service.create_user(
        session, email=body.email, username=body.username, password=body.password
    )
    await account_tokens.mail_verification_link(session, settings, user)
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


RESET_PROBLEMS = problem_responses(
    422,
    others={
        429: throttled("Too many reset mails asked for this address, or from this client"),
    },
)
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
    await account_tokens.request_password_reset(session, throttle, body.email, address)
    return MailAccepted(detail=RESET_ACCEPTED)


@router.post(
    "/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(422),
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
    responses=problem_responses(401, 403, 409, 429),
)
async def request_email_verification(
    caller: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    throttle: ResetThrottleDep,
    address: ClientAddressDep,
) -> MailAccepted:
    """Mail the caller a single-use link that confirms their address; 409 when already done."""
    user = await account_tokens.send_verification(session, settings, throttle, caller.id, address)
    return MailAccepted(detail=f"A confirmation link is on its way to {user.email}.")


@router.post(
    "/verify-email/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(422),
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
REDIRECT = {"description": "Redirect to the provider (login) or to the web app (callback)"}


@router.get("/oidc/providers", response_model=OIDCProviders)
async def oidc_providers(oidc: OIDCDep) -> OIDCProviders:
    """The OpenID providers one can sign in with (names only), for the sign-in page's buttons."""
    return OIDCProviders(providers=sorted(oidc.providers))


@router.get(
    "/oidc/{provider}/login",
    status_code=status.HTTP_302_FOUND,
    response_class=RedirectResponse,
    responses=problem_responses(404, 422, 502, others={302: REDIRECT}),
)
async def oidc_login(
    provider: OIDCProviderName, oidc: OIDCDep, flows: OIDCFlowsDep, settings: SettingsDep
) -> RedirectResponse:
    """Start signing in with an external OpenID provider: a redirect to it (state, nonce and
    an S256 PKCE challenge); a cookie ties the flow to this browser."""
    url, state = await external_sign_in.begin(oidc, flows, provider)
    response = RedirectResponse(url, status_code=status.HTTP_302_FOUND)
    response.set_cookie(
        OIDC_STATE_COOKIE,
        state,
        max_age=OIDC_FLOW_SECONDS,
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
    responses=problem_responses(401, 403, 404, 409, 422, 502, others={302: REDIRECT}),
)
async def oidc_callback(
    provider: OIDCProviderName,
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
    login_code = await external_sign_in.finish(
        session,
        keyring,
        oidc,
        flows,
        provider,
        code=code,
        state=state,
        browser_state=cookie_state,
        error=error,
    )
    response = RedirectResponse(
        f"{settings.links_base_url}/login/callback#code={login_code}",
        status_code=status.HTTP_302_FOUND,
    )
    response.delete_cookie(OIDC_STATE_COOKIE, path=f"/v1/auth/oidc/{provider}/callback")
    return response


@router.post(
    "/oidc/exchange",
    response_model=TokenPair,
    responses=problem_responses(401, 403, 422),
)
async def oidc_exchange(
    body: LoginCodeIn, flows: OIDCFlowsDep, session: SessionDep, settings: SettingsDep
) -> TokenPair:
    """Trade the one-time code from `/login/callback#code=...` for an access and refresh token."""
    tokens = await external_sign_in.exchange_code(session, settings, flows, body.code)
    return TokenPair.model_validate(tokens)
