"""Migration 0008 with data in the tables: the backfills going up (a scene's topic from its idea,
view and scene counts, promoted topics not curated) and the statuses coming down (archived ->
locked, deleted -> removed)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest
from alembic import command

from tests.conftest import alembic_config, asyncpg_dsn
from tests.scratch import scratch_database

SEED = """
INSERT INTO users (email, username, password_hash) VALUES ('mig8@example.com', 'migration8', 'x');
INSERT INTO topics (name, slug) VALUES ('Curated', 'curated'), ('Promoted', 'promoted');
INSERT INTO user_topics (user_id, name, description, status, promoted_to_topic_id)
  SELECT u.id, 'Promoted', 'Why', 'approved', t.id FROM users u, topics t WHERE t.slug = 'promoted';
INSERT INTO ideas (user_id, topic_id, title, prompt)
  SELECT u.id, t.id, 'Idea ' || t.slug, 'A prompt' FROM users u, topics t;
INSERT INTO scenes (idea_id, user_id, title, description, view_count)
  SELECT i.id, i.user_id, 'Scene ' || g, 'Fog.', g FROM ideas i, generate_series(1, 3) g;
"""


@pytest.fixture(scope="module")
def scratch_url() -> Iterator[str]:
    with scratch_database("migration0008") as url:
        yield url


async def _run(url: str, sql: str) -> list[Any]:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        if ";" in sql.strip().rstrip(";"):
            await conn.execute(sql)
            return []
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


def run(url: str, sql: str) -> list[Any]:
    return asyncio.run(_run(url, sql))


def test_0008_fills_the_new_columns_from_the_data_and_comes_back_down(scratch_url: str) -> None:
    config = alembic_config(scratch_url)
    command.downgrade(config, "0006")
    run(scratch_url, SEED)

    command.upgrade(config, "0008")

    mismatched = run(
        scratch_url,
        "SELECT count(*) AS n FROM scenes s JOIN ideas i ON i.id = s.idea_id "
        "WHERE s.topic_id IS DISTINCT FROM i.topic_id",
    )
    assert mismatched[0]["n"] == 0
    ideas = run(scratch_url, "SELECT view_count FROM ideas")
    assert [r["view_count"] for r in ideas] == [6, 6]
    topics = {
        r["slug"]: (r["is_curated"], r["scene_count"])
        for r in run(scratch_url, "SELECT slug, is_curated, scene_count FROM topics")
    }
    assert topics == {"curated": (True, 3), "promoted": (False, 3)}
    jobs_type = run(
        scratch_url,
        "SELECT column_default FROM information_schema.columns "
        "WHERE table_name = 'jobs' AND column_name = 'type'",
    )
    assert "continuation" in jobs_type[0]["column_default"]

    run(
        scratch_url,
        "UPDATE scenes SET status = 'archived' WHERE title = 'Scene 1';"
        "UPDATE scenes SET deleted_at = now() WHERE title = 'Scene 2';",
    )
    command.downgrade(config, "0006")

    statuses = run(scratch_url, "SELECT title, status FROM scenes ORDER BY title")
    assert {(r["title"], r["status"]) for r in statuses} == {
        ("Scene 1", "locked"),
        ("Scene 2", "removed"),
        ("Scene 3", "active"),
    }
    command.upgrade(config, "head")
