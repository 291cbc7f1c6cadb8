"""`storyloom backup` and `storyloom restore`: a consistent database dump plus the media it names.

The dump (pg_dump, custom format) and the row counts come from one exported snapshot, so the
counts the restore is checked against are those of the dump. The media manifest lists every
object the database references (key, SHA-256, size); the objects are copied through the
`Storage` interface into the backup directory, so a local or an S3 deployment backs up alike.
A restore goes only into an empty database and an empty storage, and checks what it restored.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from infra.storage import ObjectNotFound, Storage, validate_key

MANIFEST = "manifest.json"
DUMP = "database.dump"
MEDIA_DIR = "media"
FORMAT = 1

# Every column that names a storage key, as (table, column); those absent from a schema
# version are skipped, so one tool serves databases before and after a migration.
KEY_COLUMNS = (
    ("media_objects", "key"),
    ("segments", "hls_playlist_key"),
    ("segments", "video_key"),
    ("segments", "thumbnail_key"),
    ("partition_archives", "storage_key"),
    ("scene_exports", "storage_key"),  # a ready export's file: restored, it must still play
)
# Before content-addressed media, a segment's HLS parts and captions lived next to its
# playlist, unnamed in the database: the objects under each such segment directory count too.
SEGMENT_DIR = re.compile(r"^(scenes/[^/]+/segments/[^/]+/)")

_TABLES = text(
    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition "
    "ORDER BY c.relname"
)
_HAS_COLUMN = text(
    "SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = "
    "current_schema() AND table_name = :t AND column_name = :c)"
)


class BackupError(Exception):
    """The backup or restore cannot go on; the message says why and what to do."""


@dataclass
class CheckReport:
    tables: int = 0
    objects: int = 0
    problems: list[str] = field(default_factory=list)


def libpq_target(database_url: str) -> tuple[str, dict[str, str]]:
    """The URL pg_dump and pg_restore take, and the environment carrying the password."""
    url = make_url(database_url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    # The driver's query options (asyncpg's) mean nothing to libpq.
    plain = URL.create(
        "postgresql", username=url.username, host=url.host, port=url.port, database=url.database
    )
    return plain.render_as_string(hide_password=False), env


def pg_tool(name: str, bin_dir: Path | None) -> str:
    found = str(bin_dir / name) if bin_dir else shutil.which(name)
    if not found or not Path(found).exists():
        raise BackupError(f"{name} is not installed (install postgresql-client or set PG_BIN_DIR).")
    return found


async def _run(*argv: str, env: dict[str, str]) -> str:
    proc = await asyncio.create_subprocess_exec(
        *argv, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise BackupError(f"{Path(argv[0]).name} failed: {err.decode(errors='replace')[-2000:]}")
    return out.decode()


async def tool_major(tool: str) -> int:
    version = await _run(tool, "--version", env=dict(os.environ))
    # "pg_dump (PostgreSQL) 15.20 (Debian ...)": the number after the product name.
    match = re.search(r"\)\s*(\d+)", version) or re.search(r"(\d+)", version)
    if match is None:
        raise BackupError(f"cannot read the version of {tool}: {version!r}")
    return int(match.group(1))


def _has_entries(directory: Path) -> bool:
    return directory.exists() and any(directory.iterdir())


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


async def row_counts(conn: AsyncConnection) -> dict[str, int]:
    """Exact rows of every table (a partitioned one counts its partitions)."""
    names = list((await conn.scalars(_TABLES)).all())
    return {n: int(await conn.scalar(text(f'SELECT count(*) FROM "{n}"')) or 0) for n in names}


async def referenced_keys(conn: AsyncConnection, storage: Storage) -> list[str]:
    keys: set[str] = set()
    for table, column in KEY_COLUMNS:
        if await conn.scalar(_HAS_COLUMN, {"t": table, "c": column}):
            rows = await conn.scalars(
                text(f'SELECT DISTINCT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL')
            )
            keys.update(rows.all())
    for key in list(keys):
        match = SEGMENT_DIR.match(key)
        if match:
            keys.update(await storage.list(match.group(1)))
    return sorted(keys)


async def backup(
    engine: AsyncEngine,
    database_url: str,
    storage: Storage,
    target: Path,
    *,
    bin_dir: Path | None = None,
) -> dict[str, Any]:
    """Write the dump, the objects and the manifest into `target` (new or empty)."""
    if _has_entries(target):
        raise BackupError(f"{target} is not empty: back up into a new directory.")
    pg_dump = pg_tool("pg_dump", bin_dir)
    dump_major = await tool_major(pg_dump)
    (target / MEDIA_DIR).mkdir(parents=True, exist_ok=True)
    dsn, env = libpq_target(database_url)
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            server = int(await conn.scalar(text("SHOW server_version_num")) or 0) // 10000
            if dump_major != server:
                raise BackupError(
                    f"pg_dump {dump_major} does not match the server's major version {server}: "
                    f"install postgresql-client-{server} or point PG_BIN_DIR at its bin directory."
                )
            snapshot = await conn.scalar(text("SELECT pg_export_snapshot()"))
            counts = await row_counts(conn)
            keys = await referenced_keys(conn, storage)
            await _run(
                pg_dump,
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--snapshot={snapshot}",
                f"--file={target / DUMP}",
                f"--dbname={dsn}",
                env=env,
            )
    media, missing = [], []
    for key in keys:
        try:
            data = await storage.read_bytes(key)
        except ObjectNotFound:
            missing.append(key)  # named by a row but gone: reported, the backup goes on
            continue
        path = target / MEDIA_DIR / validate_key(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        media.append({"key": key, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)})
    manifest = {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(),
        "database": {
            "file": DUMP,
            "sha256": sha256_file(target / DUMP),
            "size": (target / DUMP).stat().st_size,
            "server_major": server,
            "pg_dump_major": dump_major,
            "row_counts": counts,
        },
        "media": media,
        "missing_media": missing,
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return manifest


def read_manifest(source: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((source / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{source} holds no readable {MANIFEST}: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{source / MANIFEST} is not a format-{FORMAT} backup manifest.")
    return manifest


async def restore(
    engine: AsyncEngine,
    database_url: str,
    storage: Storage,
    source: Path,
    *,
    bin_dir: Path | None = None,
) -> CheckReport:
    """Restore into an empty database and storage, then check counts and checksums."""
    manifest = read_manifest(source)
    dump = source / manifest["database"]["file"]
    if not dump.is_file() or sha256_file(dump) != manifest["database"]["sha256"]:
        raise BackupError(f"{dump} is missing or does not match its checksum in the manifest.")
    for item in manifest["media"]:
        path = source / MEDIA_DIR / validate_key(item["key"])
        if not path.is_file() or sha256_file(path) != item["sha256"]:
            raise BackupError(f"the backup's copy of {item['key']} is missing or corrupt.")
    async with engine.connect() as conn:
        tables = (await conn.scalars(_TABLES)).all()
    if tables:
        raise BackupError(
            f"the target database is not empty ({len(tables)} tables): restore into a new one."
        )
    if await storage.list(""):
        raise BackupError("the target storage is not empty: restore into an empty one.")
    pg_restore = pg_tool("pg_restore", bin_dir)
    dsn, env = libpq_target(database_url)
    await _run(
        pg_restore,
        "--no-owner",
        "--no-privileges",
        "--single-transaction",
        "--exit-on-error",
        f"--dbname={dsn}",
        str(dump),
        env=env,
    )
    for item in manifest["media"]:
        await storage.put_file(item["key"], source / MEDIA_DIR / item["key"])
    return await check(engine, storage, manifest)


async def check(engine: AsyncEngine, storage: Storage, manifest: dict[str, Any]) -> CheckReport:
    """Compare the restored rows and objects with the manifest."""
    report = CheckReport()
    async with engine.connect() as conn:
        counts = await row_counts(conn)
    expected: dict[str, int] = manifest["database"]["row_counts"]
    report.tables = len(counts)
    for table in sorted(set(expected) | set(counts)):
        if expected.get(table) != counts.get(table):
            report.problems.append(
                f"table {table}: {counts.get(table)} rows, the backup had {expected.get(table)}"
            )
    for item in manifest["media"]:
        try:
            data = await storage.read_bytes(item["key"])
        except ObjectNotFound:
            report.problems.append(f"object {item['key']} is missing")
            continue
        if hashlib.sha256(data).hexdigest() != item["sha256"] or len(data) != item["size"]:
            report.problems.append(f"object {item['key']} does not match its checksum")
        report.objects += 1
    return report
