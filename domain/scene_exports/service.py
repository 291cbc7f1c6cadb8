"""Whole-scene exports: asked for by a request, built once by the worker, cached per scene state."""

from __future__ import annotations

import hashlib
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import NotFound, ServiceUnavailable
from domain.scene_exports import repository
from domain.scene_exports.models import ExportStatus, SceneExport
from domain.scenes.access import get_visible_scene
from domain.users.models import User
from infra.logging import get_logger
from infra.media_urls import MediaUrls
from infra.queue import PendingJob, enqueue_after_commit
from infra.settings import Settings
from infra.storage import LocalStorage, Storage

BUILD_SCENE_EXPORT = "build_scene_export"
# Part of the fingerprint: a change to how exports are made gives every scene a new one.
EXPORT_FORMAT = "mp4-chapters-v1"
MAX_RETRY_SECONDS = 3600

log = get_logger("domain.scene_exports")


def fingerprint(segment_ids: Sequence[uuid.UUID]) -> str:
    """Names the scene's state: its active segments, in order."""
    payload = "\n".join([EXPORT_FORMAT, *(str(i) for i in segment_ids)])
    return hashlib.sha256(payload.encode()).hexdigest()


def retry_delay(settings: Settings, attempts: int) -> float:
    """How long a failed export waits before a request may start it again."""
    return float(
        min(settings.scene_export_retry_seconds * 2 ** max(attempts - 1, 0), MAX_RETRY_SECONDS)
    )


def enqueue_build(session: AsyncSession, export: SceneExport) -> None:
    """The worker builds it once the request commits; the job id makes a repeat a no-op."""
    enqueue_after_commit(
        session,
        PendingJob(
            BUILD_SCENE_EXPORT,
            (str(export.id), export.attempts),
            job_id=f"scene-export:{export.id}:{export.attempts}",
        ),
    )


async def request_export(
    session: AsyncSession, settings: Settings, scene_id: uuid.UUID, viewer: User | None
) -> SceneExport:
    """The export of the scene as it stands, ready or building; starts a build when none is.

    NotFound for a scene the viewer may not see or one without active segments; a build that
    failed is ServiceUnavailable until its back-off has passed, then it is started again.
    """
    await get_visible_scene(session, scene_id, viewer)
    segment_ids = await repository.active_segment_ids(session, scene_id)
    if not segment_ids:
        raise NotFound("This scene has no segments to export yet.")
    digest = fingerprint(segment_ids)
    now = datetime.now(UTC)
    existing = await repository.get_by_fingerprint(session, scene_id, digest)
    if existing is None or _may_start(existing, settings, now):
        attempts = existing.attempts if existing is not None else 1
        claimed = await repository.claim_build(
            session,
            scene_id,
            digest,
            segment_ids,
            stale_before=now - timedelta(seconds=settings.scene_export_build_timeout_seconds),
            retry_before=now - timedelta(seconds=retry_delay(settings, attempts)),
        )
        if claimed is not None:
            enqueue_build(session, claimed)
            log.info(
                "scene_export_started",
                scene_id=str(scene_id),
                export_id=str(claimed.id),
                attempt=claimed.attempts,
                segments=len(segment_ids),
            )
            return claimed
        existing = await repository.get_by_fingerprint(session, scene_id, digest)
        if existing is None:  # removed between the two statements: a newer one replaced it
            raise ServiceUnavailable("The export is being replaced; ask again.", retry_after=1)
    if existing.status == ExportStatus.FAILED.value:
        finished = existing.finished_at or now
        wait = retry_delay(settings, existing.attempts) - (now - finished).total_seconds()
        raise ServiceUnavailable(
            "Making this scene's export failed; it will be tried again.",
            retry_after=max(1, math.ceil(wait)),
            type_slug="export-failed",
        )
    return existing


async def rebuild_lost(session: AsyncSession, export: SceneExport) -> SceneExport:
    """A ready export whose file is missing from storage is built again (the caller waits)."""
    restarted = await repository.restart(session, export.id, export.attempts)
    if restarted is None:
        current = await repository.get(session, export.id)
        if current is None or current.status == ExportStatus.READY.value:
            raise ServiceUnavailable("The export is being replaced; ask again.", retry_after=1)
        return current
    log.warning("scene_export_lost", scene_id=str(export.scene_id), export_id=str(export.id))
    enqueue_build(session, restarted)
    return restarted


async def ensure_stored(
    session: AsyncSession, storage: Storage, export: SceneExport
) -> SceneExport:
    """The export, built again when its file went missing from the local media directory (a
    restore from an older backup)."""
    key = export.storage_key
    if isinstance(storage, LocalStorage) and key and not storage.path(key).is_file():
        return await rebuild_lost(session, export)
    return export


@dataclass(frozen=True)
class ExportLocation:
    """Where a ready export is fetched: a local file to send, or a storage URL to redirect to."""

    path: Path | None
    url: str | None


def location(urls: MediaUrls, key: str) -> ExportLocation:
    """Where a ready export is fetched: the local file, or the object's URL made by MediaUrls
    (signed on demand, or under the public base URL) that the client is redirected to."""
    if isinstance(urls.storage, LocalStorage):
        return ExportLocation(path=urls.storage.path(key), url=None)
    return ExportLocation(path=None, url=urls.object(key))


def _may_start(export: SceneExport, settings: Settings, now: datetime) -> bool:
    if export.status == ExportStatus.BUILDING.value:
        age = (now - export.started_at).total_seconds()
        return age > settings.scene_export_build_timeout_seconds
    if export.status == ExportStatus.FAILED.value:
        finished = export.finished_at or export.started_at
        return (now - finished).total_seconds() > retry_delay(settings, export.attempts)
    return False
