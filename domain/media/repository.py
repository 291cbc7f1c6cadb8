"""Every query of the media area: objects touched and checked by uploads, segments' references.

The worker's statements (touch, check, reference) are Prepared and run on the job's channel;
the API's reads take a session.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ARRAY,
    BigInteger,
    DateTime,
    Double,
    Integer,
    String,
    Table,
    Uuid,
    and_,
    bindparam,
    select,
    update,
)
from sqlalchemy import text as sql
from sqlalchemy.ext.asyncio import AsyncSession

from domain.ids import created_range
from domain.media.models import MediaRole
from domain.scenes.models import (
    PUBLIC_SCENE_STATUSES,
    Scene,
    Segment,
    SegmentSequence,
    SegmentStatus,
)
from domain.scenes.repository import listed
from infra.prepared import Prepared, Runner

_SHAS = bindparam("shas", type_=ARRAY(String(64)))
_NOW = bindparam("now", type_=DateTime(timezone=True))

# Sorted, so two uploads of overlapping files lock the rows in one order (no deadlock).
_TOUCH = Prepared(
    sql(
        "INSERT INTO media_objects AS m (sha256, key, size, content_type, created_at, touched_at)"
        " SELECT s, k, z, c, coalesce(:now, now()), coalesce(:now, now())"
        " FROM unnest(:shas, :keys, :sizes, :types) AS t(s, k, z, c) ORDER BY s"
        " ON CONFLICT (sha256) DO UPDATE SET touched_at = EXCLUDED.touched_at"
    ).bindparams(
        _SHAS,
        _NOW,
        bindparam("keys", type_=ARRAY(String(1024))),
        bindparam("sizes", type_=ARRAY(BigInteger)),
        bindparam("types", type_=ARRAY(String(128))),
    )
)
_PRESENT = Prepared(
    sql("SELECT sha256 FROM media_objects WHERE sha256 = ANY(:shas)").bindparams(_SHAS)
)
_REFRESH = Prepared(
    sql(
        "UPDATE media_objects SET touched_at = coalesce(:now, now()) WHERE sha256 = ANY(:shas)"
        " RETURNING sha256"
    ).bindparams(_SHAS, _NOW)
)
_REFERENCE = Prepared(
    sql(
        "INSERT INTO segment_media"
        " (segment_id, segment_created_at, role, position, object_sha256, duration)"
        " SELECT :segment_id, :segment_created_at, r, p, s, d"
        " FROM unnest(:roles, :positions, :shas, :durations) AS t(r, p, s, d)"
        " ON CONFLICT DO NOTHING"
    ).bindparams(
        _SHAS,
        bindparam("segment_id", type_=Uuid()),
        bindparam("segment_created_at", type_=DateTime(timezone=True)),
        bindparam("roles", type_=ARRAY(String(16))),
        bindparam("positions", type_=ARRAY(Integer)),
        bindparam("durations", type_=ARRAY(Double)),
    )
)


@dataclass(frozen=True)
class ObjectRow:
    sha256: str
    key: str
    size: int
    content_type: str


async def touch(conn: Runner, objects: list[ObjectRow], now: datetime | None = None) -> None:
    """Record (or refresh) the objects an upload is about to store: before the bytes go."""
    rows = sorted({o.sha256: o for o in objects}.values(), key=lambda o: o.sha256)
    await conn.execute(
        _TOUCH,
        {
            "shas": [o.sha256 for o in rows],
            "keys": [o.key for o in rows],
            "sizes": [o.size for o in rows],
            "types": [o.content_type for o in rows],
            "now": now,
        },
    )


async def present(conn: Runner, shas: list[str]) -> set[str]:
    """Which of `shas` have a row (the sweeper has not taken them)."""
    return {r["sha256"] for r in await conn.fetch(_PRESENT, {"shas": sorted(set(shas))})}


async def refresh(conn: Runner, shas: list[str], now: datetime | None = None) -> set[str]:
    """Touch the rows that still exist; returns those (a missing one must be uploaded again)."""
    params = {"shas": sorted(set(shas)), "now": now}
    return {r["sha256"] for r in await conn.fetch(_REFRESH, params)}


@dataclass(frozen=True)
class Reference:
    role: MediaRole
    position: int
    sha256: str
    duration: float | None = None


async def reference(
    conn: Runner, segment_id: uuid.UUID, created_at: datetime, refs: list[Reference]
) -> None:
    """The segment's media, written in finalization's transaction."""
    await conn.execute(
        _REFERENCE,
        {
            "segment_id": segment_id,
            "segment_created_at": created_at,
            "roles": [r.role.value for r in refs],
            "positions": [r.position for r in refs],
            "shas": [r.sha256 for r in refs],
            "durations": [r.duration for r in refs],
        },
    )


_SEGMENTS = cast(Table, Segment.__table__)
# The segment's month from its UUIDv7: one partition is read, not all.
_DESCRIBE = Prepared(
    update(_SEGMENTS)
    .where(
        _SEGMENTS.c.id == bindparam("segment_id"),
        _SEGMENTS.c.created_at >= bindparam("created_from"),
        _SEGMENTS.c.created_at < bindparam("created_to"),
    )
    .values(
        resolution=bindparam("new_resolution", type_=_SEGMENTS.c.resolution.type),
        file_size=bindparam("new_file_size", type_=_SEGMENTS.c.file_size.type),
    )
)


async def describe_segment(
    conn: Runner, segment_id: uuid.UUID, resolution: str | None, file_size: int | None
) -> None:
    """The segment's resolution and file size, in finalization's transaction (nothing: no-op)."""
    if resolution is None and file_size is None:
        return
    created_from, created_to = created_range(segment_id)
    await conn.execute(
        _DESCRIBE,
        {
            "segment_id": segment_id,
            "created_from": created_from,
            "created_to": created_to,
            "new_resolution": resolution,
            "new_file_size": file_size,
        },
    )


_TOUCH_ONE = sql(
    "INSERT INTO media_objects (sha256, key, size, content_type) VALUES (:sha, :key, :size, :type)"
    " ON CONFLICT (sha256) DO UPDATE SET touched_at = now()"
)


async def touch_one(session: AsyncSession, row: ObjectRow) -> None:
    """`touch` for one object, on a session (callers outside a job's run)."""
    params = {"sha": row.sha256, "key": row.key, "size": row.size}
    await session.execute(_TOUCH_ONE, {**params, "type": row.content_type})


async def has_object(session: AsyncSession, sha256: str) -> bool:
    """Whether the object's row exists (the sweeper has not taken it)."""
    found = await session.scalar(
        sql("SELECT 1 FROM media_objects WHERE sha256 = :sha"), {"sha": sha256}
    )
    return bool(found)


async def hold_object(session: AsyncSession, sha256: str) -> bool:
    """Lock the object's row FOR SHARE until the transaction ends (a sweep waits, then sees
    the reference made in it); False when the sweeper has taken it already."""
    found = await session.scalar(
        sql("SELECT 1 FROM media_objects WHERE sha256 = :sha FOR SHARE"), {"sha": sha256}
    )
    return bool(found)


# Reads for playback: only media of active segments of scenes the public may see.


@dataclass(frozen=True)
class SegmentFiles:
    """A live segment's media: chunks (key, duration) in order and its other objects' keys."""

    segment_id: uuid.UUID
    sequence: int
    duration: float
    chunks: list[tuple[str, float]]
    video: str | None
    thumbnail: str | None
    captions: str | None

    @property
    def playable(self) -> bool:
        return bool(self.chunks)


_PUBLIC = (
    "sc.status IN (" + ", ".join(f"'{status}'" for status in PUBLIC_SCENE_STATUSES) + ")"
    f" AND sc.deleted_at IS NULL AND s.status = '{SegmentStatus.ACTIVE.value}'"
)
_FILES = f"""
SELECT s.id, s.sequence, s.duration, m.role, m.position, m.duration AS part, o.key
FROM segments s
JOIN scenes sc ON sc.id = s.scene_id
JOIN segment_media m ON m.segment_id = s.id AND m.segment_created_at = s.created_at
JOIN media_objects o ON o.sha256 = m.object_sha256
WHERE {_PUBLIC} AND {{where}}
ORDER BY s.sequence, m.role, m.position
"""


def _collect(rows: Any) -> list[SegmentFiles]:
    found: dict[uuid.UUID, dict[str, Any]] = {}
    for row in rows:
        entry = found.setdefault(
            row.id,
            {"sequence": row.sequence, "duration": row.duration, "chunks": [], "other": {}},
        )
        if row.role == MediaRole.CHUNK:
            entry["chunks"].append((row.key, float(row.part or 0.0)))
        else:
            entry["other"][row.role] = row.key
    return [
        SegmentFiles(
            segment_id=segment_id,
            sequence=e["sequence"],
            duration=float(e["duration"]),
            chunks=e["chunks"],
            video=e["other"].get(MediaRole.VIDEO),
            thumbnail=e["other"].get(MediaRole.THUMBNAIL),
            captions=e["other"].get(MediaRole.CAPTIONS),
        )
        for segment_id, e in sorted(found.items(), key=lambda item: item[1]["sequence"])
    ]


async def live_segment_files(session: AsyncSession, segment_id: uuid.UUID) -> SegmentFiles | None:
    """The segment's media, or None when it is not live (hidden, removed, scene not public)."""
    rows = await session.execute(sql(_FILES.format(where="s.id = :id")), {"id": segment_id})
    files = _collect(rows)
    return files[0] if files else None


async def live_scene_files(session: AsyncSession, scene_id: uuid.UUID) -> list[SegmentFiles]:
    """Every live segment of the scene with its media, in sequence order."""
    rows = await session.execute(sql(_FILES.format(where="s.scene_id = :id")), {"id": scene_id})
    return _collect(rows)


async def roles_of(
    session: AsyncSession, segment_ids: list[uuid.UUID]
) -> dict[uuid.UUID, set[str]]:
    """Which kinds of media each segment has (for its URLs in a list)."""
    if not segment_ids:
        return {}
    rows = await session.execute(
        sql(
            "SELECT DISTINCT segment_id, role FROM segment_media WHERE segment_id = ANY(:ids)"
        ).bindparams(bindparam("ids", type_=ARRAY(Uuid()))),
        {"ids": segment_ids},
    )
    roles: dict[uuid.UUID, set[str]] = defaultdict(set)
    for row in rows:
        roles[row.segment_id].add(row.role)
    return dict(roles)


async def is_public_object(session: AsyncSession, key: str) -> bool:
    """Whether some live segment uses the object stored under `key`."""
    found = await session.scalar(
        sql(
            "SELECT 1 FROM media_objects o"
            " JOIN segment_media m ON m.object_sha256 = o.sha256"
            " JOIN segments s ON s.id = m.segment_id AND s.created_at = m.segment_created_at"
            f" JOIN scenes sc ON sc.id = s.scene_id WHERE o.key = :key AND {_PUBLIC} LIMIT 1"
        ),
        {"key": key},
    )
    return found is not None


async def is_public_segment_file(
    session: AsyncSession, scene_id: uuid.UUID, job_id: uuid.UUID
) -> bool:
    """Whether the job's segment of the scene is active and the scene listed (its files public)."""
    found = await session.scalar(
        select(SegmentSequence.segment_id)
        .join(Scene, Scene.id == SegmentSequence.scene_id)
        .join(
            Segment,
            and_(
                Segment.id == SegmentSequence.segment_id,
                Segment.created_at == SegmentSequence.segment_created_at,
            ),
        )
        .where(
            SegmentSequence.scene_id == scene_id,
            SegmentSequence.job_id == job_id,
            listed(),
            Segment.status == SegmentStatus.ACTIVE.value,
        )
    )
    return found is not None
