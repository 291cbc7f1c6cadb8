"""A job's event log: reading it, and folding it back into the job's state.

Events are written by the jobs_record_event trigger (migration 0009), in the same statement
as the job row's change, so every writer records them and none can forget: each carries the
job's next `seq` and the public fields that changed. Kinds: `job.created`,
`job.attempt_started`, `job.status`, `job.stage`, `job.progress`, `job.provider_called` (the
provider's video id saved), `job.retry_scheduled`, `job.cancel_requested`, `job.updated`
(a message alone), and the terminal ones in TERMINAL_KINDS. `job.provider_call` (one call in
the provider ledger: its kind, operation, outcome, duration and cost units under
`provider_call`) is written by the provider_calls_record_job_event trigger (migration 0013)
and changes no field of the job.

Hooking on (notifications, webhooks): "a job event was recorded" is a row inserted into
job_events. A consumer that must not lose one adds, in its own migration, an AFTER INSERT
row trigger on job_events with `WHEN (NEW.kind IN (...))`: it runs in the writer's
transaction, so the notification or delivery row commits with the event or not at all.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain.jobs import repository

# Fields a job's events carry (those that change); the rest of a job never changes.
STATE_FIELDS = (
    "status",
    "stage",
    "progress",
    "message",
    "error_code",
    "error_message",
    "retryable",
    "retry_count",
    "attempt",
    "provider_video_id",
    "segment_id",
    "result_data",
    "cancel_requested",
    "started_at",
    "finished_at",
)


@dataclass(frozen=True)
class Event:
    seq: int
    kind: str
    data: dict[str, Any]
    recorded_at: datetime


async def after(
    session: AsyncSession, job_id: uuid.UUID, job_created_at: datetime, seq: int = 0
) -> list[Event]:
    """The job's events after `seq`, oldest first."""
    rows = await repository.events_after(session, job_id, job_created_at, seq)
    return [Event(r.seq, r.kind, r.data, r.recorded_at) for r in rows]


def fold(state: dict[str, Any], event: Event) -> dict[str, Any]:
    """The state after `event`: its changed fields applied; updated_at is when it happened."""
    state.update((k, v) for k, v in event.data.items() if k in STATE_FIELDS)
    state["updated_at"] = event.recorded_at
    return state


def replay(events: list[Event]) -> dict[str, Any]:
    """A job's changing fields rebuilt from its events alone (STATE_FIELDS and updated_at)."""
    state: dict[str, Any] = {}
    for event in events:
        fold(state, event)
    return state
