"""The continuation pipeline's conductor: runs the stages in order, resumably and exactly once.

PostgreSQL holds the truth about a job. A job is processed under a lease that its run renews
(worker/recovery.py: a dead run's job is taken over within seconds), each finished stage
records its output on the job, and a rerun skips what is already done. Retryable failures are
retried with backoff; cancellation is honoured at every stage boundary and leaves no files
behind.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import structlog

from domain.jobs import repository, run_repository
from domain.jobs.failures import (
    DatabaseUnavailable,
    JobFailure,
    MediaFailure,
    ProviderRejected,
    ProviderUnavailable,
)
from domain.jobs.finalization import JobNoLongerOpen
from domain.jobs.lease_repository import Claim, JobLeaseLost
from domain.jobs.models import JobStage, JobStatus, is_unfinished
from domain.jobs.service import RUN_CONTINUATION
from domain.notifications import events
from domain.operations import metered as ledger
from domain.webhooks.wake import pending_job
from infra.db import database_unavailable
from infra.logging import get_logger
from infra.media import MediaError
from infra.prepared import Channel
from infra.providers.base import ProviderError
from infra.queue import push
from worker.pipeline import (
    continuity_validation,
    finalization,
    script_expansion,
    upload,
    video_generation,
)
from worker.pipeline.runtime import Runtime, StageRun
from worker.recovery import job_lease

log = get_logger("worker.continuation")
MAX_BACKOFF_SECONDS = 60.0
PROGRESS_WRITE_SECONDS = 0.5


@dataclass(frozen=True)
class Stage:
    name: JobStage
    done_status: JobStatus
    start: int
    label: str
    run: Callable[[StageRun], Awaitable[dict[str, Any]]]
    still_valid: Callable[[dict[str, Any]], bool] | None = None


STAGES = (
    Stage(
        JobStage.SCRIPT_EXPANSION,
        JobStatus.SCRIPT_READY,
        5,
        "Writing the script.",
        script_expansion.run,
    ),
    Stage(
        JobStage.CONTINUITY_VALIDATION,
        JobStatus.CONTINUITY_CHECKED,
        20,
        "Checking continuity.",
        continuity_validation.run,
    ),
    Stage(
        JobStage.VIDEO_GENERATION,
        JobStatus.PREVIEW_READY,
        30,
        "Rendering the video.",
        video_generation.run,
        video_generation.still_valid,
    ),
    Stage(JobStage.UPLOAD, JobStatus.PREVIEW_READY, 75, "Uploading the segment.", upload.run),
    Stage(
        JobStage.FINALIZATION,
        JobStatus.FINAL_READY,
        90,
        "Adding the segment.",
        finalization.run,
    ),
)


class Progress:
    """A stage's progress reports, written at most every PROGRESS_WRITE_SECONDS: a poller
    asks once a second, and each write is a transaction; stage boundaries always write."""

    def __init__(self, channel: Channel, job: Any) -> None:
        self.channel, self.job = channel, job
        self.progress, self.written = job.progress, 0.0

    def entered_stage(self) -> None:
        """The stage boundary has just written the job."""
        self.written = time.monotonic()

    async def report(self, value: int, message: str) -> None:
        now = time.monotonic()
        if value <= self.progress or now - self.written < PROGRESS_WRITE_SECONDS:
            return
        self.progress, self.written = value, now
        await run_repository.report(self.channel, self.job, progress=value, message=message)


def as_failure(exc: Exception) -> JobFailure:
    if isinstance(exc, JobFailure):
        return exc
    if isinstance(exc, ProviderError):
        kind = ProviderUnavailable if exc.retryable else ProviderRejected
        failure: JobFailure = kind(str(exc), {"provider_code": exc.code})
        return failure
    if isinstance(exc, MediaError):
        return MediaFailure(str(exc), {"stderr": getattr(exc, "stderr", "")[-2000:]})
    if database_unavailable(exc):
        return DatabaseUnavailable(f"The database was out of reach: {type(exc).__name__}.")
    failure = JobFailure(f"Unexpected error: {type(exc).__name__}")
    failure.retryable = True
    return failure


async def run_continuation(ctx: dict[str, Any], job_id: str) -> str:
    """arq entry point: process one continuation job from wherever it stopped."""
    runtime: Runtime = ctx["runtime"]
    try:
        async with job_lease(runtime, uuid.UUID(job_id)) as run:
            if run.job is None:
                return "missing"
            # The request that submitted the job, on this run's log lines from here on.
            structlog.contextvars.bind_contextvars(request_id=run.job.request_id)
            if run.claim is Claim.BUSY:
                log.info("job_busy_elsewhere", job_id=job_id)
                return "busy"
            with ledger.serving(run.job.id, run.job.user_id):  # provider calls: this job's
                return await _run_stages(
                    ctx, runtime, run.channel, run.job, run.claim is Claim.TAKEN
                )
    except JobLeaseLost:
        # Another run has the job (or will, once the lease has lapsed): nothing of it is
        # this run's any more, its files included.
        log.warning("job_run_fenced", job_id=job_id)
        return "lease_lost"


async def _run_stages(
    ctx: dict[str, Any], runtime: Runtime, channel: Channel, job: Any, claimed: bool
) -> str:
    if not claimed:  # it had ended: only its leftovers remain to clear
        await cleanup(runtime, job, keep_media=job.status == JobStatus.FINAL_READY)
        return str(job.status)
    log.info("job_run_started", attempt=job.attempt)
    session_outputs = dict(job.stage_outputs or {})
    progress = Progress(channel, job)
    stage_run = StageRun(runtime, channel, job, session_outputs, progress.report)
    finished: tuple[Stage, dict[str, Any]] | None = None
    for stage in STAGES:
        done = session_outputs.get(stage.name)
        if done is not None and (stage.still_valid is None or stage.still_valid(done)):
            continue
        if not await _enter(stage_run, stage, finished):
            await cleanup(runtime, job, keep_media=False)
            return "cancelled"
        finished = None
        progress.entered_stage()
        log.info("job_stage_started", stage=str(stage.name))
        started = time.perf_counter()
        try:
            output = await stage.run(stage_run)
        except JobNoLongerOpen:
            await cleanup(runtime, job, keep_media=False)
            return "cancelled"
        except JobLeaseLost:
            raise  # not the job's failure: this run's, which must write nothing more
        except Exception as exc:  # noqa: BLE001 - every failure is recorded on the job
            return await _failed(ctx, runtime, stage_run, stage, as_failure(exc))
        output["seconds"] = round(time.perf_counter() - started, 3)
        session_outputs[stage.name] = output
        log.info("job_stage_finished", stage=str(stage.name), seconds=output["seconds"])
        if stage.name == JobStage.FINALIZATION:
            await wake_webhooks(ctx, output.pop("webhooks", ()))
            break  # its output, the duration too, was written with the segment
        finished = (stage, output)  # recorded with the next stage's entry, in one write
    await cleanup(runtime, job, keep_media=True)
    log.info("job_final_ready", job_id=str(job.id))
    return "final_ready"


async def _enter(
    stage_run: StageRun,
    stage: Stage,
    finished: tuple[Stage, dict[str, Any]] | None,
) -> bool:
    """The stage boundary: the stage just finished is recorded (its output, its status) and
    `stage` entered, in one update. False when the job was cancelled meanwhile."""
    status = JobStatus.PROCESSING if stage.name == JobStage.SCRIPT_EXPANSION else None
    outputs: dict[str, Any] | None = None
    if finished is not None:
        status, outputs = finished[0].done_status, {str(finished[0].name): finished[1]}
    return await run_repository.report(
        stage_run.channel,
        stage_run.job,
        progress=stage.start,
        message=stage.label,
        stage=stage.name,
        status=status,
        outputs=outputs,
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
    finished_elsewhere = False
    woken: set[uuid.UUID] = set()
    async with runtime.db.transaction() as session:
        fresh = await repository.get(session, job.id, for_update=True)
        if fresh is not None and fresh.attempt != job.attempt:
            raise JobLeaseLost(str(job.id))  # another run has the job now: it decides
        if fresh is None or not is_unfinished(fresh.status):
            # Another run may have finished it meanwhile: its segment's media must stay.
            finished_elsewhere = fresh is not None and fresh.status == JobStatus.FINAL_READY
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
            failed = await repository.fail(
                session,
                job,
                code=failure.code,
                message=failure.message,
                retryable=failure.retryable,
                details=failure.details,
            )
            if failed:
                woken = await events.record(session, [_failed_event(job, failure)])
            retry = False
    await wake_webhooks(ctx, woken)
    if retry:
        await ctx["redis"].enqueue_job(
            RUN_CONTINUATION,
            str(job.id),
            _job_id=f"continuation:{job.id}:r{attempt}",
            _defer_by=delay,
        )
        return "retrying"
    await cleanup(runtime, job, keep_media=finished_elsewhere)
    return "failed"


def _failed_event(job: Any, failure: JobFailure) -> events.Event:
    data = {
        "job_id": str(job.id),
        "scene_id": str(job.scene_id),
        "status": JobStatus.FAILED.value,
        "error_code": failure.code,
        "error_message": failure.message,
    }
    return events.Event(events.JOB_FAILED, data, [job.user_id])


async def wake_webhooks(ctx: dict[str, Any], endpoint_ids: Iterable[uuid.UUID]) -> None:
    """After the commit that recorded them: the sender takes these endpoints' deliveries.
    Best effort: the sweep sends them anyway should Redis drop this."""
    ids = set(endpoint_ids)
    if not ids:
        return
    try:
        await push(ctx["redis"], [pending_job(ids)])
    except Exception as exc:  # noqa: BLE001 - the deliveries are committed; the sweep sends them
        log.warning("webhook_wake_left_to_sweep", endpoints=len(ids), error=repr(exc))


async def cleanup(runtime: Runtime, job: Any, *, keep_media: bool) -> None:
    """Remove the job's work directory.

    Uploaded media is content-addressed and may be another segment's too: what no segment
    references is the sweeper's (worker/cron.py), once the grace period has passed.
    `keep_media` is kept for the callers' intent; media under the job's own prefix (written
    before content addressing) is still removed when the job made no segment.
    """
    shutil.rmtree(runtime.settings.work_dir / str(job.id), ignore_errors=True)
    if not keep_media:
        await runtime.storage.delete_prefix(f"scenes/{job.scene_id}/segments/{job.id}/")
