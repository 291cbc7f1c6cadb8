"""Recovery: jobs that nobody moves (a lost queue entry, a killed worker) are enqueued again.

A job being processed holds its advisory lock, so a slow job is never taken for a stuck one.
The lock lives as long as the connection that took it: when that connection dies (the primary
restarted, the network cut it) PostgreSQL releases the lock and recovery may start the job
again, so a run that loses its lock connection stops at once, as if its worker had died.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from domain.jobs import repository
from domain.jobs.service import RUN_CONTINUATION
from domain.operations.events import record_system_event
from domain.operations.models import SystemEventKind
from infra.logging import get_logger
from infra.prepared import Channel, Prepared
from worker.pipeline.runtime import Runtime

log = get_logger("worker.recovery")

_TRY_LOCK = text("SELECT pg_try_advisory_lock(hashtextextended(:k, 0))")
_UNLOCK = text("SELECT pg_advisory_unlock(hashtextextended(:k, 0))")
_TRY_LOCK_JOB, _UNLOCK_JOB = Prepared(_TRY_LOCK), Prepared(_UNLOCK)
# A reset connection shows at once, with no round trip; a silently dropped one only when asked.
LOCK_CHECK_SECONDS = 0.2
LOCK_PING_SECONDS = 10.0
LOCK_PING_TIMEOUT_SECONDS = 5.0


class JobLockLost(Exception):
    """The connection holding a job's advisory lock died: another worker may run it now."""


async def recover_stuck_jobs(ctx: dict[str, Any]) -> int:
    """Re-enqueue unfinished jobs untouched for JOB_STUCK_AFTER_SECONDS and not locked."""
    runtime: Runtime = ctx["runtime"]
    cutoff = datetime.now(UTC) - timedelta(seconds=runtime.settings.job_stuck_after_seconds)
    async with runtime.db.session() as session:
        stuck = await repository.stuck_jobs(session, cutoff)
    requeued: list[str] = []
    for job_id, moved_at in stuck:
        if await _is_running(runtime, str(job_id)):
            continue
        # One queue entry per stuck state: while the job does not move, later ticks name the
        # same arq job id, which arq refuses to enqueue twice.
        stamp = int(moved_at.timestamp() * 1000)
        enqueued = await ctx["redis"].enqueue_job(
            RUN_CONTINUATION, str(job_id), _job_id=f"continuation:{job_id}:rec{stamp}"
        )
        if enqueued is not None:
            requeued.append(str(job_id))
    if requeued:
        log.warning("stuck_jobs_requeued", count=len(requeued))
        await record_system_event(
            runtime.db,
            SystemEventKind.RECOVERY_REQUEUED,
            {"count": len(requeued), "jobs": requeued},
        )
    return len(requeued)


async def _is_running(runtime: Runtime, job_id: str) -> bool:
    async with runtime.db.autocommit() as conn:
        key = {"k": f"job:{job_id}"}
        free = await conn.scalar(_TRY_LOCK, key)
        if free:
            await conn.execute(_UNLOCK, key)
        return not free


@asynccontextmanager
async def job_lock(runtime: Runtime, job_id: uuid.UUID) -> AsyncIterator[Channel | None]:
    """Hold the job's advisory lock on a dedicated connection for the whole run, and lend the
    run that connection (a Channel) for its statements; None when another run holds the lock.

    Should that connection die, the body is cancelled and JobLockLost raised: the job is left
    as a killed worker leaves it, for whichever run holds the lock next.
    """
    key = {"k": f"job:{job_id}"}
    async with runtime.db.channel_connection() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None  # a checked-out connection always has one
        channel = Channel(driver)
        if not await channel.fetchval(_TRY_LOCK_JOB, key):
            yield None
            return
        lost = asyncio.Event()
        try:
            async with asyncio.timeout(None) as deadline:

                def stop() -> None:
                    lost.set()
                    deadline.reschedule(asyncio.get_running_loop().time())

                watcher = asyncio.create_task(_watch(channel, stop))
                try:
                    yield channel
                finally:
                    watcher.cancel()
                    await asyncio.wait([watcher])  # its ping must not overlap the unlock
        except TimeoutError:
            if not deadline.expired():
                raise
            log.warning("job_lock_lost", job_id=str(job_id))
            raise JobLockLost(f"the lock connection of job {job_id} died") from None
        finally:
            if lost.is_set() or driver.is_closed():
                # Never back into the pool: if the server still holds the lock, it goes too.
                await conn.invalidate()
            else:
                await channel.fetchval(_UNLOCK_JOB, key)


async def _watch(channel: Channel, stop: Callable[[], None]) -> None:
    """Call `stop` once the lock's connection is closed or stops answering."""
    loop = asyncio.get_running_loop()
    ping_at = loop.time() + LOCK_PING_SECONDS
    while True:
        await asyncio.sleep(LOCK_CHECK_SECONDS)
        alive = not channel.driver.is_closed()
        if alive and loop.time() >= ping_at:
            try:
                await channel.ping(LOCK_PING_TIMEOUT_SECONDS)
            except Exception:  # noqa: BLE001 - whatever the reason, the lock is not safe
                alive = False
            ping_at = loop.time() + LOCK_PING_SECONDS
        if not alive:
            stop()
            return
