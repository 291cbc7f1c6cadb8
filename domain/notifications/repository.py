"""Every query on notifications, and the statement that records events (notes and deliveries)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from domain.notifications.models import Notification
from domain.pagination import Page, paginate
from infra.prepared import Prepared, Runner


async def page_for(
    session: AsyncSession, user_id: uuid.UUID, *, limit: int | None, cursor: str | None
) -> Page[Notification]:
    stmt = select(Notification).where(Notification.user_id == user_id)
    return await paginate(
        session,
        stmt,
        [Notification.created_at, Notification.id],
        limit=limit,
        cursor=cursor,
    )


async def unread_count(session: AsyncSession, user_id: uuid.UUID) -> int:
    stmt = select(func.count()).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)
    )
    return int(await session.scalar(stmt) or 0)


async def mark_read(
    session: AsyncSession, user_id: uuid.UUID, ids: Sequence[uuid.UUID] | None
) -> int:
    """Mark the user's unread notifications (those named, or all) read; how many changed."""
    stmt = (
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=func.now())
    )
    if ids is not None:
        stmt = stmt.where(Notification.id.in_(list(ids)))
    result = await session.execute(stmt)
    return int(result.rowcount)  # type: ignore[attr-defined]


# Events as domain.notifications.events.Event.as_json gives them: {'events': [...]}.
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


async def record_events(session: AsyncSession, params: dict[str, Any]) -> set[uuid.UUID]:
    """Notes and deliveries for the events; the endpoints that got deliveries."""
    rows = await session.execute(_RECORD, params)
    return {row[0] for row in rows}


async def record_events_raw(conn: Runner, params: dict[str, Any]) -> set[uuid.UUID]:
    """`record_events` on a worker's raw connection (one prepared statement, one round trip)."""
    rows = await conn.fetch(_RECORD_PREPARED, params)
    return {row[0] for row in rows}


async def delete_before(session: AsyncSession, cutoff: datetime) -> int:
    """Forget the notifications made before `cutoff`, read or not; returns how many."""
    result = await session.execute(delete(Notification).where(Notification.created_at < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
