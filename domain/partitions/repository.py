"""The partitions area's reads: the catalog's partitions and archives, and stray default rows.

The partition machinery itself (DDL, moving rows, archiving) is infra; these are the reads the
operator's views and the metrics scrape make through it.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from infra.archive import ArchiveRecord, list_archives
from infra.partitions import PartitionReport, list_partitions


async def report(session: AsyncSession, required_months_ahead: int) -> PartitionReport:
    """Every partition of segments, jobs and job_events, and how far ahead each is covered."""
    return await list_partitions(session, required_months_ahead=required_months_ahead)


async def archives(session: AsyncSession) -> list[ArchiveRecord]:
    """The manifest of archived partitions, oldest range first."""
    return await list_archives(session)


async def default_has_rows(session: AsyncSession, default_partition: str) -> bool:
    """Whether a DEFAULT partition holds any row (maintenance fell behind when it does)."""
    # EXISTS stops at the first row; the planner's estimate is unknown until ANALYZE.
    found = await session.scalar(text(f'SELECT EXISTS (SELECT 1 FROM "{default_partition}")'))
    return bool(found)
