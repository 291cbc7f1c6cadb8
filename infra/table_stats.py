"""Table and index statistics from PostgreSQL's catalog and its cumulative statistics views."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# Every table of our schema: plain ones, partitioned parents ('p': no storage of their own,
# their figures are the sums of their partitions) and partitions (with their parent's name).
_TABLES = text(
    """
    SELECT c.relname AS name, c.relkind = 'p' AS partitioned, parent.relname AS parent,
           coalesce(s.n_live_tup, 0) AS rows, pg_table_size(c.oid) AS table_bytes,
           pg_indexes_size(c.oid) AS index_bytes, coalesce(s.n_dead_tup, 0) AS dead_tuples,
           greatest(s.last_vacuum, s.last_autovacuum) AS last_vacuum,
           greatest(s.last_analyze, s.last_autoanalyze) AS last_analyze,
           coalesce(s.seq_scan, 0) AS seq_scans
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
    LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
    LEFT JOIN pg_class parent ON parent.oid = i.inhparent
    WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
    ORDER BY c.relname
    """
)

# Indexes with storage (a partitioned table's index lives in its partitions' indexes).
_INDEXES = text(
    """
    SELECT t.relname AS table_name, ic.relname AS name, pg_relation_size(ic.oid) AS bytes,
           coalesce(si.idx_scan, 0) AS scans, x.indisunique OR x.indisprimary AS enforces
    FROM pg_index x
    JOIN pg_class ic ON ic.oid = x.indexrelid
    JOIN pg_class t ON t.oid = x.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    LEFT JOIN pg_stat_user_indexes si ON si.indexrelid = x.indexrelid
    WHERE n.nspname = current_schema() AND t.relkind = 'r'
    ORDER BY t.relname, ic.relname
    """
)


@dataclass(frozen=True)
class IndexStats:
    name: str
    bytes: int
    scans: int
    # Never scanned and enforcing no constraint: a candidate for dropping. Scans count since
    # the statistics were last reset, so a new index or a fresh server shows unused too.
    unused: bool


@dataclass
class TableStats:
    name: str
    partitioned: bool
    parent: str | None
    rows: int
    table_bytes: int
    index_bytes: int
    dead_tuples: int
    last_vacuum: datetime | None
    last_analyze: datetime | None
    seq_scans: int
    index_scans: int = 0
    indexes: list[IndexStats] = field(default_factory=list)


async def read_table_stats(session: AsyncSession) -> list[TableStats]:
    """Every table and partition; a partitioned parent sums its partitions."""
    tables = {row["name"]: TableStats(**row) for row in (await session.execute(_TABLES)).mappings()}
    for row in (await session.execute(_INDEXES)).mappings():
        owner = tables.get(row["table_name"])
        if owner is None:
            continue
        owner.indexes.append(
            IndexStats(
                name=row["name"],
                bytes=int(row["bytes"]),
                scans=int(row["scans"]),
                unused=int(row["scans"]) == 0 and not row["enforces"],
            )
        )
        owner.index_scans += int(row["scans"])
    for table in tables.values():
        if table.parent is not None and table.parent in tables:
            parent = tables[table.parent]
            if parent.partitioned:
                parent.rows += table.rows
                parent.table_bytes += table.table_bytes
                parent.index_bytes += table.index_bytes
                parent.dead_tuples += table.dead_tuples
                parent.seq_scans += table.seq_scans
                parent.index_scans += table.index_scans
    return list(tables.values())
