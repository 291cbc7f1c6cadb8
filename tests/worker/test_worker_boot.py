"""A real arq worker, in-process, against the real Redis and the test database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from arq import create_pool
from arq.worker import Worker
from sqlalchemy import text

from infra.db import Database
from infra.partitions import add_months, month_start, partition_name
from infra.queue import redis_settings
from infra.settings import Settings
from worker.main import worker_options


async def test_worker_runs_ping_and_the_startup_partition_maintenance(settings: Settings) -> None:
    boot = settings.model_copy(
        update={
            "queue_name": f"{settings.queue_name}:boot:{uuid.uuid4().hex}",
            # One month further than the migration made, so the start-up run has work to do.
            "partition_months_ahead": 4,
            "worker_poll_delay": 0.05,
        }
    )
    month = add_months(month_start(datetime.now(UTC).date()), 4)
    pool = await create_pool(redis_settings(boot), default_queue_name=boot.queue_name)
    worker = Worker(**worker_options(boot), burst=True, handle_signals=False)
    try:
        job = await pool.enqueue_job("ping")
        assert job is not None

        completed = await worker.run_check()  # raises FailedJobs if any job failed

        assert await job.result(timeout=10) == "pong"
        # ping and the start-up crons (partitions, recovery); a cron tick that another worker
        # of this process took already is not run twice, hence "at least".
        assert completed >= 2
    finally:
        await worker.close()
        await pool.delete(boot.queue_name)
        await pool.aclose()

    db = Database(boot)
    try:
        async with db.session() as session:
            for table in ("segments", "jobs", "job_events"):
                found = await session.scalar(
                    text("SELECT to_regclass(:name)::text"),
                    {"name": partition_name(table, month)},
                )
                assert found == partition_name(table, month)
            # This worker's queue is its own: its start and, once closed, its stop are events.
            kinds = await session.scalars(
                text(
                    "SELECT kind FROM system_events WHERE kind LIKE 'worker.%' "
                    "AND data->>'queue' = :queue ORDER BY id"
                ),
                {"queue": boot.queue_name},
            )
            assert kinds.all() == ["worker.started", "worker.stopped"]
    finally:
        await db.dispose()
