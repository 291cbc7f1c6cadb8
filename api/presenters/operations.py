"""Dead letters on the wire."""

from __future__ import annotations

from domain.jobs.models import Job, JobStatus
from domain.operations import dead_letters
from schemas.operations import FailedJobOut


def failed_job_out(job: Job) -> FailedJobOut:
    # A failed job's stage column says "error"; the dead-letter view names where it stopped.
    failed = job.status == JobStatus.FAILED
    return FailedJobOut.model_validate(
        {
            "id": job.id,
            "scene_id": job.scene_id,
            "user_id": job.user_id,
            "status": job.status,
            "error_code": job.error_code,
            "reason": job.error_message,
            "stage": dead_letters.failed_stage(job.stage_outputs) if failed else job.stage,
            "attempts": job.attempt,
            "retry_count": job.retry_count,
            "max_retries": job.max_retries,
            "retryable": job.retryable,
            "created_at": job.created_at,
            "finished_at": job.finished_at,
            "discarded_at": job.discarded_at,
        }
    )
