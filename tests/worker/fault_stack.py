"""The world of one fault test: a private database, its own queue, app, storage and processes.

Fault tests run their workers as subprocesses with JOB_STUCK_AFTER_SECONDS=1, whose recovery
cron would re-enqueue every unfinished job it can see; a private database keeps it from
touching (and rendering) the jobs other test modules left queued on purpose.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from domain.jobs import repository
from domain.jobs.models import TERMINAL_STATUSES, Job
from domain.media.sweeper import sweep
from domain.scenes.models import Scene, SceneBible, Segment, SegmentSequence
from infra.settings import Settings
from tests.factories import Account, Factory
from tests.worker.processes import Child, Processes, RedisServer

needs_redis_server = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="redis-server binary not installed"
)
SUBPROCESS_WORKER = {"worker_poll_delay": 0.05, "log_level": "INFO"}


@dataclass
class Stack:
    settings: Settings
    app: Any
    client: httpx.AsyncClient
    factory: Factory
    processes: Processes
    fault_dir: Path

    def derive(self, **fields: Any) -> Settings:
        return self.settings.model_copy(update=fields)

    def worker(self, env: Mapping[str, Any] | None = None, **fields: Any) -> Child:
        """The real worker, `python -m worker.main`, with these settings changed."""
        return self.processes.worker(self.derive(**{**SUBPROCESS_WORKER, **fields}), env=env)

    def faulty_worker(
        self, stage: str, at: str = "start", env: Mapping[str, Any] | None = None, **fields: Any
    ) -> Child:
        """A worker whose jobs pause in `stage` (see tests/worker/faulty_worker.py)."""
        fault = {"FAULT_PAUSE_STAGE": stage, "FAULT_PAUSE_AT": at, "FAULT_DIR": self.fault_dir}
        return self.processes.worker(
            self.derive(**{**SUBPROCESS_WORKER, **fields}),
            module="tests.worker.faulty_worker",
            env={**(env or {}), **fault},
        )

    async def submit(self, account: Account, scene_id: str, text: str) -> str:
        response = await self.client.post(
            f"/v1/scenes/{scene_id}/continuations",
            json={"text": text},
            headers={**account.headers, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert response.status_code == 202, response.text
        return str(response.json()["id"])

    async def job(self, job_id: str) -> Job:
        async with self.app.state.db.session() as session:
            job = await repository.get(session, uuid.UUID(job_id))
        assert job is not None, job_id
        return job

    async def wait_job(
        self, job_id: str, done: Callable[[Job], bool], what: str, seconds: float = 60
    ) -> Job:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            job = await self.job(job_id)
            if done(job):
                return job
            if loop.time() > deadline:
                raise AssertionError(
                    f"job {job_id} never got {what} in {seconds}s: status={job.status} "
                    f"stage={job.stage} message={job.message!r}\n{self.processes.logs()}"
                )
            await asyncio.sleep(0.1)

    async def jobs(self, job_ids: list[str]) -> list[Job]:
        return [await self.job(job_id) for job_id in job_ids]

    async def wait_jobs(
        self, job_ids: list[str], done: Callable[[list[Job]], bool], what: str, seconds: float = 60
    ) -> list[Job]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not done(jobs := await self.jobs(job_ids)):
            if loop.time() > deadline:
                states = [(j.status, j.stage, j.attempt, j.message) for j in jobs]
                raise AssertionError(f"never {what}: {states}\n{self.processes.logs()}")
            await asyncio.sleep(0.05)
        return jobs

    async def wait_end(self, job_id: str, seconds: float = 60) -> Job:
        return await self.wait_job(
            job_id, lambda j: j.status in TERMINAL_STATUSES, "to an end", seconds
        )

    async def wait_paused(self, job_id: str, worker: Child, seconds: float = 60) -> None:
        marker = self.fault_dir / f"paused-{job_id}"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not marker.exists():
            if not worker.alive or loop.time() > deadline:
                job = await self.job(job_id)
                raise AssertionError(
                    f"job {job_id} never paused (worker alive: {worker.alive}, "
                    f"status={job.status}, stage={job.stage})\n{self.processes.logs()}"
                )
            await asyncio.sleep(0.05)

    def release(self, job_id: str) -> None:
        (self.fault_dir / f"release-{job_id}").touch()

    async def segments(self, scene_id: str) -> list[Segment]:
        async with self.app.state.db.session() as session:
            rows = await session.scalars(
                select(Segment)
                .where(Segment.scene_id == uuid.UUID(scene_id))
                .order_by(Segment.sequence)
            )
            return list(rows)

    async def sequences(self, scene_id: str) -> list[SegmentSequence]:
        async with self.app.state.db.session() as session:
            rows = await session.scalars(
                select(SegmentSequence)
                .where(SegmentSequence.scene_id == uuid.UUID(scene_id))
                .order_by(SegmentSequence.sequence)
            )
            return list(rows)

    async def scene(self, scene_id: str) -> Scene:
        async with self.app.state.db.session() as session:
            scene = await session.get(Scene, uuid.UUID(scene_id))
        assert scene is not None
        return scene

    async def bible_versions(self, scene_id: str) -> list[int]:
        async with self.app.state.db.session() as session:
            rows = await session.scalars(
                select(SceneBible.version)
                .where(SceneBible.scene_id == uuid.UUID(scene_id))
                .order_by(SceneBible.version)
            )
            return list(rows)

    async def media_keys(self, scene_id: str | None = None) -> list[str]:
        """Every stored object: a stack's storage is its own test's (scene_id: any scene)."""
        return list(await self.app.state.storage.list("objects/"))

    async def referenced_keys(self, scene_id: str | None = None) -> set[str]:
        """The keys of the objects the scene's segments use (None: any segment's; identical
        renders in other tests' scenes share objects)."""
        async with self.app.state.db.session() as session:
            rows = await session.execute(
                text(
                    "SELECT o.key FROM media_objects o JOIN segment_media m"
                    " ON m.object_sha256 = o.sha256 JOIN segment_sequences q"
                    " ON q.segment_id = m.segment_id"
                    " WHERE q.scene_id = coalesce(CAST(:scene AS uuid), q.scene_id)"
                ),
                {"scene": uuid.UUID(scene_id) if scene_id else None},
            )
            return set(rows.scalars())

    async def segment_media(self, segment_id: uuid.UUID) -> dict[str, list[tuple[str, str]]]:
        """The segment's media rows: role -> [(sha256, key)] in position order."""
        async with self.app.state.db.session() as session:
            rows = await session.execute(
                text(
                    "SELECT m.role, o.sha256, o.key FROM segment_media m JOIN media_objects o"
                    " ON o.sha256 = m.object_sha256 WHERE m.segment_id = :segment"
                    " ORDER BY m.role, m.position"
                ),
                {"segment": segment_id},
            )
            files: dict[str, list[tuple[str, str]]] = {}
            for role, sha, key in rows:
                files.setdefault(role, []).append((sha, key))
            return files

    async def assert_segment_objects(self, job: Job) -> set[str]:
        """The job's segment has a row for each file its upload stored (chunks, MP4,
        thumbnail, captions if rendered), each naming the object that upload stored, and no
        other; returns the keys. Whatever the clip's length: the count comes from the run."""
        assert job.segment_id is not None
        upload = job.stage_outputs["upload"]
        files = await self.segment_media(job.segment_id)
        expected = {
            "chunk": [sha for sha, _ in upload["chunks"]],
            "video": [upload["video"]],
            "thumbnail": [upload["thumbnail"]],
            **({"captions": [upload["captions"]]} if upload["captions"] else {}),
        }
        assert {role: [sha for sha, _ in rows] for role, rows in files.items()} == expected
        assert len(expected["chunk"]) == upload["hls_segments"] > 0
        keys = {key for rows in files.values() for _, key in rows}
        assert keys == set(upload["keys"].values())
        return keys

    async def sweep_now(self) -> list[str]:
        """A sweep with no grace: what nothing references goes."""
        return (await sweep(self.app.state.db, self.app.state.storage, 0)).removed


