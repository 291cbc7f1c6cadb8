"""Every query on scene exports."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.scene_exports.models import ExportStatus, SceneExport
from domain.scenes.models import Segment, SegmentStatus


async def active_segment_ids(session: AsyncSession, scene_id: uuid.UUID) -> list[uuid.UUID]:
    """The scene's active segments in sequence order (ids only: the fingerprint's input)."""
    rows = await session.scalars(
        select(Segment.id)
        .where(Segment.scene_id == scene_id, Segment.status == SegmentStatus.ACTIVE.value)
        .order_by(Segment.sequence)
    )
    return list(rows)


async def get_by_fingerprint(
    session: AsyncSession, scene_id: uuid.UUID, fingerprint: str
) -> SceneExport | None:
    return await session.scalar(
        select(SceneExport)
        .where(SceneExport.scene_id == scene_id, SceneExport.fingerprint == fingerprint)
        .execution_options(populate_existing=True)
    )


async def get(session: AsyncSession, export_id: uuid.UUID) -> SceneExport | None:
    return await session.scalar(
        select(SceneExport)
        .where(SceneExport.id == export_id)
        .execution_options(populate_existing=True)
    )


async def claim_build(
    session: AsyncSession,
    scene_id: uuid.UUID,
    fingerprint: str,
    segment_ids: Sequence[uuid.UUID],
    *,
    stale_before: datetime,
    retry_before: datetime,
) -> SceneExport | None:
    """Start a build: a new row, or one whose build died (started before `stale_before`) or
    failed (finished before `retry_before`). None when another build is under way or done.

    One statement: concurrent requests queue on the unique key, and only the first one's
    insert or update matches, so many requests start one build.
    """
    stmt = insert(SceneExport).values(
        scene_id=scene_id,
        fingerprint=fingerprint,
        segment_ids=list(segment_ids),
        status=ExportStatus.BUILDING.value,
        attempts=1,
    )
    current = SceneExport.__table__.c
    upsert = stmt.on_conflict_do_update(
        index_elements=[current.scene_id, current.fingerprint],
        set_={
            "status": ExportStatus.BUILDING.value,
            "attempts": current.attempts + 1,
            "segment_ids": stmt.excluded.segment_ids,
            "started_at": func.now(),
            "finished_at": None,
            "error": None,
        },
        where=or_(
            and_(current.status == ExportStatus.BUILDING.value, current.started_at < stale_before),
            and_(current.status == ExportStatus.FAILED.value, current.finished_at < retry_before),
        ),
    ).returning(SceneExport)
    result = await session.execute(upsert, execution_options={"populate_existing": True})
    return result.scalar_one_or_none()


async def mark_ready(
    session: AsyncSession,
    export_id: uuid.UUID,
    attempt: int,
    *,
    storage_key: str,
    size_bytes: int,
    duration: float,
) -> bool:
    """Record a finished build; False when a newer attempt has taken the export over."""
    result = await session.execute(
        update(SceneExport)
        .where(
            SceneExport.id == export_id,
            SceneExport.attempts == attempt,
            SceneExport.status == ExportStatus.BUILDING.value,
        )
        .values(
            status=ExportStatus.READY.value,
            storage_key=storage_key,
            size_bytes=size_bytes,
            duration=duration,
            error=None,
            finished_at=func.now(),
        )
        .returning(SceneExport.id)
        .execution_options(synchronize_session=False)
    )
    return result.scalar_one_or_none() is not None


async def mark_failed(
    session: AsyncSession, export_id: uuid.UUID, attempt: int, error: str
) -> bool:
    result = await session.execute(
        update(SceneExport)
        .where(
            SceneExport.id == export_id,
            SceneExport.attempts == attempt,
            SceneExport.status == ExportStatus.BUILDING.value,
        )
        .values(status=ExportStatus.FAILED.value, error=error, finished_at=func.now())
        .returning(SceneExport.id)
        .execution_options(synchronize_session=False)
    )
    return result.scalar_one_or_none() is not None


async def remove_superseded(session: AsyncSession, export: SceneExport) -> list[str]:
    """Drop the scene's finished exports older than `export`; return their storage keys.

    Only older ones: a build of an earlier state that finishes late never removes a newer one.
    """
    result = await session.execute(
        delete(SceneExport)
        .where(
            SceneExport.scene_id == export.scene_id,
            SceneExport.id != export.id,
            SceneExport.status != ExportStatus.BUILDING.value,
            SceneExport.created_at < export.created_at,
        )
        .returning(SceneExport.storage_key)
        .execution_options(synchronize_session=False)
    )
    return [key for key in result.scalars() if key]


async def export_parts(
    session: AsyncSession, scene_id: uuid.UUID, segment_ids: Sequence[uuid.UUID]
) -> list[tuple[uuid.UUID, str | None, str]]:
    """(id, video key, text) of the listed segments of the scene, in the listed order."""
    rows = await session.execute(
        select(Segment.id, Segment.video_key, Segment.text).where(
            Segment.scene_id == scene_id, Segment.id.in_(list(segment_ids))
        )
    )
    found = {row.id: (row.id, row.video_key, row.text) for row in rows}
    return [found[i] for i in segment_ids if i in found]


async def restart(session: AsyncSession, export_id: uuid.UUID, attempt: int) -> SceneExport | None:
    """Start a ready export's build again (its file is gone); None when another did first."""
    result = await session.execute(
        update(SceneExport)
        .where(
            SceneExport.id == export_id,
            SceneExport.attempts == attempt,
            SceneExport.status == ExportStatus.READY.value,
        )
        .values(
            status=ExportStatus.BUILDING.value,
            attempts=SceneExport.attempts + 1,
            storage_key=None,
            started_at=func.now(),
            finished_at=None,
        )
        .returning(SceneExport)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return result.scalar_one_or_none()
