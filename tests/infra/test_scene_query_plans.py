"""EXPLAIN the scene queries that migration 0008's indexes are for: the public list newest first
(the partial ix_scenes_listed_created), a topic's scenes (ix_scenes_topic_created, by id or
slug) and the purge's deleted scenes (the partial ix_scenes_deleted); and EXPLAIN ANALYZE a
scene's segment pages: the partitions outside the page's window are skipped.

Twenty thousand scenes over forty topics, one in eight deleted and some hidden, analysed; the
statements are the repositories' own, explained with the parameters they sent.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import pool, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

import domain.models  # noqa: F401 - every mapper, for the ORM statements below
from domain.pagination import encode_cursor
from domain.scenes import lifecycle_repository as lifecycle
from domain.scenes import read_repository
from domain.scenes import repository as scenes
from infra.partitions import add_months, month_start, partition_name
from tests.infra.test_query_plans import (
    driver_plan,
    explain,
    index_names,
    nodes,
    scans,
    sent_statement,
)
from tests.scratch import scratch_database

SEED = [
    "INSERT INTO users (email, username, password_hash) "
    "SELECT 'sp' || g || '@example.com', 'sp' || g, 'x' FROM generate_series(1, 50) g",
    "INSERT INTO topics (name, slug) SELECT 'T' || g, 'topic-' || g FROM generate_series(1, 40) g",
    "INSERT INTO ideas (user_id, topic_id, title, prompt) "
    "SELECT (SELECT id FROM users ORDER BY id OFFSET g % 50 LIMIT 1), t.id, 'An idea', 'A prompt' "
    "FROM topics t, generate_series(1, 5) g",
    # topic_id is left to the scenes_fill_topic trigger, as any raw insert may.
    "INSERT INTO scenes (idea_id, user_id, title, description, status, deleted_at, created_at) "
    "SELECT i.id, i.user_id, 'A scene', 'Fog.', "
    "CASE WHEN g % 17 = 0 THEN 'hidden' WHEN g % 5 = 0 THEN 'locked' ELSE 'active' END, "
    "CASE WHEN g % 8 = 0 THEN now() - (g % 60) * interval '1 day' END, "
    "now() - g * interval '1 minute' "
    "FROM ideas i, generate_series(1, 100) g",
]


@pytest.fixture(scope="module")
def scratch_url() -> Iterator[str]:
    with scratch_database("sceneplans") as url:
        yield url


@pytest.fixture(scope="module")
async def engine(scratch_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(scratch_url, poolclass=pool.NullPool)
    async with engine.begin() as conn:
        for sql in SEED:
            await conn.execute(text(sql))
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("ANALYZE"))
    yield engine
    await engine.dispose()


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with AsyncSession(engine) as session:
        yield session


def scene_scan(plan: dict[str, Any]) -> dict[str, Any]:
    return scans(plan)["scenes"]


async def test_the_seed_filled_each_scenes_topic_from_its_idea(session: AsyncSession) -> None:
    wrong = await session.scalar(
        text(
            "SELECT count(*) FROM scenes s JOIN ideas i ON i.id = s.idea_id "
            "WHERE s.topic_id IS DISTINCT FROM i.topic_id"
        )
    )
    assert wrong == 0
    assert await session.scalar(text("SELECT count(*) FROM scenes")) == 20_000


async def test_the_public_list_reads_the_partial_listed_index_in_order(
    session: AsyncSession,
) -> None:
    plan = await explain(
        session,
        lambda: scenes.page_listed_scenes(session, topic=None, sort="new", limit=20, cursor=None),
    )

    scan = scene_scan(plan)
    assert scan["Node Type"] in ("Index Scan", "Index Only Scan"), scan
    assert index_names(scan) == {"ix_scenes_listed_created"}
    assert not any(n["Node Type"] == "Sort" for n in nodes(plan)), "read in order, not sorted"
    page = await scenes.page_listed_scenes(session, topic=None, sort="new", limit=20, cursor=None)
    assert len(page.items) == 20
    assert all(s.deleted_at is None and s.status != "hidden" for s in page.items)


async def test_a_topics_scenes_read_the_topic_index(session: AsyncSession) -> None:
    topic_id, slug = (await session.execute(text("SELECT id, slug FROM topics LIMIT 1"))).one()

    for topic in (str(topic_id), slug):
        plan = await explain(
            session,
            lambda topic=topic: scenes.page_listed_scenes(
                session, topic=topic, sort="new", limit=20, cursor=None
            ),
        )
        scan = scene_scan(plan)
        assert scan["Node Type"] != "Seq Scan", scan
        assert index_names(scan) == {"ix_scenes_topic_created"}, scan
        assert not any(n["Node Type"] == "Sort" for n in nodes(plan)), plan
    page = await scenes.page_listed_scenes(session, topic=slug, sort="new", limit=100, cursor=None)
    assert page.items and all(s.topic_id == topic_id for s in page.items)


async def test_the_purge_finds_deleted_scenes_through_the_partial_index(
    session: AsyncSession,
) -> None:
    cutoff = datetime.now(UTC) - timedelta(days=30)

    plan = await explain(session, lambda: lifecycle.purge_due(session, cutoff, 100))

    scan = scene_scan(plan)
    assert scan["Node Type"] in ("Index Scan", "Index Only Scan", "Bitmap Heap Scan"), scan
    assert index_names(scan) == {"ix_scenes_deleted"}
    due = await lifecycle.purge_due(session, cutoff, 100)
    assert len(due) == 100


async def executed_partitions(session: AsyncSession, run: Any, *, generic: bool) -> set[str]:
    """The segments partitions that the one statement `run` sends really reads (EXPLAIN
    ANALYZE, with the parameters it sent): as a custom plan, or as a prepared statement's
    generic plan."""
    statement, parameters = await sent_statement(session, run)
    return await read_partitions(session, statement, parameters, generic=generic)


async def read_partitions(
    session: AsyncSession, statement: str, parameters: Any, *, generic: bool
) -> set[str]:
    """The segments partitions that `statement` run with `parameters` really reads."""
    raw = (await (await session.connection()).get_raw_connection()).driver_connection
    mode = "force_generic_plan" if generic else "force_custom_plan"
    await raw.execute(f"SET plan_cache_mode = {mode}")  # type: ignore[union-attr]
    try:
        prepared = await raw.prepare(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}")  # type: ignore[union-attr]
        plan = await prepared.fetchval(*parameters)
    finally:
        await raw.execute("RESET plan_cache_mode")  # type: ignore[union-attr]
    plan = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
    read = {
        n["Relation Name"]
        for n in nodes(plan)
        if n.get("Relation Name", "").startswith("segments_") and n["Actual Loops"] > 0
    }
    assert read, "the page read no partition at all"
    return read


async def test_a_segment_page_reads_only_the_partitions_of_its_window(
    session: AsyncSession,
) -> None:
    # Thirty segments in each of the next three months (their partitions exist from the
    # migration; the current month's stays empty, the default one too).
    scene_id = await session.scalar(text("SELECT id FROM scenes LIMIT 1"))
    months = [add_months(month_start(datetime.now(UTC).date()), n) for n in (1, 2, 3)]
    await session.execute(
        text(
            "INSERT INTO segments (scene_id, sequence, text, created_at) "
            "SELECT :scene, g, 'words', "
            "(ARRAY[CAST(:m1 AS timestamptz), CAST(:m2 AS timestamptz), CAST(:m3 AS timestamptz)])"
            "[(g - 1) / 30 + 1] + ((g - 1) % 30) * interval '1 hour' "
            "FROM generate_series(1, 90) g"
        ),
        {"scene": scene_id, **{f"m{i}": _midnight(m) for i, m in enumerate(months, 1)}},
    )
    month = [partition_name("segments", m) for m in months]

    def page(after: int | None) -> Any:
        cursor = encode_cursor([after]) if after else None
        return lambda: scenes.page_active_segments(session, scene_id, limit=20, cursor=cursor)

    this = partition_name("segments", month_start(datetime.now(UTC).date()))
    for generic in (False, True):
        # A first page is bounded above by its window's last creation time, a later one below
        # by its first: the months past the first page's window (sequences 1-21) are skipped,
        # and so are those before a later page's window (41-61: the second and third months;
        # 66-86: the third).
        first = await executed_partitions(session, page(None), generic=generic)
        assert month[0] in first and not first & {month[1], month[2]}, first
        later = await executed_partitions(session, page(40), generic=generic)
        assert {month[1], month[2]} <= later and not later & {this, month[0]}, later
        last = await executed_partitions(session, page(65), generic=generic)
        assert month[2] in last and not last & {this, month[0], month[1]}, last
    listed = await scenes.page_active_segments(
        session, scene_id, limit=20, cursor=encode_cursor([40])
    )
    assert [s.sequence for s in listed.items] == list(range(41, 61))
    # The API's one statement (the page with the scene and each segment's extras): the same.
    for generic in (False, True):
        for after, wanted, skipped in (
            (0, {month[0]}, {month[1], month[2]}),
            (40, {month[1], month[2]}, {this, month[0]}),
            (65, {month[2]}, {this, month[0], month[1]}),
        ):
            sent = read_repository._scene_segment_page(21, windowed=True, first=not after)
            arguments = sent.arguments({"scene_id": scene_id, "after": after})
            read = await read_partitions(session, sent.sql, arguments, generic=generic)
            assert wanted <= read and not read & skipped, (after, read)
    await session.rollback()


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


async def test_the_driver_lists_generic_plans_read_their_indexes_in_order(
    session: AsyncSession,
) -> None:
    """The public list as the API runs it (read_repository, on the driver pool, whose
    connections keep a generic plan): newest first, whole or a topic's (by id or slug)."""
    topic_id, slug = (await session.execute(text("SELECT id, slug FROM topics LIMIT 1"))).one()
    shapes = {
        None: ({}, "ix_scenes_listed_created"),
        "id": ({"topic_id": topic_id}, "ix_scenes_topic_created"),
        "slug": ({"topic_slug": slug}, "ix_scenes_topic_created"),
    }
    for shape, (params, index) in shapes.items():
        plan = await driver_plan(
            session, read_repository._listed_page(shape, "new", False, 21), params
        )
        scan = scene_scan(plan)
        assert scan["Node Type"] in ("Index Scan", "Index Only Scan"), (shape, scan)
        assert index_names(scan) == {index}, (shape, scan)
        # The page is the index read in order and stopped at the limit: no sort below the
        # Limit (the page's 21 rows are sorted again above, once joined with their covers).
        limit = [n for n in nodes(plan) if n["Node Type"] == "Limit" and scan in nodes(n)][-1]
        assert all(n["Node Type"] != "Sort" for n in nodes(limit)), (shape, plan)
