"""The sweeper: objects nothing references, untouched for the grace period, are removed.

Every table with a foreign key to media_objects is a referencing table (found in the catalog,
so a new one, e.g. a scene export, is asked without a change here). Per batch, in one
transaction: candidates are locked (SKIP LOCKED: an upload or a finalization holding one
keeps it), deleted where a fresh look still finds no reference and no recent touch, their
stored objects removed, then the commit. A reference added meanwhile waits on our lock and
then fails its foreign key; an upload's touch waits and then re-creates the row before it
stores the bytes again. A failure before the commit leaves rows whose bytes may be gone:
unreferenced and old, so the next sweep takes them (deleting a missing object is no error).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from infra.db import Database
from infra.logging import get_logger
from infra.storage import Storage

log = get_logger(__name__)
BATCH = 500

_REFERRERS = text(
    "SELECT c.conrelid::regclass::text AS relation, a.attname AS column"
    " FROM pg_constraint c"
    " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]"
    " WHERE c.contype = 'f' AND c.confrelid = 'media_objects'::regclass"
    " AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.conrelid)"
    " ORDER BY 1"
)


@dataclass(frozen=True)
class SweepResult:
    removed: list[str]
    referrers: list[str]


def _quote(name: str) -> str:
    return ".".join('"' + part.strip('"').replace('"', '""') + '"' for part in name.split("."))


async def referrers(session: AsyncSession) -> list[tuple[str, str]]:
    """(table, column) of every foreign key to media_objects."""
    return [(r.relation, r.column) for r in await session.execute(_REFERRERS)]


def _unreferenced(refs: list[tuple[str, str]]) -> str:
    clauses = [
        f"NOT EXISTS (SELECT 1 FROM {_quote(t)} r WHERE r.{_quote(c)} = m.sha256)" for t, c in refs
    ]
    return " AND ".join(clauses) or "TRUE"


async def sweep(
    db: Database, storage: Storage, grace_seconds: int, *, now: datetime | None = None
) -> SweepResult:
    """Remove unreferenced objects last touched more than `grace_seconds` before `now`."""
    removed: list[str] = []
    async with db.session() as session:
        refs = await referrers(session)
    orphan = _unreferenced(refs)
    cutoff = "coalesce(CAST(:now AS timestamptz), now()) - make_interval(secs => :grace)"
    params = {"now": now, "grace": float(grace_seconds), "batch": BATCH}
    while True:
        async with db.transaction() as session:
            locked = list(
                (
                    await session.execute(
                        text(
                            f"SELECT m.sha256 FROM media_objects m WHERE m.touched_at < {cutoff}"
                            f" AND {orphan} ORDER BY m.sha256 LIMIT :batch"
                            " FOR UPDATE SKIP LOCKED"
                        ),
                        params,
                    )
                ).scalars()
            )
            if not locked:
                break
            # A fresh statement, a fresh snapshot: references committed since are seen now.
            gone = list(
                (
                    await session.execute(
                        text(
                            "DELETE FROM media_objects m WHERE m.sha256 = ANY(:locked)"
                            f" AND m.touched_at < {cutoff} AND {orphan} RETURNING m.key"
                        ),
                        {**params, "locked": locked},
                    )
                ).scalars()
            )
            for key in gone:
                await storage.delete(key)
            removed.extend(gone)
        if len(locked) < BATCH:
            break
    if removed:
        log.info("media_swept", removed=len(removed))
    return SweepResult(removed, [t for t, _ in refs])
