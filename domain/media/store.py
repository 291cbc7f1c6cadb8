"""Content-addressed storing: an object's key is made from the SHA-256 of its bytes.

`objects/ab/cdef...<ext>`: never from user input, and an identical file is stored once. The
row is touched before the bytes are stored (see domain/media/sweeper.py for why that order),
and checked after: a row the sweeper took meanwhile is made and stored again.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path

from domain.media import repository
from domain.media.repository import ObjectRow
from infra.db import Database
from infra.prepared import Runner
from infra.storage import Storage, content_type_for

OBJECT_PREFIX = "objects/"
# Beyond this many bytes, hashing leaves the event loop.
INLINE_HASH_BYTES = 4 * 1024 * 1024
MAX_ATTEMPTS = 3
EXTENSIONS = {".m3u8", ".ts", ".mp4", ".jpg", ".png", ".vtt"}


class MediaVanished(RuntimeError):
    """The sweeper kept taking an object while it was being stored (a grace far too short)."""


def object_key(sha256: str, suffix: str) -> str:
    """Where the object with this digest lives; the suffix only picks the content type."""
    if suffix not in EXTENSIONS:
        raise ValueError(f"unexpected media file type: {suffix!r}")
    return f"{OBJECT_PREFIX}{sha256[:2]}/{sha256[2:]}{suffix}"


def describe(path: Path) -> ObjectRow:
    """The row of the file at `path`: digest, key, size and content type."""
    with path.open("rb") as handle:
        sha256 = hashlib.file_digest(handle, "sha256").hexdigest()
    key = object_key(sha256, path.suffix.lower())
    return ObjectRow(sha256, key, path.stat().st_size, content_type_for(key))


async def describe_all(paths: Sequence[Path]) -> list[ObjectRow]:
    if sum(p.stat().st_size for p in paths) <= INLINE_HASH_BYTES:
        return [describe(p) for p in paths]  # a few small files: cheaper than a thread trip
    return await asyncio.to_thread(lambda: [describe(p) for p in paths])


async def store_files(
    conn: Runner,
    storage: Storage,
    paths: Sequence[Path],
    *,
    clock: Callable[[], datetime | None] = lambda: None,
    on_stored: Callable[[int], Awaitable[None]] | None = None,
) -> list[ObjectRow]:
    """Store the files content-addressed; returns their rows in the order given.

    `clock()` is the time to touch rows with (None: the database's own; tests move it).
    """
    rows = await describe_all(paths)
    by_sha = {row.sha256: (row, path) for row, path in zip(rows, paths, strict=True)}
    pending = list(by_sha)
    for _ in range(MAX_ATTEMPTS):
        batch = [by_sha[sha] for sha in pending]
        await repository.touch(conn, [row for row, _ in batch], clock())
        await storage.put_files([(row.key, path) for row, path in batch], on_stored)
        present = await repository.present(conn, pending)
        pending = [sha for sha in pending if sha not in present]
        if not pending:
            return rows
    raise MediaVanished(f"{len(pending)} objects were swept while being stored")


async def store_path(db: Database, storage: Storage, path: Path) -> ObjectRow:
    """`store_files` for one file, on a session of `db` (for callers outside a job's run, e.g.
    a scene export). The sweeper leaves the object alone while a referencing table names it
    (a foreign key to media_objects, or a scene export's storage_key: see
    upkeep_repository.KEY_REFERRERS) or for the grace period after this touch; the caller
    references it within that time, holding the row (repository.hold_object) as it does."""
    row = await asyncio.to_thread(describe, path)
    for _ in range(MAX_ATTEMPTS):
        async with db.transaction() as session:
            await repository.touch_one(session, row)
        await storage.put_file(row.key, path)
        async with db.session() as session:
            found = await repository.has_object(session, row.sha256)
        if found:
            return row
    raise MediaVanished("an object was swept while being stored")
