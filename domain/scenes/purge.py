"""Deleted scenes past the retention window, deleted for good (the worker's purge cron)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from domain.scenes import lifecycle_repository as repository
from infra.db import Database

BATCH = 100


@dataclass
class Purged:
    scene_ids: list[uuid.UUID] = field(default_factory=list)
    export_keys: list[str] = field(default_factory=list)


async def purge_deleted_scenes(
    db: Database, *, retention_days: int, now: datetime | None = None
) -> Purged:
    """Delete each due scene in its own transaction, so one failure stops no other.

    The caller deletes the returned exports' files; segment media objects are left to the
    storage sweeper, which removes objects no segment row references any more.
    """
    cutoff = (now or datetime.now(UTC)) - timedelta(days=retention_days)
    purged = Purged()
    async with db.session() as session:
        due = await repository.purge_due(session, cutoff, BATCH)
    for scene_id in due:
        async with db.transaction() as session:
            keys = await repository.purge_scene(session, scene_id, cutoff)
        purged.scene_ids.append(scene_id)
        purged.export_keys.extend(keys)
    return purged
