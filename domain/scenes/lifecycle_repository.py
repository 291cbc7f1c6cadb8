"""The queries of a scene's life: lock, cancel its jobs, withdraw its last segment, purge it."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.engagement.models import EngagementHourly, Like, LikeTarget, TrendingScore
from domain.ideas.models import Idea
from domain.jobs.models import UNFINISHED, Job, JobStatus
from domain.pagination import Page, paginate
from domain.scene_exports.models import SceneExport
from domain.scenes.models import Scene, SceneSummary, Segment, SegmentStatus
from domain.topics.models import Topic


async def lock_scene(session: AsyncSession, scene_id: uuid.UUID) -> Scene | None:
    """The scene, its row locked: finalization takes the same lock before it adds a segment."""
    return await session.scalar(
        select(Scene)
        .where(Scene.id == scene_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _open_jobs(scene_id: uuid.UUID) -> ColumnElement[bool]:
    return and_(Job.scene_id == scene_id, UNFINISHED)


async def cancel_open_jobs(session: AsyncSession, scene_id: uuid.UUID, message: str) -> int:
    """Cancel the scene's unfinished jobs; their workers stop at the next stage boundary."""
    result = await session.execute(
        update(Job)
        .where(_open_jobs(scene_id))
        .values(
            status=JobStatus.CANCELLED.value,
            cancel_requested=True,
            message=message,
            finished_at=func.now(),
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def count_open_jobs(session: AsyncSession, scene_id: uuid.UUID) -> int:
    return int(
        await session.scalar(select(func.count()).select_from(Job).where(_open_jobs(scene_id))) or 0
    )


async def count_scene_on_parents(
    session: AsyncSession, idea_id: uuid.UUID, topic_id: uuid.UUID, delta: int
) -> None:
    """The idea's and topic's scene counts leave out deleted scenes."""
    await session.execute(
        update(Idea)
        .where(Idea.id == idea_id)
        .values(scene_count=func.greatest(Idea.scene_count + delta, 0))
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Topic)
        .where(Topic.id == topic_id)
        .values(scene_count=func.greatest(Topic.scene_count + delta, 0))
        .execution_options(synchronize_session=False)
    )


async def active_thumbnail(
    session: AsyncSession, scene_id: uuid.UUID, segment_id: uuid.UUID
) -> str | None:
    """The thumbnail key of an active segment of the scene, or None."""
    return await session.scalar(
        select(Segment.thumbnail_key).where(
            Segment.scene_id == scene_id,
            Segment.id == segment_id,
            Segment.status == SegmentStatus.ACTIVE.value,
            Segment.thumbnail_key.is_not(None),
        )
    )


async def forget_cover(session: AsyncSession, scene_id: uuid.UUID, thumbnail_key: str) -> None:
    """The scene's chosen cover goes back to automatic if it was this thumbnail."""
    await session.execute(
        update(Scene)
        .where(Scene.id == scene_id, Scene.thumbnail_url == thumbnail_key)
        .values(thumbnail_url=None)
        .execution_options(synchronize_session=False)
    )


# Withdrawing the last segment


async def get_segment(session: AsyncSession, segment_id: uuid.UUID) -> Segment | None:
    return await session.scalar(select(Segment).where(Segment.id == segment_id))


async def delete_segment(session: AsyncSession, segment: Segment) -> None:
    """Delete the row; the sequence trigger frees its (scene, sequence) claim with it."""
    await session.execute(
        delete(Segment)
        .where(Segment.id == segment.id, Segment.created_at == segment.created_at)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        delete(SceneSummary)
        .where(SceneSummary.scene_id == segment.scene_id)
        .where(SceneSummary.to_sequence >= segment.sequence)
        .execution_options(synchronize_session=False)
    )


async def recount_after_withdrawal(session: AsyncSession, scene: Scene, duration: float) -> None:
    """segment_count back by one, duration less the segment's; contributors and the latest
    segment's time read again from what remains."""
    remaining = select(Segment).where(Segment.scene_id == scene.id).subquery()
    contributors = select(func.count(func.distinct(remaining.c.user_id))).scalar_subquery()
    latest = select(func.max(remaining.c.created_at)).scalar_subquery()
    await session.execute(
        update(Scene)
        .where(Scene.id == scene.id)
        .values(
            segment_count=Scene.segment_count - 1,
            total_duration=func.greatest(Scene.total_duration - duration, 0),
            contributor_count=contributors,
            last_segment_at=latest,
        )
        .execution_options(synchronize_session=False)
    )


# Purging deleted scenes


async def purge_due(session: AsyncSession, cutoff: datetime, limit: int) -> list[uuid.UUID]:
    """Deleted scenes past the retention window, oldest first (the partial ix_scenes_deleted)."""
    rows = await session.scalars(
        select(Scene.id)
        .where(Scene.deleted_at.is_not(None), Scene.deleted_at < cutoff)
        .order_by(Scene.deleted_at)
        .limit(limit)
    )
    return list(rows)


async def purge_scene(session: AsyncSession, scene_id: uuid.UUID, cutoff: datetime) -> list[str]:
    """Delete a deleted scene past `cutoff` and everything of it; the exports' storage keys.

    Segment rows go (their media objects are then unreferenced: the storage sweeper removes
    them); jobs, bible versions, summaries, views and exports go by their foreign keys; likes
    and engagement rows, which name the scene without one, by hand. Nothing when a restore
    came first.
    """
    locked = await session.scalar(
        select(Scene.id)
        .where(Scene.id == scene_id, Scene.deleted_at.is_not(None), Scene.deleted_at < cutoff)
        .with_for_update()
    )
    if locked is None:
        return []
    exports = await session.scalars(
        delete(SceneExport)
        .where(SceneExport.scene_id == scene_id)
        .returning(SceneExport.storage_key)
    )
    keys = [key for key in exports if key]
    await session.execute(delete(Segment).where(Segment.scene_id == scene_id))
    scene_target = LikeTarget.SCENE.value
    for model in (Like, EngagementHourly, TrendingScore):
        await session.execute(
            delete(model).where(model.target_type == scene_target, model.target_id == scene_id)
        )
    await session.execute(delete(Scene).where(Scene.id == scene_id))
    return keys


async def page_deleted(
    session: AsyncSession, since: datetime, *, limit: int | None, cursor: str | None
) -> Page[Scene]:
    """Scenes deleted at or after `since`, newest deletion first (the partial ix_scenes_deleted)."""
    stmt = select(Scene).where(Scene.deleted_at.is_not(None), Scene.deleted_at >= since)
    return await paginate(session, stmt, [Scene.deleted_at, Scene.id], limit=limit, cursor=cursor)
