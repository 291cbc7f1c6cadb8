"""Every query on ideas."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from domain.engagement.models import LikeTarget, TrendingScore
from domain.engagement.stats_repository import TRENDING_KEYS, trending_join
from domain.ideas.models import ContentStatus, Idea, ReviewStatus
from domain.pagination import Page, paginate
from domain.topics.models import Category, Topic

IdeaSort = Literal["new", "popular", "active", "trending"]


@dataclass(frozen=True)
class IdeaFilter:
    """A list query. topic and category are each an id or a slug (None: any)."""

    topic_id: uuid.UUID | None = None
    topic_slug: str | None = None
    category_id: uuid.UUID | None = None
    category_slug: str | None = None
    tag: str | None = None


async def get(session: AsyncSession, idea_id: uuid.UUID) -> Idea | None:
    return await session.get(Idea, idea_id)


async def get_for_update(session: AsyncSession, idea_id: uuid.UUID) -> Idea | None:
    return await session.scalar(select(Idea).where(Idea.id == idea_id).with_for_update())


async def add(session: AsyncSession, idea: Idea) -> Idea:
    session.add(idea)
    await session.flush()
    await session.refresh(idea)
    return idea


async def save(session: AsyncSession, idea: Idea) -> Idea:
    """Flush pending changes and reload what the database set (updated_at, counters)."""
    await session.flush()
    await session.refresh(idea)
    return idea


async def get_topic(session: AsyncSession, topic_id: uuid.UUID) -> Topic | None:
    return await session.get(Topic, topic_id)


async def get_category(session: AsyncSession, category_id: uuid.UUID) -> Category | None:
    return await session.get(Category, category_id)


def publicly_visible() -> ColumnElement[bool]:
    return and_(
        Idea.status == ContentStatus.ACTIVE.value,
        Idea.review_status == ReviewStatus.APPROVED.value,
    )


def visible_to(viewer_id: uuid.UUID | None) -> ColumnElement[bool]:
    """Public ideas, plus the viewer's own in any review state unless removed."""
    if viewer_id is None:
        return publicly_visible()
    own = and_(Idea.user_id == viewer_id, Idea.status != ContentStatus.REMOVED.value)
    return or_(publicly_visible(), own)


async def page(
    session: AsyncSession,
    *,
    viewer_id: uuid.UUID | None,
    where: IdeaFilter,
    sort: IdeaSort,
    limit: int | None,
    cursor: str | None,
) -> Page[Idea]:
    stmt = select(Idea).where(visible_to(viewer_id))
    if where.topic_id is not None:
        stmt = stmt.where(Idea.topic_id == where.topic_id)
    elif where.topic_slug is not None:
        stmt = stmt.where(Idea.topic_id.in_(select(Topic.id).where(Topic.slug == where.topic_slug)))
    if where.category_id is not None:
        stmt = stmt.where(Idea.category_id == where.category_id)
    elif where.category_slug is not None:
        # Category slugs are unique per topic only; with no topic, any topic's category matches.
        categories = select(Category.id).where(Category.slug == where.category_slug)
        if where.topic_id is not None:
            categories = categories.where(Category.topic_id == where.topic_id)
        elif where.topic_slug is not None:
            categories = categories.where(
                Category.topic_id.in_(select(Topic.id).where(Topic.slug == where.topic_slug))
            )
        stmt = stmt.where(Idea.category_id.in_(categories))
    if where.tag is not None:
        # `@>` against an array literal is what the GIN index on tags serves.
        stmt = stmt.where(Idea.tags.op("@>")(postgresql.array([where.tag])))
    keys: list[Any] = [Idea.created_at, Idea.id] if sort == "new" else [Idea.like_count, Idea.id]
    if sort == "active":
        keys = [Idea.last_activity_at, Idea.id]
    elif sort == "trending":
        stmt = stmt.join(TrendingScore, trending_join(LikeTarget.IDEA, Idea.id))
        keys = TRENDING_KEYS
    return await paginate(session, stmt, keys, limit=limit, cursor=cursor, descending=True)
