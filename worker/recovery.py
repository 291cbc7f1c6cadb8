"""Leases and recovery: a job's run holds a lease in PostgreSQL, and a dead run's job is
taken over within seconds.

A run takes the job's lease when it starts (domain.jobs.lease_repository.claim) and renews it
every JOB_LEASE_RENEW_SECONDS; a lease not renewed for JOB_LEASE_SECONDS is a dead run's (its
worker was killed, or cut off from PostgreSQL). Recovery, every RECOVERY_EVERY_SECONDS in every
worker (a task of its own, not a cron tick that would wait for a free job slot), enqueues such
jobs again and announces them, and whichever live worker takes the entry resumes the job from
its last finished stage. A run that stops renewing (its connection died, or another
run has its job) is cancelled at once: it writes nothing more, and its writes are fenced by the
job's attempt should it wake up late (domain.jobs.run_repository).

Jobs no run holds are enqueued again when their queue entry may be gone: untouched for
JOB_STUCK_AFTER_SECONDS, or at once when Redis has lost its data (a restart without
persistence), which a marker key kept in Redis tells.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.jobs import lease_repository as leases
from domain.jobs import repository
from domain.jobs.lease_repository import Claim, JobLeaseLost, Lease
from domain.jobs.models import Job
from domain.jobs.service import RUN_CONTINUATION
from domain.operations.events import record_system_event
from domain.operations.models import SystemEventKind
from infra.logging import get_logger
from infra.prepared import Channel
from infra.queue import wake_channel
from worker.pipeline.runtime import Runtime

log = get_logger("worker.recovery")

# A reset connection shows at once, with no round trip; a silently dropped one when renewing.
CONNECTION_CHECK_SECONDS = 0.2
LAPSE_TIMEOUT_SECONDS = 2.0
RECOVERY_BATCH = 100


def holder() -> str:
    """Who holds a lease, for people reading job_leases."""
    return f"{socket.gethostname()}:{os.getpid()}"


def queue_marker(queue_name: str) -> str:
    """A key that recovery keeps in Redis: gone means Redis lost its data, the queue with it."""
    return f"{queue_name}:recovery:marker"


async def recover_stuck_jobs(ctx: dict[str, Any]) -> int:
    """Enqueue again the jobs whose run died (lapsed lease) and those no run holds whose
    queue entry may be lost (untouched for JOB_STUCK_AFTER_SECONDS, or Redis lost its data)."""
    runtime: Runtime = ctx["runtime"]
    redis = ctx["redis"]
    marker = queue_marker(runtime.settings.queue_name)
    queue_lost = not await redis.exists(marker)
    now = datetime.now(UTC)
    stuck_after = timedelta(seconds=runtime.settings.job_stuck_after_seconds)
    cutoff = now if queue_lost else now - stuck_after
    async with runtime.db.session() as session:
        lapsed = await leases.lapsed_leases(session, RECOVERY_BATCH)
        stuck = await repository.stuck_jobs(session, cutoff, RECOVERY_BATCH)
        held = await leases.live_leases(session, [job_id for job_id, _ in stuck])
    if queue_lost:  # what Redis still holds, if it lost less than all (or was new)
        held |= await _queued(redis, runtime.settings.queue_name)
    # One queue entry per stuck state: while the job does not move, later ticks name the
    # same arq job id, which arq refuses to enqueue twice.
    due = {job_id: f"rec{_ms(moved_at)}" for job_id, moved_at in stuck if job_id not in held}
    due.update({job_id: f"lapsed{_ms(expired_at)}" for job_id, expired_at in lapsed})
    requeued: list[str] = []
    for job_id, tag in due.items():
        enqueued = await redis.enqueue_job(
            RUN_CONTINUATION, str(job_id), _job_id=f"continuation:{job_id}:{tag}"
        )
        if enqueued is not None:
            requeued.append(str(job_id))
    if requeued:  # idle workers start them now, not at their next poll
        await redis.publish(wake_channel(runtime.settings.queue_name), b"1")
    if queue_lost:
        await redis.set(marker, now.isoformat())
    if requeued:
        log.warning("stuck_jobs_requeued", count=len(requeued), queue_lost=queue_lost)
        await record_system_event(
            runtime.db,
            SystemEventKind.RECOVERY_REQUEUED,
            {"count": len(requeued), "jobs": requeued, "queue_lost": queue_lost},
        )
    return len(requeued)


async def _queued(redis: Any, queue_name: str) -> set[uuid.UUID]:
    """The jobs with an entry in the queue (ids `continuation:<job id>:<tag>`), waiting or
    deferred. Read only after a loss: the whole queue, once."""
    entries = await redis.zrange(queue_name, 0, -1)
    parts = (raw.decode().split(":") for raw in entries)
    return {uuid.UUID(p[1]) for p in parts if len(p) >= 2 and p[0] == "continuation"}


async def recovery_loop(ctx: dict[str, Any]) -> None:
    """recover_stuck_jobs every RECOVERY_EVERY_SECONDS, from the worker's start to its end."""
    every = ctx["settings"].recovery_every_seconds
    while True:
        try:
            await recover_stuck_jobs(ctx)
        except Exception as exc:  # noqa: BLE001 - PostgreSQL or Redis away: the next look
            log.warning("recovery_failed", error=repr(exc))
        await asyncio.sleep(every)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass(frozen=True)
