"""The design's segment `resolution` and `file_size`, recorded beside finalization.

A statement of its own, run in finalization's transaction right after it, so the segment-writing
statement (shared with the storage work) stays as it is. Null stays null when a rerun no longer
has the rendered file (its work directory is gone).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, bindparam, update

from domain.ids import created_range
from domain.scenes.models import Segment
from infra.prepared import Prepared, Runner

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


def media_facts(video: dict[str, Any]) -> tuple[str | None, int | None]:
    """(`WIDTHxHEIGHT`, bytes of the MP4) from the video stage's output; None where unknown."""
    width, height = video.get("width"), video.get("height")
    resolution = f"{width}x{height}" if width and height else None
    mp4 = Path(str(video.get("mp4") or ""))
    try:
        size = mp4.stat().st_size if video.get("mp4") and mp4.is_file() else None
    except OSError:
        size = None
    return resolution, size


async def describe_segment(
    conn: Runner, segment_id: uuid.UUID, resolution: str | None, file_size: int | None
) -> None:
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
