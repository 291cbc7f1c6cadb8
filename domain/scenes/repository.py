"""Every query on scenes, their bible versions and their segments."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import (
    Table,
    and_,
    bindparam,
    column,
    func,
    literal_column,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer
from sqlalchemy.types import Integer, String, Uuid

from domain.engagement.models import LikeTarget, TrendingScore
from domain.engagement.stats_repository import (
    TRENDING_KEYS,
    trending_join,
)
from domain.errors import InvalidInput
from domain.ideas.models import ContentStatus, Idea, ReviewStatus
from domain.pagination import Page, clamp_limit, decode_cursor, encode_cursor, paginate
from domain.scenes.models import (
    LISTED_STATUSES,
    Scene,
    SceneBible,
    Segment,
    SegmentSequence,
    SegmentStatus,
)
from domain.topics.models import Topic

# Literals, not bound values: a generic plan of a prepared statement can then still prove the
# partial index's predicate.
_LISTED: list[Any] = [literal_column(f"'{status}'") for status in LISTED_STATUSES]


def listed() -> Any:
    """The public lists' condition (ix_scenes_listed_created is partial on exactly this)."""
    return and_(Scene.deleted_at.is_(None), Scene.status.in_(_LISTED))


# Scenes


async def get_scene(session: AsyncSession, scene_id: uuid.UUID) -> Scene | None:
    return await session.get(Scene, scene_id)


async def count_scene_on_idea(
    session: AsyncSession, idea_id: uuid.UUID, caller_id: uuid.UUID
) -> uuid.UUID | None:
    """Bump the idea's scene_count if the caller may build on it: its topic, else None.

    One conditional UPDATE: the count stays exact under concurrent creations, and the row
    lock holds the idea's status still until the scene is committed.
    """
    result = await session.execute(
        update(Idea)
        .where(
            Idea.id == idea_id,
            Idea.status == ContentStatus.ACTIVE.value,
            or_(Idea.review_status == ReviewStatus.APPROVED.value, Idea.user_id == caller_id),
        )
        .values(scene_count=Idea.scene_count + 1)
        .returning(Idea.topic_id)
    )
    return result.scalar_one_or_none()


async def count_scenes_of_topic(session: AsyncSession, topic_id: uuid.UUID, delta: int) -> None:
    """Keep the topic's scene_count (scenes not deleted) as scenes come, go and come back."""
    await session.execute(
        update(Topic)
        .where(Topic.id == topic_id)
        .values(scene_count=Topic.scene_count + delta)
        .execution_options(synchronize_session=False)
    )


async def add_scene(session: AsyncSession, scene: Scene, bible: SceneBible) -> Scene:
    session.add(scene)
    await session.flush()
    bible.scene_id = scene.id
    session.add(bible)
    await session.flush()
    await session.refresh(scene)
    return scene


async def page_listed_scenes(
    session: AsyncSession,
    *,
    topic: str | None,
    sort: str,
    limit: int | None,
    cursor: str | None,
) -> Page[Scene]:
    stmt = select(Scene).where(listed())
    if topic is not None:
        topic_id = _as_uuid(topic)
        if topic_id is not None:
            stmt = stmt.where(Scene.topic_id == topic_id)
        else:
            # A scalar subquery, not a join: the topic's id is known before the scan starts,
            # so the scan is the topic's own (topic_id, created_at) index, however big the topic.
            by_slug = select(Topic.id).where(Topic.slug == topic).scalar_subquery()
            stmt = stmt.where(Scene.topic_id == by_slug)
    keys: list[Any]
    if sort == "popular":
        keys = [Scene.like_count, Scene.id]
    elif sort == "active":
        keys = [func.coalesce(Scene.last_segment_at, Scene.created_at), Scene.id]
    elif sort == "trending":
        stmt = stmt.join(TrendingScore, trending_join(LikeTarget.SCENE, Scene.id))
        keys = TRENDING_KEYS
    else:
        keys = [Scene.created_at, Scene.id]
    return await paginate(session, stmt, keys, limit=limit, cursor=cursor)


def _as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


# Bible versions


async def head_version(session: AsyncSession, scene_id: uuid.UUID) -> int | None:
    """The committed head, read fresh (a column select bypasses the identity map)."""
    return await session.scalar(select(Scene.bible_version).where(Scene.id == scene_id))


async def advance_head(session: AsyncSession, scene_id: uuid.UUID, expected: int, new: int) -> bool:
    """Move the head from `expected` to `new`; False when another writer moved it first.

    Concurrent writers queue on the row lock; once the winner commits, the others re-check
    the WHERE against the new row and match nothing.
    """
    result = await session.execute(
        update(Scene)
        .where(Scene.id == scene_id, Scene.bible_version == expected)
        .values(bible_version=new)
        .returning(Scene.id)
        .execution_options(synchronize_session=False)
    )
    return result.scalar_one_or_none() is not None


