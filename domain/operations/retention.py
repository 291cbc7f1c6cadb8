"""Retention: the daily DELETE of operational rows past their settings' age.

System events, the provider ledger (with the voice lines it kept in storage), notifications and
finished webhook deliveries grow by the day and are read only while recent. Each table is one
DELETE in its own transaction: a daily run finds about a day's rows to delete. A setting of 0
keeps a table's rows for ever. Job events go with their jobs' partitions (infra.archive).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from domain.notifications import repository as notifications
from domain.operations import repository as operations
from domain.webhooks import repository as webhooks
from infra.db import Database
from infra.logging import get_logger
from infra.settings import Settings
from infra.storage import Storage

log = get_logger("domain.operations.retention")
Delete = Callable[[AsyncSession, datetime], Awaitable[int]]


async def _provider_calls(db: Database, storage: Storage, cutoff: datetime) -> int:
    async with db.transaction() as session:
        kept = await operations.delete_provider_calls_before(session, cutoff)
    # After the commit: a row deleted means its audio is no answer to replay any more.
    for key in kept:
        if key is not None:
            await storage.delete(key)
    return len(kept)


async def delete_old_rows(
    db: Database, storage: Storage, settings: Settings, *, now: datetime | None = None
) -> dict[str, int]:
    """Delete each table's rows older than its retention; returns the rows deleted per table."""
    now = now or datetime.now(UTC)
    plan: list[tuple[str, int, Delete]] = [
        (
            "system_events",
            settings.system_events_retention_days,
            operations.delete_system_events_before,
        ),
        ("notifications", settings.notifications_retention_days, notifications.delete_before),
        (
            "webhook_deliveries",
            settings.webhook_deliveries_retention_days,
            webhooks.delete_finished_before,
        ),
    ]
    deleted: dict[str, int] = {}
    for table, days, delete in plan:
        if days > 0:
            async with db.transaction() as session:
                deleted[table] = await delete(session, now - timedelta(days=days))
    if settings.provider_calls_retention_days > 0:
        cutoff = now - timedelta(days=settings.provider_calls_retention_days)
        deleted["provider_calls"] = await _provider_calls(db, storage, cutoff)
    log.info("old_rows_deleted", **deleted)
    return deleted
