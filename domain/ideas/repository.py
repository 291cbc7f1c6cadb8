"""Every query on ideas."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    and_,
    bindparam,
    literal_column,
    or_,
    select,
    tuple_,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from domain.engagement.models import LikeTarget, TrendingScore
from domain.engagement.stats_repository import TRENDING_KEYS, trending_join
from domain.ideas.models import ContentStatus, Idea, ReviewStatus
from domain.pagination import (
    Page,
    clamp_limit,
    cursor_after,
    key_labels,
    key_types_of,
    page_of,
    paginate,
    row_key_names,
)
from domain.topics.models import Category, Topic
from infra.db import Database
from infra.prepared import Prepared

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


def _listed(columns: Sequence[Any], viewer_id: Any, where: IdeaFilter, sort: IdeaSort) -> Any:
    """The list's statement and its sort keys; the filter's values may be bound parameters."""
    stmt = select(*columns).where(visible_to(viewer_id))
    if where.topic_id is not None:
        stmt = stmt.where(Idea.topic_id == where.topic_id)
    elif where.topic_slug is not None:
        # `=` a scalar subquery (slugs are unique), not IN: the planner then reads the topic's
        # slice of ix_ideas_topic_created in order instead of filtering the whole list's index.
        topic = select(Topic.id).where(Topic.slug == where.topic_slug).scalar_subquery()
        stmt = stmt.where(Idea.topic_id == topic)
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
    if sort == "trending":
        stmt = stmt.join(TrendingScore, trending_join(LikeTarget.IDEA, Idea.id))
    return stmt, _sort_keys(sort)


def _sort_keys(sort: IdeaSort) -> list[Any]:
    if sort == "active":
        return [Idea.last_activity_at, Idea.id]
    if sort == "trending":
        return TRENDING_KEYS
    return [Idea.created_at, Idea.id] if sort == "new" else [Idea.like_count, Idea.id]


async def page(
    session: AsyncSession,
    *,
    viewer_id: uuid.UUID | None,
    where: IdeaFilter,
    sort: IdeaSort,
    limit: int | None,
    cursor: str | None,
) -> Page[Idea]:
    stmt, keys = _listed([Idea], viewer_id, where, sort)
    return await paginate(session, stmt, keys, limit=limit, cursor=cursor, descending=True)


# What IdeaOut shows of an idea.
IDEA_COLUMNS: tuple[Any, ...] = (
    Idea.id,
    Idea.user_id,
    Idea.topic_id,
    Idea.category_id,
    Idea.title,
    Idea.prompt,
    Idea.tags,
    Idea.status,
    Idea.review_status,
    Idea.like_count,
    Idea.scene_count,
    Idea.view_count,
    Idea.created_at,
    Idea.updated_at,
)
_SHAPED = ("topic_id", "topic_slug", "category_id", "category_slug", "tag")


@functools.lru_cache(maxsize=256)
def _page_statement(
    viewer: bool, given: frozenset[str], sort: IdeaSort, continued: bool, rows: int
) -> tuple[Prepared, list[str]]:
    """One shape of the list (which filters are given, a cursor or not, the page size),
    compiled once, and where its rows hold their sort keys."""
    types = {"topic_id": Idea.topic_id.type, "category_id": Idea.category_id.type}
    bound: dict[str, Any] = {
        name: bindparam(name, type_=types.get(name, String())) if name in given else None
        for name in _SHAPED
    }
    viewer_id = bindparam("viewer_id", type_=Idea.user_id.type) if viewer else None
    stmt, keys = _listed([], viewer_id, IdeaFilter(**bound), sort)
    stmt = stmt.add_columns(*IDEA_COLUMNS, *key_labels(keys, IDEA_COLUMNS))
    if continued:
        after = [bindparam(f"after{i}", type_=key.type) for i, key in enumerate(keys)]
        stmt = stmt.where(tuple_(*keys) < tuple_(*after))
    # LIMIT inline: one generic plan per page size, aware of the limit (see domain.pagination).
    stmt = stmt.order_by(*(key.desc() for key in keys)).limit(
        literal_column(str(int(rows)), Integer)
    )
    return Prepared(stmt), row_key_names(keys, IDEA_COLUMNS)


async def page_rows(
    db: Database,
    *,
    viewer_id: uuid.UUID | None,
    where: IdeaFilter,
    sort: IdeaSort,
    limit: int | None,
    cursor: str | None,
    after_lsn: int | None,
) -> Page[Any]:
    """`page` as rows of IdeaOut's columns, prepared once per shape and run on the driver,
    read where `Database.reading(after_lsn)` would read."""
    size = clamp_limit(limit)
    params: dict[str, Any] = {
        name: value for name in _SHAPED if (value := getattr(where, name)) is not None
    }
    if viewer_id is not None:
        params["viewer_id"] = viewer_id
    start = cursor_after(cursor, key_types_of(_sort_keys(sort))) if cursor else None
    for i, value in enumerate(start or ()):
        params[f"after{i}"] = value
    statement, names = _page_statement(
        viewer_id is not None,
        frozenset(params) & frozenset(_SHAPED),
        sort,
        start is not None,
        size + 1,
    )
    rows = await db.read_rows(statement, params, after=after_lsn)
    return page_of(rows, size, lambda row: [row[name] for name in names])


async def page_deleted(
    session: AsyncSession, since: datetime, *, limit: int | None, cursor: str | None
) -> Page[Idea]:
    """Ideas their authors deleted at or after `since`, newest deletion first."""
    stmt = select(Idea).where(
        Idea.status == ContentStatus.REMOVED.value,
        Idea.deleted_at.is_not(None),
        Idea.deleted_at >= since,
    )
    return await paginate(session, stmt, [Idea.deleted_at, Idea.id], limit=limit, cursor=cursor)
