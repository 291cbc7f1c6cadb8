"""Every query of the operations area: the provider ledger and the system events."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.operations.models import ProviderCall, SystemEvent
from domain.pagination import Page, paginate


@dataclass(frozen=True)
class CallRecord:
    """One finished provider call, as the ledger stores it."""

    provider: str
    kind: str
    operation: str
    outcome: str
    duration_ms: int
    job_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    work_key: str | None = None
    request_id: str | None = None
    error_code: str | None = None
    cost_units: int = 0
    response: dict[str, Any] | None = None


async def record_call(session: AsyncSession, call: CallRecord) -> None:
    """Append the call; a second success for the same work keeps the first (it is the answer)."""
    stmt = upsert(ProviderCall).values(
        job_id=call.job_id,
        user_id=call.user_id,
        provider=call.provider[:64],
        kind=call.kind,
        operation=call.operation,
        work_key=call.work_key,
        request_id=call.request_id[:255] if call.request_id else None,
        outcome=call.outcome,
        error_code=call.error_code[:64] if call.error_code else None,
        duration_ms=call.duration_ms,
        cost_units=call.cost_units,
        response=call.response,
    )
    if call.outcome == "ok" and call.work_key is not None:
        stmt = stmt.on_conflict_do_nothing(
            index_elements=["work_key"],
            # Spelled as the index's predicate: a bound 'ok' would not let PostgreSQL infer it.
            index_where=text("outcome = 'ok' AND work_key IS NOT NULL"),
        )
    await session.execute(stmt)


async def finished_work(session: AsyncSession, work_key: str) -> ProviderCall | None:
    """The successful call already made for this work, if any."""
    return await session.scalar(
        select(ProviderCall).where(ProviderCall.work_key == work_key, ProviderCall.outcome == "ok")
    )


async def spent_since(session: AsyncSession, user_id: uuid.UUID, start: datetime) -> int:
    """The user's cost units of provider calls made since `start`."""
    total = await session.scalar(
        select(func.coalesce(func.sum(ProviderCall.cost_units), 0)).where(
            ProviderCall.user_id == user_id, ProviderCall.created_at >= start
        )
    )
    return int(total or 0)


async def add_system_event(
    session: AsyncSession,
    kind: str,
    data: dict[str, Any] | None = None,
    *,
    job_id: uuid.UUID | None = None,
) -> None:
    """Record an event inside the caller's transaction (it commits or rolls back with it)."""
    await session.execute(insert(SystemEvent).values(kind=kind, data=data or {}, job_id=job_id))


async def list_system_events(
    session: AsyncSession,
    *,
    kind: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int | None,
    cursor: str | None,
) -> Page[SystemEvent]:
    """Newest first; `kind` ending in `.` (e.g. `provider.`) matches every kind under it."""
    stmt = select(SystemEvent)
    if kind is not None:
        if kind.endswith("."):
            stmt = stmt.where(SystemEvent.kind.startswith(kind, autoescape=True))
        else:
            stmt = stmt.where(SystemEvent.kind == kind)
    if since is not None:
        stmt = stmt.where(SystemEvent.created_at >= since)
    if until is not None:
        stmt = stmt.where(SystemEvent.created_at < until)
    return await paginate(
        session, stmt, [SystemEvent.created_at, SystemEvent.id], limit=limit, cursor=cursor
    )


async def delete_system_events_before(session: AsyncSession, cutoff: datetime) -> int:
    """Forget the system events recorded before `cutoff`; returns how many."""
    result = await session.execute(delete(SystemEvent).where(SystemEvent.created_at < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def delete_provider_calls_before(session: AsyncSession, cutoff: datetime) -> list[str | None]:
    """Forget the provider calls made before `cutoff`; one entry per row: the storage key of
    the answer it kept (a paid voice line's audio), or None."""
    result = await session.execute(
        delete(ProviderCall)
        .where(ProviderCall.created_at < cutoff)
        .returning(ProviderCall.response["audio_key"].astext)
    )
    return list(result.scalars().all())
