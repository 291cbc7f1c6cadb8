"""The sweeper, property-tested: after any interleaving of uploads, finalizations, crashes,
sweeps, clock jumps and hides, nothing referenced is ever gone and nothing is left orphaned.

Real parts: a private PostgreSQL database built by the migrations, real local storage (and one
case on a real S3 server, moto over HTTP). Uploads go through the real `store_files` with a
storage that lets a sweep land before or after the bytes do; finalization is the worker's
(refresh, upload again when a row was taken, then the references in one transaction, where
the foreign key refuses an object swept meanwhile).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from domain.media import repository
from domain.media.models import MediaRole
from domain.media.repository import Reference
from domain.media.store import describe, store_files, store_path
from domain.media.sweeper import sweep
from domain.scene_exports.models import ExportStatus, SceneExport
from infra.prepared import Channel
from infra.settings import Settings
from infra.storage import LocalStorage, S3Storage, Storage
from tests.conftest import asyncpg_dsn
from tests.factories import Factory
from tests.scratch import private_database

GRACE = 3600
CONTENTS = 5


@dataclass
class World:
    app: Any
    factory: Factory
    dsn: str
    clock: list[datetime] = field(default_factory=lambda: [datetime.now(UTC)])

    def now(self) -> datetime:
        return self.clock[0]

    def tick(self) -> None:
        self.clock[0] += timedelta(seconds=GRACE + 1)


@pytest.fixture(scope="module")
async def world(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    from api.app import create_app

    async with private_database("sweeper") as url:
        own = settings.model_copy(
            update={"database_url": url, "media_dir": tmp_path_factory.mktemp("sweeper")}
        )
        app = create_app(own)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://sweeper.test") as c:
                yield World(app, Factory(app, c), asyncpg_dsn(url))


class SweepingStorage:
    """The real storage; a sweep (after a clock jump, when drawn) lands around the put."""

    def __init__(self, inner: Storage, run: Any, when: str) -> None:
        self.inner, self.run, self.when = inner, run, when
        self.swept = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def put_files(self, files: Sequence[tuple[str, Path]], on_stored: Any = None) -> None:
        # Once: a sweep after every attempt would mean a grace shorter than an upload.
        first, self.swept = not self.swept, True
        if first and self.when == "before_put":
            await self.run()
        await self.inner.put_files(files, on_stored)
        if first and self.when == "after_put":
            await self.run()


upload = st.tuples(
    st.just("upload"),
    st.lists(st.integers(0, CONTENTS - 1), min_size=1, max_size=3),
    st.sampled_from(["none", "before_put", "after_put"]),
)
operations = st.lists(
    st.one_of(
        upload,
        st.tuples(st.just("finalize"), st.integers(0, 5)),
        st.tuples(st.just("crash"), st.integers(0, 5)),
        st.tuples(st.just("hide"), st.integers(0, 5)),
        st.just(("sweep",)),
        st.just(("tick",)),
        st.just(("tick_sweep",)),
    ),
    max_size=14,
)


async def run_scenario(world: World, storage: Storage, ops: list[Any], work: Path) -> None:
    salt = uuid.uuid4().hex  # contents of this example only (rows are shared by examples)
    files = []
    for index in range(CONTENTS):
        path = work / f"{salt}-{index}.{['ts', 'ts', 'mp4', 'jpg', 'vtt'][index]}"
        path.write_bytes(f"{salt}:{index}".encode() * (index + 1))
        files.append(path)
    owner = await world.factory.account()
    scene = await world.factory.scene(owner)
    sequence = itertools.count(1)
    conn = Channel(await asyncpg.connect(world.dsn))

    async def sweep_now() -> None:
        await sweep(world.app.state.db, storage, GRACE, now=world.now())

    async def tick_sweep() -> None:
        world.tick()
        await sweep_now()

    async def store(indexes: list[int], when: str) -> list[str]:
        wrapped: Any = SweepingStorage(storage, tick_sweep, when)
        rows = await store_files(conn, wrapped, [files[i] for i in indexes], clock=world.now)
        return [row.sha256 for row in rows]

    in_flight: list[tuple[list[int], list[str]]] = []
    segments: list[tuple[uuid.UUID, list[str]]] = []  # finalized: id, referenced digests
    keys: dict[str, str] = {}
    try:
        for op in ops:
            if op[0] == "upload":
                shas = await store(op[1], op[2])
                in_flight.append((op[1], shas))
            elif op[0] == "finalize" and in_flight:
                indexes, shas = in_flight.pop(op[1] % len(in_flight))
                # As worker/pipeline/finalization.py: refresh, upload again what was taken.
                if len(await repository.refresh(conn, shas, world.now())) != len(set(shas)):
                    shas = await store(indexes, "none")
                segment_id = uuid.uuid4()
                async with conn.transaction() as tx:
                    created = await tx.driver.fetchval(
                        "INSERT INTO segments (id, scene_id, sequence, text)"
                        " VALUES ($1, $2, $3, 'x')"
                        " RETURNING created_at",
                        segment_id,
                        uuid.UUID(scene["id"]),
                        next(sequence),
                    )
                    refs = [Reference(MediaRole.CHUNK, p, sha, 1.0) for p, sha in enumerate(shas)]
                    await repository.reference(tx, segment_id, created, refs)
                segments.append((segment_id, shas))
            elif op[0] == "crash" and in_flight:
                in_flight.pop(op[1] % len(in_flight))
            elif op[0] == "hide" and segments:
                segment_id = segments[op[1] % len(segments)][0]
                await conn.driver.execute(
                    "UPDATE segments SET status = 'hidden' WHERE id = $1", segment_id
                )
            elif op[0] == "sweep":
                await sweep_now()
            elif op[0] == "tick":
                world.tick()
            elif op[0] == "tick_sweep":
                await tick_sweep()
            await assert_referenced_intact(conn, storage, segments, keys)
        # Every job ends (finalized or crashed); once the grace has passed, a sweep leaves
        # exactly what the segments use.
        in_flight.clear()
        await tick_sweep()
        await assert_referenced_intact(conn, storage, segments, keys)
        possible = {describe(path).key for path in files}  # every key this example could make
        ours = {k for k in await storage.list("objects/") if k in possible}
        assert ours == {keys[sha] for _, shas in segments for sha in shas}
    finally:
        await conn.driver.close()


async def assert_referenced_intact(
    conn: Channel,
    storage: Storage,
    segments: list[tuple[uuid.UUID, list[str]]],
    keys: dict[str, str],
) -> None:
    for segment_id, shas in segments:
        rows = await conn.driver.fetch(
            "SELECT o.sha256, o.key FROM segment_media m JOIN media_objects o"
            " ON o.sha256 = m.object_sha256 WHERE m.segment_id = $1",
            segment_id,
        )
        assert {r["sha256"] for r in rows} == set(shas)
        for row in rows:
            keys[row["sha256"]] = row["key"]
            assert await storage.exists(row["key"]), f"referenced object {row['key']} is gone"


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
# The hazards by name: a sweep between the touch and the bytes, then a crash; a sweep taking
# an older row of the same content just as the bytes land again; a sweep after the bytes
# landed; a finalization after the grace and a sweep (its rows were taken: uploaded again);
# one content shared by two segments, one of them hidden.
@example(ops=[("upload", [0], "before_put"), ("crash", 0)])
@example(ops=[("upload", [0], "none"), ("crash", 0), ("upload", [0], "after_put"), ("finalize", 0)])
@example(ops=[("upload", [0, 1], "after_put"), ("finalize", 0)])
@example(ops=[("upload", [0], "none"), ("tick_sweep",), ("finalize", 0)])
@example(
    ops=[
        ("upload", [0, 1], "none"),
        ("upload", [1, 2], "none"),
        ("finalize", 0),
        ("hide", 0),
        ("tick_sweep",),
        ("finalize", 0),
    ]
)
async def test_nothing_referenced_is_removed_nothing_orphaned_is_kept(
    world: World, tmp_path: Path, ops: list[Any]
) -> None:
    root = tmp_path / uuid.uuid4().hex
    root.mkdir()
    await run_scenario(world, LocalStorage(root / "media"), ops, root)


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
async def test_the_same_on_s3(
    world: World,
    tmp_path: Path,
    s3_endpoint: str,
    ops: list[Any],
) -> None:
    import boto3

    bucket = f"sweeper-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=bucket)
    root = tmp_path / uuid.uuid4().hex
    root.mkdir()
    await run_scenario(world, S3Storage(bucket, endpoint_url=s3_endpoint), ops, root)


async def test_an_export_keeps_its_object_and_a_crashed_build_leaves_no_orphan(
    world: World, tmp_path: Path
) -> None:
    """Scene exports name their MP4 by its key (no foreign key): the sweeper asks them too."""
    db, storage = world.app.state.db, LocalStorage(tmp_path / "media")
    owner = await world.factory.account()
    scene_id = uuid.UUID((await world.factory.scene(owner))["id"])
    made, crashed = tmp_path / "made.mp4", tmp_path / "crashed.mp4"
    made.write_bytes(uuid.uuid4().bytes * 8)
    crashed.write_bytes(uuid.uuid4().bytes * 8)

    # As worker/scene_export.py: stored, then named by a ready export while its row is held.
    stored = await store_path(db, storage, made)
    lost = await store_path(db, storage, crashed)  # this build dies before it is named
    assert stored.key.startswith("objects/") and lost.key.startswith("objects/")
    world.tick()
    async with db.transaction() as session:
        assert await repository.hold_object(session, stored.sha256)
        # A sweep meanwhile skips the held row (the export is not committed yet).
        swept = await sweep(db, storage, GRACE, now=world.now())
        assert lost.key in swept.removed and stored.key not in swept.removed
        export = SceneExport(
            scene_id=scene_id,
            fingerprint=uuid.uuid4().hex,
            segment_ids=[],
            status=ExportStatus.READY.value,
            storage_key=stored.key,
        )
        session.add(export)
    assert "scene_exports" in swept.referrers
    assert not await storage.exists(lost.key)  # no orphan once the grace has passed

    # Named by an export, it outlives any number of sweeps...
    world.tick()
    assert stored.key not in (await sweep(db, storage, GRACE, now=world.now())).removed
    assert await storage.exists(stored.key)
    # ...and once the export is dropped (superseded), the next sweep after the grace takes it.
    async with db.transaction() as session:
        await session.delete(await session.get(SceneExport, export.id))
    world.tick()
    assert stored.key in (await sweep(db, storage, GRACE, now=world.now())).removed
    assert not await storage.exists(stored.key)