class LeasedRun:
    """What taking a job's lease found: `claim` says whether the job is this run's."""

    claim: Claim
    job: Job | None
    channel: Channel


@asynccontextmanager
async def job_lease(runtime: Runtime, job_id: uuid.UUID) -> AsyncIterator[LeasedRun]:
    """Take the job's lease on a connection of the run's own, keep it renewed for the whole
    run, and lend the run that connection (a Channel) for its statements.

    Should the lease be lost (another run took the job over, or the connection died), the
    body is cancelled and JobLeaseLost raised: the job is left as a killed worker leaves it,
    for the run that takes it over.
    """
    settings = runtime.settings
    lease = Lease(job_id, uuid.uuid4(), settings.job_lease_seconds)
    async with runtime.db.channel_connection() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None  # a checked-out connection always has one
        channel = Channel(driver)
        claim, job = await leases.claim(channel, lease, holder())
        if claim is not Claim.TAKEN:
            yield LeasedRun(claim, job, channel)
            return
        lost: list[str] = []
        try:
            async with asyncio.timeout(None) as deadline:

                def stop(reason: str) -> None:
                    lost.append(reason)
                    deadline.reschedule(asyncio.get_running_loop().time())

                keeper = asyncio.create_task(
                    _keep(channel, lease, settings.job_lease_renew_seconds, stop)
                )
                try:
                    yield LeasedRun(claim, job, channel)
                finally:
                    keeper.cancel()
                    await asyncio.wait([keeper])  # its renewal must not overlap the release
        except TimeoutError:
            if not deadline.expired() or not lost:
                raise
            log.warning("job_lease_lost", job_id=str(job_id), reason=lost[0])
            raise JobLeaseLost(f"job {job_id}: {lost[0]}") from None
        finally:
            if lost or driver.is_closed():
                # Never back into the pool: it may be dead, or in the middle of a statement.
                await conn.invalidate()
                if "taken over" not in lost:
                    await _lapse(runtime, lease)
            else:
                await leases.release(channel, lease)


async def _keep(
    channel: Channel, lease: Lease, renew_every: float, stop: Callable[[str], None]
) -> None:
    """Renew the lease every `renew_every` seconds; call `stop` once it is lost."""
    loop = asyncio.get_running_loop()
    renew_at = loop.time() + renew_every
    while True:
        await asyncio.sleep(CONNECTION_CHECK_SECONDS)
        if channel.driver.is_closed():
            stop("connection closed")
            return
        if loop.time() < renew_at:
            continue
        try:
            async with asyncio.timeout(lease.seconds / 2):
                renewed = await leases.renew(channel, lease)
        except Exception as exc:  # noqa: BLE001 - whatever the reason, the lease is not safe
            stop(f"renewal failed: {type(exc).__name__}")
            return
        if not renewed:
            stop("taken over")
            return
        renew_at = loop.time() + renew_every


async def _lapse(runtime: Runtime, lease: Lease) -> None:
    """The run stopped mid-job: end its lease now, on a fresh connection, so that recovery
    takes the job over at its next look. Best effort: otherwise the lease runs out."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(LAPSE_TIMEOUT_SECONDS), runtime.db.channel_connection() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            assert driver is not None
            await leases.lapse(Channel(driver), lease)
