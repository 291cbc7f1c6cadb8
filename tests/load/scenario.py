"""The load test's world and its simulated users.

The stack is the real one, as separate processes on loopback: the API under uvicorn and an
arq worker (`python -m worker.main`), against the local PostgreSQL (a scratch database) and
Redis. The world (accounts, ideas, scenes, one job per poller) is written in-process before the
clock starts; accounts get their access tokens minted directly, so setting up hundreds of users
does not cost hundreds of password hashes (nor trip the sign-in throttle).

Simulated users, each a loop of its own:
- pollers: GET /v1/jobs/{their job} every second with If-None-Match (200 or 304);
- submitters: POST a continuation (202), poll it every second until it ends, and again; one
  job in flight each, under MAX_JOBS_IN_FLIGHT, so no 429 is expected;
- browsers: the scene list, a scene, its segments, the idea list, an idea (200), with a pause.
Any other status, or a transport error, counts as an error of its request kind.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, update

from api.app import create_app
from domain.jobs import service as jobs_service
from domain.jobs.models import Job
from domain.users.models import Role, User
from infra import queue as job_queue
from infra.security import hash_password, issue_access_token
from infra.settings import Settings
from tests.factories import PASSWORD, Factory, unique
from tests.worker.processes import Child, free_port, settings_env

TEXT = "Mara Hart walks to the old docks at dawn. The bell rings once."
TERMINAL = {"final_ready", "failed", "cancelled"}
POLL_EVERY = 1.0
WORKER_NICENESS = 15
EXPECTED = {
    "poll job": {200, 304},
    "submit continuation": {202},
    "list scenes": {200},
    "scene": {200},
    "scene segments": {200},
    "list ideas": {200},
    "idea": {200},
}


@dataclass(frozen=True)
class Shape:
    seconds: float
    warmup: float
    pollers: int
    submitters: int
    browsers: int
    browse_pause: float


@dataclass
class World:
    admin: dict[str, str]
    pollers: list[tuple[dict[str, str], str]]  # (headers, job id)
    submitters: list[tuple[dict[str, str], str]]  # (headers, scene id)
    browsers: list[dict[str, str]]
    scenes: list[str]
    ideas: list[str]


@dataclass
class Recorder:
    """Every request's kind, status and latency, kept only inside the measured window."""

    window: tuple[float, float] = (0.0, 0.0)
    samples: dict[str, list[float]] = field(default_factory=dict)
    statuses: dict[str, dict[str, int]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    error_examples: list[str] = field(default_factory=list)
    jobs: dict[str, int] = field(default_factory=dict)
    api_cpu_seconds: float | None = None  # the API process's CPU time inside the window

    async def call(self, kind: str, request: Awaitable[httpx.Response]) -> httpx.Response | None:
        """Await `request` (not yet started: a coroutine starts when awaited) and record it."""
        started = time.perf_counter()
        response: httpx.Response | None
        try:
            response = await request
            status = str(response.status_code)
        except httpx.HTTPError as exc:
            response, status = None, type(exc).__name__
        elapsed = time.perf_counter() - started
        if self.window[0] <= started < self.window[1]:
            self.samples.setdefault(kind, []).append(elapsed)
            seen = self.statuses.setdefault(kind, {})
            seen[status] = seen.get(status, 0) + 1
            if response is None or response.status_code not in EXPECTED[kind]:
                self.errors[kind] = self.errors.get(kind, 0) + 1
                if len(self.error_examples) < 10:
                    body = response.text[:200] if response is not None else ""
                    self.error_examples.append(f"{kind}: {status} {body}")
        return response


async def build_world(settings: Settings, shape: Shape) -> World:
    """Accounts, ideas and scenes through the real services, before any clock starts."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://load") as client:
            factory = Factory(app, client)
            admin = await factory.account(Role.ADMIN)
            curator = await factory.account()
            topic = await factory.topic(admin)
            ideas = [await factory.idea(curator, topic) for _ in range(5)]
            browse = [await factory.scene(curator, ideas[i % 5]) for i in range(8)]
            own = [await factory.scene(curator, ideas[i % 5]) for i in range(shape.submitters)]
            people = await _users(app, shape.pollers + shape.submitters + shape.browsers)
            pollers = people[: shape.pollers]
            jobs = await _parked_jobs(app, settings, pollers, [s["id"] for s in browse])
    submitters = people[shape.pollers : shape.pollers + shape.submitters]
    return World(
        admin=admin.headers,
        pollers=[(_headers(settings, u), j) for u, j in zip(pollers, jobs, strict=True)],
        submitters=[(_headers(settings, u), s["id"]) for u, s in zip(submitters, own, strict=True)],
        browsers=[_headers(settings, u) for u in people[shape.pollers + shape.submitters :]],
        scenes=[s["id"] for s in browse],
        ideas=[i["id"] for i in ideas],
    )


def _headers(settings: Settings, user: User) -> dict[str, str]:
    token, _ = issue_access_token(settings, user.id, user.role)
    return {"Authorization": f"Bearer {token}"}


async def _users(app: Any, count: int) -> list[User]:
    digest = hash_password(PASSWORD)  # once: every simulated user shares it
    async with app.state.db.transaction() as session:
        users = []
        for _ in range(count):
            name = unique("load")
            users.append(
                User(
                    email=f"{name}@example.com",
                    username=name,
                    password_hash=digest,
                    role=Role.USER.value,
                )
            )
        session.add_all(users)
        await session.flush()
    return users


async def _parked_jobs(
    app: Any, settings: Settings, owners: list[User], scenes: list[str]
) -> list[str]:
    """One job per poller, written by the real service, never enqueued and then ended
    (cancelled): polling it costs what polling any job costs, without rendering hundreds of
    videos. A parked job left queued would not stay parked: the worker's recovery takes up
    every unfinished job that no run holds."""
    ids = []
    async with app.state.db.transaction() as session:
        for index, owner in enumerate(owners):
            submission = await jobs_service.submit_continuation(
                session,
                settings,
                owner,
                uuid.UUID(scenes[index % len(scenes)]),
                TEXT,
                uuid.uuid4().hex,
            )
            ids.append(submission.job.id)
        job_queue.drop_pending(session)  # parked on purpose: never pushed to the queue
        await session.execute(
            update(Job)
            .where(Job.id.in_(ids))
            .values(status="cancelled", finished_at=func.now(), message="Parked for the load test.")
        )
    return [str(i) for i in ids]


class Stack:
    """The API (uvicorn) and a worker as child processes on loopback."""

    def __init__(self, settings: Settings, log_dir: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = settings_env(settings)
        python = sys.executable
        api = [python, "-m", "uvicorn", "api.app:create_app", "--factory", "--host", "127.0.0.1",
               "--port", str(self.port), "--no-access-log", "--log-level", "warning"]  # fmt: skip
        cwd = Path(__file__).resolve().parents[2]
        self.api = Child(api, log_dir / "api.log", env, cwd)
        # Niced, ffmpeg and all: in production the worker has machines of its own, and here it
        # would otherwise take the cores from under the API that this test measures.
        worker = ["nice", "-n", str(WORKER_NICENESS), python, "-m", "worker.main"]
        self.worker = Child(worker, log_dir / "worker.log", env, cwd)

    async def wait_ready(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        async with httpx.AsyncClient(base_url=self.base, timeout=2) as client:
            while time.monotonic() < deadline:
                if not self.api.alive:
                    break
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
        raise RuntimeError(f"the API did not become ready:\n{self.api.log_tail()}")

    def stop(self) -> None:
        for child in (self.api, self.worker):
            child.stop()


async def poller(
    client: httpx.AsyncClient, rec: Recorder, headers: dict[str, str], job_id: str, until: float
) -> None:
    await asyncio.sleep(random.random() * POLL_EVERY)  # spread the pollers over the second
    tag: str | None = None
    while time.perf_counter() < until:
        started = time.perf_counter()
        sent = {**headers, "If-None-Match": tag} if tag else headers
        response = await rec.call("poll job", client.get(f"/v1/jobs/{job_id}", headers=sent))
        if response is not None and response.status_code == 200:
            tag = response.headers.get("etag")
        await asyncio.sleep(max(0.0, POLL_EVERY - (time.perf_counter() - started)))


async def submitter(
    client: httpx.AsyncClient, rec: Recorder, headers: dict[str, str], scene_id: str, until: float
) -> None:
    await asyncio.sleep(random.random() * POLL_EVERY)
    while time.perf_counter() < until:
        keyed = {**headers, "Idempotency-Key": uuid.uuid4().hex}
        response = await rec.call(
            "submit continuation",
            client.post(f"/v1/scenes/{scene_id}/continuations", json={"text": TEXT}, headers=keyed),
        )
        if response is None or response.status_code != 202:
            await asyncio.sleep(POLL_EVERY)
            continue
        rec.jobs["submitted"] = rec.jobs.get("submitted", 0) + 1
        job_id = response.json()["id"]
        status = response.json()["status"]
        while status not in TERMINAL and time.perf_counter() < until:
            await asyncio.sleep(POLL_EVERY)
            polled = await rec.call("poll job", client.get(f"/v1/jobs/{job_id}", headers=headers))
            if polled is not None and polled.status_code == 200:
                status = polled.json()["status"]
        rec.jobs[status] = rec.jobs.get(status, 0) + 1


async def browser(
    client: httpx.AsyncClient,
    rec: Recorder,
    headers: dict[str, str],
    world: World,
    pause: float,
    until: float,
) -> None:
    await asyncio.sleep(random.random() * pause)
    while time.perf_counter() < until:
        scene, idea = random.choice(world.scenes), random.choice(world.ideas)
        visits: list[tuple[str, str]] = [
            ("list scenes", "/v1/scenes?limit=20"),
            ("scene", f"/v1/scenes/{scene}"),
            ("scene segments", f"/v1/scenes/{scene}/segments"),
            ("list ideas", "/v1/ideas?limit=20"),
            ("idea", f"/v1/ideas/{idea}"),
        ]
        for kind, path in visits:
            if time.perf_counter() >= until:
                return
            await rec.call(kind, client.get(path, headers=headers))
            await asyncio.sleep(pause)


async def _clock_cpu(
    rec: Recorder, cpu_seconds: Callable[[], float], start: float, until: float
) -> None:
    await asyncio.sleep(max(0.0, start - time.perf_counter()))
    before = cpu_seconds()
    await asyncio.sleep(max(0.0, until - time.perf_counter()))
    rec.api_cpu_seconds = cpu_seconds() - before


async def drive(
    base: str, world: World, shape: Shape, cpu_seconds: Callable[[], float] | None = None
) -> tuple[Recorder, float]:
    """Run every simulated user until the window closes; returns the recorder and its length.

    `cpu_seconds` (the API process's CPU time so far) is read as the window opens and closes.

    Each user has a client (one keep-alive connection) of its own, as a browser would: one
    client shared by hundreds of loops spends more time in its connection pool than the API
    spends answering, and the figures would measure the generator.
    """
    rec = Recorder()
    one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with contextlib.AsyncExitStack() as stack:

        async def client() -> httpx.AsyncClient:
            made = httpx.AsyncClient(base_url=base, limits=one, timeout=10, verify=False)
            return await stack.enter_async_context(made)

        now = time.perf_counter()
        start, until = now + shape.warmup, now + shape.warmup + shape.seconds
        rec.window = (start, until)
        loops = [poller(await client(), rec, h, j, until) for h, j in world.pollers]
        loops += [submitter(await client(), rec, h, s, until) for h, s in world.submitters]
        loops += [
            browser(await client(), rec, h, world, shape.browse_pause, until)
            for h in world.browsers
        ]
        if cpu_seconds is not None:
            loops.append(_clock_cpu(rec, cpu_seconds, start, until))
        await asyncio.gather(*loops)
    return rec, until - start
