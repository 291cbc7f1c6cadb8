"""EXPLAIN the scene queries that migration 0008's indexes are for: the public list newest first
(the partial ix_scenes_listed_created), a topic's scenes (ix_scenes_topic_created, by id or
slug) and the purge's deleted scenes (the partial ix_scenes_deleted).

Twenty thousand scenes over forty topics, one in eight deleted and some hidden, analysed; the
statements are the repositories' own, explained with the parameters they sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import pool, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

import domain.models  # noqa: F401 - every mapper, for the ORM statements below
from domain.scenes import lifecycle_repository as lifecycle
from domain.scenes import repository as scenes
from tests.infra.test_query_plans import explain, index_names, nodes, scans
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
