"""The scene reads anyone repeats (one scene, the public lists, a scene's segments page),
prepared and run on the driver.

Each statement is composed and compiled once per shape (which filters, which sort, a cursor
or not, the page size) and run through `Database.read_rows`: no session, no ORM objects, no
result object, and what a response shows besides read in the same statement (the cover
segment of scenes; a segment page's scene, media kinds and authors).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import bindparam, func, literal_column, null, select, true, tuple_
from sqlalchemy.types import Integer

from domain.engagement.models import LikeTarget, TrendingScore
from domain.engagement.stats_repository import TRENDING_KEYS, trending_join
from domain.errors import InvalidInput
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
from domain.scenes.models import Scene, SegmentSequence
from domain.scenes.repository import (
    cover_of,
    found_field,
    listed,
    sequence_after,
    unbounded_candidates,
    windowed_candidates,
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


# SegmentOut's fields that are the segment's own columns, in its order.
SEGMENT_FIELDS = (
    "id",
    "scene_id",
    "sequence",
    "user_id",
    "text",
    "duration",
    "bible_version",
    "created_at",
    "resolution",
    "file_size",
)


@functools.cache
def _scene_segment_page(rows: int, *, windowed: bool, first: bool) -> Prepared:
    """The scene's `status` and `deleted_at`, and the page (repository.page_active_segments'
    statements), each row with its media kinds (`roles`) and its author's names: one row of
    NULL segment columns when the page is empty, none when there is no such scene."""
    if windowed:
        page, size, last = windowed_candidates(rows, first=first)
    else:
        page, size, last = unbounded_candidates(rows), null(), null()
    segment_id, user_id = found_field("id"), found_field("user_id")
    # Kept on the segment's claim (migration 0015): one index entry, not its media rows.
    roles = (
        select(SegmentSequence.media_roles)
        .where(SegmentSequence.segment_id == segment_id)
        .scalar_subquery()
    )
    # Only the columns SegmentOut shows leave the composite row: `script` is not decoded.
    listed = (
        select(
            *(found_field(name).label(name) for name in SEGMENT_FIELDS),
            roles.label("roles"),
            User.username.label("author_username"),
            User.display_name.label("author_display_name"),
        )
        .select_from(page.outerjoin(User, User.id == user_id))
        .subquery("listed")
    )
    return Prepared(
        select(
            Scene.status,
            Scene.deleted_at,
            size.label("window"),
            last.label("window_last"),
            *listed.c,
        )
        .select_from(Scene.__table__.outerjoin(listed, true()))
        .where(Scene.id == bindparam("scene_id", type_=Scene.id.type))
        .order_by(listed.c.sequence)
    )


async def page_scene_segments(
    db: Database,
    scene_id: uuid.UUID,
    *,
    visible: Callable[[Any], bool],
    limit: int | None,
    cursor: str | None,
    after_lsn: int | None,
) -> Page[Any] | None:
    """repository.page_active_segments with each segment's media kinds (`roles`, None: none)
    and author (`author_username`, `author_display_name`; None: none, or the account is gone),
    for a scene that exists and that `visible` accepts (given its `status` and `deleted_at`),
    else None; in one statement on the driver, read where `Database.reading(after_lsn)` reads.

    The page read again without its window (when the window is not all of it) is a second.
    """
    size = clamp_limit(limit)
    try:
        start = sequence_after(cursor)
    except InvalidInput:
        scene = await db.read_row(_visibility(), {"scene_id": scene_id}, after=after_lsn)
        if scene is None or not visible(scene):
            return None  # no such scene comes before a wrong cursor
        raise
    params = {"scene_id": scene_id, "after": start}
    windowed = _scene_segment_page(size + 1, windowed=True, first=not start)
    rows = await db.read_rows(windowed, params, after=after_lsn)
    if not rows or not visible(scene := windowed.row(rows[0])):
        return None
    if scene.id is None or len(rows) < scene.window or rows[-1]["sequence"] > scene.window_last:
        unbounded = _scene_segment_page(size + 1, windowed=False, first=False)
        rows = await db.read_rows(unbounded, params, after=after_lsn)
        if not rows:
            return None  # deleted meanwhile
    if rows[0]["id"] is None:
        return Page(items=[], next_cursor=None)
    has_more = len(rows) > size
    rows = rows[:size]
    return Page(items=rows, next_cursor=encode_cursor([rows[-1]["sequence"]]) if has_more else None)


def _keys(sort: str) -> list[Any]:
    if sort == "popular":
        return [Scene.like_count, Scene.id]
    if sort == "active":
        return [func.coalesce(Scene.last_segment_at, Scene.created_at), Scene.id]
    if sort == "trending":
        return TRENDING_KEYS
    return [Scene.created_at, Scene.id]


@functools.cache
def _row_keys(sort: str) -> list[str]:
    """Where a row of the list sorted by `sort` holds its sort keys, worked out once."""
    return row_key_names(_keys(sort), SCENE_COLUMNS)


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
    params: dict[str, Any] = {} if idea_id is None else {"idea_id": idea_id}
    shape: str | None = None
    if topic is not None:
        topic_id = _as_uuid(topic)
        shape = "id" if topic_id is not None else "slug"
        params["topic_id" if topic_id is not None else "topic_slug"] = topic_id or topic
    start = cursor_after(cursor, key_types_of(_keys(sort))) if cursor else None
    for i, value in enumerate(start or ()):
        params[f"after{i}"] = value
    statement = _listed_page(shape, sort, start is not None, size + 1, idea_id is not None)
    rows = await db.read_rows(statement, params, after=after_lsn)
    names = _row_keys(sort)
    return page_of(rows, size, lambda row: [row[name] for name in names])
