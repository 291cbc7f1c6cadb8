"""The refilling worker starts a queued job as soon as a slot frees, not at its next poll."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from arq import create_pool
from arq.jobs import Job
from arq.worker import Worker, func

from infra.queue import redis_settings
from infra.settings import Settings
from worker.refill import RefillingWorker

POLL = 30.0  # far longer than the test: any wait for a poll would show


async def _short(ctx: dict[str, Any], n: int) -> int:
    await asyncio.sleep(0.05)
    return n


async def _drain(kind: type[Worker], settings: Settings, jobs: int) -> tuple[int, list[int]]:
    """Runs `jobs` short jobs on a one-slot worker for at most 5 s: (done, poll count)."""
    queue = f"{settings.queue_name}:refill:{uuid.uuid4().hex[:6]}"
    pool = await create_pool(redis_settings(settings), default_queue_name=queue)
    polls: list[int] = []
    worker = kind(
        functions=[func(_short, name="short")],
        redis_settings=redis_settings(settings),
        queue_name=queue,
        max_jobs=1,
        poll_delay=POLL,
        handle_signals=False,
        keep_result=60,
    )
    original = worker._poll_iteration

    async def counted() -> None:
        polls.append(1)
        await original()

    worker._poll_iteration = counted  # type: ignore[method-assign]
    handles = [await pool.enqueue_job("short", n) for n in range(jobs)]
    task = asyncio.create_task(worker.async_run())
    try:
        done = 0
        for handle in handles:
            assert handle is not None
            try:
                await handle.result(timeout=5, poll_delay=0.02)
                done += 1
            except TimeoutError:
                break
        return done, polls
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await worker.close()
        await pool.aclose()


async def test_a_freed_slot_takes_the_next_job_at_once(settings: Settings) -> None:
    done, polls = await _drain(RefillingWorker, settings, jobs=4)
    assert done == 4
    assert len(polls) == 1  # one poll of the outer loop: every refill happened inside it


async def test_announced_work_starts_before_the_next_poll(settings: Settings) -> None:
    from infra.queue import PendingJob, push

    queue = f"{settings.queue_name}:wake:{uuid.uuid4().hex[:6]}"
    pool = await create_pool(redis_settings(settings), default_queue_name=queue)
    worker = RefillingWorker(
        functions=[func(_short, name="short")],
        redis_settings=redis_settings(settings),
        queue_name=queue,
        max_jobs=2,
        poll_delay=POLL,
        handle_signals=False,
        keep_result=60,
    )
    task = asyncio.create_task(worker.async_run())
    try:
        # Let the worker make its first (empty) poll and subscribe, then announce a job.
        for _ in range(200):
            if worker._listener is not None and pool.connection_pool is not None:
                numsub = dict(await pool.pubsub_numsub(f"{queue}:wake"))
                if numsub.get(f"{queue}:wake".encode(), 0):
                    break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.5)  # the first poll has read the (empty) queue by now
        job_id = f"announced-{uuid.uuid4().hex}"  # arq's result keys are not per queue
        await push(pool, [PendingJob("short", (7,), job_id=job_id)])
        handle = Job(job_id, pool, _queue_name=queue)
        assert await handle.result(timeout=5, poll_delay=0.02) == 7
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await worker.close()
        await pool.aclose()
