"""Recovery: jobs that nobody moves (a lost queue entry, a killed worker) are enqueued again.

A job being processed holds its advisory lock, so a slow job is never taken for a stuck one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from domain.jobs import repository
from domain.jobs.service import RUN_CONTINUATION
from infra.logging import get_logger
from worker.pipeline.runtime import Runtime

log = get_logger("worker.recovery")


async def recover_stuck_jobs(ctx: dict[str, Any]) -> int:
    """Re-enqueue unfinished jobs untouched for JOB_STUCK_AFTER_SECONDS and not locked."""
    runtime: Runtime = ctx["runtime"]
    cutoff = datetime.now(UTC) - timedelta(seconds=runtime.settings.job_stuck_after_seconds)
    async with runtime.db.session() as session:
        stuck = await repository.stuck_jobs(session, cutoff)
    requeued = 0
    for job_id, moved_at in stuck:
        if await _is_running(runtime, str(job_id)):
            continue
        # One queue entry per stuck state: while the job does not move, later ticks name the
        # same arq job id, which arq refuses to enqueue twice.
        stamp = int(moved_at.timestamp() * 1000)
        enqueued = await ctx["redis"].enqueue_job(
            RUN_CONTINUATION, str(job_id), _job_id=f"continuation:{job_id}:rec{stamp}"
        )
        requeued += enqueued is not None
    if requeued:
        log.warning("stuck_jobs_requeued", count=requeued)
    return requeued


async def _is_running(runtime: Runtime, job_id: str) -> bool:
    async with runtime.db.primary.connect() as conn:
        key = {"k": f"job:{job_id}"}
        free = await conn.scalar(text("SELECT pg_try_advisory_lock(hashtextextended(:k, 0))"), key)
        if free:
            await conn.execute(text("SELECT pg_advisory_unlock(hashtextextended(:k, 0))"), key)
        await conn.commit()
        return not free
