"""Wire models for operations: system events, dead letters, table and queue statistics."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field

from schemas.common import WireModel
from schemas.jobs import JobStageName, JobStatusName


class SystemEventOut(WireModel):
    id: int
    kind: str = Field(description="e.g. worker.started, provider.outage, job.requeued.")
    data: dict[str, Any]
    job_id: uuid.UUID | None
    created_at: datetime


class FailedJobOut(WireModel):
    id: uuid.UUID
    scene_id: uuid.UUID
    user_id: uuid.UUID
    status: JobStatusName
    error_code: str | None
    reason: str | None = Field(description="The failure's message (the job's error_message).")
    stage: JobStageName = Field(description="The pipeline stage the job failed in.")
    attempts: int = Field(description="Runs the worker started for this job.")
    retry_count: int
    max_retries: int
    retryable: bool
    created_at: datetime
    finished_at: datetime | None
    discarded_at: datetime | None


class IndexStatsOut(WireModel):
    name: str
    bytes: int
    scans: int
    unused: bool = Field(description="Never scanned since the stats reset; enforces no constraint.")


class TableStatsOut(WireModel):
    name: str
    partitioned: bool = Field(description="A partitioned parent: its figures sum its partitions.")
    parent: str | None = Field(description="For a partition, the table it belongs to.")
    rows: int = Field(description="Live rows, the statistics' estimate (pg_stat n_live_tup).")
    table_bytes: int
    index_bytes: int
    dead_tuples: int
    last_vacuum: datetime | None
    last_analyze: datetime | None
    seq_scans: int
    index_scans: int
    indexes: list[IndexStatsOut]


class QueueStatsOut(WireModel):
    name: str
    depth: int = Field(description="Entries in the arq queue, deferred ones included.")
    ready: int = Field(description="Entries due now.")
    oldest_ready_age_seconds: float = Field(description="How long the oldest due entry waited.")


class StatsOut(WireModel):
    tables: list[TableStatsOut]
    unused_indexes: list[str] = Field(description="`table.index` of every unused index.")
    queue: QueueStatsOut
