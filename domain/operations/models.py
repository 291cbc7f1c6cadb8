"""System events and the provider ledger (plain tables; see the 0011 migration for why)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Identity, Index, Integer, String
from sqlalchemy import text as sql
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from domain.base import Base, created_at, enum_check


class SystemEventKind(StrEnum):
    PARTITION_CREATED = "partition.created"
    PARTITION_RESCUED = "partition.rescued"
    ARCHIVE_RUN = "archive.run"
    RESTORE_RUN = "restore.run"
    RECOVERY_REQUEUED = "recovery.requeued"
    WORKER_STARTED = "worker.started"
    WORKER_STOPPED = "worker.stopped"
    PROVIDER_OUTAGE = "provider.outage"
    PROVIDER_RECOVERED = "provider.recovered"
    WEBHOOK_DISABLED = "webhook.disabled"
    JOB_REQUEUED = "job.requeued"
    JOB_DISCARDED = "job.discarded"
    BACKUP_RUN = "backup.run"
    BACKUP_RESTORED = "backup.restored"


class ProviderKind(StrEnum):
    LLM = "llm"
    MODERATION = "moderation"
    SPEECH = "speech"
    VIDEO = "video"


class SystemEvent(Base):
    __tablename__ = "system_events"
    __table_args__ = (
        Index("ix_system_events_created", "created_at", "id"),
        Index("ix_system_events_kind_created", "kind", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=sql("'{}'::jsonb"))
    job_id: Mapped[uuid.UUID | None] = mapped_column()
    created_at: Mapped[datetime] = created_at()


class ProviderCall(Base):
    __tablename__ = "provider_calls"
    __table_args__ = (
        CheckConstraint(enum_check("kind", tuple(ProviderKind)), name="kind"),
        CheckConstraint("outcome IN ('ok', 'error')", name="outcome"),
        Index("ix_provider_calls_user_created", "user_id", "created_at"),
        Index("ix_provider_calls_job", "job_id"),
        Index(
            "uq_provider_calls_work_ok",
            "work_key",
            unique=True,
            postgresql_where=sql("outcome = 'ok' AND work_key IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    job_id: Mapped[uuid.UUID | None] = mapped_column()
    user_id: Mapped[uuid.UUID | None] = mapped_column()
    provider: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    operation: Mapped[str] = mapped_column(String(32))
    work_key: Mapped[str | None] = mapped_column(String(128))
    request_id: Mapped[str | None] = mapped_column(String(255))
    outcome: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(64))
    duration_ms: Mapped[int] = mapped_column(Integer)
    cost_units: Mapped[int] = mapped_column(Integer, server_default=sql("0"), default=0)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = created_at()
