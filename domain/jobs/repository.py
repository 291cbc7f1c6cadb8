"""Every query on continuation jobs and their idempotency keys."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import CursorResult, Select, and_, bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.ids import created_range
from domain.jobs.models import (
    UNFINISHED,
    Job,
    JobEvent,
    JobIdempotencyKey,
    JobLease,
    JobStatus,
)
from domain.pagination import Page, paginate
from domain.scenes.models import SceneBible, SceneSummary, Segment
from domain.users.models import User
from infra.db import Database
from infra.prepared import Prepared


def _by_id(job_id: uuid.UUID) -> Select[Any]:
    start, end = created_range(job_id)  # a UUIDv7 names its month: one partition, not all
    return select(Job).where(Job.id == job_id, Job.created_at >= start, Job.created_at < end)


async def get(session: AsyncSession, job_id: uuid.UUID, *, for_update: bool = False) -> Job | None:
    stmt = _by_id(job_id)
    if for_update:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


# What a poll shows: the job's public fields, never its context snapshot (the whole bible).
POLL_COLUMNS = (
    Job.id,
    Job.scene_id,
    Job.user_id,
    Job.type,
    Job.status,
    Job.stage,
    Job.progress,
    Job.message,
    Job.result_data,
    Job.error_code,
    Job.error_message,
    Job.retryable,
    Job.retry_count,
    Job.max_retries,
    Job.bible_version,
    Job.cancel_requested,
    Job.created_at,
    Job.updated_at,
    Job.started_at,
    Job.finished_at,
)


# The job named by the `job_id` parameter, in the created_at range (`created_from`,
# `created_to`) that `in_its_month` gives: one partition is read, not all.
JOB_IN_ITS_MONTH = (
    Job.id == bindparam("job_id"),
    Job.created_at >= bindparam("created_from"),
    Job.created_at < bindparam("created_to"),
)


def in_its_month(job_id: uuid.UUID) -> dict[str, Any]:
    """The parameters of JOB_IN_ITS_MONTH for this job."""
    created_from, created_to = created_range(job_id)
    return {"job_id": job_id, "created_from": created_from, "created_to": created_to}


# Built once: composing this statement costs more than running it, and polls are frequent.
_POLL = (
    select(
        User.role.label("caller_role"),
        User.is_active.label("caller_active"),
        User.tokens_valid_after.label("caller_tokens_valid_after"),
        *POLL_COLUMNS,
    )
    .select_from(User)
    .outerjoin(Job, and_(*JOB_IN_ITS_MONTH))
    .where(User.id == bindparam("caller_id"))
)


_POLL_STATEMENT = Prepared(_POLL)


async def poll_with_caller(
    db: Database, job_id: uuid.UUID, caller_id: uuid.UUID, *, after: int | None = None
) -> Any:
    """The caller's account (`caller_role`, `caller_active`) and the job's public columns in
    one round trip, the job pruned to its partition; None when the caller does not exist,
    the job columns None when the job does not. Read where `Database.reading(after)` would
    read, straight on the driver: frontends poll this every second."""
    return await db.read_row(
        _POLL_STATEMENT, {**in_its_month(job_id), "caller_id": caller_id}, after=after
    )


async def claim_idempotency_key(
    session: AsyncSession,
    user_id: uuid.UUID,
    key: str,
    request_hash: str,
    job_id: uuid.UUID,
    job_created_at: datetime,
) -> JobIdempotencyKey | None:
    """Claim the key for a new job; returns the existing claim when the key was taken."""
    inserted = await session.scalar(
        insert(JobIdempotencyKey)
        .values(
            user_id=user_id,
            key=key,
            request_hash=request_hash,
            job_id=job_id,
            job_created_at=job_created_at,
        )
        .on_conflict_do_nothing(index_elements=["user_id", "key"])
        .returning(JobIdempotencyKey.job_id)
    )
    if inserted is not None:
        return None
    return await session.scalar(
        select(JobIdempotencyKey).where(
            JobIdempotencyKey.user_id == user_id, JobIdempotencyKey.key == key
        )
    )


async def lock_user_submissions(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Serialise one user's submissions so the in-flight cap cannot be raced past."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": f"submit:{user_id}"},
    )


async def count_in_flight(session: AsyncSession, user_id: uuid.UUID) -> int:
    """The user's jobs alive or waiting: unfinished, save those whose run died (its lease
    lapsed), which must not lock their owner out until they are taken over."""
    dead_run = (
        select(JobLease.job_id)
        .where(JobLease.job_id == Job.id, JobLease.expires_at <= func.now())
        .exists()
    )
    return int(
        await session.scalar(
            select(func.count())
            .select_from(Job)
            .where(Job.user_id == user_id, UNFINISHED, ~dead_run)
        )
        or 0
    )


# A scene's bible at one version: read here through a session, and by the worker on its job's
# own connection (run_repository), from this one statement.
BIBLE_AT_VERSION = select(SceneBible.data).where(
    SceneBible.scene_id == bindparam("scene_id"), SceneBible.version == bindparam("version")
)


async def bible_data(session: AsyncSession, scene_id: uuid.UUID, version: int) -> dict[str, Any]:
    data = await session.scalar(BIBLE_AT_VERSION, {"scene_id": scene_id, "version": version})
    return data or {}


async def latest_summary(session: AsyncSession, scene_id: uuid.UUID) -> SceneSummary | None:
    return await session.scalar(
        select(SceneSummary)
        .where(SceneSummary.scene_id == scene_id)
        .order_by(SceneSummary.to_sequence.desc())
        .limit(1)
    )


async def recent_scripts(
    session: AsyncSession, scene_id: uuid.UUID, count: int
) -> list[dict[str, Any]]:
    rows = (
        await session.execute(
            select(Segment.sequence, Segment.script)
            .where(Segment.scene_id == scene_id, Segment.status == "active")
            .order_by(Segment.sequence.desc())
            .limit(count)
        )
    ).all()
    return [{"sequence": r.sequence, "script": r.script} for r in reversed(rows)]


def user_jobs(user_id: uuid.UUID, status: str | None) -> Select[Any]:
    stmt = select(Job).where(Job.user_id == user_id)
    if status is not None:
        stmt = stmt.where(Job.status == status)
    return stmt


def _row(job: Job):  # noqa: ANN202 - a where-clause for exactly this job, pruned to its partition
    return (Job.id == job.id, Job.created_at == job.created_at)


_OPEN = UNFINISHED


async def fail(
    session: AsyncSession,
    job: Job,
    *,
    code: str,
    message: str,
    retryable: bool,
    details: dict[str, Any] | None,
) -> bool:
    result = await session.execute(
        update(Job)
        .where(*_row(job), _OPEN)
        .values(
            status="failed",
            stage="error",
            error_code=code,
            error_message=message,
            retryable=retryable,
            result_data=details or None,
            message=message,
            finished_at=func.now(),
        )
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


async def schedule_retry(session: AsyncSession, job: Job, *, message: str, code: str) -> bool:
    result = await session.execute(
        update(Job)
        .where(*_row(job), _OPEN)
        .values(
            retry_count=Job.retry_count + 1,
            error_code=code,
            retryable=True,
            message=message,
        )
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


async def stuck_jobs(
    session: AsyncSession, older_than: datetime, limit: int = 100
) -> list[tuple[uuid.UUID, datetime]]:
    """Unfinished jobs nobody moved for a while (their queue entry may be gone), with the
    instant they last moved."""
    rows = (
        await session.execute(
            select(Job.id, Job.updated_at)
            .where(_OPEN, Job.updated_at < older_than)
            .order_by(Job.updated_at)
            .limit(limit)
        )
    ).all()
    return [(r.id, r.updated_at) for r in rows]


async def cancel_unfinished_of_user(
    session: AsyncSession, user_id: uuid.UUID, message: str
) -> None:
    """Cancel every job of this user that has not ended (their account was suspended)."""
    await session.execute(
        update(Job)
        .where(Job.user_id == user_id, UNFINISHED)
        .values(
            status=JobStatus.CANCELLED.value,
            cancel_requested=True,
            message=message,
            finished_at=datetime.now(UTC),
        )
        .execution_options(synchronize_session=False)
    )


async def page_user_jobs(
    session: AsyncSession, user_id: uuid.UUID, status: str | None, *, limit: int, cursor: str | None
) -> Page[Job]:
    """One page of the user's jobs, newest first (keyset on created_at, id)."""
    stmt = user_jobs(user_id, status)
    return await paginate(session, stmt, [Job.created_at, Job.id], limit=limit, cursor=cursor)


