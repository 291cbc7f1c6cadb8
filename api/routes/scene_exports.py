"""Whole-scene export: the scene's active segments as one MP4 with a chapter per segment."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse

from api.deps import OptionalUser, SessionDep, SettingsDep
from api.errors import problem_responses
from domain.scene_exports import service
from domain.scene_exports.models import ExportStatus
from infra.storage import LocalStorage, Storage
from schemas.common import Problem
from schemas.scene_exports import ExportPending

router = APIRouter(tags=["scenes"])
MP4 = "video/mp4"


def export_location(storage: Storage, key: str) -> str:
    """The one place an export's URL is made (object storage: the client is redirected there)."""
    return storage.url(key)


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
    storage: Storage = request.app.state.storage
    # A file lost from the media directory (a restore from an older backup) is made again.
    key = export.storage_key
    if isinstance(storage, LocalStorage) and key and not storage.path(key).is_file():
        export = await service.rebuild_lost(session, export)
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
    if isinstance(storage, LocalStorage):
        return FileResponse(
            storage.path(export.storage_key),
            media_type=MP4,
            filename=f"scene-{scene_id}.mp4",
            headers={"Cache-Control": "no-cache"},
        )
    return RedirectResponse(
        export_location(storage, export.storage_key),
        status_code=status.HTTP_307_TEMPORARY_REDIRECT,
        headers={"Cache-Control": "no-store"},
    )
