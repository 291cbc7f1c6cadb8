"""Content-addressed storing: keys from digests, an identical file stored once."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from domain.media.store import object_key, store_path
from infra.storage import LocalStorage


def test_keys_come_from_the_digest_and_a_known_suffix_only() -> None:
    sha = hashlib.sha256(b"x").hexdigest()
    assert object_key(sha, ".ts") == f"objects/{sha[:2]}/{sha[2:]}.ts"
    for suffix in (".exe", "/../x", ".ts/..", ""):
        with pytest.raises(ValueError):
            object_key(sha, suffix)


async def test_an_identical_file_is_stored_once(app: Any, tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "media")
    data = f"same bytes {uuid.uuid4()}".encode()
    first, second = tmp_path / "a.mp4", tmp_path / "other-name.mp4"
    first.write_bytes(data)
    second.write_bytes(data)
    rows = [await store_path(app.state.db, storage, p) for p in (first, second)]
    assert rows[0] == rows[1]
    assert rows[0].key == object_key(hashlib.sha256(data).hexdigest(), ".mp4")
    assert rows[0].content_type == "video/mp4" and rows[0].size == len(data)
    assert await storage.list("objects/") == [rows[0].key]
    assert await storage.read_bytes(rows[0].key) == data
    async with app.state.db.session() as session:
        count = await session.scalar(
            text("SELECT count(*) FROM media_objects WHERE sha256 = :sha"), {"sha": rows[0].sha256}
        )
    assert count == 1
