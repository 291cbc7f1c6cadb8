"""Archiving old jobs partitions to storage and restoring them, on a scratch database.

Every test builds its own months in its own year (partitions are database-wide), and asserts
only on the partitions it made.
"""

from __future__ import annotations

import asyncio
import csv
import gzip
import hashlib
import io
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import pool, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine

import domain.models  # noqa: F401 - every mapper, for the ORM reads below
from api.cli.main import run as cli
from domain.errors import Conflict
from domain.ids import new_time_id
from domain.jobs import repository as jobs_repository
from domain.jobs import service as jobs_service
from domain.users.models import User
from infra.archive import ArchiveError, ArchiveRun, archive_partitions, list_archives
from infra.db import Database
from infra.partitions import add_months, ensure_partitions, month_start
from infra.restore import restore_partition
from infra.settings import Settings
from infra.storage import LocalStorage
from tests.scratch import scratch_database
from worker.cron import archive_old_partitions


@pytest.fixture(scope="module")
def scratch_url() -> Iterator[str]:
    with scratch_database("archive") as url:
        yield url


@pytest.fixture
async def engine(scratch_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(scratch_url, poolclass=pool.NullPool)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("archive-media")


@pytest.fixture
def storage(media: Path) -> LocalStorage:
    return LocalStorage(media)


class FailingUploads(LocalStorage):
    """Storage whose next `failures` uploads (of keys under `prefix`) fail: before writing, or
    after (`after=True`)."""

    def __init__(self, root: Path, failures: int, *, after: bool = False, prefix: str = "") -> None:
        super().__init__(root)
        self.failures, self.after, self.prefix = failures, after, prefix

    async def put_file(self, key: str, path: Path, content_type: str | None = None) -> None:
        failing = self.failures and key.startswith(self.prefix)
        if failing and self.after:
            await super().put_file(key, path, content_type)
        if failing:
            self.failures -= 1
            raise ConnectionError("storage went away")
        await super().put_file(key, path, content_type)


async def seed_owner(conn: AsyncConnection) -> tuple[uuid.UUID, uuid.UUID]:
    """A user and a scene of theirs."""
    tag = uuid.uuid4().hex[:10]
    user = await conn.scalar(
        text(
            "INSERT INTO users (email, username, password_hash) VALUES (:e, :u, 'x') RETURNING id"
        ),
        {"e": f"a{tag}@example.com", "u": f"a{tag}"},
    )
    topic = await conn.scalar(
        text("INSERT INTO topics (name, slug) VALUES (:n, :n) RETURNING id"), {"n": f"t{tag}"}
    )
    idea = await conn.scalar(
        text(
            "INSERT INTO ideas (user_id, topic_id, title, prompt) "
            "VALUES (:u, :t, 'An idea', 'A prompt') RETURNING id"
        ),
        {"u": user, "t": topic},
    )
    scene = await conn.scalar(
        text(
            "INSERT INTO scenes (idea_id, user_id, title, description) "
            "VALUES (:i, :u, 'A scene', 'Fog.') RETURNING id"
        ),
        {"i": idea, "u": user},
    )
    return user, scene


async def add_user(conn: AsyncConnection) -> uuid.UUID:
    tag = uuid.uuid4().hex[:10]
    return await conn.scalar(
        text(
            "INSERT INTO users (email, username, password_hash) VALUES (:e, :u, 'x') RETURNING id"
        ),
        {"e": f"b{tag}@example.com", "u": f"b{tag}"},
    )


async def add_job(
    conn: AsyncConnection, user: uuid.UUID, scene: uuid.UUID, at: datetime, note: str = "go on"
) -> uuid.UUID:
    job_id, created = new_time_id(at)
    await conn.execute(
        text(
            "INSERT INTO jobs (id, created_at, user_id, scene_id, text, bible_version, "
            "context_data, status) VALUES (:id, :at, :u, :s, :t, 1, :ctx, 'final_ready')"
        ),
        {"id": job_id, "at": created, "u": user, "s": scene, "t": note, "ctx": '{"a": [1, "é"]}'},
    )
    return job_id


def at(year: int, month: int, day: int = 10) -> datetime:
    return datetime(year, month, day, 12, 0, tzinfo=UTC)


async def months(engine: AsyncEngine, year: int, count: int) -> None:
    async with engine.begin() as conn:
        await ensure_partitions(conn, months_ahead=count - 1, today=date(year, 1, 1))


async def table_exists(engine: AsyncEngine, name: str) -> bool:
    async with engine.connect() as conn:
        return bool(await conn.scalar(text("SELECT to_regclass(:n) IS NOT NULL"), {"n": name}))


async def job_rows(engine: AsyncEngine, lower: datetime, upper: datetime) -> list[tuple[Any, ...]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT * FROM jobs WHERE created_at >= :l AND created_at < :u ORDER BY id"),
            {"l": lower, "u": upper},
        )
        return [tuple(r) for r in rows]


async def manifest(engine: AsyncEngine, name: str) -> Any:
    async with engine.connect() as conn:
        return next((a for a in await list_archives(conn) if a.partition == name), None)


def mine(run: ArchiveRun, *names: str) -> dict[str, tuple[str, int | None]]:
    return {o.partition: (o.action, o.rows) for o in run.outcomes if o.partition in names}


async def test_archive_exports_uploads_records_then_drops(
    engine: AsyncEngine, storage: LocalStorage, media: Path
) -> None:
    await months(engine, 2015, 3)
    async with engine.begin() as conn:
        user, scene = await seed_owner(conn)
        january = [await add_job(conn, user, scene, at(2015, 1, d)) for d in (3, 4, 5)]
        await add_job(conn, user, scene, at(2015, 2))
        await add_job(conn, user, scene, at(2015, 2, 11), note='a "quoted",\nmulti-line text')
        await conn.execute(
            text(
                "INSERT INTO segments (scene_id, sequence, text, created_at) "
                "VALUES (:s, 1, 'words', :at)"
            ),
            {"s": scene, "at": at(2015, 1)},
        )
    february_rows = await job_rows(engine, at(2015, 2, 1), at(2015, 3, 1))

    # The end of March 2015 is not six whole months before 2015-09-15: March stays.
    run = await archive_partitions(engine, storage, months=6, today=date(2015, 9, 15))

    names = ("jobs_p2015_01", "jobs_p2015_02", "jobs_p2015_03", "segments_p2015_01")
    assert mine(run, *names) == {
        "jobs_p2015_01": ("archived", 3),
        "jobs_p2015_02": ("archived", 2),
    }
    assert not run.failed
    assert not await table_exists(engine, "jobs_p2015_01")
    assert not await table_exists(engine, "jobs_p2015_02")
    assert await table_exists(engine, "jobs_p2015_03")
    assert await table_exists(engine, "segments_p2015_01")  # segments are never archived
    assert await job_rows(engine, at(2015, 1, 1), at(2015, 3, 1)) == []

    record = await manifest(engine, "jobs_p2015_01")
    assert record.status == "archived" and record.row_count == 3
    assert record.storage_key == "archives/jobs/jobs_p2015_01.csv.gz"
    assert (record.range_from, record.range_to) == (
        datetime(2015, 1, 1, tzinfo=UTC),
        datetime(2015, 2, 1, tzinfo=UTC),
    )
    stored = (media / record.storage_key).read_bytes()
    assert hashlib.sha256(stored).hexdigest() == record.sha256
    assert len(stored) == record.size_bytes
    table = list(csv.reader(io.StringIO(gzip.decompress(stored).decode())))
    assert table[0][:3] == ["id", "created_at", "user_id"]
    assert sorted(row[0] for row in table[1:]) == sorted(str(j) for j in january)

    # A second run finds nothing to do and leaves the archive as it is.
    again = await archive_partitions(engine, storage, months=6, today=date(2015, 9, 15))
    assert mine(again, *names) == {}
    assert (media / record.storage_key).read_bytes() == stored

    # The quoted, multi-line text survives the round trip.
    restored = await restore_partition(engine, storage, "jobs_p2015_02")
    assert restored.rows == 2
    assert await job_rows(engine, at(2015, 2, 1), at(2015, 3, 1)) == february_rows

    # The jobs' events (one job.created each) went with them, month by month, and come back.
    assert mine(run, "job_events_p2015_01", "job_events_p2015_02", "job_events_p2015_03") == {
        "job_events_p2015_01": ("archived", 3),
        "job_events_p2015_02": ("archived", 2),
    }
    assert not await table_exists(engine, "job_events_p2015_01")
    events = await manifest(engine, "job_events_p2015_01")
    assert events.storage_key == "archives/job_events/job_events_p2015_01.csv.gz"
    assert (await restore_partition(engine, storage, "job_events_p2015_02")).rows == 2


async def test_idempotency_keys_outlive_their_archived_job(
    engine: AsyncEngine, storage: LocalStorage
) -> None:
    await months(engine, 2014, 1)
    async with engine.begin() as conn:
        user, scene = await seed_owner(conn)
        job = await add_job(conn, user, scene, at(2014, 1))
        created = await conn.scalar(text("SELECT created_at FROM jobs WHERE id = :j"), {"j": job})
        await conn.execute(
            text(
                "INSERT INTO job_idempotency_keys (user_id, key, request_hash, job_id, "
                "job_created_at) VALUES (:u, 'k1', :h, :j, :c)"
            ),
            {"u": user, "h": jobs_service.request_hash(scene, "go on"), "j": job, "c": created},
        )

    run = await archive_partitions(engine, storage, months=6, today=date(2014, 12, 1))
    assert mine(run, "jobs_p2014_01") == {"jobs_p2014_01": ("archived", 1)}

    async with AsyncSession(engine) as session:
        assert await session.scalar(
            text("SELECT count(*) FROM job_idempotency_keys WHERE job_id = :j"), {"j": job}
        )
        owner = await session.get(User, user)
        assert owner is not None
        with pytest.raises(Conflict):
            await jobs_service.submit_continuation(session, Settings(), owner, scene, "go on", "k1")


async def test_segments_are_never_archived_nor_restored(
    engine: AsyncEngine, storage: LocalStorage
) -> None:
    with pytest.raises(ArchiveError, match="never"):
        await archive_partitions(engine, storage, months=6, only="segments_p2015_01")
    with pytest.raises(ArchiveError, match="never"):
        await restore_partition(engine, storage, "segments_p2015_01")
    with pytest.raises(ArchiveError, match="not a monthly partition"):
        await restore_partition(engine, storage, "jobs; DROP TABLE users")


async def test_restore_brings_the_rows_back_and_drops_orphans(
    engine: AsyncEngine, storage: LocalStorage
) -> None:
    await months(engine, 2013, 1)
    lower, upper = datetime(2013, 1, 1, tzinfo=UTC), datetime(2013, 2, 1, tzinfo=UTC)
    async with engine.begin() as conn:
        user, scene = await seed_owner(conn)
        leaver = await add_user(conn)
        kept = [await add_job(conn, user, scene, at(2013, 1, d)) for d in (1, 15, 31)]
        await add_job(conn, leaver, scene, at(2013, 1, 20))
    before = await job_rows(engine, lower, upper)
    await archive_partitions(engine, storage, months=6, today=date(2013, 12, 1))
    async with engine.begin() as conn:
        # Deleting the account would have cascaded to its jobs, had they stayed.
        await conn.execute(text("DELETE FROM users WHERE id = :u"), {"u": leaver})

    restored = await restore_partition(engine, storage, "jobs_p2013_01")

    assert (restored.rows, restored.orphans_dropped, restored.moved_from_default) == (3, 1, 0)
    assert await job_rows(engine, lower, upper) == [r for r in before if r[0] in kept]
    async with AsyncSession(engine) as session:
        job = await jobs_repository.get(session, kept[1])  # pruned to the restored month
        assert job is not None and job.created_at.month == 1
    async with engine.connect() as conn:
        parent = await conn.scalar(
            text(
                "SELECT inhparent::regclass::text FROM pg_inherits "
                "WHERE inhrelid = CAST(:n AS regclass)"
            ),
            {"n": "jobs_p2013_01"},
        )
        indexes = (
            await conn.execute(
                text(
                    "SELECT tablename, count(*) FROM pg_indexes "
                    "WHERE tablename IN ('jobs_p2013_01', 'jobs_default') GROUP BY tablename"
                )
            )
        ).all()
    assert parent == "jobs"
    assert len(indexes) == 2 and indexes[0][1] == indexes[1][1] == 4  # the key and 3 indexes
    record = await manifest(engine, "jobs_p2013_01")
    assert record.status == "restored" and record.restored_at is not None

    with pytest.raises(ArchiveError, match="restored already"):
        await restore_partition(engine, storage, "jobs_p2013_01")
    # The nightly run leaves a restored partition alone; naming it archives it again.
    nightly = await archive_partitions(engine, storage, months=6, today=date(2013, 12, 1))
    assert mine(nightly, "jobs_p2013_01") == {"jobs_p2013_01": ("skipped", None)}
    again = await archive_partitions(
        engine, storage, months=6, today=date(2013, 12, 1), only="jobs_p2013_01"
    )
    assert mine(again, "jobs_p2013_01") == {"jobs_p2013_01": ("archived", 3)}
    record = await manifest(engine, "jobs_p2013_01")
    assert record.status == "archived" and record.row_count == 3
    assert not await table_exists(engine, "jobs_p2013_01")


async def test_restore_refuses_overlaps_and_a_corrupt_archive(
    engine: AsyncEngine, storage: LocalStorage, media: Path
) -> None:
    await months(engine, 2012, 1)
    async with engine.begin() as conn:
        user, scene = await seed_owner(conn)
        await add_job(conn, user, scene, at(2012, 1, 5))
    await archive_partitions(engine, storage, months=6, today=date(2012, 12, 1))
    key = media / "archives/jobs/jobs_p2012_01.csv.gz"
    good = key.read_bytes()

    async with engine.begin() as conn:
        await conn.execute(
            text(
                "CREATE TABLE jobs_odd PARTITION OF jobs "
                "FOR VALUES FROM ('2012-01-20 00:00:00+00') TO ('2012-01-25 00:00:00+00')"
            )
        )
    with pytest.raises(ArchiveError, match="overlaps existing partitions: jobs_odd"):
        await restore_partition(engine, storage, "jobs_p2012_01")
    async with engine.begin() as conn:
        await conn.execute(text("DROP TABLE jobs_odd"))

    key.write_bytes(gzip.compress(b"id\n"))
    with pytest.raises(ArchiveError, match="sha256"):
        await restore_partition(engine, storage, "jobs_p2012_01")
    assert not await table_exists(engine, "jobs_p2012_01")
    assert (await manifest(engine, "jobs_p2012_01")).status == "archived"

    key.write_bytes(good)
    assert (await restore_partition(engine, storage, "jobs_p2012_01")).rows == 1
    with pytest.raises(ArchiveError, match="no archive"):
        await restore_partition(engine, storage, "jobs_p2011_07")


async def test_a_run_that_stopped_half_way_is_finished_by_the_next(
    engine: AsyncEngine, media: Path
) -> None:
    await months(engine, 2011, 2)
    async with engine.begin() as conn:
        user, scene = await seed_owner(conn)
        await add_job(conn, user, scene, at(2011, 1))
        await add_job(conn, user, scene, at(2011, 2))
    today = date(2011, 12, 1)

    # Storage fails after the upload landed: detached and pending, the rows kept aside.
    flaky = FailingUploads(media, failures=1, after=True, prefix="archives/jobs/")
    run = await archive_partitions(engine, flaky, months=6, today=today)
    assert mine(run, "jobs_p2011_01", "jobs_p2011_02") == {
        "jobs_p2011_01": ("failed", None),
        "jobs_p2011_02": ("archived", 1),
    }
    record = await manifest(engine, "jobs_p2011_01")
    assert record.status == "pending" and record.sha256 is None
    assert await table_exists(engine, "jobs_p2011_01")

    # The drop fails (a DDL guard stands in for a crash just before it): archived, not dropped.
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "CREATE FUNCTION refuse_drops() RETURNS event_trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'no drops today'; END $$"
            )
        )
        await conn.execute(
            text(
                "CREATE EVENT TRIGGER refuse_drops ON ddl_command_start "
                "WHEN TAG IN ('DROP TABLE') EXECUTE FUNCTION refuse_drops()"
            )
        )
    try:
        run = await archive_partitions(engine, LocalStorage(media), months=6, today=today)
        assert mine(run, "jobs_p2011_01") == {"jobs_p2011_01": ("failed", None)}
        assert "no drops today" in run.failed[0].detail
        record = await manifest(engine, "jobs_p2011_01")
        assert record.status == "archived" and record.row_count == 1
        assert await table_exists(engine, "jobs_p2011_01")
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("DROP EVENT TRIGGER refuse_drops"))
            await conn.execute(text("DROP FUNCTION refuse_drops()"))

    run = await archive_partitions(engine, LocalStorage(media), months=6, today=today)
    assert mine(run, "jobs_p2011_01") == {"jobs_p2011_01": ("archived", 1)}
    assert not await table_exists(engine, "jobs_p2011_01")
    restored = await restore_partition(engine, LocalStorage(media), "jobs_p2011_01")
    assert restored.rows == 1


