"""Continuation jobs (RANGE-partitioned by month) and their idempotency keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
)
from sqlalchemy import (
    text as sql,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from domain.base import Base, created_at, enum_check, updated_at


class JobStatus(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    SCRIPT_READY = "script_ready"
    CONTINUITY_CHECKED = "continuity_checked"
    PREVIEW_READY = "preview_ready"
    FINAL_READY = "final_ready"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL_STATUSES = (JobStatus.FINAL_READY, JobStatus.FAILED, JobStatus.CANCELLED)


def unfinished_sql(column: str = "status") -> str:
    """An unfinished job (one that has not ended), as SQL on its status column: the one
    definition; `UNFINISHED` and `is_unfinished` below say the same."""
    return f"{column} NOT IN ({', '.join(repr(status.value) for status in TERMINAL_STATUSES)})"


def is_unfinished(status: str) -> bool:
    return status not in TERMINAL_STATUSES


class JobType(StrEnum):
    CONTINUATION = "continuation"
    EXPORT = "export"


class JobStage(StrEnum):
    PENDING = "pending"
    SCRIPT_EXPANSION = "script_expansion"
    CONTINUITY_VALIDATION = "continuity_validation"
    VIDEO_GENERATION = "video_generation"
    UPLOAD = "upload"
    FINALIZATION = "finalization"
    COMPLETED = "completed"
    ERROR = "error"


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        PrimaryKeyConstraint("id", "created_at"),
        CheckConstraint(enum_check("status", tuple(JobStatus)), name="status"),
        CheckConstraint(enum_check("stage", tuple(JobStage)), name="stage"),
        CheckConstraint(enum_check("type", tuple(JobType)), name="type"),
        CheckConstraint("progress BETWEEN 0 AND 100", name="progress_range"),
        CheckConstraint("retry_count >= 0 AND max_retries >= 0", name="retries"),
        Index("ix_jobs_user_created", "user_id", "created_at"),
        Index("ix_jobs_scene_created", "scene_id", "created_at"),
        Index(
            "ix_jobs_unfinished",
            "status",
            "updated_at",
            postgresql_where=sql(unfinished_sql()),
        ),
        {"postgresql_partition_by": "RANGE (created_at)"},
    )

    id: Mapped[uuid.UUID] = mapped_column(
        default=uuid.uuid4, server_default=sql("gen_random_uuid()")
    )
    created_at: Mapped[datetime] = created_at()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    scene_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("scenes.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(
        String(24), server_default=sql("'continuation'"), default=JobType.CONTINUATION
    )
    status: Mapped[str] = mapped_column(
        String(24), server_default=sql("'queued'"), default=JobStatus.QUEUED
    )
    stage: Mapped[str] = mapped_column(
        String(24), server_default=sql("'pending'"), default=JobStage.PENDING
    )
    progress: Mapped[int] = mapped_column(Integer, server_default=sql("0"), default=0)
    message: Mapped[str | None] = mapped_column(Text)
    bible_version: Mapped[int] = mapped_column(Integer)
    context_data: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=sql("'{}'::jsonb"))
    stage_outputs: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=sql("'{}'::jsonb"))
    result_data: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    retryable: Mapped[bool] = mapped_column(Boolean, server_default=sql("false"), default=False)
    retry_count: Mapped[int] = mapped_column(Integer, server_default=sql("0"), default=0)
    max_retries: Mapped[int] = mapped_column(Integer, server_default=sql("3"), default=3)
    attempt: Mapped[int] = mapped_column(Integer, server_default=sql("0"), default=0)
    provider_video_id: Mapped[str | None] = mapped_column(String(255))
    segment_id: Mapped[uuid.UUID | None] = mapped_column()
    cancel_requested: Mapped[bool] = mapped_column(
        Boolean, server_default=sql("false"), default=False
    )
    request_id: Mapped[str | None] = mapped_column(String(64))
    # The seq of the job's last event (job_events); kept by the jobs_record_event trigger.
    event_seq: Mapped[int] = mapped_column(Integer, server_default=sql("0"), default=0)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set when an admin closes the failed job as a dead letter (it leaves the failed-jobs list).
    discarded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = updated_at()


# An unfinished job, for queries on Job.
UNFINISHED = Job.status.not_in([status.value for status in TERMINAL_STATUSES])


class JobIdempotencyKey(Base):
    """`Idempotency-Key` -> job. Its own table: a partitioned table cannot hold this UNIQUE key."""

    __tablename__ = "job_idempotency_keys"
    __table_args__ = (PrimaryKeyConstraint("user_id", "key"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    job_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    job_created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()


class JobEvent(Base):
    """One change to a job, append-only; written by the jobs_record_event trigger (0009), and
    for each provider call charged to the job by provider_calls_record_job_event (0013).

    `data` holds the public fields that changed (the first event: all of them), so folding a
    job's events in `seq` order rebuilds its state. RANGE-partitioned by the job's created_at.
    """

    __tablename__ = "job_events"
    __table_args__ = (
        PrimaryKeyConstraint("job_id", "created_at", "seq"),
        {"postgresql_partition_by": "RANGE (created_at)"},
    )

    job_id: Mapped[uuid.UUID] = mapped_column()
    # The job's created_at (the partition key, named as on every partitioned table).
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=sql("now()")
    )


class JobLease(Base):
    """The run that holds a job, until `expires_at` unless it renews (migration 0012).

    A run takes the lease when it starts and renews it every few seconds; a lease that has
    lapsed is a dead run's, and any worker may take the job over. `token` names the run
    holding it. What fences a stale run's writes is the job's `attempt`, which each taking
    over moves on (domain/jobs/run_repository.py).
    """

    __tablename__ = "job_leases"
    __table_args__ = (Index("ix_job_leases_expires", "expires_at"),)

    job_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    token: Mapped[uuid.UUID] = mapped_column()
    holder: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
