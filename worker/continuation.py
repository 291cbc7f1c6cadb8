"""The continuation pipeline's conductor: runs the stages in order, resumably and exactly once.

PostgreSQL holds the truth about a job. A job is processed under a session-level advisory lock
(released by PostgreSQL itself if the worker dies), each finished stage records its output on
the job, and a rerun skips what is already done. Retryable failures are retried with backoff;
cancellation is honoured at every stage boundary and leaves no files behind.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from domain.jobs import repository
from domain.jobs.failures import JobFailure, MediaFailure, ProviderRejected, ProviderUnavailable
from domain.jobs.finalization import JobNoLongerOpen
from domain.jobs.models import TERMINAL_STATUSES, JobStage, JobStatus
from domain.jobs.service import RUN_CONTINUATION
from infra.logging import get_logger
from infra.media import MediaError
from infra.providers.base import ProviderError
from worker.pipeline import (
    continuity_validation,
    finalization,
    script_expansion,
    upload,
    video_generation,
)
from worker.pipeline.runtime import Runtime, StageRun

log = get_logger("worker.continuation")
MAX_BACKOFF_SECONDS = 60.0


@dataclass(frozen=True)
class Stage:
    name: JobStage
    done_status: JobStatus
    start: int
    end: int
    label: str
    run: Callable[[StageRun], Awaitable[dict[str, Any]]]
    still_valid: Callable[[dict[str, Any]], bool] | None = None


STAGES = (
    Stage(
        JobStage.SCRIPT_EXPANSION,
        JobStatus.SCRIPT_READY,
        5,
        20,
        "Writing the script.",
        script_expansion.run,
    ),
    Stage(
        JobStage.CONTINUITY_VALIDATION,
        JobStatus.CONTINUITY_CHECKED,
        20,
        30,
        "Checking continuity.",
        continuity_validation.run,
    ),
    Stage(
        JobStage.VIDEO_GENERATION,
        JobStatus.PREVIEW_READY,
        30,
        75,
        "Rendering the video.",
        video_generation.run,
        video_generation.still_valid,
    ),
    Stage(JobStage.UPLOAD, JobStatus.PREVIEW_READY, 75, 90, "Uploading the segment.", upload.run),
    Stage(
        JobStage.FINALIZATION,
        JobStatus.FINAL_READY,
        90,
        100,
        "Adding the segment.",
        finalization.run,
    ),
)


@asynccontextmanager
async def job_lock(runtime: Runtime, job_id: uuid.UUID) -> AsyncIterator[bool]:
    """Hold the job's advisory lock on a dedicated connection for the whole run."""
    async with runtime.db.primary.connect() as conn:
        key = f"job:{job_id}"
        acquired = await conn.scalar(
            text("SELECT pg_try_advisory_lock(hashtextextended(:k, 0))"), {"k": key}
        )
        await conn.commit()
        try:
            yield bool(acquired)
        finally:
            if acquired:
                await conn.execute(
                    text("SELECT pg_advisory_unlock(hashtextextended(:k, 0))"), {"k": key}
                )
                await conn.commit()


def as_failure(exc: Exception) -> JobFailure:
    if isinstance(exc, JobFailure):
        return exc
    if isinstance(exc, ProviderError):
        kind = ProviderUnavailable if exc.retryable else ProviderRejected
        failure: JobFailure = kind(str(exc), {"provider_code": exc.code})
        return failure
    if isinstance(exc, MediaError):
        return MediaFailure(str(exc), {"stderr": getattr(exc, "stderr", "")[-2000:]})
    failure = JobFailure(f"Unexpected error: {type(exc).__name__}")
    failure.retryable = True
    return failure


async def run_continuation(ctx: dict[str, Any], job_id: str) -> str:
    """arq entry point: process one continuation job from wherever it stopped."""
    runtime: Runtime = ctx["runtime"]
    job_uuid = uuid.UUID(job_id)
    async with job_lock(runtime, job_uuid) as acquired:
        if not acquired:
            log.info("job_busy_elsewhere", job_id=job_id)
            return "busy"
        return await _process(ctx, runtime, job_uuid)


