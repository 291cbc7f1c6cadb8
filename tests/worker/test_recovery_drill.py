"""Recovery drills, bounded: a killed worker, a Redis that lost the queue and a dropped
PostgreSQL connection each cost seconds, and nothing is lost, doubled or paid twice.

Workers are real subprocesses on the production defaults for leases and recovery
(JOB_LEASE_SECONDS, RECOVERY_EVERY_SECONDS); JOB_STUCK_AFTER_SECONDS stays at its default too,
so only the lease and the queue marker can bring a job back this fast.
"""

from __future__ import annotations

import asyncio
import os
import signal
import uuid

from sqlalchemy import func, select, text

from domain.jobs.models import JobEvent, is_unfinished
from domain.operations.models import ProviderCall
from tests.worker.fault_stack import (
    Stack,
    assert_exactly_once,
    needs_redis_server,
)
from tests.worker.processes import Child, RedisServer

TAKEOVER_LIMIT_SECONDS = 15.0
WORDS = ["one", "two", "three", "four", "five"]


async def submit_all(stack: Stack, count: int) -> tuple[str, list[str]]:
    """`count` continuations on one scene, each by its own contributor (the cap is per user)."""
    owner = await stack.factory.account()
    scene_id = (await stack.factory.scene(owner))["id"]
    job_ids = []
    for word in WORDS[:count]:
        contributor = await stack.factory.account()
        job_ids.append(await stack.submit(contributor, scene_id, f"Mara counts {word} gulls."))
    return scene_id, job_ids


async def wait_paused(stack: Stack, job_ids: list[str], where: str) -> None:
    """Until every job has paused at `where` (tests/worker/faulty_worker.py)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    markers = [stack.fault_dir / f"paused-{job_id}" for job_id in job_ids]
    while not all(m.exists() and m.read_text() == where for m in markers):
        assert loop.time() < deadline, f"not all paused at {where}\n{stack.processes.logs()}"
        await asyncio.sleep(0.05)


async def wait_started(worker: Child) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while "worker_started" not in worker.log_tail(100_000):
        assert worker.alive and loop.time() < deadline, worker.log_tail()
        await asyncio.sleep(0.05)


async def takeover_seconds(stack: Stack, job_ids: list[str], attempt: int) -> list[float]:
    """From now, how long until each job's run `attempt` has started (the job moving again)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    moved: dict[str, float] = {}
    while len(moved) < len(job_ids):
        for job in await stack.jobs(job_ids):
            if str(job.id) not in moved and job.attempt >= attempt:
                moved[str(job.id)] = loop.time() - start
        if loop.time() - start > 2 * TAKEOVER_LIMIT_SECONDS:
            raise AssertionError(f"not taken over: {moved}\n{stack.processes.logs()}")
        await asyncio.sleep(0.05)
    return list(moved.values())


async def assert_ended_once_and_paid_once(stack: Stack, scene_id: str, job_ids: list[str]) -> None:
    ended = await stack.wait_jobs(
        job_ids, lambda js: not any(is_unfinished(j.status) for j in js), "all ended"
    )
    assert [j.status for j in ended] == ["final_ready"] * len(job_ids), (
        [(j.status, j.error_code, j.message) for j in ended],
        stack.processes.logs(),
    )
    await assert_exactly_once(stack, scene_id, job_ids)
    ids = [uuid.UUID(job_id) for job_id in job_ids]
    async with stack.app.state.db.session() as session:
        final_events = await session.scalar(
            select(func.count())
            .select_from(JobEvent)
            .where(JobEvent.job_id.in_(ids), JobEvent.kind == "job.final_ready")
        )
        paid = (
            await session.execute(
                select(ProviderCall.job_id, ProviderCall.operation, func.count())
                .where(
                    ProviderCall.job_id.in_(ids),
                    ProviderCall.outcome == "ok",
                    ProviderCall.operation.in_(["expand", "submit"]),
                )
                .group_by(ProviderCall.job_id, ProviderCall.operation)
            )
        ).all()
    assert final_events == len(job_ids)  # each job final_ready exactly once
    # No provider call repeated for work already paid: one script, one render submitted.
    assert sorted(count for _, _, count in paid) == [1] * (2 * len(job_ids)), paid


