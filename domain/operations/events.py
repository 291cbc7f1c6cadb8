"""System events: structured operator-facing facts, written from anywhere, read by admins."""

from __future__ import annotations

import uuid
from typing import Any

from domain.operations import repository
from domain.operations.models import SystemEventKind
from infra.archive import ArchiveRun
from infra.db import Database
from infra.logging import get_logger
from infra.partitions import CreatedPartition

log = get_logger("domain.operations.events")


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
            await repository.add_system_event(session, kind, data, job_id=job_id)
    except Exception as exc:  # noqa: BLE001 - the event is lost, the caller carries on
        log.warning("system_event_lost", kind=kind, error=repr(exc))
        return False
    log.info("system_event", kind=kind, **{"event_data": data or {}})
    return True


# The admin's list is a plain read: the route calls it through this service module.
list_system_events = repository.list_system_events


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