async def assert_exactly_once(checks: Stack, scene_id: str, job_ids: list[str]) -> None:
    """One segment per job, sequences 1..N, and storage holds exactly those segments' files."""
    jobs = await checks.jobs(job_ids)
    count = len(job_ids)
    claims = await checks.sequences(scene_id)
    assert [c.sequence for c in claims] == list(range(1, count + 1))
    assert sorted(str(c.job_id) for c in claims) == sorted(job_ids)
    segments = await checks.segments(scene_id)
    assert [s.sequence for s in segments] == list(range(1, count + 1))
    assert sorted(str(s.job_id) for s in segments) == sorted(job_ids)
    assert {s.id for s in segments} == {j.segment_id for j in jobs}
    scene = await checks.scene(scene_id)
    assert (scene.segment_count, scene.bible_version) == (count, count + 1)
    assert await checks.bible_versions(scene_id) == list(range(1, count + 2))

    keys = set(await checks.media_keys(scene_id))
    used = await checks.referenced_keys(scene_id)
    for job in jobs:
        assert await checks.assert_segment_objects(job) <= used, job.id
        assert not (checks.settings.work_dir / str(job.id)).exists(), "work directory left"
    assert keys == used, f"objects no segment uses: {sorted(keys - used)}"
    playlist = await checks.client.get(f"/v1/scenes/{scene_id}/playlist.m3u8")
    assert playlist.status_code == 200


@asynccontextmanager
async def open_redis_stack(
    base: Settings, database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[Stack, RedisServer]]:
    """A stack whose queue lives on a private redis-server that the test may kill."""
    processes = Processes(tmp_path / "processes")
    try:
        redis = processes.redis_server()
        async with open_stack(
            base, database_url, tmp_path, processes=processes, redis_url=redis.url
        ) as opened:
            yield opened, redis
    finally:
        processes.close()


@asynccontextmanager
async def open_stack(
    base: Settings,
    database_url: str,
    tmp_path: Path,
    processes: Processes | None = None,
    **fields: Any,
) -> AsyncIterator[Stack]:
    """An app on its own queue (so no other test's worker takes its jobs) and a process pool."""
    from api.app import create_app

    processes = processes or Processes(tmp_path / "processes")
    fault_dir = tmp_path / "faults"
    fault_dir.mkdir()
    settings = base.model_copy(
        update={
            "database_url": database_url,
            "queue_name": f"storyloom:faults:{uuid.uuid4().hex[:12]}",
            "media_dir": tmp_path / "media",
            "work_dir": tmp_path / "work",
            **fields,
        }
    )
    try:
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            try:
                async with httpx.AsyncClient(
                    transport=transport, base_url="http://faults.test"
                ) as client:
                    yield Stack(settings, app, client, Factory(app, client), processes, fault_dir)
            finally:
                processes.close()
                with contextlib.suppress(Exception):  # the shared Redis keeps no stale queue
                    await app.state.queue.delete(settings.queue_name)
    finally:
        processes.close()
