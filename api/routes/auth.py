"""Sign-up, sign-in and refresh-token rotation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from api.deps import ClientAddressDep, LoginThrottleDep, SessionDep, SettingsDep
from domain.users import service
from schemas.common import Problem
from schemas.users import LoginIn, Me, RefreshIn, RegisterIn, TokenPair

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
