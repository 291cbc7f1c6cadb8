"""The scene reads anyone repeats (one scene, the public lists), prepared and run on the driver.

Each statement is composed and compiled once per shape (which filters, which sort, a cursor
or not, the page size) and run through `Database.read_rows`: no session, no ORM objects, no
result object, and the cover segment read in the same statement as the scenes.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, func, literal_column, select, true, tuple_
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.types import Integer, Uuid

from domain.engagement.models import LikeTarget, TrendingScore
from domain.engagement.stats_repository import TRENDING_KEYS, trending_join
from domain.media.models import SegmentMedia
from domain.pagination import (
    Page,
    clamp_limit,
    cursor_after,
    encode_cursor,
    key_labels,
    key_types_of,
    page_of,
    row_key_names,
)
from domain.scenes.models import Scene
from domain.scenes.repository import (
    _unbounded_page,
    _windowed_page,
    cover_of,
    listed,
    sequence_after,
    unnested,
)
from domain.topics.models import Topic
from domain.users.models import User
from infra.db import Database
from infra.prepared import Prepared

# What SceneOut shows of a scene, and the chosen cover's key (a storage key, never shown).
SCENE_COLUMNS: tuple[Any, ...] = (
    Scene.id,
    Scene.idea_id,
    Scene.topic_id,
    Scene.user_id,
    Scene.title,
    Scene.description,
    Scene.status,
    Scene.bible_version,
    Scene.segment_count,
    Scene.total_duration,
    Scene.contributor_count,
    Scene.like_count,
    Scene.view_count,
    Scene.last_segment_at,
    Scene.created_at,
    Scene.updated_at,
    Scene.locked_at,
    Scene.deleted_at,
)


def _with_cover(source: Any, scene_id: Any, chosen_key: Any) -> tuple[Any, Any]:
    picked, automatic, cover_id = cover_of(scene_id, chosen_key)
    return source.outerjoin(picked, true()).outerjoin(automatic, true()), cover_id.label("cover_id")


@functools.cache
def _scene() -> Prepared:
    joined, cover_id = _with_cover(Scene.__table__, Scene.id, Scene.thumbnail_url)
    return Prepared(
        select(*SCENE_COLUMNS, cover_id)
        .select_from(joined)
        .where(Scene.id == bindparam("scene_id", type_=Scene.id.type))
    )


async def scene_with_cover(db: Database, scene_id: uuid.UUID, *, after: int | None) -> Any:
    """The scene's SceneOut columns and `cover_id` (None: no cover), or None; read where
    `Database.reading(after)` would read."""
    return await db.read_row(_scene(), {"scene_id": scene_id}, after=after)


@functools.cache
def _visibility() -> Prepared:
    return Prepared(
        select(Scene.status, Scene.deleted_at).where(
            Scene.id == bindparam("scene_id", type_=Scene.id.type)
        )
    )


async def scene_visibility(db: Database, scene_id: uuid.UUID, *, after: int | None) -> Any:
    """The scene's `status` and `deleted_at` (what visibility reads), or None."""
    return await db.read_row(_visibility(), {"scene_id": scene_id}, after=after)


@functools.cache
def _segment_page(rows: int, *, windowed: bool, first: bool) -> Prepared:
    """repository.page_active_segments' statements (its SQL), compiled for the driver."""
    if windowed:
        return Prepared(_windowed_page(rows, first=first))
    return Prepared(_unbounded_page(rows))


async def page_active_segment_rows(
    db: Database,
    scene_id: uuid.UUID,
    *,
    limit: int | None,
    cursor: str | None,
    after_lsn: int | None,
) -> Page[Any]:
    """repository.page_active_segments run on the driver (no session, no ORM objects): the
    same statements, the same fallback to the unbounded page, rows with Segment's columns
    as attributes, read where `Database.reading(after_lsn)` would read."""
    size = clamp_limit(limit)
    start = sequence_after(cursor)
    params = {"scene_id": scene_id, "after": start}
    windowed = _segment_page(size + 1, windowed=True, first=not start)
    rows = await db.read_rows(windowed, params, after=after_lsn)
    if not rows or len(rows) < rows[0].window or rows[-1].sequence > rows[0].window_last:
        unbounded = _segment_page(size + 1, windowed=False, first=False)
        rows = await db.read_rows(unbounded, params, after=after_lsn)
    has_more = len(rows) > size
    rows = rows[:size]
    return Page(items=rows, next_cursor=encode_cursor([rows[-1].sequence]) if has_more else None)


