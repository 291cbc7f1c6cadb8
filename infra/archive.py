"""Old jobs partitions archived to storage and dropped (infra/restore.py brings one back).

A jobs partition whose whole month ended more than ARCHIVE_JOBS_AFTER_MONTHS ago goes to storage
as a gzipped CSV with a header line (`archives/jobs/<partition>.csv.gz`), is recorded in
partition_archives (range, row count, sha256 of the file) and dropped; so does the job_events
partition of the same month (`archives/job_events/...`), the history of those jobs. Segments
are never archived: they are the story itself.

Every step is recorded before the next one starts, so a run that dies anywhere is finished by
the next run, and nothing is dropped before its upload was read back and checked:

1. One transaction: the manifest row (archived_at NULL) and DETACH PARTITION. The application
   only writes through the parent, so from here on the rows cannot change under the export
   (an ON DELETE CASCADE still reaches them; a restore drops such orphans).
2. COPY the detached table out through gzip, upload it, then record count, size and checksum
   (archived_at). A failure leaves the detached table and the pending row: the next run
   exports again.
3. Download the object, compare its sha256, DROP the table.

A session advisory lock serialises archive runs and restores: a second run waits for the first,
then finds its work done. DETACH (not CONCURRENTLY, which cannot run in a transaction) and DROP
take short exclusive locks, bounded by a lock_timeout so a long query delays a run, not the app.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal, NamedTuple

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from infra.logging import get_logger
from infra.partitions import (
    PARTITION_NAME,
    Executor,
    add_months,
    month_start,
    table_partitions,
)
from infra.storage import ObjectNotFound, Storage

log = get_logger("infra.archive")

# A job's events share its month (job_events is partitioned by the job's created_at), so the
# events of a month go to storage with its jobs, on the same schedule, one partition each.
ARCHIVABLE_TABLES = ("jobs", "job_events")
# Rows leave in their key's order: the same rows give the same file.
_EXPORT_ORDER = {"jobs": "id, created_at", "job_events": "job_id, seq"}
ARCHIVE_LOCK_KEY = 0x5354_4F52_5941_5243  # "STORYARC"; LOCK_KEY guards partition creation
LOCK_TIMEOUT = "10s"
CONTENT_TYPE = "application/gzip"

Action = Literal["archived", "would_archive", "skipped", "failed"]


class ArchiveError(Exception):
    """A refused or impossible archive or restore; the message says why."""


@dataclass(frozen=True)
class ArchiveRecord:
    """A manifest row."""

    table: str
    partition: str
    range_from: datetime
    range_to: datetime
    storage_key: str
    row_count: int | None
    size_bytes: int | None
    sha256: str | None
    detached_at: datetime
    archived_at: datetime | None
    restored_at: datetime | None

    @property
    def status(self) -> Literal["pending", "archived", "restored"]:
        if self.restored_at is not None:
            return "restored"
        return "pending" if self.archived_at is None else "archived"


@dataclass(frozen=True)
class ArchiveOutcome:
    partition: str
    action: Action
    rows: int | None = None
    detail: str = ""


@dataclass
class ArchiveRun:
    cutoff: date
    outcomes: list[ArchiveOutcome] = field(default_factory=list)

    @property
    def failed(self) -> list[ArchiveOutcome]:
        return [o for o in self.outcomes if o.action == "failed"]


def storage_key(table: str, partition: str) -> str:
    return f"archives/{table}/{partition}.csv.gz"


def archive_cutoff(today: date, months: int) -> date:
    """Partitions ending on or before this date are archived."""
    return add_months(month_start(today), -months)


def archivable_table(partition: str) -> str:
    """The table a partition name belongs to; refuses segments and unknown names."""
    match = PARTITION_NAME.match(partition)
    if match is None:
        raise ArchiveError(f"{partition!r} is not a monthly partition name (jobs_pYYYY_MM).")
    if match["table"] not in ARCHIVABLE_TABLES:
        raise ArchiveError(f"{match['table']} partitions are never archived or dropped.")
    return match["table"]


_RECORD_SQL = (
    "SELECT table_name, partition_name, range_from, range_to, storage_key, row_count, "
    "size_bytes, sha256, detached_at, archived_at, restored_at FROM partition_archives"
)


def _record(row: Any) -> ArchiveRecord:
    return ArchiveRecord(*row)


async def list_archives(db: Executor) -> list[ArchiveRecord]:
    rows = await db.execute(text(f"{_RECORD_SQL} ORDER BY range_from, partition_name"))
    return [_record(row) for row in rows]


async def get_record(db: Executor, partition: str) -> ArchiveRecord | None:
    row = (
        await db.execute(text(f"{_RECORD_SQL} WHERE partition_name = :p"), {"p": partition})
    ).first()
    return _record(row) if row else None


async def table_state(db: Executor, name: str) -> Literal["missing", "detached", "attached"]:
    row = (
        await db.execute(
            text(
                "SELECT to_regclass(:n) IS NOT NULL, EXISTS "
                "(SELECT 1 FROM pg_inherits WHERE inhrelid = to_regclass(:n))"
            ),
            {"n": name},
        )
    ).one()
    return "attached" if row[1] else "detached" if row[0] else "missing"


async def stable_text_output(conn: AsyncConnection) -> None:
    """Times in UTC, ISO dates: what COPY writes reads back the same on any server."""
    await conn.execute(text("SET LOCAL TimeZone = 'UTC'"))
    await conn.execute(text("SET LOCAL DateStyle = 'ISO, YMD'"))


async def driver(conn: AsyncConnection) -> Any:
    """The asyncpg connection under SQLAlchemy's, in the same transaction, for COPY."""
    raw = await conn.get_raw_connection()
    return raw.driver_connection


