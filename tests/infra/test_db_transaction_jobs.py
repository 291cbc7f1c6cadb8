"""Jobs enqueued inside `Database.transaction()` go out after its commit, never before or lost."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from arq import create_pool
from arq.connections import ArqRedis
from sqlalchemy import text

from infra.db import JobsNeedAQueue
from infra.queue import PendingJob, enqueue_after_commit, redis_settings
from infra.settings import Settings


@pytest.fixture
async def queue(settings: Settings) -> AsyncIterator[ArqRedis]:
    name = f"{settings.queue_name}:tx:{uuid.uuid4().hex[:8]}"
    pool = await create_pool(redis_settings(settings), default_queue_name=name)
    try:
        yield pool
    finally:
        await pool.delete(name)
        await pool.aclose()


def _job() -> PendingJob:
    return PendingJob("ping", job_id=f"tx-{uuid.uuid4().hex}")


async def test_jobs_are_pushed_once_the_transaction_commits(app: Any, queue: ArqRedis) -> None:
    db = app.state.db
    async with db.transaction(queue) as session:
        enqueue_after_commit(session, _job())
        await session.execute(text("SELECT 1"))
        assert await queue.zcard(queue.default_queue_name) == 0  # not before the commit
    assert await queue.zcard(queue.default_queue_name) == 1


async def test_jobs_of_a_rolled_back_transaction_are_dropped(app: Any, queue: ArqRedis) -> None:
    with pytest.raises(ValueError, match="no"):
        async with app.state.db.transaction(queue) as session:
            enqueue_after_commit(session, _job())
            raise ValueError("no")
    assert await queue.zcard(queue.default_queue_name) == 0


async def test_jobs_in_a_transaction_without_a_queue_are_refused_before_the_commit(
    app: Any,
) -> None:
    marker = uuid.uuid4().hex
    with pytest.raises(JobsNeedAQueue):
        async with app.state.db.transaction() as session:
            await session.execute(
                text(
                    "INSERT INTO system_events (kind, data)"
                    " VALUES ('test', jsonb_build_object('m', CAST(:m AS text)))"
                ),
                {"m": marker},
            )
            enqueue_after_commit(session, _job())
    async with app.state.db.session() as session:
        kept = await session.scalar(
            text("SELECT count(*) FROM system_events WHERE data->>'m' = :m"), {"m": marker}
        )
    assert kept == 0  # rolled back with the refused jobs