async def test_a_worker_killed_twice_costs_seconds_and_nothing_else(stack: Stack) -> None:
    first = stack.faulty_worker("video_generation", "render_wait")
    scene_id, job_ids = await submit_all(stack, len(WORDS))
    await wait_paused(stack, job_ids, "render_wait")
    # A live worker, waiting: it must take the dead worker's jobs over.
    second = stack.faulty_worker("upload", "first_upload")
    await wait_started(second)
    first.kill()
    killed_in_render = await takeover_seconds(stack, job_ids, attempt=2)

    await wait_paused(stack, job_ids, "first_upload")
    third = stack.worker()
    await wait_started(third)
    second.kill()
    killed_in_upload = await takeover_seconds(stack, job_ids, attempt=3)

    assert max(killed_in_render) < TAKEOVER_LIMIT_SECONDS, killed_in_render
    assert max(killed_in_upload) < TAKEOVER_LIMIT_SECONDS, killed_in_upload
    await assert_ended_once_and_paid_once(stack, scene_id, job_ids)
    assert all(job.attempt == 3 for job in await stack.jobs(job_ids))


@needs_redis_server
async def test_a_redis_restart_that_loses_the_queue_costs_seconds(
    redis_stack: tuple[Stack, RedisServer],
) -> None:
    stack, redis = redis_stack
    # Two slots: two jobs run (paused in their first stage), three wait in the queue.
    worker = stack.faulty_worker("script_expansion", "start", worker_max_jobs=2)
    await wait_started(worker)
    scene_id, job_ids = await submit_all(stack, len(WORDS))
    running = await stack.wait_jobs(
        job_ids, lambda js: sum(j.attempt for j in js) == 2, "two jobs running"
    )
    waiting = [str(j.id) for j in running if j.attempt == 0]
    redis.restart()  # empty: the three queue entries are gone
    assert redis.command("DBSIZE") == ":0"
    for job_id in job_ids:
        stack.release(job_id)
    resumed = await takeover_seconds(stack, waiting, attempt=1)

    assert max(resumed) < TAKEOVER_LIMIT_SECONDS, resumed
    await assert_ended_once_and_paid_once(stack, scene_id, job_ids)
    assert worker.alive, stack.processes.logs()


async def test_a_dropped_database_connection_costs_seconds(stack: Stack) -> None:
    worker = stack.faulty_worker("video_generation", "render_wait")
    scene_id, job_ids = await submit_all(stack, 3)
    await wait_paused(stack, job_ids, "render_wait")
    async with stack.app.state.db.autocommit() as conn:
        # Every connection of the worker's (its runs' and its pool's), mid-stage.
        dropped = await conn.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND backend_type = 'client backend'"
            )
        )
    assert dropped >= len(job_ids)
    resumed = await takeover_seconds(stack, job_ids, attempt=2)

    assert max(resumed) < TAKEOVER_LIMIT_SECONDS, resumed
    await assert_ended_once_and_paid_once(stack, scene_id, job_ids)
    assert worker.alive, stack.processes.logs()


async def test_a_stalled_worker_that_wakes_after_losing_its_lease_writes_nothing(
    stack: Stack,
) -> None:
    stalled = stack.faulty_worker("upload", "first_upload")
    scene_id, job_ids = await submit_all(stack, 1)
    await wait_paused(stack, job_ids, "first_upload")
    os.kill(stalled.pid, signal.SIGSTOP)  # alive, holding its lease, renewing nothing
    try:
        stack.worker()
        await assert_ended_once_and_paid_once(stack, scene_id, job_ids)
        done = await stack.job(job_ids[0])
        assert done.attempt == 2
    finally:
        os.kill(stalled.pid, signal.SIGCONT)
    await asyncio.sleep(3)  # time for the stalled run to do harm, were it not stopped
    again = await stack.job(job_ids[0])
    assert (again.attempt, again.event_seq, again.finished_at, again.stage_outputs) == (
        done.attempt,
        done.event_seq,
        done.finished_at,
        done.stage_outputs,
    )
    await assert_exactly_once(stack, scene_id, job_ids)  # its files and the segment's intact
    assert stalled.alive, stack.processes.logs()
    assert "job_lease_lost" in stalled.log_tail(100_000), stalled.log_tail()
