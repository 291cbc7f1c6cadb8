"""The caller's profile and public profiles."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from fastapi.responses import JSONResponse

from api.deps import CurrentUser, MediaUrlsDep, ReadSessionDep, SessionDep
from api.errors import problem_responses
from api.presenters.scenes import scene_outs, segment_outs
from domain.pagination import DEFAULT_LIMIT, MAX_LIMIT
from domain.users import lifecycle, profiles, service
from schemas.common import Page
from schemas.scenes import SceneOut, SegmentOut
from schemas.users import AccountExport, ContributorProfile, Me, ProfilePatch, PublicProfile

router = APIRouter(prefix="/v1/users", tags=["users"])
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Cursor = Annotated[str | None, Query(max_length=512)]


@router.get("/me", response_model=Me, responses=problem_responses(401, 403))
async def read_me(user: CurrentUser) -> Me:
    """The signed-in account."""
    return Me.model_validate(user)


@router.patch("/me", response_model=Me, responses=problem_responses(401, 403, 422))
async def update_me(body: ProfilePatch, user: CurrentUser, session: SessionDep) -> Me:
    """Change display name, avatar or bio; fields left out stay as they are."""
    updated = await service.update_profile(session, user.id, body.model_dump(exclude_unset=True))
    return Me.model_validate(updated)


@router.get(
    "/me/export",
    response_model=AccountExport,
    responses=problem_responses(401, 403),
)
async def export_me(user: CurrentUser, session: ReadSessionDep) -> JSONResponse:
    """Download everything the platform holds about you, as one JSON document."""
    data = AccountExport.model_validate(await lifecycle.export(session, user.id))
    filename = f"storyloom-export-{user.username}.json"
    return JSONResponse(
        data.model_dump(mode="json"),
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.delete(
    "/me",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 409),
)
async def delete_me(user: CurrentUser, session: SessionDep) -> Response:
    """Delete your account: personal data erased, every session ended; what you wrote stays,
    attributed to a deleted user (its `user_id` leads to no profile). 409 for the last admin."""
    await lifecycle.erase(session, user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{username}",
    response_model=ContributorProfile,
    responses=problem_responses(404, 422),
)
async def read_profile(username: str, session: ReadSessionDep) -> ContributorProfile:
    """A contributor's public profile, with counts of their visible ideas, scenes and segments."""
    profile = await profiles.get_profile(session, username)
    public = PublicProfile.model_validate(profile.user)
    return ContributorProfile(**public.model_dump(), **asdict(profile.counts))


@router.get(
    "/{username}/scenes",
    response_model=Page[SceneOut],
    responses=problem_responses(404, 422),
)
async def list_profile_scenes(
    username: str,
    session: ReadSessionDep,
    urls: MediaUrlsDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[SceneOut]:
    """The scenes a contributor started (active and locked), newest first."""
    page = await profiles.page_scenes(session, username, limit=limit, cursor=cursor)
    items = await scene_outs(session, urls, page.items)
    return Page[SceneOut](items=items, next_cursor=page.next_cursor)


@router.get(
    "/{username}/segments",
    response_model=Page[SegmentOut],
    responses=problem_responses(404, 422),
)
async def list_profile_segments(
    username: str,
    session: ReadSessionDep,
    urls: MediaUrlsDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[SegmentOut]:
    """A contributor's visible segments (active, in a listed scene), newest first."""
    page = await profiles.page_segments(session, username, limit=limit, cursor=cursor)
    items = await segment_outs(session, urls, page.items)
    return Page[SegmentOut](items=items, next_cursor=page.next_cursor)