async def add_bible_version(session: AsyncSession, bible: SceneBible) -> SceneBible:
    session.add(bible)
    await session.flush()
    await session.refresh(bible)
    return bible


async def get_bible_version(
    session: AsyncSession, scene_id: uuid.UUID, version: int
) -> SceneBible | None:
    return await session.scalar(
        select(SceneBible).where(SceneBible.scene_id == scene_id, SceneBible.version == version)
    )


async def get_bible_versions(
    session: AsyncSession, scene_id: uuid.UUID, versions: Sequence[int]
) -> dict[int, SceneBible]:
    rows = await session.scalars(
        select(SceneBible).where(
            SceneBible.scene_id == scene_id, SceneBible.version.in_(list(versions))
        )
    )
    return {row.version: row for row in rows}


async def page_bible_versions(
    session: AsyncSession, scene_id: uuid.UUID, *, limit: int | None, cursor: str | None
) -> Page[SceneBible]:
    stmt = (
        select(SceneBible)
        .where(SceneBible.scene_id == scene_id)
        .options(defer(SceneBible.data, raiseload=True))
    )
    return await paginate(
        session, stmt, [SceneBible.version], limit=limit, cursor=cursor, descending=False
    )


# Segments


def sequence_after(cursor: str | None) -> int:
    """The sequence a segments page's cursor continues after (0: the first page)."""
    after = decode_cursor(cursor, 1)[0] if cursor else 0
    if not isinstance(after, int) or isinstance(after, bool):
        raise InvalidInput(
            "The cursor is not valid for this list.",
            [{"pointer": "/cursor", "message": "malformed or foreign cursor"}],
        )
    return after


async def page_active_segments(
    session: AsyncSession, scene_id: uuid.UUID, *, limit: int | None, cursor: str | None
) -> Page[Segment]:
    """A page of the scene's active segments in sequence order, read from the partitions
    that can hold it.

    Nothing in the list's own condition names a time, so every monthly partition would be
    searched. `segment_sequences` (one row per sequence, unpartitioned) knows when each of the
    page's candidates was written: the next `limit + 1` sequences after the cursor (the
    window) bound the page's creation times, and PostgreSQL skips the partitions outside
    them while running the statement. The window's size and last sequence ride along on
    every row: the page is the window exactly when it has as many rows as the window and
    none past it. Otherwise some of the window is not active, and only then is the page read
    again without the bound (so is an empty page).
    """
    size = clamp_limit(limit)
    after = sequence_after(cursor)
    params = {"scene_id": scene_id, "after": after}
    rows = (await session.execute(_windowed_page(size + 1, first=not after), params)).all()
    if not rows or len(rows) < rows[0].window or rows[-1][0].sequence > rows[0].window_last:
        rows = (await session.execute(_unbounded_page(size + 1), params)).all()
    segments = [row[0] for row in rows]
    has_more = len(segments) > size
    segments = segments[:size]
    next_cursor = encode_cursor([segments[-1].sequence]) if has_more else None
    return Page(items=segments, next_cursor=next_cursor)


# A prepared statement keeps its generic plan only while that looks no costlier than the
# custom plans of its first calls, and a custom plan of the partitioned page plans every
# partition again at each call (1-3 ms, ten times the page itself). So a custom plan is
# given nothing a generic one lacks: literals where the statement's shape fixes a value,
# and the scene as a subquery's value (else a scene in the statistics' most common values
# looks cheaper to page through, as one partition's, than the generic plan's average).
_ACTIVE: Any = literal_column(f"'{SegmentStatus.ACTIVE.value}'")


def _sequence_after(first: bool) -> Any:
    return _inline(0) if first else bindparam("after")


def _page_of_active(rows: int, *, first: bool = False) -> Any:
    scene_id = select(bindparam("scene_id", type_=Segment.scene_id.type)).scalar_subquery()
    return (
        select(Segment)
        .where(
            Segment.scene_id == scene_id,
            Segment.status == _ACTIVE,
            Segment.sequence > _sequence_after(first),
        )
        .order_by(Segment.sequence)
        # Inline: one generic plan per page size, aware of the limit (see domain.pagination).
        .limit(_inline(rows))
    )


def _inline(count: int) -> Any:
    return literal_column(str(int(count)), Integer)


@functools.cache
def _unbounded_page(rows: int) -> Any:
    return _page_of_active(rows)


