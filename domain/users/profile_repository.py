"""Every query behind public profiles: a contributor's visible scenes, segments and counts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.ideas.models import ContentStatus, Idea, ReviewStatus
from domain.pagination import Page, paginate
from domain.scenes.models import Scene, Segment, SegmentStatus
from domain.scenes.repository import listed


@dataclass(frozen=True)
class ProfileCounts:
    idea_count: int
    scene_count: int
    segment_count: int


def _listed_scenes(user_id: uuid.UUID) -> Any:
    return select(Scene).where(Scene.user_id == user_id, listed())


def _listed_segments(user_id: uuid.UUID) -> Any:
    # A segment is public while it is active and its scene is listed.
    return (
        select(Segment)
        .join(Scene, Scene.id == Segment.scene_id)
        .where(
            Segment.user_id == user_id,
            Segment.status == SegmentStatus.ACTIVE.value,
            listed(),
        )
    )


async def counts(session: AsyncSession, user_id: uuid.UUID) -> ProfileCounts:
    ideas = (
        select(func.count())
        .select_from(Idea)
        .where(
            Idea.user_id == user_id,
            Idea.status == ContentStatus.ACTIVE.value,
            Idea.review_status == ReviewStatus.APPROVED.value,
        )
        .scalar_subquery()
    )
    scenes = select(func.count()).select_from(_listed_scenes(user_id).subquery()).scalar_subquery()
    segments = (
        select(func.count()).select_from(_listed_segments(user_id).subquery()).scalar_subquery()
    )
    row = (await session.execute(select(ideas, scenes, segments))).one()
    return ProfileCounts(int(row[0]), int(row[1]), int(row[2]))


async def page_scenes(
    session: AsyncSession, user_id: uuid.UUID, *, limit: int | None, cursor: str | None
) -> Page[Scene]:
    return await paginate(
        session,
        _listed_scenes(user_id),
        [Scene.created_at, Scene.id],
        limit=limit,
        cursor=cursor,
    )


async def page_segments(
    session: AsyncSession, user_id: uuid.UUID, *, limit: int | None, cursor: str | None
) -> Page[Segment]:
    return await paginate(
        session,
        _listed_segments(user_id),
        [Segment.created_at, Segment.id],
        limit=limit,
        cursor=cursor,
    )
