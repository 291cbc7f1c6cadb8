"""Bring an archived jobs partition back from storage (`storyloom partitions restore NAME`).

The archive is downloaded and checked against the manifest's sha256 before anything changes.
The rows are copied into a standalone table which is then attached, all in one transaction:
a restore that fails leaves nothing behind. The manifest row keeps its archive and gains
restored_at; the nightly archive run leaves a restored partition alone until it is archived
again by name.
"""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass
from datetime import UTC

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from infra.archive import (
    ArchiveError,
    archivable_table,
    driver,
    exclusive,
    get_record,
    stable_text_output,
    table_state,
    verified_download,
)
from infra.logging import get_logger
from infra.partitions import (
    LOCK_KEY,
    bounds_clause,
    create_detached,
    move_from_default,
    overlapping,
    table_partitions,
)
from infra.storage import Storage

log = get_logger("infra.restore")


@dataclass(frozen=True)
class RestoredPartition:
    partition: str
    # Rows now in the partition.
    rows: int
    # Rows whose user or scene was deleted since: ON DELETE CASCADE would have removed them.
    orphans_dropped: int
    # Rows of the range that had landed in the default partition meanwhile.
    moved_from_default: int


_FOREIGN_KEYS_SQL = text(
    """
    SELECT c.confdeltype::text AS on_delete, c.confrelid::regclass::text AS target,
           array_agg(a.attname::text ORDER BY k.ord) AS columns,
           array_agg(f.attname::text ORDER BY k.ord) AS target_columns
    FROM pg_constraint c
    CROSS JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(col, fcol, ord)
    JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.col
    JOIN pg_attribute f ON f.attrelid = c.confrelid AND f.attnum = k.fcol
    WHERE c.conrelid = CAST(:parent AS regclass) AND c.contype = 'f'
    GROUP BY c.oid, c.confdeltype, c.confrelid
    """
)


async def _drop_orphans(conn: AsyncConnection, parent: str, name: str) -> int:
    """Delete the rows whose ON DELETE CASCADE parent row is gone, as if they had stayed."""
    dropped = 0
    for fk in (await conn.execute(_FOREIGN_KEYS_SQL, {"parent": parent})).mappings():
        if fk["on_delete"] != "c":
            continue  # any other action: ATTACH validates the key and refuses the restore
        pairs = list(zip(fk["columns"], fk["target_columns"], strict=True))
        present = " AND ".join(f"t.{c} IS NOT NULL" for c, _ in pairs)
        match = " AND ".join(f"r.{rc} = t.{c}" for c, rc in pairs)
        result = await conn.execute(
            text(
                f"DELETE FROM {name} t WHERE {present} "
                f"AND NOT EXISTS (SELECT 1 FROM {fk['target']} r WHERE {match})"
            )
        )
        dropped += result.rowcount or 0
    return dropped


def _open_csv(data: bytes) -> tuple[list[str], gzip.GzipFile]:
    """The archive's column names (its header line) and the stream positioned after them.

    Naming the columns lets an archive written before a column was added load into today's
    table: the new column takes its default.
    """
    stream = gzip.GzipFile(fileobj=io.BytesIO(data))
    header = stream.readline().decode()
    return next(csv.reader([header])), stream


async def restore_partition(engine: AsyncEngine, storage: Storage, name: str) -> RestoredPartition:
    """Re-create an archived partition from storage, checked against its manifest row."""
    table = archivable_table(name)
    async with exclusive(engine) as conn:
        record = await get_record(conn, name)
        if record is None:
            raise ArchiveError(f"{name} has no archive.")
        if record.status == "pending":
            raise ArchiveError(f"{name} is half-archived; run `partitions archive` to finish.")
        if record.status == "restored":
            raise ArchiveError(f"{name} was restored already.")
        if await table_state(conn, name) != "missing":
            raise ArchiveError(f"A table named {name} exists; it was not overwritten.")
        taken = overlapping(await table_partitions(conn, table), record.range_from, record.range_to)
        if taken:
            names = ", ".join(p.name for p in taken)
            raise ArchiveError(f"The range of {name} overlaps existing partitions: {names}.")
        await conn.commit()
        columns, stream = _open_csv(await verified_download(storage, record))
        lower, upper = record.range_from, record.range_to
        async with conn.begin():
            # Partition creation (ensure_partitions) and restores must not interleave.
            await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
            await stable_text_output(conn)
            await create_detached(conn, table, name)
            copier = await driver(conn)
            status = await copier.copy_to_table(name, source=stream, columns=columns, format="csv")
            copied = int(status.split()[-1])
            if copied != record.row_count:
                raise ArchiveError(
                    f"{name}: {copied} rows read, the manifest says {record.row_count}."
                )
            orphans = await _drop_orphans(conn, table, name)
            partitions = await table_partitions(conn, table)
            default = next((p.name for p in partitions if p.is_default), None)
            moved = 0
            if default is not None:
                moved = await move_from_default(conn, default, name, lower, upper)
            clause = bounds_clause(lower.astimezone(UTC).date(), upper.astimezone(UTC).date())
            await conn.execute(text(f"ALTER TABLE {table} ATTACH PARTITION {name} {clause}"))
            await conn.execute(
                text("UPDATE partition_archives SET restored_at = now() WHERE partition_name = :p"),
                {"p": name},
            )
    rows = copied - orphans + moved
    log.info("partition_restored", partition=name, rows=rows, orphans=orphans, moved=moved)
    return RestoredPartition(name, rows, orphans, moved)