async def _process(ctx: dict[str, Any], runtime: Runtime, job_id: uuid.UUID) -> str:
    async with runtime.db.transaction() as session:
        job = await repository.get(session, job_id)
        if job is None:
            return "missing"
        if job.status in TERMINAL_STATUSES:
            await cleanup(runtime, job, keep_media=job.status == JobStatus.FINAL_READY)
            return str(job.status)
        await repository.start_attempt(session, job)
    session_outputs = dict(job.stage_outputs or {})
    last = {"progress": job.progress}

    async def progress(value: int, message: str) -> None:
        if value <= last["progress"]:
            return
        last["progress"] = value
        async with runtime.db.transaction() as s:
            await repository.report(s, job, progress=value, message=message)

    stage_run = StageRun(runtime, job, session_outputs, progress)
    for stage in STAGES:
        done = session_outputs.get(stage.name)
        if done is not None and (stage.still_valid is None or stage.still_valid(done)):
            continue
        if not await _enter(runtime, stage_run, stage):
            await cleanup(runtime, job, keep_media=False)
            return "cancelled"
        started = time.perf_counter()
        try:
            output = await stage.run(stage_run)
        except JobNoLongerOpen:
            await cleanup(runtime, job, keep_media=False)
            return "cancelled"
        except Exception as exc:  # noqa: BLE001 - every failure is recorded on the job
            return await _failed(ctx, runtime, stage_run, stage, as_failure(exc))
        output["seconds"] = round(time.perf_counter() - started, 3)
        session_outputs[stage.name] = output
        if stage.name == JobStage.FINALIZATION:
            break
        async with runtime.db.transaction() as session:
            moved = await repository.report(
                session,
                job,
                progress=stage.end,
                message=stage.label,
                status=stage.done_status,
                outputs={stage.name: output},
            )
        if not moved:
            await cleanup(runtime, job, keep_media=False)
            return "cancelled"
    await cleanup(runtime, job, keep_media=True)
    log.info("job_final_ready", job_id=str(job.id))
    return "final_ready"


async def _enter(runtime: Runtime, stage_run: StageRun, stage: Stage) -> bool:
    """The stage boundary: False when the job was cancelled meanwhile."""
    async with runtime.db.transaction() as session:
        status = None if stage.name != JobStage.SCRIPT_EXPANSION else JobStatus.PROCESSING
        return await repository.report(
            session,
            stage_run.job,
            progress=stage.start,
            message=stage.label,
            stage=stage.name,
            status=status,
        )


async def _failed(
    ctx: dict[str, Any], runtime: Runtime, stage_run: StageRun, stage: Stage, failure: JobFailure
) -> str:
    job = stage_run.job
    log.warning(
        "job_stage_failed",
        job_id=str(job.id),
        stage=str(stage.name),
        code=failure.code,
        retryable=failure.retryable,
        error=failure.message,
    )
    async with runtime.db.transaction() as session:
        fresh = await repository.get(session, job.id, for_update=True)
        if fresh is None or fresh.status in TERMINAL_STATUSES:
            retry = False
        elif failure.retryable and fresh.retry_count < fresh.max_retries:
            delay = min(MAX_BACKOFF_SECONDS, 2.0**fresh.retry_count)
            attempt = fresh.retry_count + 1
            await repository.schedule_retry(
                session,
                job,
                code=failure.code,
                message=f"{failure.message} Retrying in {delay:.0f}s (attempt {attempt}).",
            )
            retry = True
        else:
            await repository.fail(
                session,
                job,
                code=failure.code,
                message=failure.message,
                retryable=failure.retryable,
                details=failure.details,
            )
            retry = False
    if retry:
        await ctx["redis"].enqueue_job(
            RUN_CONTINUATION,
            str(job.id),
            _job_id=f"continuation:{job.id}:r{attempt}",
            _defer_by=delay,
        )
        return "retrying"
    await cleanup(runtime, job, keep_media=False)
    return "failed"


async def cleanup(runtime: Runtime, job: Any, *, keep_media: bool) -> None:
    """Remove the job's work directory, and its uploaded media unless a segment uses it."""
    shutil.rmtree(runtime.settings.work_dir / str(job.id), ignore_errors=True)
    if not keep_media:
        await runtime.storage.delete_prefix(f"scenes/{job.scene_id}/segments/{job.id}/")
