"""Media for segments made in tests without the worker: real objects in the app's storage and
the rows finalization would write (media_objects, segment_media)."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from sqlalchemy import text

from domain.media.models import MediaRole
from domain.media.store import object_key
from infra.storage import content_type_for

SUFFIX = {MediaRole.CHUNK: ".ts", MediaRole.VIDEO: ".mp4", MediaRole.THUMBNAIL: ".jpg"}
SUFFIX[MediaRole.CAPTIONS] = ".vtt"


async def attach_media(
    app: Any,
    segment_id: uuid.UUID | str,
    *,
    chunks: list[float],
    captions: bool = False,
    files: bool = True,
) -> dict[str, list[str]]:
    """Store a segment's objects (unique bytes each) and reference them; returns role -> keys."""
    segment_id = uuid.UUID(str(segment_id))
    wanted: list[tuple[MediaRole, int, float | None]] = [
        (MediaRole.CHUNK, i, d) for i, d in enumerate(chunks)
    ]
    if files:
        wanted += [(MediaRole.VIDEO, 0, None), (MediaRole.THUMBNAIL, 0, None)]
    if captions:
        wanted.append((MediaRole.CAPTIONS, 0, None))
    keys: dict[str, list[str]] = {}
    async with app.state.db.transaction() as session:
        created = await session.scalar(
            text("SELECT segment_created_at FROM segment_sequences WHERE segment_id = :id"),
            {"id": segment_id},
        )
        for role, position, duration in wanted:
            data = f"{segment_id}:{role}:{position}".encode()
            if role == MediaRole.CAPTIONS:
                data = b"WEBVTT\n\n00:00:00.500 --> 00:00:01.500\n" + data + b"\n"
            sha = hashlib.sha256(data).hexdigest()
            key = object_key(sha, SUFFIX[role])
            await app.state.storage.put_bytes(key, data)
            await session.execute(
                text(
                    "INSERT INTO media_objects (sha256, key, size, content_type)"
                    " VALUES (:sha, :key, :size, :type) ON CONFLICT DO NOTHING"
                ),
                {"sha": sha, "key": key, "size": len(data), "type": content_type_for(key)},
            )
            await session.execute(
                text(
                    "INSERT INTO segment_media (segment_id, segment_created_at, role, position,"
                    " object_sha256, duration) VALUES (:id, :at, :role, :pos, :sha, :d)"
                ),
                {
                    "id": segment_id,
                    "at": created,
                    "role": role.value,
                    "pos": position,
                    "sha": sha,
                    "d": duration,
                },
            )
            keys.setdefault(role.value, []).append(key)
    return keys