async def test_concurrent_runs_archive_each_partition_once(
    engine: AsyncEngine, storage: LocalStorage
) -> None:
    await months(engine, 2010, 3)
    async with engine.begin() as conn:
        user, scene = await seed_owner(conn)
        for month in (1, 2, 3):
            await add_job(conn, user, scene, at(2010, month))

    runs = await asyncio.gather(
        *(archive_partitions(engine, storage, months=6, today=date(2010, 12, 1)) for _ in "ab")
    )

    names = ("jobs_p2010_01", "jobs_p2010_02", "jobs_p2010_03")
    archived = sorted(
        o.partition
        for r in runs
        for o in r.outcomes
        if o.action == "archived" and o.partition in names
    )
    assert archived == list(names)
    assert not any(r.failed for r in runs)


async def test_dry_run_changes_nothing(
    engine: AsyncEngine, storage: LocalStorage, media: Path
) -> None:
    await months(engine, 2009, 1)
    run = await archive_partitions(engine, storage, months=6, today=date(2009, 12, 1), dry_run=True)
    assert mine(run, "jobs_p2009_01") == {"jobs_p2009_01": ("would_archive", None)}
    assert await table_exists(engine, "jobs_p2009_01")
    assert await manifest(engine, "jobs_p2009_01") is None
    assert not (media / "archives/jobs/jobs_p2009_01.csv.gz").exists()