@asynccontextmanager
async def exclusive(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection holding the archive lock until it is returned."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": ARCHIVE_LOCK_KEY})
        await conn.commit()
        try:
            yield conn
        finally:
            try:
                await conn.rollback()
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ARCHIVE_LOCK_KEY})
                await conn.commit()
            except Exception:
                # A pooled connection must never go back still holding the lock.
                await conn.invalidate()
                raise


async def _detach(conn: AsyncConnection, table: str, name: str, lower: Any, upper: Any) -> None:
    async with conn.begin():
        await conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
        await conn.execute(
            text(
                "INSERT INTO partition_archives "
                "(table_name, partition_name, range_from, range_to, storage_key) "
                "VALUES (:t, :p, :lower, :upper, :key) "
                "ON CONFLICT (partition_name) DO UPDATE SET range_from = EXCLUDED.range_from, "
                "range_to = EXCLUDED.range_to, storage_key = EXCLUDED.storage_key, "
                "row_count = NULL, size_bytes = NULL, sha256 = NULL, detached_at = now(), "
                "archived_at = NULL, restored_at = NULL"
            ),
            {
                "t": table,
                "p": name,
                "lower": lower,
                "upper": upper,
                "key": storage_key(table, name),
            },
        )
        await conn.execute(text(f"ALTER TABLE {table} DETACH PARTITION {name}"))
    log.info("partition_detached", table=table, partition=name)


