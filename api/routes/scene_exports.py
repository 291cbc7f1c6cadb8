"""Whole-scene export: the scene's active segments as one MP4 with a chapter per segment."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse

from api.deps import OptionalUser, SessionDep, SettingsDep, media_urls_of
from api.errors import problem_responses
from domain.scene_exports import service
from domain.scene_exports.models import ExportStatus
from schemas.common import Problem
from schemas.scene_exports import ExportPending

router = APIRouter(tags=["scenes"])
MP4 = "video/mp4"


@router.get(
    "/v1/scenes/{scene_id}/export.mp4",
    response_class=Response,
    responses=problem_responses(
        404,
        422,
        others={
            200: {"content": {MP4: {}}, "description": "The whole scene as one MP4."},
            202: {
                "model": ExportPending,
                "description": "Being made: ask again after `Retry-After` seconds.",
            },
            307: {"description": "Stored in object storage: the MP4 is at `Location`."},
            503: {"model": Problem, "description": "The last build failed; see `Retry-After`."},
        },
    ),
)
async def export_scene(
    scene_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    viewer: OptionalUser,
    settings: SettingsDep,
) -> Response:
    """The whole scene as one MP4, a chapter per segment; made on first request, then cached."""
    export = await service.request_export(session, settings, scene_id, viewer)
    storage = request.app.state.storage
    export = await service.ensure_stored(session, storage, export)
    if export.status != ExportStatus.READY.value or not export.storage_key:
        pending = ExportPending(
            scene_id=scene_id,
            started_at=export.started_at,
            retry_after=settings.scene_export_poll_seconds,
        )
        return JSONResponse(
            pending.model_dump(mode="json"),
            status_code=status.HTTP_202_ACCEPTED,
            headers={"Retry-After": str(settings.scene_export_poll_seconds)},
        )
    where = service.location(media_urls_of(request), export.storage_key)
    if where.path is not None:
        return FileResponse(
            where.path,
            media_type=MP4,
            filename=f"scene-{scene_id}.mp4",
            headers={"Cache-Control": "no-cache"},
        )
    return RedirectResponse(
        str(where.url),
        status_code=status.HTTP_307_TEMPORARY_REDIRECT,
        headers={"Cache-Control": "no-store"},
    )