def windowed_candidates(rows: int, *, first: bool) -> tuple[Any, Any, Any]:
    """The page bounded by its window of sequences (see page_active_segments): a subquery
    `page` of each row as one composite value (`found`) and its `sequence`, and the window's
    size and last sequence (scalar subqueries, run once)."""
    claimed = (
        select(SegmentSequence.sequence, SegmentSequence.segment_created_at)
        .where(
            SegmentSequence.scene_id == bindparam("scene_id"),
            SegmentSequence.sequence > _sequence_after(first),
        )
        .order_by(SegmentSequence.sequence)
        .limit(_inline(rows))
        .subquery("claimed")
    )
    window = select(
        func.max(claimed.c.sequence).label("last"),
        func.min(claimed.c.segment_created_at).label("since"),
        func.max(claimed.c.segment_created_at).label("until"),
        func.count().label("size"),
    ).cte("window")
    # Scalar subqueries, run once before the scan: their values prune partitions at run time.
    last, since, until, size = (select(value).scalar_subquery() for value in window.c)
    # Both ends: only the months the window spans are read (a deep page of a long-lived scene
    # skipped its earlier months but read the first rows of every later one). Given a range
    # of unknown ends PostgreSQL guesses it holds 0.5% of the rows; that is harmless only
    # because the window's sequences bound the index condition too: however few rows it
    # expects, the cheapest plan is the (scene_id, sequence) index, and no scan reads past
    # the window, merged in order or fetched and sorted.
    bound = and_(Segment.created_at >= since, Segment.created_at <= until)
    page = _page_of_active(rows, first=first).where(bound, Segment.sequence <= last)
    return _composite(page), size, last


def unbounded_candidates(rows: int) -> Any:
    """The page without a window, as windowed_candidates' subquery `page`."""
    return _composite(_page_of_active(rows))


def _composite(statement: Any) -> Any:
    # The row as one composite value: every partition's scan is set up (and its output type
    # built) at each execution, pruned or not, and one column costs far less than 22.
    table = cast(Table, Segment.__table__)
    return statement.with_only_columns(
        table.table_valued().label("found"), Segment.sequence
    ).subquery("page")


def found_field(name: str) -> Any:
    """A column of a candidates subquery's composite row (`page.found`), typed as the table's."""
    return literal_column(f"(page.found).{name}", Segment.__table__.c[name].type)


@functools.cache
def _windowed_page(rows: int, *, first: bool) -> Any:
    page, size, last = windowed_candidates(rows, first=first)
    fields = [found_field(c.name).label(c.name) for c in Segment.__table__.c]
    spread = (
        select(*fields, size.label("window"), last.label("window_last"))
        .select_from(page)
        .order_by(page.c.sequence)
    )
    return select(
        Segment, column("window", Integer), column("window_last", Integer)
    ).from_statement(spread)


def cover_of(scene_id: Any, chosen_key: Any) -> tuple[Any, Any, Any]:
    """The LATERAL subqueries that pick a scene's cover segment, and its id: the active
    segment whose thumbnail is the chosen key, else the first active segment with a thumbnail.

    Both read `segment_sequences`, whose `cover_key` is a segment's thumbnail while it is
    active (kept by the trigger on `segments`; migration 0014): one partial index each, in
    order, stopping at the first match, however long the scene and however many months of
    `segments` partitions there are.
    """

    def first(*where: Any, name: str) -> Any:
        return (
            select(SegmentSequence.segment_id)
            .where(
                SegmentSequence.scene_id == scene_id,
                SegmentSequence.cover_key.is_not(None),
                *where,
            )
            .order_by(SegmentSequence.sequence)
            .limit(1)
            .lateral(name)
        )

    # The IS NOT NULL is a one-time filter: a scene with no choice is not scanned for one.
    picked = first(chosen_key.is_not(None), SegmentSequence.cover_key == chosen_key, name="picked")
    automatic = first(name="automatic")
    cover = func.coalesce(picked.c.segment_id, automatic.c.segment_id)
    return picked, automatic, cover.label("segment_id")


def unnested(name: str, *columns: tuple[str, str, Any]) -> Any:
    """A derived table of array parameters side by side: (column, parameter, element type)."""
    arrays = (bindparam(param, type_=ARRAY(kind)) for _, param, kind in columns)
    return (
        func.unnest(*arrays)
        .table_valued(*(column for column, _, _ in columns))
        .render_derived(name=name)
    )


def _cover_statement() -> Any:
    wanted = unnested(
        "wanted", ("scene_id", "scene_ids", Uuid()), ("chosen_key", "chosen_keys", String())
    )
    picked, automatic, segment_id = cover_of(wanted.c.scene_id, wanted.c.chosen_key)
    return select(wanted.c.scene_id, segment_id).select_from(
        wanted.outerjoin(picked, true()).outerjoin(automatic, true())
    )


# Built once: composing it (and its cache key) cost more than running it, on every list.
_COVERS = _cover_statement()


async def cover_segments(
    session: AsyncSession, chosen: Mapping[uuid.UUID, str | None]
) -> dict[uuid.UUID, uuid.UUID]:
    """Each scene's cover segment, for a page in one query: the active segment whose thumbnail
    is the chosen key (scene id -> key, None: no choice), else the first active segment with
    a thumbnail; scenes with neither are left out.

    LATERAL subqueries per scene (cover_of) stop at the first match, however long the scene.
    """
    if not chosen:
        return {}
    rows = await session.execute(
        _COVERS, {"scene_ids": list(chosen), "chosen_keys": list(chosen.values())}
    )
    return {row.scene_id: row.segment_id for row in rows if row.segment_id is not None}
