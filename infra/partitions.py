"""Monthly partitions of segments, jobs and job_events: made ahead of time, stray rows moved home.

The migration creates the current month, three ahead and a DEFAULT partition, so no insert is
ever refused. This routine keeps the horizon moving. It is idempotent and serialised by a
transaction-scoped advisory lock, so the arq cron, the worker start-up and a system cron can all
run it at once. The caller owns the transaction (the lock is released at commit).

A month whose rows already sit in the default partition cannot simply be created: PostgreSQL
refuses `CREATE TABLE ... PARTITION OF` while the default holds rows of the new range (the known
pg_partman trap). Those rows are moved instead: copied into a standalone table shaped LIKE the
parent, deleted from the default, and the table is then attached as the month's partition.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import CursorResult, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from infra.logging import get_logger

if TYPE_CHECKING:
    from infra.db import Database

log = get_logger("infra.partitions")

PARTITIONED_TABLES = ("segments", "jobs", "job_events")
# Any constant works as long as nothing else in the database uses it for an advisory lock.
LOCK_KEY = 0x5354_4F52_5950_4152  # "STORYPAR"
PARTITION_NAME = re.compile(
    r"^(?P<table>segments|jobs|job_events)_p(?P<year>\d{4})_(?P<month>\d{2})$"
)
TRIGGER_ON_DELETE = 1 << 3  # pg_trigger.tgtype bit TRIGGER_TYPE_DELETE

Executor = AsyncSession | AsyncConnection

_PARTITIONS_SQL = text(
    r"""
    SELECT c.relname AS name,
           c.reltuples::bigint AS reltuples,
           pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT' AS is_default,
           m.bounds[1]::timestamptz AS lower,
           m.bounds[2]::timestamptz AS upper
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    LEFT JOIN LATERAL regexp_match(
        pg_get_expr(c.relpartbound, c.oid), 'FROM \(''([^'']+)''\) TO \(''([^'']+)''\)'
    ) AS m(bounds) ON true
    WHERE i.inhparent = CAST(:parent AS regclass)
    ORDER BY m.bounds[1]::timestamptz NULLS LAST, c.relname
    """
)


@dataclass(frozen=True)
class Partition:
    """One child of a partitioned table; bounds are None for the default partition."""

    table: str
    name: str
    lower: datetime | None
    upper: datetime | None
    is_default: bool
    # pg_class.reltuples: an estimate kept by VACUUM/ANALYZE; None until the table was analysed.
    row_estimate: int | None


@dataclass(frozen=True)
class CreatedPartition:
    table: str
    name: str
    lower: date
    upper: date
    moved_rows: int


@dataclass(frozen=True)
class PartitionReport:
    """Every partition of segments and jobs, and how far ahead each table is covered."""

    partitions: list[Partition]
    required_months_ahead: int
    # Whole months after the current one covered without a gap, per table.
    months_ahead: dict[str, int] = field(default_factory=dict)
    # The end of that gap-free coverage, per table (None: not even the current month).
    horizon: dict[str, date | None] = field(default_factory=dict)


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def partition_name(table: str, lower: date) -> str:
    return f"{table}_p{lower:%Y_%m}"


def _utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _literal(day: date) -> str:
    # DDL takes no bind parameters; the bound is spelled in UTC so the server's TimeZone
    # setting cannot shift a month's edges.
    return f"'{day.isoformat()} 00:00:00+00'"


async def table_partitions(db: Executor, table: str) -> list[Partition]:
    rows = (await db.execute(_PARTITIONS_SQL, {"parent": table})).mappings().all()
    return [
        Partition(
            table=table,
            name=row["name"],
            lower=row["lower"],
            upper=row["upper"],
            is_default=bool(row["is_default"]),
            row_estimate=int(row["reltuples"]) if row["reltuples"] >= 0 else None,
        )
        for row in rows
    ]


def overlapping(partitions: list[Partition], lower: datetime, upper: datetime) -> list[Partition]:
    return [
        p
        for p in partitions
        if p.lower is not None and p.upper is not None and p.lower < upper and lower < p.upper
    ]


async def _delete_triggers(db: Executor, relation: str) -> list[str]:
    """The enabled user triggers that a DELETE on `relation` fires (cloned ones included)."""
    result = await db.execute(
        text(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = CAST(:rel AS regclass) "
            "AND NOT tgisinternal AND tgenabled <> 'D' AND (tgtype & :bit) <> 0 ORDER BY tgname"
        ),
        {"rel": relation, "bit": TRIGGER_ON_DELETE},
    )
    return list(result.scalars())


def bounds_clause(lower: date, upper: date) -> str:
    return f"FOR VALUES FROM ({_literal(lower)}) TO ({_literal(upper)})"


async def create_detached(db: Executor, table: str, name: str) -> None:
    """A standalone table shaped like `table`, to be filled and then attached as a partition."""
    await db.execute(
        text(
            f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
            "INCLUDING STORAGE INCLUDING COMPRESSION)"
        )
    )


async def move_from_default(
    db: Executor, default: str, name: str, lower: date | datetime, upper: date | datetime
) -> int:
    """Move the default partition's rows of [lower, upper) into the standalone table `name`."""
    bounds = {
        "lower": lower if isinstance(lower, datetime) else _utc(lower),
        "upper": upper if isinstance(upper, datetime) else _utc(upper),
    }
    in_range = "created_at >= :lower AND created_at < :upper"
    inserted = await db.execute(
        text(f"INSERT INTO {name} SELECT * FROM {default} WHERE {in_range}"), bounds
    )
    moved = int(cast("CursorResult[Any]", inserted).rowcount)
    if not moved:
        return 0
    # Row triggers of the parent are cloned onto every partition, so deleting from the default
    # would fire segments_claim_sequence and free the moved segments' sequence slots. The rows
    # keep their id and created_at, so the slots stay right as they are: the DELETE must not
    # touch them. DISABLE TRIGGER is transactional and its lock keeps other sessions out of the
    # default partition until commit, so nobody else ever runs without the trigger.
    triggers = await _delete_triggers(db, default)
    for trigger in triggers:
        await db.execute(text(f'ALTER TABLE {default} DISABLE TRIGGER "{trigger}"'))
    await db.execute(text(f"DELETE FROM {default} WHERE {in_range}"), bounds)
    for trigger in triggers:
        await db.execute(text(f'ALTER TABLE {default} ENABLE TRIGGER "{trigger}"'))
    return moved


