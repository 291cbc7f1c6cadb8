"""The refilling worker starts a job as soon as a slot frees or work is announced."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from arq import create_pool
from arq.connections import ArqRedis
from arq.cron import cron
from arq.jobs import Job, JobStatus
from arq.worker import Worker, func

from infra.queue import PendingJob, push, redis_settings, wake_channel
from infra.settings import Settings
from worker.refill import RefillingWorker

POLL = 30.0  # far longer than the test: any wait for a poll would show


async def _short(ctx: dict[str, Any], n: int) -> int:
    await asyncio.sleep(0.05)
    return n


async def _long(ctx: dict[str, Any]) -> str:
    await asyncio.sleep(1.5)
    return "long"


@dataclass
class Harness:
    worker: RefillingWorker
    pool: ArqRedis
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self) -> None:
        self.tasks.append(asyncio.create_task(self.worker.async_run()))


@asynccontextmanager
async def harness(
    settings: Settings,
    max_jobs: int,
    *,
    burst: bool = False,
    after_job_end: Callable[[dict[str, Any]], Awaitable[None]] | None = None,
    **options: Any,
) -> AsyncIterator[Harness]:
    """A refilling worker (not started) on a queue of its own, and a pool on that queue."""
    queue = f"{settings.queue_name}:refill:{uuid.uuid4().hex[:6]}"
    pool = await create_pool(redis_settings(settings), default_queue_name=queue)
    worker = RefillingWorker(
        functions=[func(_short, name="short"), func(_long, name="long")],
        redis_settings=redis_settings(settings),
        queue_name=queue,
        max_jobs=max_jobs,
        poll_delay=POLL,
        handle_signals=False,
        keep_result=60,
        burst=burst,
        after_job_end=after_job_end,
        **options,
    )
    running = Harness(worker, pool)
    try:
        yield running
    finally:
        for task in running.tasks:
            task.cancel()
        await asyncio.gather(*running.tasks, return_exceptions=True)
        await worker.close()
        await pool.aclose()


async def test_a_freed_slot_takes_the_next_job_at_once(settings: Settings) -> None:
    async with harness(settings, max_jobs=1) as h:
        polls: list[int] = []
        original = h.worker._poll_iteration

        async def counted() -> None:
            polls.append(1)
            await original()

        h.worker._poll_iteration = counted  # type: ignore[method-assign]
        handles = [await h.pool.enqueue_job("short", n) for n in range(4)]
        h.start()
        results = [await job.result(timeout=5, poll_delay=0.02) for job in handles if job]
    assert results == [0, 1, 2, 3]
    assert len(polls) == 1  # one poll of the outer loop: every refill happened inside it


async def _subscribed(h: Harness) -> None:
    """Once the worker listens on the wake channel and its first poll has read the queue."""
    channel = wake_channel(h.worker.queue_name)
    for _ in range(200):
        if dict(await h.pool.pubsub_numsub(channel)).get(channel.encode(), 0):
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)


async def test_announced_work_starts_before_the_next_poll(settings: Settings) -> None:
    async with harness(settings, max_jobs=2) as h:
        h.start()
        await _subscribed(h)  # then announce a job
        job_id = f"announced-{uuid.uuid4().hex}"  # arq's result keys are not per queue
        await push(h.pool, [PendingJob("short", (7,), job_id=job_id)])
        handle = Job(job_id, h.pool, _queue_name=h.worker.queue_name)
        assert await handle.result(timeout=5, poll_delay=0.02) == 7


async def test_a_burst_worker_stops_once_the_queue_is_empty_not_at_the_next_poll(
    settings: Settings,
) -> None:
    async with harness(settings, max_jobs=2, burst=True) as h:
        handles = [await h.pool.enqueue_job("short", n) for n in range(5)]
        # arq's loop would wait out POLL (30 s) before looking at the queue again.
        await asyncio.wait_for(h.worker.main(), timeout=POLL / 3)
        assert [await job.result(timeout=1) for job in handles if job] == [0, 1, 2, 3, 4]
        assert await h.pool.zcard(h.worker.queue_name) == 0


async def test_polls_skip_the_jobs_this_worker_runs_without_asking_redis(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[tuple[str, bool]] = []  # (job id, running here when arq was asked about it)
    checked = Worker.start_jobs

    async def recording(worker: Worker, job_ids: list[bytes]) -> None:
        for raw in job_ids:
            task = worker.tasks.get(raw.decode())
            asked.append((raw.decode(), task is not None and not task.done()))
        await checked(worker, job_ids)

    monkeypatch.setattr(Worker, "start_jobs", recording)
    async with harness(settings, max_jobs=2) as h:
        long = await h.pool.enqueue_job("long")
        h.start()
        await _subscribed(h)
        # Each announced job wakes a poll, which reads the long job first in the queue.
        short = []
        for n in range(3):
            job_id = f"short-{uuid.uuid4().hex}"
            await push(h.pool, [PendingJob("short", (n,), job_id=job_id)])
            handle = Job(job_id, h.pool, _queue_name=h.worker.queue_name)
            short.append(await handle.result(timeout=5, poll_delay=0.02))
        assert long is not None and await long.status() != "complete"  # still running
        assert await long.result(timeout=5, poll_delay=0.02) == "long"
    assert short == [0, 1, 2]
    assert long.job_id in [job_id for job_id, _ in asked]  # read by every poll, and yet
    assert not [job_id for job_id, running in asked if running]  # never asked about


async def test_closing_lets_a_job_that_has_ended_finish_its_bookkeeping(settings: Settings) -> None:
    # A result is readable before arq's task has finished with the job (the result written,
    # then after_job_end; in CI it was finish_job's reply not yet read): closing the worker
    # then must neither cut that short nor raise CancelledError.
    finished: list[str] = []

    async def after_job_end(ctx: dict[str, Any]) -> None:
        await asyncio.sleep(0.3)
        finished.append(ctx["job_id"])

    async with harness(settings, max_jobs=1, after_job_end=after_job_end) as h:
        job = await h.pool.enqueue_job("short", 1)
        h.start()
        assert job is not None and await job.result(timeout=5, poll_delay=0.02) == 1
    assert finished == [job.job_id]


async def test_closing_cancels_a_running_job_which_stays_queued_to_run_again(
    settings: Settings,
) -> None:
    async with harness(settings, max_jobs=1) as h:
        job = await h.pool.enqueue_job("long")
        h.start()
        while await h.pool.exists(f"arq:in-progress:{job.job_id}") == 0:  # type: ignore[union-attr]
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)  # into the job itself
        h.tasks.pop().cancel()
        await h.worker.close()
        assert h.worker.jobs_retried == 1 and h.worker.jobs_complete == 0
        assert await job.status() == JobStatus.queued  # type: ignore[union-attr]


async def _hourly(ctx: dict[str, Any]) -> None:
    await asyncio.sleep(0.5)


async def test_an_in_progress_key_lasts_its_own_jobs_timeout_not_the_longest_crons(
    settings: Settings,
) -> None:
    # A killed worker's job stays locked out of arq as long as its in-progress key lasts.
    hourly = cron(_hourly, name="refill-hourly", second=None, run_at_startup=True, timeout=3600)
    async with harness(settings, max_jobs=2, job_timeout=20, cron_jobs=[hourly]) as h:
        job = await h.pool.enqueue_job("long")
        assert job is not None
        h.start()
        key = f"arq:in-progress:{job.job_id}"
        while (ttl := await h.pool.pttl(key)) < 0:
            await asyncio.sleep(0.02)
        assert 20_000 < ttl <= 30_000  # the job's own 20 s, plus arq's 10 s margin
        for _ in range(100):
            ticks = [k async for k in h.pool.scan_iter("arq:in-progress:refill-hourly:*")]
            if ticks:
                break
            await asyncio.sleep(0.02)
        assert ticks, "the cron's start-up tick should be running"
        assert await h.pool.pttl(ticks[0]) > 3_600_000  # the cron keeps its own hour
        assert await job.result(timeout=5, poll_delay=0.02) == "long"
