"""Segments made before media was content-addressed: their files stored again by digest and
their media rows written, so they play from the database like every other segment.

The old files (under `scenes/<scene>/segments/<job>/`) are read through their segment's own
playlist, never by listing; they are left where they are (remove the prefixes once satisfied).
Idempotent: a segment that has media rows is skipped.
"""

from __future__ import annotations

import asyncio
import posixpath
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from domain.media import upkeep_repository as repository
from domain.media.models import MediaRole
from domain.media.store import store_path
from infra.db import Database
from infra.logging import get_logger
from infra.storage import ObjectNotFound, Storage, validate_key

log = get_logger(__name__)


@dataclass
class BackfillResult:
    done: list[uuid.UUID] = field(default_factory=list)
    skipped: dict[uuid.UUID, str] = field(default_factory=dict)


def playlist_chunks(playlist_key: str, body: str) -> list[tuple[str, float]]:
    """(key, seconds) of each entry of a media playlist stored under `playlist_key`."""
    folder = posixpath.dirname(playlist_key)
    chunks: list[tuple[str, float]] = []
    seconds: float | None = None
    for raw in body.splitlines():
        line = raw.strip()
        if line.startswith("#EXTINF:"):
            seconds = float(line[len("#EXTINF:") :].split(",", 1)[0])
        elif line and not line.startswith("#"):
            if seconds is None or "://" in line or line.startswith("/"):
                raise ValueError(f"unexpected playlist entry {line!r}")
            chunks.append((validate_key(posixpath.join(folder, line)), seconds))
            seconds = None
    return chunks


async def _store(db: Database, storage: Storage, key: str, work: Path) -> str:
    """The object at `key` stored again by digest; returns the digest."""
    copy = work / f"{uuid.uuid4().hex}{posixpath.splitext(key)[1].lower()}"
    data = await storage.read_bytes(key)
    await asyncio.to_thread(copy.write_bytes, data)
    try:
        return (await store_path(db, storage, copy)).sha256
    finally:
        copy.unlink(missing_ok=True)


async def _backfill_one(
    db: Database,
    storage: Storage,
    segment_id: uuid.UUID,
    at: datetime,
    keys: list[str | None],
    work: Path,
) -> None:
    playlist_key, video_key, thumbnail_key = keys
    assert playlist_key is not None
    body = (await storage.read_bytes(playlist_key)).decode("utf-8")
    chunks = playlist_chunks(playlist_key, body)
    if not chunks:
        raise ValueError("its playlist has no entries")
    refs: list[tuple[MediaRole, int, str, float | None]] = [
        (MediaRole.CHUNK, i, await _store(db, storage, key, work), seconds)
        for i, (key, seconds) in enumerate(chunks)
    ]
    for role, key in ((MediaRole.VIDEO, video_key), (MediaRole.THUMBNAIL, thumbnail_key)):
        if key:
            refs.append((role, 0, await _store(db, storage, key, work), None))
    async with db.transaction() as session:
        for role, position, sha, duration in refs:
            reference = (role.value, position, sha, duration)
            await repository.add_reference(session, segment_id, at, reference)


async def backfill(db: Database, storage: Storage) -> BackfillResult:
    """Give every segment without media rows its content-addressed objects and rows."""
    result = BackfillResult()
    async with db.session() as session:
        legacy = await repository.legacy_segments(session)
    with tempfile.TemporaryDirectory(prefix="storyloom-backfill-") as name:
        for row in legacy:
            keys = [row.hls_playlist_key, row.video_key, row.thumbnail_key]
            try:
                await _backfill_one(db, storage, row.id, row.created_at, keys, Path(name))
            except (ObjectNotFound, ValueError, UnicodeDecodeError) as exc:
                result.skipped[row.id] = str(exc) or type(exc).__name__
                log.warning("media_backfill_skipped", segment_id=str(row.id), error=str(exc))
            else:
                result.done.append(row.id)
    log.info("media_backfilled", done=len(result.done), skipped=len(result.skipped))
    return result