async def _create_month(
    db: Executor, table: str, default: str | None, lower: date, upper: date
) -> int:
    """Create the month's partition; return how many rows were moved out of the default."""
    name = partition_name(table, lower)
    strays = 0
    if default is not None:
        strays = (
            await db.execute(
                text(
                    f"SELECT count(*) FROM {default} "
                    "WHERE created_at >= :lower AND created_at < :upper"
                ),
                {"lower": _utc(lower), "upper": _utc(upper)},
            )
        ).scalar_one()
    if not strays:
        await db.execute(
            text(f"CREATE TABLE {name} PARTITION OF {table} {bounds_clause(lower, upper)}")
        )
        return 0

    assert default is not None
    await create_detached(db, table, name)
    moved = await move_from_default(db, default, name, lower, upper)
    await db.execute(
        text(f"ALTER TABLE {table} ATTACH PARTITION {name} {bounds_clause(lower, upper)}")
    )
    return moved


async def ensure_partitions(
    db: Executor, months_ahead: int, today: date | None = None
) -> list[CreatedPartition]:
    """Create the missing monthly partitions for the current month and `months_ahead` more.

    `months_ahead` is the caller's PARTITION_MONTHS_AHEAD (or an operator's override).
    """
    first = month_start(today or datetime.now(UTC).date())
    await db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    created: list[CreatedPartition] = []
    for table in PARTITIONED_TABLES:
        # Read after taking the lock: a concurrent run that held it has committed by now.
        existing = await table_partitions(db, table)
        default = next((p.name for p in existing if p.is_default), None)
        for offset in range(months_ahead + 1):
            lower, upper = add_months(first, offset), add_months(first, offset + 1)
            taken = overlapping(existing, _utc(lower), _utc(upper))
            if taken:
                if any(p.lower != _utc(lower) or p.upper != _utc(upper) for p in taken):
                    log.warning(
                        "partition_range_taken",
                        table=table,
                        month=lower.isoformat(),
                        by=[p.name for p in taken],
                    )
                continue
            moved = await _create_month(db, table, default, lower, upper)
            name = partition_name(table, lower)
            created.append(CreatedPartition(table, name, lower, upper, moved))
            log.info("partition_created", table=table, partition=name, moved_rows=moved)
            if moved:
                # Rows only land in the default when maintenance fell behind: worth a warning.
                log.warning(
                    "default_partition_rows_moved", table=table, partition=name, moved_rows=moved
                )
    return created


def _coverage(partitions: list[Partition], first: date) -> tuple[int, date | None]:
    """Whole months after `first`'s month covered without a gap, and where coverage ends."""
    ranges = [(p.lower, p.upper) for p in partitions if p.lower is not None and p.upper]
    cursor = _utc(first)
    while (step := next((up for low, up in ranges if low <= cursor < up), None)) is not None:
        cursor = step
    covered = (cursor.year * 12 + cursor.month) - (first.year * 12 + first.month)
    if covered < 1:
        return 0, None
    return covered - 1, cursor.date()


async def list_partitions(
    db: Executor, *, required_months_ahead: int, today: date | None = None
) -> PartitionReport:
    """Each partition of segments and jobs with its bounds and row estimate, and the horizon.

    `required_months_ahead` (PARTITION_MONTHS_AHEAD) is only reported: the target to compare with.
    """
    first = month_start(today or datetime.now(UTC).date())
    report = PartitionReport(partitions=[], required_months_ahead=required_months_ahead)
    for table in PARTITIONED_TABLES:
        partitions = await table_partitions(db, table)
        report.partitions.extend(partitions)
        report.months_ahead[table], report.horizon[table] = _coverage(partitions, first)
    return report


READY_MIN_MONTHS_AHEAD = 2


def horizon_warnings(report: PartitionReport, minimum: int = READY_MIN_MONTHS_AHEAD) -> list[str]:
    return [
        f"{table}: only {months} month(s) of partitions ahead (want at least {minimum}); "
        "run `storyloom partitions ensure`"
        for table, months in report.months_ahead.items()
        if months < minimum
    ]


READY_CHECK_SECONDS = 2.0


async def partition_warnings(
    database: Database, required_months_ahead: int, minimum: int = READY_MIN_MONTHS_AHEAD
) -> list[str]:
    """Readiness warnings (not failures): inserts still succeed, into the default partition."""

    async def inspect() -> PartitionReport:
        async with database.session() as session:
            return await list_partitions(session, required_months_ahead=required_months_ahead)

    try:
        # Bounded: a probe must answer quickly even when the primary does not.
        report = await asyncio.wait_for(inspect(), READY_CHECK_SECONDS)
    except Exception as exc:  # noqa: BLE001 - the primary's own check reports the outage
        log.warning("partition_check_failed", error=repr(exc))
        return ["partitions: the horizon could not be checked"]
    return horizon_warnings(report, minimum)
