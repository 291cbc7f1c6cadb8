"""Dead letters: failed jobs an admin lists, requeues (once) or discards."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import Conflict, NotFound
from domain.jobs import repository
from domain.jobs.models import Job, JobStage, JobStatus
from domain.jobs.service import enqueue_run
from domain.operations.models import SystemEventKind
from domain.operations.repository import add_system_event
from domain.pagination import Page
from domain.users.models import User

# The pipeline's stages in order, and the status a job has once each one finished. A stage's
# output is recorded only when the next one starts, so the first stage without an output is
# the one a failed job stopped in.
PIPELINE: tuple[tuple[JobStage, JobStatus], ...] = (
    (JobStage.SCRIPT_EXPANSION, JobStatus.SCRIPT_READY),
    (JobStage.CONTINUITY_VALIDATION, JobStatus.CONTINUITY_CHECKED),
    (JobStage.VIDEO_GENERATION, JobStatus.PREVIEW_READY),
    (JobStage.UPLOAD, JobStatus.PREVIEW_READY),
    (JobStage.FINALIZATION, JobStatus.FINAL_READY),
)

# A failed run's cleanup removes its work directory and uploaded media, so these outputs name
# files that are gone; the render itself is re-attached by its stored provider video id.
LOST_ON_FAILURE = (JobStage.VIDEO_GENERATION, JobStage.UPLOAD)


def failed_stage(outputs: dict[str, Any] | None) -> JobStage:
    done = outputs or {}
    for stage, _ in PIPELINE:
        if stage not in done:
            return stage
    return JobStage.FINALIZATION


def resume_status(outputs: dict[str, Any] | None) -> JobStatus:
    """The status of the last stage that finished, or queued when none did."""
    done = outputs or {}
    status = JobStatus.QUEUED
    for stage, reached in PIPELINE:
        if stage not in done:
            break
        status = reached
    return status


async def list_failed(
    session: AsyncSession, *, limit: int | None, cursor: str | None, discarded: bool = False
) -> Page[Job]:
    """Failed jobs, newest first; discarded ones only when asked for."""
    return await repository.failed_page(session, limit=limit, cursor=cursor, discarded=discarded)


async def _failed_job(session: AsyncSession, job_id: uuid.UUID) -> Job:
    job = await repository.get(session, job_id, for_update=True)
    if job is None:
        raise NotFound("No such job.")
    return job


async def requeue(session: AsyncSession, admin: User, job_id: uuid.UUID) -> Job:
    """Resume a failed job after its last finished stage; a second requeue is a 409.

    The row lock makes two concurrent requeues queue up: the second finds the job no longer
    failed. The queue entry is pushed only after the commit.
    """
    job = await _failed_job(session, job_id)
    if job.status != JobStatus.FAILED:
        raise Conflict(f"The job is {job.status}; only a failed job can be requeued.")
    if job.discarded_at is not None:
        raise Conflict("The job was discarded; it cannot be requeued.")
    stopped_in = failed_stage(job.stage_outputs)
    event = {
        "by": str(admin.id),
        "failed_stage": str(stopped_in),
        "error_code": job.error_code,
        "attempt": job.attempt,
    }
    kept = {k: v for k, v in (job.stage_outputs or {}).items() if k not in LOST_ON_FAILURE}
    resume_at = failed_stage(kept)
    job.stage_outputs = kept
    job.status = resume_status(kept)
    job.stage = resume_at
    job.error_code = job.error_message = None
    job.result_data = None
    job.retryable = False
    job.retry_count = 0
    job.finished_at = None
    job.message = f"Requeued by an admin: resuming at {resume_at}."
    await add_system_event(session, SystemEventKind.JOB_REQUEUED, event, job_id=job.id)
    await session.flush()
    # One queue entry per failure: the attempt number names it, so a replay is refused by arq.
    enqueue_run(session, job.id, tag=f"rq{job.attempt}")
    await session.refresh(job)
    return job


async def discard(session: AsyncSession, admin: User, job_id: uuid.UUID) -> Job:
    """Close a failed job for good; discarding it again changes nothing."""
    job = await _failed_job(session, job_id)
    if job.status != JobStatus.FAILED:
        raise Conflict(f"The job is {job.status}; only a failed job can be discarded.")
    if job.discarded_at is None:
        job.discarded_at = datetime.now(UTC)
        job.message = "Discarded by an admin."
        await add_system_event(
            session,
            SystemEventKind.JOB_DISCARDED,
            {"by": str(admin.id), "error_code": job.error_code},
            job_id=job.id,
        )
        await session.flush()
        await session.refresh(job)
    return job