def test_cli_archive_restore_and_ensure_report(
    scratch_url: str, media: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(DATABASE_URL=scratch_url, MEDIA_DIR=media, S3_BUCKET=None, LOG_JSON=False)

    async def seed() -> None:
        engine = create_async_engine(scratch_url, poolclass=pool.NullPool)
        await months(engine, 2008, 1)
        async with engine.begin() as conn:
            user, scene = await seed_owner(conn)
            await add_job(conn, user, scene, at(2008, 1))
            # A row of a month that has no partition yet waits in the default partition.
            later = add_months(month_start(datetime.now(UTC).date()), 20)
            await add_job(conn, user, scene, at(later.year, later.month))
        await engine.dispose()

    asyncio.run(seed())
    assert cli(["partitions", "archive", "--dry-run"], settings) == 0
    out = capsys.readouterr().out
    assert "would_archive jobs_p2008_01" in out and "0 partition(s) archived" in out

    assert cli(["partitions", "archive", "--partition", "jobs_p2008_01"], settings) == 0
    assert re.search(r"archived +jobs_p2008_01 rows=1", capsys.readouterr().out)
    assert cli(["partitions", "restore", "segments_p2008_01"], settings) == 1
    assert "never archived" in capsys.readouterr().err
    assert cli(["partitions", "restore", "jobs_p2008_01"], settings) == 0
    assert "restored jobs_p2008_01: 1 row(s)" in capsys.readouterr().out

    assert cli(["partitions", "ensure", "--months-ahead", "24"], settings) == 0
    out = capsys.readouterr().out
    # The job and its creation event, each moved into its month.
    assert "moved_rows=1" in out and "2 row(s) moved out of the default partitions" in out
    assert cli(["partitions", "list"], settings) == 0
    assert re.search(r"jobs_p2008_01 +restored +rows 1", capsys.readouterr().out)

    async def system_events() -> list[tuple[str, dict[str, Any]]]:
        engine = create_async_engine(scratch_url, poolclass=pool.NullPool)
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT kind, data FROM system_events ORDER BY id"))
            found = [(r.kind, r.data) for r in rows]
        await engine.dispose()
        return found

    events = asyncio.run(system_events())
    archive_runs = [d for k, d in events if k == "archive.run"]
    assert any(
        o["partition"] == "jobs_p2008_01" and o["action"] == "archived"
        for run in archive_runs
        for o in run["outcomes"]
    )
    assert not any(o["action"] == "would_archive" for r in archive_runs for o in r["outcomes"])
    assert {"partition": "jobs_p2008_01", "rows": 1} in [
        {"partition": d["partition"], "rows": d["rows"]} for k, d in events if k == "restore.run"
    ]
    # `ensure` made the months ahead: one partition.created event per partition it made.
    ahead = add_months(month_start(datetime.now(UTC).date()), 21)
    made = {d["partition"]: d for k, d in events if k == "partition.created"}
    new_month = made[f"jobs_p{ahead:%Y_%m}"]
    assert (new_month["table"], new_month["moved_rows"]) == ("jobs", 0)
    assert new_month["range_from"].startswith(ahead.isoformat())
    assert new_month["range_to"].startswith(add_months(ahead, 1).isoformat())
    assert {f"job_events_p{ahead:%Y_%m}", f"segments_p{ahead:%Y_%m}"} <= made.keys()
    rescued = [d for k, d in events if k == "partition.rescued"]
    # One rescue each for the job (jobs) and its creation event (job_events).
    assert [d["moved_rows"] for d in rescued] == [1, 1]


async def test_the_worker_cron_archives_with_its_settings(scratch_url: str, media: Path) -> None:
    settings = Settings(DATABASE_URL=scratch_url, MEDIA_DIR=media, ARCHIVE_JOBS_AFTER_MONTHS=6)
    db = Database(settings)
    try:
        engine = db.primary
        await months(engine, 2007, 1)
        ctx = {
            "db": db,
            "settings": settings,
            "runtime": SimpleNamespace(storage=LocalStorage(media)),
        }
        assert await archive_old_partitions(ctx) >= 1
        assert not await table_exists(engine, "jobs_p2007_01")
        assert (await manifest(engine, "jobs_p2007_01")).status == "archived"
    finally:
        await db.dispose()
