"""The caller's profile and public profiles."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CurrentUser, ReadSessionDep, SessionDep
from domain.users import service
from schemas.common import Problem
from schemas.users import Me, ProfilePatch, PublicProfile

router = APIRouter(prefix="/v1/users", tags=["users"])


@router.get("/me", response_model=Me, responses={s: {"model": Problem} for s in (401, 403)})
async def read_me(user: CurrentUser) -> Me:
    """The signed-in account."""
    return Me.model_validate(user)


@router.patch("/me", response_model=Me, responses={s: {"model": Problem} for s in (401, 403, 422)})
async def update_me(body: ProfilePatch, user: CurrentUser, session: SessionDep) -> Me:
    """Change display name, avatar or bio; fields left out stay as they are."""
    updated = await service.update_profile(session, user.id, body.model_dump(exclude_unset=True))
    return Me.model_validate(updated)


@router.get(
    "/{username}",
    response_model=PublicProfile,
    responses={s: {"model": Problem} for s in (404, 422)},
)
async def read_profile(username: str, session: ReadSessionDep) -> PublicProfile:
    """A contributor's public profile."""
    return PublicProfile.model_validate(await service.get_public(session, username))
