"""Continuation jobs: submission (idempotent, capped), reading, cancelling."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    TooManyRequests,
    Unauthorized,
)
from domain.ids import new_time_id
from domain.jobs import repository
from domain.jobs.models import TERMINAL_STATUSES, Job, JobStatus
from domain.notifications import service as notifications
from domain.notifications.events import JOB_CANCELLED, Event
from domain.operations.ledger import check_daily_budget
from domain.pagination import Page
from domain.scenes import repository as scenes_repository
from domain.scenes.models import SceneStatus
from domain.users.models import Role, User
from infra.db import Database
from infra.queue import PendingJob, enqueue_after_commit
from infra.settings import Settings

RUN_CONTINUATION = "run_continuation"
RETRY_AFTER_SECONDS = 30
_CLOSED_SCENE = (SceneStatus.LOCKED, SceneStatus.ARCHIVED, SceneStatus.REMOVED, SceneStatus.HIDDEN)


@dataclass(frozen=True)
class Submission:
    job: Job
    created: bool


def request_hash(scene_id: uuid.UUID, text: str) -> str:
    return hashlib.sha256(f"{scene_id}\n{text}".encode()).hexdigest()


def enqueue_run(session: AsyncSession, job_id: uuid.UUID, *, tag: str, defer: float = 0) -> None:
    """Push the job to the worker once the surrounding transaction commits."""
    kwargs = {"_defer_by": defer} if defer else {}
    enqueue_after_commit(
        session,
        PendingJob(
            RUN_CONTINUATION, (str(job_id),), job_id=f"continuation:{job_id}:{tag}", kwargs=kwargs
        ),
    )


async def submit_continuation(
    session: AsyncSession,
    settings: Settings,
    user: User,
    scene_id: uuid.UUID,
    text: str,
    idempotency_key: str,
    request_id: str | None = None,
) -> Submission:
    """Write the job with its context snapshot; it is enqueued only after the commit."""
    digest = request_hash(scene_id, text)
    await repository.lock_user_submissions(session, user.id)
    job_id, created_at = new_time_id()
    claim = await repository.claim_idempotency_key(
        session, user.id, idempotency_key, digest, job_id, created_at
    )
    if claim is not None:
        if claim.request_hash != digest:
            raise InvalidInput(
                "This Idempotency-Key was used with another request.",
                [{"pointer": "", "message": "same key, different body"}],
            )
        existing = await repository.get(session, claim.job_id)
        if existing is None:  # archived with its partition
            raise Conflict("The job for this Idempotency-Key no longer exists.")
        return Submission(existing, created=False)

    scene = await scenes_repository.get_scene(session, scene_id)
    if scene is None or scene.deleted_at is not None:
        raise NotFound("No such scene.")
    if scene.status in _CLOSED_SCENE:
        raise Conflict(f"The scene is {scene.status}; it takes no continuations.")
    if await repository.count_in_flight(session, user.id) >= settings.max_jobs_in_flight:
        raise TooManyRequests(
            f"At most {settings.max_jobs_in_flight} continuations may be in flight at once.",
            retry_after=RETRY_AFTER_SECONDS,
        )
    await check_daily_budget(session, settings, user.id)
    summary = await repository.latest_summary(session, scene_id)
    context = {
        "bible": await repository.bible_data(session, scene_id, scene.bible_version),
        "summary": summary.summary if summary else None,
        "summary_to_sequence": summary.to_sequence if summary else 0,
        "recent_scripts": await repository.recent_scripts(
            session, scene_id, settings.context_recent_segments
        ),
        "segment_count": scene.segment_count,
        "scene_title": scene.title,
    }
    job = Job(
        id=job_id,
        created_at=created_at,
        user_id=user.id,
        scene_id=scene_id,
        text=text,
        bible_version=scene.bible_version,
        context_data=context,
        max_retries=settings.job_max_retries,
        message="Waiting for a worker.",
        request_id=request_id,
    )
    await repository.add(session, job)
    enqueue_run(session, job.id, tag="a0")
    return Submission(job, created=True)


def can_view(user: User, job: Job) -> bool:
    return job.user_id == user.id or Role(user.role).rank >= Role.MODERATOR.rank


async def get_visible(session: AsyncSession, user: User, job_id: uuid.UUID) -> Job:
    """The job, for its owner or a moderator; 404 for anyone else (ids are not disclosed)."""
    job = await repository.get(session, job_id)
    if job is None or not can_view(user, job):
        raise NotFound("No such job.")
    return job


async def get_for_caller(
    db: Database,
    caller_id: uuid.UUID,
    job_id: uuid.UUID,
    token_issued_at: datetime | None = None,
    *,
    after: int | None = None,
) -> Any:
    """Like get_visible, with the caller's account read in the same query as the job.

    Returns the job's public columns (a row with the attributes of `repository.POLL_COLUMNS`),
    read where a read session seeing WAL position `after` would read.
    A token issued before the account ended its sessions (`token_issued_at`) is refused.
    """
    row = await repository.poll_with_caller(db, job_id, caller_id, after=after)
    if row is None:
        raise Unauthorized("The access token's account no longer exists.")
    cutoff = row.caller_tokens_valid_after
    if token_issued_at is not None and cutoff is not None and token_issued_at < cutoff:
        raise Unauthorized("The access token was issued before the account's sessions ended.")
    if not row.caller_active:
        raise Forbidden("This account is suspended.")
    visible = row.user_id == caller_id or Role(row.caller_role).rank >= Role.MODERATOR.rank
    if row.id is None or not visible:
        raise NotFound("No such job.")
    return row


async def cancel(session: AsyncSession, user: User, job_id: uuid.UUID) -> Job:
    """Cancel now: the worker stops at its next stage boundary and finalization refuses it."""
    job = await repository.get(session, job_id, for_update=True)
    if job is None or not can_view(user, job):
        raise NotFound("No such job.")
    if job.user_id != user.id:
        raise Forbidden("Only the job's owner can cancel it.")
    if job.status in TERMINAL_STATUSES:
        raise Conflict(f"The job is already {job.status}.")
    job.status = JobStatus.CANCELLED
    job.cancel_requested = True
    job.message = "Cancelled by its owner."
    job.finished_at = datetime.now(UTC)
    await session.flush()
    await session.refresh(job)
    # The owner did it themselves: their webhooks hear of it, their inbox need not.
    data = {"job_id": str(job.id), "scene_id": str(job.scene_id), "status": job.status}
    await notifications.tell(session, Event(JOB_CANCELLED, data, [job.user_id], notify=False))
    return job


async def page_own_jobs(
    session: AsyncSession,
    user: User,
    status: str | None,
    *,
    limit: int,
    cursor: str | None,
) -> Page[Job]:
    """The user's own jobs, newest first, optionally of one status."""
    return await repository.page_user_jobs(session, user.id, status, limit=limit, cursor=cursor)


def etag(job: Any) -> str:
    """A weak ETag from the last change (a Job, or a row with its `updated_at`)."""
    return f'W/"{int(job.updated_at.timestamp() * 1_000_000):x}"'
