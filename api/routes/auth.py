"""Sign-up, sign-in and refresh-token rotation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from api.deps import (
    ClientAddressDep,
    CurrentUser,
    LoginThrottleDep,
    ResetThrottleDep,
    SessionDep,
    SettingsDep,
)
from domain.errors import NotFound
from domain.users import account_tokens, repository, service
from infra.queue import PendingJob, enqueue_after_commit
from infra.throttle import normalize_login
from schemas.common import Problem
from schemas.users import (
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
    """Set a new password with the mailed token; every session of the account ends."""
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
    """Mark the address verified with the mailed token (it works once)."""
    await account_tokens.verify_email(session, body.token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
