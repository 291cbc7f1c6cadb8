"""System events: structured operator-facing facts, written from anywhere, read by admins."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.operations.models import SystemEvent, SystemEventKind
from domain.pagination import Page, paginate
from infra.archive import ArchiveRun
from infra.db import Database
from infra.logging import get_logger
from infra.partitions import CreatedPartition

log = get_logger("domain.operations.events")


async def add_system_event(
    session: AsyncSession,
    kind: str,
    data: dict[str, Any] | None = None,
    *,
    job_id: uuid.UUID | None = None,
) -> None:
    """Record an event inside the caller's transaction (it commits or rolls back with it)."""
    await session.execute(insert(SystemEvent).values(kind=kind, data=data or {}, job_id=job_id))


async def record_system_event(
    db: Database,
    kind: str,
    data: dict[str, Any] | None = None,
    *,
    job_id: uuid.UUID | None = None,
) -> bool:
    """Record an event in its own transaction; never raises (an event must not break its cause)."""
    try:
        async with db.transaction() as session:
            await add_system_event(session, kind, data, job_id=job_id)
    except Exception as exc:  # noqa: BLE001 - the event is lost, the caller carries on
        log.warning("system_event_lost", kind=kind, error=repr(exc))
        return False
    log.info("system_event", kind=kind, **{"event_data": data or {}})
    return True


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


async def record_partitions_created(db: Database, created: list[CreatedPartition]) -> None:
    """One event per partition created; rows moved out of a DEFAULT partition make it a rescue."""
    for c in created:
        kind = (
            SystemEventKind.PARTITION_RESCUED if c.moved_rows else SystemEventKind.PARTITION_CREATED
        )
        data = {
            "table": c.table,
            "partition": c.name,
            "range_from": c.lower.isoformat(),
            "range_to": c.upper.isoformat(),
            "moved_rows": c.moved_rows,
        }
        await record_system_event(db, kind, data)


async def record_archive_run(db: Database, run: ArchiveRun, *, dry_run: bool = False) -> None:
    """An archive run that did or tried something (a run with nothing to do is no event)."""
    if dry_run or not any(o.action != "skipped" for o in run.outcomes):
        return
    data = {
        "cutoff": run.cutoff.isoformat(),
        "outcomes": [
            {"partition": o.partition, "action": o.action, "rows": o.rows, "detail": o.detail}
            for o in run.outcomes
        ],
        "failed": len(run.failed),
    }
    await record_system_event(db, SystemEventKind.ARCHIVE_RUN, data)
