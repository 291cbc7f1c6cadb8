"""Recording an event: the people it concerns are notified, and matching webhooks get a
delivery row, in one statement inside the caller's own transaction.

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

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from infra.prepared import Prepared, Runner

JOB_FINAL_READY = "job.final_ready"
JOB_FAILED = "job.failed"
JOB_CANCELLED = "job.cancelled"
SCENE_CONTINUED = "scene.continued"
MODERATION_ACTION = "moderation.action"
PROPOSAL_DECIDED = "proposal.decided"
WEBHOOK_DISABLED = "webhook.disabled"
# What an endpoint may subscribe to; webhook.disabled is told in the app only.
WEBHOOK_EVENT_TYPES = (
    JOB_FINAL_READY,
    JOB_FAILED,
    JOB_CANCELLED,
    SCENE_CONTINUED,
    MODERATION_ACTION,
    PROPOSAL_DECIDED,
)


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


_RECORD = text(
    """
WITH ev AS (
    SELECT x.o AS ordinal, x.e->>'type' AS type, x.e->'data' AS data,
           (x.e->>'notify')::boolean AS notify, (x.e->>'webhooks')::boolean AS webhooks,
           x.e->'users' AS users
    FROM jsonb_array_elements(CAST(:events AS jsonb)) WITH ORDINALITY AS x(e, o)
),
people AS (
    SELECT ev.ordinal, CAST(u AS uuid) AS user_id
    FROM ev, jsonb_array_elements_text(ev.users) AS u
),
notes AS (
    INSERT INTO notifications (user_id, type, data)
    SELECT p.user_id, ev.type, ev.data
    FROM people p JOIN ev USING (ordinal)
    JOIN users ON users.id = p.user_id AND users.deleted_at IS NULL
    WHERE ev.notify
    ORDER BY ev.ordinal
)
INSERT INTO webhook_deliveries (endpoint_id, event_type, payload)
SELECT e.id, ev.type, jsonb_build_object(
    'type', ev.type,
    'timestamp', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    'data', ev.data)
FROM ev JOIN webhook_endpoints e
  ON e.disabled_at IS NULL AND ev.webhooks AND ev.type = ANY(e.events)
 AND (e.all_users OR e.user_id IN (SELECT p.user_id FROM people p WHERE p.ordinal = ev.ordinal))
ORDER BY ev.ordinal, e.id
RETURNING endpoint_id
"""
).bindparams(bindparam("events", type_=JSONB))
_RECORD_PREPARED = Prepared(_RECORD)


def _params(events: Iterable[Event]) -> dict[str, Any]:
    return {"events": [event.as_json() for event in events]}


async def record(session: AsyncSession, events: Sequence[Event]) -> set[uuid.UUID]:
    """Record `events` in the session's transaction; the endpoints that got deliveries."""
    if not events:
        return set()
    rows = await session.execute(_RECORD, _params(events))
    return {row[0] for row in rows}


async def record_raw(conn: Runner, events: Sequence[Event]) -> set[uuid.UUID]:
    """`record` on a worker's raw connection (one prepared statement, one round trip)."""
    if not events:
        return set()
    rows = await conn.fetch(_RECORD_PREPARED, _params(events))
    return {row[0] for row in rows}