async def add(session: AsyncSession, job: Job) -> Job:
    session.add(job)
    await session.flush()
    return job


_EVENTS_AFTER = (
    select(JobEvent.seq, JobEvent.kind, JobEvent.data, JobEvent.recorded_at)
    .where(
        JobEvent.job_id == bindparam("job_id"),
        JobEvent.created_at == bindparam("job_created_at"),  # the job's: one partition
        JobEvent.seq > bindparam("after"),
    )
    .order_by(JobEvent.seq)
)


async def events_after(
    session: AsyncSession, job_id: uuid.UUID, job_created_at: datetime, seq: int
) -> CursorResult[Any]:
    """The job's event rows (seq, kind, data, recorded_at) after `seq`, oldest first."""
    connection = await session.connection()  # Core: plain rows, no ORM identity map
    return await connection.execute(
        _EVENTS_AFTER, {"job_id": job_id, "job_created_at": job_created_at, "after": seq}
    )


async def failed_page(
    session: AsyncSession, *, limit: int | None, cursor: str | None, discarded: bool
) -> Page[Job]:
    """Failed jobs, newest first; discarded ones or the others."""
    stmt = select(Job).where(Job.status == JobStatus.FAILED)
    stmt = stmt.where(Job.discarded_at.is_not(None) if discarded else Job.discarded_at.is_(None))
    return await paginate(session, stmt, [Job.created_at, Job.id], limit=limit, cursor=cursor)
