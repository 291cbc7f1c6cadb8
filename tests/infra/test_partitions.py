"""Partition maintenance on its own scratch database: idempotent, concurrent, moves stray rows."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import pool, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from infra.partitions import (
    add_months,
    ensure_partitions,
    list_partitions,
    month_start,
    partition_name,
)
from tests.scratch import scratch_database


@pytest.fixture(scope="module")
def scratch_url() -> Iterator[str]:
    with scratch_database("parts") as url:
        yield url


@pytest.fixture
async def engine(scratch_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(scratch_url, poolclass=pool.NullPool)
    yield engine
    await engine.dispose()


def months_from_now(*offsets: int) -> list[date]:
    first = month_start(datetime.now(UTC).date())
    return [add_months(first, offset) for offset in offsets]


async def test_ensure_is_idempotent(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        first = await ensure_partitions(conn, months_ahead=5)
    async with engine.begin() as conn:
        second = await ensure_partitions(conn, months_ahead=5)
        report = await list_partitions(conn, required_months_ahead=5)

    expected = {
        partition_name(t, m)
        for t in ("segments", "jobs", "job_events")
        for m in months_from_now(4, 5)
    }
    assert {c.name for c in first} == expected
    assert all(c.moved_rows == 0 for c in first)
    assert second == []
    assert report.months_ahead == {"segments": 5, "jobs": 5, "job_events": 5}
    assert report.horizon["jobs"] == months_from_now(6)[0]
    names = {p.name for p in report.partitions}
    assert expected <= names and {"segments_default", "jobs_default"} <= names


async def test_two_concurrent_runs_create_each_partition_once(engine: AsyncEngine) -> None:
    async def run() -> list[str]:
        async with engine.begin() as conn:
            return [c.name for c in await ensure_partitions(conn, months_ahead=8)]

    first, second = await asyncio.gather(run(), run())

    expected = {
        partition_name(t, m)
        for t in ("segments", "jobs", "job_events")
        for m in months_from_now(6, 7, 8)
    }
    assert sorted(first + second) == sorted(expected)
    assert not (set(first) & set(second))


async def seed_scene(conn: AsyncConnection) -> uuid.UUID:
    tag = uuid.uuid4().hex[:10]
    user = await conn.scalar(
        text(
            "INSERT INTO users (email, username, password_hash) "
            "VALUES (:email, :username, 'x') RETURNING id"
        ),
        {"email": f"p{tag}@example.com", "username": f"p{tag}"},
    )
    topic = await conn.scalar(
        text("INSERT INTO topics (name, slug) VALUES (:n, :n) RETURNING id"), {"n": f"t{tag}"}
    )
    idea = await conn.scalar(
        text(
            "INSERT INTO ideas (user_id, topic_id, title, prompt) "
            "VALUES (:u, :t, 'An idea', 'A prompt') RETURNING id"
        ),
        {"u": user, "t": topic},
    )
    scene = await conn.scalar(
        text(
            "INSERT INTO scenes (idea_id, user_id, title, description) "
            "VALUES (:i, :u, 'A scene', 'Fog.') RETURNING id"
        ),
        {"i": idea, "u": user},
    )
    await conn.execute(
        text(
            "INSERT INTO jobs (user_id, scene_id, text, bible_version, created_at) "
            "VALUES (:u, :s, 'go on', 1, '2031-05-11T08:00:00Z')"
        ),
        {"u": user, "s": scene},
    )
    assert isinstance(scene, uuid.UUID)
    return scene


async def add_segment(conn: AsyncConnection, scene: uuid.UUID, sequence: int, at: str) -> uuid.UUID:
    segment = await conn.scalar(
        text(
            "INSERT INTO segments (scene_id, sequence, text, created_at) "
            "VALUES (:s, :q, 'words', :at) RETURNING id"
        ),
        {"s": scene, "q": sequence, "at": datetime.fromisoformat(at)},
    )
    assert isinstance(segment, uuid.UUID)
    return segment


async def home_of(conn: AsyncConnection, table: str, row_id: uuid.UUID) -> str:
    home = await conn.scalar(
        text(f"SELECT tableoid::regclass::text FROM {table} WHERE id = :id"), {"id": row_id}
    )
    return str(home)


async def sequence_slots(conn: AsyncConnection, scene: uuid.UUID) -> list[tuple[object, ...]]:
    rows = await conn.execute(
        text(
            "SELECT sequence, segment_id, segment_created_at FROM segment_sequences "
            "WHERE scene_id = :s ORDER BY sequence"
        ),
        {"s": scene},
    )
    return [tuple(row) for row in rows]


async def test_rows_in_the_default_partition_move_into_the_new_month(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        scene = await seed_scene(conn)
        first = await add_segment(conn, scene, 1, "2031-05-10T10:00:00Z")
        second = await add_segment(conn, scene, 2, "2031-05-31T23:59:59Z")
        later = await add_segment(conn, scene, 3, "2031-08-02T00:00:00Z")
        before = await sequence_slots(conn, scene)
        assert await home_of(conn, "segments", first) == "segments_default"

    async with engine.begin() as conn:
        created = await ensure_partitions(conn, months_ahead=1, today=date(2031, 5, 10))

    moved = {c.name: c.moved_rows for c in created}
    assert moved == {
        "segments_p2031_05": 2,
        "segments_p2031_06": 0,
        "jobs_p2031_05": 1,
        "jobs_p2031_06": 0,
        "job_events_p2031_05": 1,  # the job's creation, in its month like the job
        "job_events_p2031_06": 0,
    }
    async with engine.begin() as conn:
        assert await home_of(conn, "segments", first) == "segments_p2031_05"
        assert await home_of(conn, "segments", second) == "segments_p2031_05"
        assert await home_of(conn, "segments", later) == "segments_default"
        assert await conn.scalar(text("SELECT count(*) FROM jobs_p2031_05")) == 1
        assert await conn.scalar(text("SELECT count(*) FROM jobs_default")) == 0
        assert await sequence_slots(conn, scene) == before
        assert len(before) == 3

    # The moved partition is a full member: the trigger still guards its sequences.
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await add_segment(conn, scene, 1, "2031-05-20T00:00:00Z")

    # And the default partition's trigger is back on: deleting there frees the slot.
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM segments WHERE id = :id"), {"id": later})
        assert [slot[0] for slot in await sequence_slots(conn, scene)] == [1, 2]
        enabled = await conn.scalar(
            text(
                "SELECT tgenabled::text FROM pg_trigger WHERE tgname = 'segments_claim_sequence' "
                "AND tgrelid = 'segments_default'::regclass"
            )
        )
        assert enabled == "O"
        report = await list_partitions(conn, required_months_ahead=1, today=date(2031, 5, 10))
        assert report.months_ahead["segments"] == 1
        assert report.horizon["segments"] == date(2031, 7, 1)