@functools.cache
def _segment_extras() -> Prepared:
    listed = unnested(
        "listed", ("segment_id", "segment_ids", Uuid()), ("user_id", "user_ids", Uuid())
    )
    roles = (
        select(func.array_agg(aggregate_order_by(SegmentMedia.role, SegmentMedia.role)))
        .where(SegmentMedia.segment_id == listed.c.segment_id)
        .scalar_subquery()
    )
    return Prepared(
        select(
            listed.c.segment_id, roles.label("roles"), User.username, User.display_name
        ).select_from(listed.outerjoin(User, User.id == listed.c.user_id))
    )


async def segment_extras(
    db: Database, segments: Sequence[Any], *, after: int | None
) -> dict[uuid.UUID, Any]:
    """Per segment, in one query: the kinds of media it has (`roles`, None: none) and its
    author's `username` and `display_name` (None: no author, or the account is gone)."""
    if not segments:
        return {}
    params = {"segment_ids": [s.id for s in segments], "user_ids": [s.user_id for s in segments]}
    rows = await db.read_rows(_segment_extras(), params, after=after)
    return {row.segment_id: row for row in rows}


def _keys(sort: str) -> list[Any]:
    if sort == "popular":
        return [Scene.like_count, Scene.id]
    if sort == "active":
        return [func.coalesce(Scene.last_segment_at, Scene.created_at), Scene.id]
    if sort == "trending":
        return TRENDING_KEYS
    return [Scene.created_at, Scene.id]


@functools.lru_cache(maxsize=128)
def _listed_page(
    topic: str | None, sort: str, continued: bool, rows: int, idea: bool = False
) -> Prepared:
    """One shape of the public list: topic None, "id" or "slug"; one idea's or not; a cursor
    or not."""
    keys = _keys(sort)
    labels = key_labels(keys, SCENE_COLUMNS)
    stmt = select(*SCENE_COLUMNS, Scene.thumbnail_url, *labels).where(listed())
    if idea:
        stmt = stmt.where(Scene.idea_id == bindparam("idea_id", type_=Scene.idea_id.type))
    if topic == "id":
        stmt = stmt.where(Scene.topic_id == bindparam("topic_id", type_=Scene.topic_id.type))
    elif topic == "slug":
        # A scalar subquery, not a join: the topic's id is known before the scan starts,
        # so the scan is the topic's own (topic_id, created_at) index, however big the topic.
        by_slug = select(Topic.id).where(
            Topic.slug == bindparam("topic_slug", type_=Topic.slug.type)
        )
        stmt = stmt.where(Scene.topic_id == by_slug.scalar_subquery())
    if sort == "trending":
        stmt = stmt.join(TrendingScore, trending_join(LikeTarget.SCENE, Scene.id))
    if continued:
        after = [bindparam(f"after{i}", type_=key.type) for i, key in enumerate(keys)]
        stmt = stmt.where(tuple_(*keys) < tuple_(*after))
    # LIMIT inline: one generic plan per page size, aware of the limit (see domain.pagination).
    stmt = stmt.order_by(*(key.desc() for key in keys)).limit(
        literal_column(str(int(rows)), Integer)
    )
    # The page first, then its covers: the LATERAL reads run for the page's rows only.
    page = stmt.subquery("page")
    joined, cover_id = _with_cover(page, page.c.id, page.c.thumbnail_url)
    shown = [page.c[column.key] for column in SCENE_COLUMNS]
    ordered = [page.c[label.name].desc() for label in labels]
    return Prepared(
        select(*shown, *(page.c[label.name] for label in labels), cover_id)
        .select_from(joined)
        .order_by(*ordered)
    )


def _as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


async def page_listed_scenes(
    db: Database,
    *,
    topic: str | None,
    sort: str,
    limit: int | None,
    cursor: str | None,
    after_lsn: int | None,
    idea_id: uuid.UUID | None = None,
) -> Page[Any]:
    """A page of the public list (rows with SceneOut's columns and `cover_id`), read where
    `Database.reading(after_lsn)` would read; topic is an id or a slug; idea_id: that idea's
    scenes only."""
    size = clamp_limit(limit)
    keys = _keys(sort)
    params: dict[str, Any] = {} if idea_id is None else {"idea_id": idea_id}
    shape: str | None = None
    if topic is not None:
        topic_id = _as_uuid(topic)
        shape = "id" if topic_id is not None else "slug"
        params["topic_id" if topic_id is not None else "topic_slug"] = topic_id or topic
    start = cursor_after(cursor, key_types_of(keys)) if cursor else None
    for i, value in enumerate(start or ()):
        params[f"after{i}"] = value
    statement = _listed_page(shape, sort, start is not None, size + 1, idea_id is not None)
    rows = await db.read_rows(statement, params, after=after_lsn)
    names = row_key_names(keys, SCENE_COLUMNS)
    return page_of(rows, size, lambda row: [getattr(row, name) for name in names])
