"""Likes and views."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from api.deps import CurrentUser, OptionalUser, SessionDep, SettingsDep
from api.errors import problem_responses
from domain.engagement import service
from schemas.engagement import LikeOut, ViewOut

router = APIRouter(tags=["engagement"])
LIKE_PROBLEMS = problem_responses(401, 403, 404, 422)


@router.put("/v1/ideas/{idea_id}/like", response_model=LikeOut, responses=LIKE_PROBLEMS)
async def like_idea(idea_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> LikeOut:
    """Like an idea; liking again changes nothing."""
    state = await service.set_idea_like(session, user, idea_id, liked=True)
    return LikeOut.model_validate(state)


@router.delete("/v1/ideas/{idea_id}/like", response_model=LikeOut, responses=LIKE_PROBLEMS)
async def unlike_idea(idea_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> LikeOut:
    """Take back a like on an idea; unliking again changes nothing."""
    state = await service.set_idea_like(session, user, idea_id, liked=False)
    return LikeOut.model_validate(state)


@router.put("/v1/scenes/{scene_id}/like", response_model=LikeOut, responses=LIKE_PROBLEMS)
async def like_scene(scene_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> LikeOut:
    """Like a scene; liking again changes nothing."""
    state = await service.set_scene_like(session, user, scene_id, liked=True)
    return LikeOut.model_validate(state)


@router.delete("/v1/scenes/{scene_id}/like", response_model=LikeOut, responses=LIKE_PROBLEMS)
async def unlike_scene(scene_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> LikeOut:
    """Take back a like on a scene; unliking again changes nothing."""
    state = await service.set_scene_like(session, user, scene_id, liked=False)
    return LikeOut.model_validate(state)


@router.post(
    "/v1/scenes/{scene_id}/views",
    response_model=ViewOut,
    responses=problem_responses(401, 404, 422),
)
async def record_view(
    scene_id: uuid.UUID,
    request: Request,
    viewer: OptionalUser,
    session: SessionDep,
    settings: SettingsDep,
) -> ViewOut:
    """Count a view: once per viewer and scene every 30 minutes."""
    result = await service.record_view(
        session,
        scene_id,
        viewer=viewer,
        secret=settings.jwt_secret.get_secret_value(),
        address=request.client.host if request.client else "unknown",
    )
    return ViewOut.model_validate(result)
