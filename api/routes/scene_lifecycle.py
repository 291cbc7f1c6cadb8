"""A scene's life: edit, lock, archive, delete and restore it; withdraw the last segment."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from api.deps import (
    ContentCheckerDep,
    CurrentUser,
    MediaUrlsDep,
    ModeratorUser,
    SessionDep,
    SettingsDep,
)
from api.errors import problem_responses
from api.presenters.scenes import scene_outs
from domain.scenes import lifecycle
from schemas.scenes import SceneOut, ScenePatch

router = APIRouter(tags=["scenes"])


@router.patch(
    "/v1/scenes/{scene_id}",
    response_model=SceneOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def update_scene(
    scene_id: uuid.UUID,
    body: ScenePatch,
    user: CurrentUser,
    session: SessionDep,
    urls: MediaUrlsDep,
    checker: ContentCheckerDep,
) -> SceneOut:
    """Edit title, description, cover or status (owner or moderator)."""
    changes = body.model_dump(exclude_unset=True)
    scene = await lifecycle.update_scene(session, user, scene_id, changes, checker)
    return (await scene_outs(session, urls, [scene]))[0]


@router.delete(
    "/v1/scenes/{scene_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(401, 403, 404, 422),
)
async def delete_scene(scene_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> Response:
    """Delete the scene (soft: gone from every public read; a moderator may restore it)."""
    await lifecycle.delete_scene(session, user, scene_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/v1/scenes/{scene_id}/restore",
    response_model=SceneOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def restore_scene(
    scene_id: uuid.UUID,
    user: ModeratorUser,
    session: SessionDep,
    settings: SettingsDep,
    urls: MediaUrlsDep,
) -> SceneOut:
    """Bring a deleted scene back, within DELETED_RETENTION_DAYS of its deletion."""
    scene = await lifecycle.restore_scene(
        session, user, scene_id, retention_days=settings.deleted_retention_days
    )
    return (await scene_outs(session, urls, [scene]))[0]


@router.delete(
    "/v1/segments/{segment_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def withdraw_segment(
    segment_id: uuid.UUID, user: CurrentUser, session: SessionDep
) -> Response:
    """Withdraw your segment while it is its scene's last; the bible's head undoes its changes."""
    await lifecycle.withdraw_segment(session, user, segment_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
