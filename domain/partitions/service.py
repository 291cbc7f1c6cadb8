"""What operators are told about partitions: the overview, and readiness warnings."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from domain.partitions import repository
from infra.archive import ArchiveRecord
from infra.db import Database
from infra.metrics import PartitionFigures
from infra.partitions import PartitionReport, horizon_warnings, partition_warnings
from infra.settings import Settings


@dataclass(frozen=True)
class PartitionOverview:
    report: PartitionReport
    archives: list[ArchiveRecord]
    warnings: list[str]


async def overview(session: AsyncSession, settings: Settings) -> PartitionOverview:
    """Every partition, how far ahead each table reaches, the archives and the warnings."""
    report = await repository.report(session, settings.partition_months_ahead)
    return PartitionOverview(report, await repository.archives(session), horizon_warnings(report))


async def readiness_warnings(database: Database, settings: Settings) -> list[str]:
    """The horizon warnings of the readiness probe (bounded; never a failure)."""
    return await partition_warnings(database, settings.partition_months_ahead)


async def figures(session: AsyncSession, required_months_ahead: int) -> PartitionFigures:
    """The partition coverage the metrics scrape reports, with stray rows in DEFAULT partitions."""
    report = await repository.report(session, required_months_ahead)
    strays = {
        p.table: await repository.default_has_rows(session, p.name)
        for p in report.partitions
        if p.is_default
    }
    return PartitionFigures(
        months_ahead=report.months_ahead,
        horizon=report.horizon,
        required_months_ahead=report.required_months_ahead,
        default_has_rows=strays,
    )