def _file_digest(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest(), path.stat().st_size


async def _export(conn: AsyncConnection, storage: Storage, record: ArchiveRecord) -> int:
    """COPY the detached table into a gzip file, upload it, record it; returns the row count."""
    name = record.partition
    with tempfile.TemporaryDirectory(prefix="storyloom-archive-") as folder:
        path = Path(folder) / f"{name}.csv.gz"
        async with conn.begin():
            await stable_text_output(conn)
            copier = await driver(conn)
            # mtime=0 and no file name in the header: the same rows give the same bytes.
            with path.open("wb") as raw, gzip.GzipFile("", "wb", 6, raw, mtime=0) as packed:
                status = await copier.copy_from_query(
                    f"SELECT * FROM {name} ORDER BY {_EXPORT_ORDER[record.table]}",
                    output=packed,
                    format="csv",
                    header=True,
                )
        rows = int(status.split()[-1])
        sha256, size = await asyncio.to_thread(_file_digest, path)
        await storage.put_file(record.storage_key, path, content_type=CONTENT_TYPE)
    async with conn.begin():
        await conn.execute(
            text(
                "UPDATE partition_archives SET row_count = :rows, size_bytes = :size, "
                "sha256 = :sha, archived_at = now() WHERE partition_name = :p"
            ),
            {"rows": rows, "size": size, "sha": sha256, "p": name},
        )
    log.info("partition_uploaded", partition=name, rows=rows, key=record.storage_key, sha256=sha256)
    return rows


async def verified_download(storage: Storage, record: ArchiveRecord) -> bytes:
    try:
        data = await storage.read_bytes(record.storage_key)
    except ObjectNotFound as exc:
        raise ArchiveError(f"{record.storage_key} is missing from storage.") from exc
    if hashlib.sha256(data).hexdigest() != record.sha256:
        raise ArchiveError(f"{record.storage_key} does not match its recorded sha256.")
    return data


async def _drop(conn: AsyncConnection, storage: Storage, record: ArchiveRecord) -> None:
    archivable_table(record.partition)  # the last line of defence for segments
    try:
        await verified_download(storage, record)
    except ArchiveError:
        # Back to pending: the next run exports the still-present table again.
        async with conn.begin():
            await conn.execute(
                text("UPDATE partition_archives SET archived_at = NULL WHERE partition_name = :p"),
                {"p": record.partition},
            )
        raise
    async with conn.begin():
        await conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
        if await table_state(conn, record.partition) != "detached":
            raise ArchiveError(f"{record.partition} is attached again; it was not dropped.")
        await conn.execute(text(f"DROP TABLE {record.partition}"))
    log.info("partition_archived", partition=record.partition, rows=record.row_count)


async def _archive_one(
    conn: AsyncConnection, storage: Storage, table: str, name: str, bounds: tuple[Any, Any]
) -> int | None:
    """Take the partition from whatever state it is in to archived and dropped."""
    state = await table_state(conn, name)
    await conn.commit()  # end the read's implicit transaction before the explicit ones
    if state == "attached":
        await _detach(conn, table, name, *bounds)
    record = await get_record(conn, name)
    await conn.commit()
    assert record is not None
    rows = record.row_count
    if record.archived_at is None:
        rows = await _export(conn, storage, record)
        record = await get_record(conn, name)
        await conn.commit()
        assert record is not None
    await _drop(conn, storage, record)
    return rows


class _Work(NamedTuple):
    """A partition this run looks at, and why it is skipped ("" when it is archived)."""

    table: str
    partition: str
    bounds: tuple[Any, Any]
    skip: str


async def _ended_partitions(conn: AsyncConnection, limit: datetime) -> list[_Work]:
    """The attached monthly partitions whose range ended by `limit`."""
    work = []
    for table in ARCHIVABLE_TABLES:
        for p in await table_partitions(conn, table):
            if p.is_default or not PARTITION_NAME.match(p.name) or p.upper is None:
                continue
            if p.upper <= limit:
                work.append(_Work(table, p.name, (p.lower, p.upper), ""))
    return work


def _manifest_skip(record: ArchiveRecord, state: str, only: str | None) -> str | None:
    """What a manifest row says about its partition: None (nothing to do), "" or why skipped."""
    if record.status == "restored" and state == "attached":
        return "" if record.partition == only else "restored; archive it again with --partition"
    if record.status == "archived" and state == "attached":
        return "a partition of that name was created again after archiving; left alone"
    if state == "detached":  # an earlier run stopped half-way: finish it
        return ""
    if record.status == "pending":
        return "pending, but the detached table is gone: nothing left to export"
    return None


async def _manifest_work(conn: AsyncConnection, only: str | None) -> list[_Work]:
    """The partitions the manifest knows of that still need this run, or its explanation."""
    work = []
    for record in await list_archives(conn):
        if record.table not in ARCHIVABLE_TABLES:
            continue
        skip = _manifest_skip(record, await table_state(conn, record.partition), only)
        if skip is not None:
            bounds = (record.range_from, record.range_to)
            work.append(_Work(record.table, record.partition, bounds, skip))
    return work


async def _work_list(conn: AsyncConnection, cutoff: date, only: str | None) -> list[_Work]:
    """Every partition this run looks at, by name; the manifest's word wins over the catalog."""
    limit = datetime(cutoff.year, cutoff.month, cutoff.day, tzinfo=UTC)
    work = {w.partition: w for w in await _ended_partitions(conn, limit)}
    work.update((w.partition, w) for w in await _manifest_work(conn, only))
    if only is not None:
        archivable_table(only)
        if only not in work:
            raise ArchiveError(f"{only} is not a jobs partition that ended before {cutoff}.")
        return [work[only]]
    return [work[name] for name in sorted(work)]


async def archive_partitions(
    engine: AsyncEngine,
    storage: Storage,
    *,
    months: int,
    today: date | None = None,
    dry_run: bool = False,
    only: str | None = None,
) -> ArchiveRun:
    """Archive and drop every jobs partition that ended `months` months ago or earlier.

    `months` is the caller's setting (ARCHIVE_JOBS_AFTER_MONTHS, or the CLI's --months).
    """
    if only is not None:
        archivable_table(only)
    run = ArchiveRun(cutoff=archive_cutoff(today or datetime.now(UTC).date(), months))
    async with exclusive(engine) as conn:
        work = await _work_list(conn, run.cutoff, only)
        await conn.commit()
        for table, name, bounds, skip in work:
            if skip:
                run.outcomes.append(ArchiveOutcome(name, "skipped", detail=skip))
            elif dry_run:
                run.outcomes.append(ArchiveOutcome(name, "would_archive"))
            else:
                try:
                    rows = await _archive_one(conn, storage, table, name, bounds)
                except Exception as exc:  # noqa: BLE001 - one bad partition must not stop the rest
                    log.exception("partition_archive_failed", partition=name)
                    await conn.rollback()
                    run.outcomes.append(ArchiveOutcome(name, "failed", detail=str(exc)))
                else:
                    run.outcomes.append(ArchiveOutcome(name, "archived", rows=rows))
    return run
