"""`storyloom backup` and `restore` against real PostgreSQL, local storage and S3 (moto)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
from sqlalchemy import pool, text
from sqlalchemy.ext.asyncio import create_async_engine

from api.cli.main import run as cli
from infra.backup import check, libpq_target
from infra.database_urls import with_database
from infra.settings import Settings
from infra.storage import LocalStorage, S3Storage
from tests.conftest import BASE_DATABASE_URL, RUN_ID, _admin
from tests.infra.moto_server import DUMMY_CREDENTIALS, moto_server
from tests.scratch import scratch_database

PLAYLIST = b"#EXTM3U\n#EXTINF:2.0,\npart0.ts\n#EXT-X-ENDLIST\n"


@contextmanager
def empty_database() -> Iterator[str]:
    """A database with nothing in it (not migrated): what a restore goes into."""
    name = f"storyloom_restore_{RUN_ID}_{uuid.uuid4().hex[:6]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield with_database(BASE_DATABASE_URL, name)
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _sql(url: str, statement: str, params: dict[str, Any] | None = None) -> list[Any]:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.begin() as conn:
            result = await conn.execute(text(statement), params or {})
            return list(result.all()) if result.returns_rows else []
    finally:
        await engine.dispose()


def seed(url: str) -> tuple[str, dict[str, bytes]]:
    """A user, a scene, a segment whose playlist, video and thumbnail are in storage, and a
    ready export of the scene whose file is in storage too."""
    tag = uuid.uuid4().hex[:10]
    user = asyncio.run(
        _sql(
            url,
            "INSERT INTO users (email, username, password_hash) VALUES (:e, :u, 'x') RETURNING id",
            {"e": f"b{tag}@example.com", "u": f"b{tag}"},
        )
    )[0][0]
    topic = asyncio.run(
        _sql(url, "INSERT INTO topics (name, slug) VALUES (:n, :n) RETURNING id", {"n": tag})
    )[0][0]
    idea = asyncio.run(
        _sql(
            url,
            "INSERT INTO ideas (user_id, topic_id, title, prompt) VALUES (:u, :t, 'I', 'P') "
            "RETURNING id",
            {"u": user, "t": topic},
        )
    )[0][0]
    scene = asyncio.run(
        _sql(
            url,
            "INSERT INTO scenes (idea_id, user_id, title, description) VALUES (:i, :u, 'S', 'D') "
            "RETURNING id",
            {"i": idea, "u": user},
        )
    )[0][0]
    prefix = f"scenes/{scene}/segments/{uuid.uuid4()}/"
    asyncio.run(
        _sql(
            url,
            "INSERT INTO segments (scene_id, user_id, sequence, text, hls_playlist_key, "
            "video_key, thumbnail_key) VALUES (:s, :u, 1, 'Fog.', :p, :v, :t)",
            {
                "s": scene,
                "u": user,
                "p": prefix + "index.m3u8",
                "v": prefix + "video.mp4",
                "t": prefix + "thumb.jpg",
            },
        )
    )
    export_key = f"exports/scenes/{scene}/{tag}.mp4"  # as the export worker names it
    asyncio.run(
        _sql(
            url,
            "INSERT INTO scene_exports (scene_id, fingerprint, segment_ids, status, storage_key, "
            "size_bytes) VALUES (:s, :f, '{}', 'ready', :k, 40)",
            {"s": scene, "f": tag, "k": export_key},
        )
    )
    objects = {
        export_key: b"\x00\x00\x00\x18ftypisom" + b"export" * 5,
        prefix + "index.m3u8": PLAYLIST,
        prefix + "part0.ts": b"\x47" * 188 * 10,  # named by the playlist, not by a row
        prefix + "video.mp4": b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4,
        prefix + "thumb.jpg": b"\xff\xd8\xff\xe0" + b"jpeg" * 50,
    }
    return prefix, objects


async def _put_all(storage: Any, objects: dict[str, bytes]) -> None:
    for key, data in objects.items():
        await storage.put_bytes(key, data)


def _settings(url: str, media: Path, **extra: Any) -> Settings:
    return Settings(DATABASE_URL=url, MEDIA_DIR=media, S3_BUCKET=None, LOG_JSON=False, **extra)


def test_backup_restores_into_an_empty_database_and_storage_and_checks_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source_media, target_media, backup_dir = (tmp_path / n for n in ("src", "dst", "backup"))
    with scratch_database("backup") as source_url:
        prefix, objects = seed(source_url)
        source = LocalStorage(source_media)
        asyncio.run(_put_all(source, {**objects, "junk/unreferenced.bin": b"not in the db"}))

        assert cli(["backup", "--to", str(backup_dir)], _settings(source_url, source_media)) == 0
        assert "5 object(s)" in capsys.readouterr().out
        [(run,)] = asyncio.run(
            _sql(source_url, "SELECT data FROM system_events WHERE kind = 'backup.run'")
        )
        assert run["directory"] == str(backup_dir) and run["objects"] == 5
        assert run["missing_media"] == 0 and run["rows"] >= 3 and run["dump_bytes"] > 0
        manifest = json.loads((backup_dir / "manifest.json").read_text())
        assert {m["key"]: (m["sha256"], m["size"]) for m in manifest["media"]} == {
            k: (hashlib.sha256(v).hexdigest(), len(v)) for k, v in objects.items()
        }
        counts = manifest["database"]["row_counts"]
        assert counts["segments"] == 1 and counts["users"] == 1 and counts["scenes"] == 1
        assert manifest["database"]["server_major"] == manifest["database"]["pg_dump_major"] == 15
        # A second backup into the same directory is refused; the first stays whole.
        assert cli(["backup", "--to", str(backup_dir)], _settings(source_url, source_media)) == 1
        assert "not empty" in capsys.readouterr().err

        with empty_database() as target_url:
            target = _settings(target_url, target_media)
            assert cli(["restore", "--from", str(backup_dir)], target) == 0
            out = capsys.readouterr().out
            assert "row counts and checksums match" in out
            restored = LocalStorage(target_media)
            for key, data in objects.items():
                assert asyncio.run(restored.read_bytes(key)) == data
            assert not asyncio.run(restored.exists("junk/unreferenced.bin"))
            rows = asyncio.run(_sql(target_url, "SELECT hls_playlist_key FROM segments"))
            assert rows == [(prefix + "index.m3u8",)]
            # A ready export restored points at its file, restored too.
            [(export_key,)] = asyncio.run(
                _sql(target_url, "SELECT storage_key FROM scene_exports WHERE status = 'ready'")
            )
            assert asyncio.run(restored.read_bytes(export_key)) == objects[export_key]
            version = asyncio.run(_sql(target_url, "SELECT version_num FROM alembic_version"))
            source_version = asyncio.run(
                _sql(source_url, "SELECT version_num FROM alembic_version")
            )
            assert version == source_version
            kinds = asyncio.run(_sql(target_url, "SELECT kind FROM system_events"))
            assert ("backup.restored",) in kinds

            # Restoring again finds the database (and storage) in use and changes nothing.
            assert cli(["restore", "--from", str(backup_dir)], target) == 1
            assert "not empty" in capsys.readouterr().err

            # The check notices rows and objects that differ from the manifest.
            asyncio.run(_sql(target_url, "DELETE FROM segments"))
            (target_media / prefix / "thumb.jpg").write_bytes(b"tampered")

            async def recheck() -> list[str]:
                engine = create_async_engine(target_url, poolclass=pool.NullPool)
                try:
                    return (await check(engine, restored, manifest)).problems
                finally:
                    await engine.dispose()

            problems = asyncio.run(recheck())
            assert any(p.startswith("table segments: 0 rows") for p in problems)
            assert f"object {prefix}thumb.jpg does not match its checksum" in problems


def test_a_corrupt_backup_is_refused_before_anything_is_restored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    backup_dir = tmp_path / "backup"
    with scratch_database("backup_bad") as source_url:
        _, objects = seed(source_url)
        asyncio.run(_put_all(LocalStorage(tmp_path / "src"), objects))
        assert (
            cli(["backup", "--to", str(backup_dir)], _settings(source_url, tmp_path / "src")) == 0
        )
    victim = next(p for p in (backup_dir / "media").rglob("*") if p.name == "video.mp4")
    victim.write_bytes(b"bit rot")
    with empty_database() as target_url:
        assert (
            cli(["restore", "--from", str(backup_dir)], _settings(target_url, tmp_path / "d")) == 1
        )
        assert "missing or corrupt" in capsys.readouterr().err
        tables = asyncio.run(
            _sql(target_url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        )
        assert tables == [(0,)]
    assert not (tmp_path / "d").exists() or not any((tmp_path / "d").rglob("*"))
    (backup_dir / "manifest.json").write_text("{not json")
    assert cli(["restore", "--from", str(backup_dir)], _settings(BASE_DATABASE_URL, tmp_path)) == 1
    assert "no readable manifest.json" in capsys.readouterr().err


def test_the_database_password_goes_by_environment_not_argv() -> None:
    dsn, env = libpq_target("postgresql+asyncpg://app:s3cret@db.internal:5433/story?ssl=require")
    assert dsn == "postgresql://app@db.internal:5433/story"
    assert env["PGPASSWORD"] == "s3cret"


def test_backup_and_restore_through_s3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in DUMMY_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    with moto_server() as endpoint, scratch_database("backup_s3") as source_url:
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        for bucket in ("src-media", "dst-media"):
            client.create_bucket(Bucket=bucket)
        _, objects = seed(source_url)
        asyncio.run(_put_all(S3Storage("src-media", client=client), objects))
        source = Settings(
            DATABASE_URL=source_url, S3_BUCKET="src-media", S3_ENDPOINT_URL=endpoint, LOG_JSON=False
        )
        assert cli(["backup", "--to", str(tmp_path / "b")], source) == 0
        with empty_database() as target_url:
            target = Settings(
                DATABASE_URL=target_url,
                S3_BUCKET="dst-media",
                S3_ENDPOINT_URL=endpoint,
                LOG_JSON=False,
            )
            assert cli(["restore", "--from", str(tmp_path / "b")], target) == 0
        restored = S3Storage("dst-media", client=client)
        for key, data in objects.items():
            assert asyncio.run(restored.read_bytes(key)) == data
