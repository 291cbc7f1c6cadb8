"""The queries of scene summaries: which scenes need one, and what the next one covers."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.scenes.models import Scene, SceneSummary, Segment


async def scenes_needing_summary(
    session: AsyncSession, threshold: int, keep_recent: int, limit: int
) -> list[uuid.UUID]:
    """Scenes with at least `threshold` segments beyond their summary and the recent ones."""
    covered = (
        select(func.coalesce(func.max(SceneSummary.to_sequence), 0))
        .where(SceneSummary.scene_id == Scene.id)
        .scalar_subquery()
    )
    rows = await session.scalars(
        select(Scene.id)
        .where(Scene.segment_count - covered >= threshold + keep_recent)
        .limit(limit)
    )
    return list(rows)


async def active_scripts_between(
    session: AsyncSession, scene_id: uuid.UUID, start: int, end: int
) -> list[Row[Any]]:
    """(sequence, text, script) of the scene's active segments `start`..`end`, in order."""
    rows = await session.execute(
        select(Segment.sequence, Segment.text, Segment.script)
        .where(
            Segment.scene_id == scene_id,
            Segment.sequence.between(start, end),
            Segment.status == "active",
        )
        .order_by(Segment.sequence)
    )
    return list(rows.all())


async def add_summary(session: AsyncSession, summary: SceneSummary) -> SceneSummary:
    session.add(summary)
    await session.flush()
    return summary
