"""Recording an event: the people it concerns are notified, and matching webhooks get a
delivery row, in one statement (domain.notifications.repository) inside the caller's own
transaction.

The statement works on an ORM session (API requests) and on a worker's raw connection
(`infra.prepared.Runner`, finalization) alike. It returns the endpoints that got a delivery, so
the caller can wake the sender once its transaction commits.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain.notifications import repository
from infra.prepared import Runner

JOB_FINAL_READY = "job.final_ready"
JOB_FAILED = "job.failed"
JOB_CANCELLED = "job.cancelled"
SCENE_CONTINUED = "scene.continued"
MODERATION_ACTION = "moderation.action"
PROPOSAL_DECIDED = "proposal.decided"
WEBHOOK_DISABLED = "webhook.disabled"


@dataclass(frozen=True)
class Event:
    """Something that happened to `subjects`' jobs, scenes or content."""

    type: str
    data: dict[str, Any]
    subjects: Sequence[uuid.UUID]
    # False: webhooks only (the subject did it themselves, e.g. cancelled their own job).
    notify: bool = True
    webhooks: bool = True

    def as_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            # Through JSON once, so UUIDs and datetimes become the strings the API shows.
            "data": json.loads(json.dumps(self.data, default=str)),
            "users": sorted({str(s) for s in self.subjects if s is not None}),
            "notify": self.notify,
            "webhooks": self.webhooks,
        }


def _params(events: Iterable[Event]) -> dict[str, Any]:
    return {"events": [event.as_json() for event in events]}


async def record(session: AsyncSession, events: Sequence[Event]) -> set[uuid.UUID]:
    """Record `events` in the session's transaction; the endpoints that got deliveries."""
    if not events:
        return set()
    return await repository.record_events(session, _params(events))


async def record_raw(conn: Runner, events: Sequence[Event]) -> set[uuid.UUID]:
    """`record` on a worker's raw connection (one prepared statement, one round trip)."""
    if not events:
        return set()
    return await repository.record_events_raw(conn, _params(events))
