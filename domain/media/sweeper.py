"""The sweeper: objects nothing references, untouched for the grace period, are removed.

Every table with a foreign key to media_objects is a referencing table (found in the catalog,
so a new one is asked without a change here); scene exports name their MP4 by its key, with no
foreign key, and are asked too (upkeep_repository.KEY_REFERRERS). Per batch, in one
transaction: candidates are locked (SKIP LOCKED: an upload or a finalization holding one
keeps it), deleted where a fresh look still finds no reference and no recent touch, their
stored objects removed, then the commit. A reference added meanwhile waits on our lock and
then fails its foreign key (an export holds its object's row FOR SHARE while it marks itself
ready, and finds it gone); an upload's touch waits and then re-creates the row before it
stores the bytes again. A failure before the commit leaves rows whose bytes may be gone:
unreferenced and old, so the next sweep takes them (deleting a missing object is no error).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.media import upkeep_repository as repository
from infra.db import Database
from infra.logging import get_logger
from infra.storage import Storage

log = get_logger(__name__)
BATCH = 500


@dataclass(frozen=True)
class SweepResult:
    removed: list[str]
    referrers: list[str]


async def sweep(
    db: Database, storage: Storage, grace_seconds: int, *, now: datetime | None = None
) -> SweepResult:
    """Remove unreferenced objects last touched more than `grace_seconds` before `now`."""
    removed: list[str] = []
    async with db.session() as session:
        refs = await repository.referrers(session)
    orphan = repository.unreferenced(refs)
    while True:
        async with db.transaction() as session:
            locked = await repository.lock_orphans(
                session, orphan, now=now, grace_seconds=grace_seconds, batch=BATCH
            )
            if not locked:
                break
            # A fresh statement, a fresh snapshot: references committed since are seen now.
            gone = await repository.delete_orphans(
                session, orphan, locked, now=now, grace_seconds=grace_seconds, batch=BATCH
            )
            for key in gone:
                await storage.delete(key)
            removed.extend(gone)
        if len(locked) < BATCH:
            break
    if removed:
        log.info("media_swept", removed=len(removed))
    return SweepResult(removed, [t for t, _ in [*refs, *repository.KEY_REFERRERS]])
