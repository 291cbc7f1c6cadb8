"""The worker's side of whole-scene exports: fetch the segments, join them, store the MP4."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from pathlib import Path
from typing import Any

import structlog

from domain.media import repository as media_repository
from domain.media.store import OBJECT_PREFIX, MediaVanished, store_path
from domain.scene_exports import repository
from domain.scene_exports.models import ExportStatus, SceneExport
from infra.logging import get_logger
from infra.scene_export import Part, assemble
from worker.pipeline.runtime import Runtime

log = get_logger("worker.scene_export")
MAX_ERROR_CHARS = 2000


class ExportSourceMissing(RuntimeError):
    """A segment of the export has no stored video (removed since it was asked for)."""


async def build_scene_export(ctx: dict[str, Any], export_id: str, attempt: int) -> str:
    """Build attempt `attempt` of the export; another attempt's job changes nothing."""
    runtime: Runtime = ctx["runtime"]
    with structlog.contextvars.bound_contextvars(export_id=export_id, attempt=attempt):
        async with runtime.db.transaction() as session:
            export = await repository.get(session, uuid.UUID(export_id))
            if export is None or export.status != ExportStatus.BUILDING.value:
                return "gone"
            if export.attempts != attempt:
                return "superseded"
            parts = await repository.export_parts(session, export.scene_id, export.segment_ids)
        work_dir = runtime.settings.work_dir / f"export-{export_id}-{attempt}"
        try:
            return await _build(runtime, export, parts, work_dir)
        except Exception as exc:  # noqa: BLE001 - every failure is recorded on the export
            log.warning("scene_export_failed", error_type=type(exc).__name__, error=str(exc)[:500])
            async with runtime.db.transaction() as session:
                await repository.mark_failed(
                    session, export.id, attempt, f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
                )
            return "failed"
        finally:
            await asyncio.to_thread(shutil.rmtree, work_dir, True)


async def _build(
    runtime: Runtime,
    export: SceneExport,
    parts: list[tuple[uuid.UUID, str | None, str]],
    work_dir: Path,
) -> str:
    sources = [(key, text) for _, key, text in parts if key]
    if len(sources) != len(export.segment_ids):
        raise ExportSourceMissing("a segment of the export has no stored video")
    await asyncio.to_thread(work_dir.mkdir, parents=True, exist_ok=True)
    files = []
    for index, (key, text) in enumerate(sources):
        path = work_dir / f"part_{index:03d}.mp4"  # our name: nothing from the key or the text
        data = await runtime.storage.read_bytes(key)
        await asyncio.to_thread(path.write_bytes, data)
        files.append(Part(path, text))
    assembled = await assemble(files, work_dir, ffmpeg=runtime.settings.ffmpeg_binary)
    # Content-addressed: a crash before mark_ready leaves an object no export names, which
    # the sweeper removes after the grace period.
    stored = await store_path(runtime.db, runtime.storage, assembled.mp4)
    key = stored.key
    async with runtime.db.transaction() as session:
        if not await media_repository.hold_object(session, stored.sha256):
            raise MediaVanished("the export's object was swept before the export named it")
        ready = await repository.mark_ready(
            session,
            export.id,
            export.attempts,
            storage_key=key,
            size_bytes=assembled.size_bytes,
            duration=assembled.duration,
        )
        superseded = await repository.remove_superseded(session, export) if ready else []
    for old in superseded:
        # Exports stored before content addressing are removed here; objects are the
        # sweeper's (another export may have the same bytes).
        if old != key and not old.startswith(OBJECT_PREFIX):
            await runtime.storage.delete(old)
    log.info(
        "scene_export_ready" if ready else "scene_export_superseded",
        scene_id=str(export.scene_id),
        segments=len(parts),
        duration=round(assembled.duration, 3),
        size_bytes=assembled.size_bytes,
    )
    return "ready" if ready else "superseded"
