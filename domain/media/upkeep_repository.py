"""Every query of media upkeep: the sweeper's orphan hunt and the legacy backfill's rows.

The sweeper's statements are written from the catalog's list of referencing tables (see
domain/media/sweeper.py), so a new table with a foreign key to media_objects is asked too,
and from KEY_REFERRERS, the columns that name an object by its key without a foreign key.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

_REFERRERS = text(
    "SELECT c.conrelid::regclass::text AS relation, a.attname AS column"
    " FROM pg_constraint c"
    " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]"
    " WHERE c.contype = 'f' AND c.confrelid = 'media_objects'::regclass"
    " AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.conrelid)"
    " ORDER BY 1"
)
# (table, column) naming an object by its key: a scene export's MP4 (scene_exports has no
# foreign key to media_objects; adding one takes a migration).
KEY_REFERRERS: tuple[tuple[str, str], ...] = (("scene_exports", "storage_key"),)
_CUTOFF = "coalesce(CAST(:now AS timestamptz), now()) - make_interval(secs => :grace)"


async def referrers(session: AsyncSession) -> list[tuple[str, str]]:
    """(table, column) of every foreign key to media_objects."""
    return [(r.relation, r.column) for r in await session.execute(_REFERRERS)]


def _quote(name: str) -> str:
    return ".".join('"' + part.strip('"').replace('"', '""') + '"' for part in name.split("."))


def unreferenced(refs: list[tuple[str, str]]) -> str:
    """The condition that no referencing table names the object `m`: by its digest (the
    foreign keys in `refs`) or by its key (KEY_REFERRERS)."""
    clauses = [
        f"NOT EXISTS (SELECT 1 FROM {_quote(t)} r WHERE r.{_quote(c)} = m.sha256)" for t, c in refs
    ]
    clauses += [
        f"NOT EXISTS (SELECT 1 FROM {_quote(t)} r WHERE r.{_quote(c)} = m.key)"
        for t, c in KEY_REFERRERS
    ]
    return " AND ".join(clauses)


def _params(now: datetime | None, grace_seconds: int, batch: int) -> dict[str, Any]:
    return {"now": now, "grace": float(grace_seconds), "batch": batch}


async def lock_orphans(
    session: AsyncSession,
    orphan: str,
    *,
    now: datetime | None,
    grace_seconds: int,
    batch: int,
) -> list[str]:
    """Digests of up to `batch` orphans untouched for the grace, locked (SKIP LOCKED)."""
    stmt = text(
        f"SELECT m.sha256 FROM media_objects m WHERE m.touched_at < {_CUTOFF}"
        f" AND {orphan} ORDER BY m.sha256 LIMIT :batch"
        " FOR UPDATE SKIP LOCKED"
    )
    return list((await session.execute(stmt, _params(now, grace_seconds, batch))).scalars())


async def delete_orphans(
    session: AsyncSession,
    orphan: str,
    locked: list[str],
    *,
    now: datetime | None,
    grace_seconds: int,
    batch: int,
) -> list[str]:
    """Delete those of `locked` a fresh look still finds orphaned and old; their keys."""
    stmt = text(
        "DELETE FROM media_objects m WHERE m.sha256 = ANY(:locked)"
        f" AND m.touched_at < {_CUTOFF} AND {orphan} RETURNING m.key"
    )
    params = {**_params(now, grace_seconds, batch), "locked": locked}
    return list((await session.execute(stmt, params)).scalars())


_LEGACY = text(
    "SELECT s.id, s.created_at, s.hls_playlist_key, s.video_key, s.thumbnail_key"
    " FROM segments s JOIN segment_sequences q ON q.segment_id = s.id"
    " WHERE s.hls_playlist_key IS NOT NULL"
    " AND NOT EXISTS (SELECT 1 FROM segment_media m WHERE m.segment_id = s.id)"
    " ORDER BY s.created_at, s.id"
)
_REFERENCE = text(
    "INSERT INTO segment_media (segment_id, segment_created_at, role, position, object_sha256,"
    " duration) VALUES (:id, :at, :role, :position, :sha, :duration) ON CONFLICT DO NOTHING"
)


async def legacy_segments(session: AsyncSession) -> list[Row[Any]]:
    """Segments with a playlist but no media rows (made before content addressing), oldest first."""
    return list(await session.execute(_LEGACY))


async def add_reference(
    session: AsyncSession,
    segment_id: uuid.UUID,
    at: datetime,
    reference: tuple[str, int, str, float | None],
) -> None:
    """One media row of the segment: (role, position, digest, duration); kept if it exists."""
    role, position, sha, duration = reference
    await session.execute(
        _REFERENCE,
        {
            "id": segment_id,
            "at": at,
            "role": role,
            "position": position,
            "sha": sha,
            "duration": duration,
        },
    )
