"""Job event streams: thousands of SSE watchers on one API process, fed by one LISTEN.

Jobs are seeded and moved to `processing` as a worker's claim leaves them (no worker runs
them), one API process is started, and W raw HTTP/1.1 clients open GET /v1/jobs/{id}/events
spread over the jobs. This process then writes the jobs as the worker's run does (its own
progress statement, `domain.jobs.run_repository.report`, on a channel connection from the
worker's pool, autocommit) at a fixed rate and every client timestamps each frame it reads:
latency is from just before the UPDATE was sent to the client's read of the frame. The
database's committed transactions per second (pg_stat_database) are sampled over the same
window, for W = 100 and W = 2,000; the verdict wants them flat in W (within FLAT_RATIO).
"""

from __future__ import annotations

import asyncio
import gc
import os
import resource
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import uvloop

from api.app import create_app
from domain.jobs import run_repository
from domain.jobs.models import Job, JobStage, JobStatus
from infra.db import Database
from infra.devservices import asyncpg_dsn
from infra.prepared import Channel
from infra.settings import Settings
from tests.benchmarks import percentile, table
from tests.benchmarks.support import bench_settings, serve_process
from tests.factories import Factory
from tests.scratch import scratch_database

JOBS = int(os.environ.get("BENCH_EVENTS_JOBS", "20"))
WATCHERS = tuple(int(n) for n in os.environ.get("BENCH_EVENTS_WATCHERS", "100,2000").split(","))
WRITES_PER_JOB_SECOND = float(os.environ.get("BENCH_EVENTS_RATE", "2"))
SECONDS = float(os.environ.get("BENCH_EVENTS_SECONDS", "10"))
CONNECT_BATCH = 100
# A backend reports its transactions to pg_stat_database when it goes idle, but at most once a
# second, and an idle one that was too early only after PGSTAT_IDLE_INTERVAL (10 s): the window
# is opened and closed after quiet periods longer than that, so every transaction is counted.
STATS_SETTLE_SECONDS = 11.0
# Database load is flat in W when the other transactions per second of every round are
# within this ratio of each other.
FLAT_RATIO = 1.2


@dataclass
class Received:
    latencies: list[float] = field(default_factory=list)
    frames: int = 0


def _settings(database_url: str, root: Path) -> Settings:
    return bench_settings(database_url, root, MAX_JOBS_IN_FLIGHT=1000)


async def _seed(settings: Settings) -> tuple[dict[str, str], list[str]]:
    """An owner with JOBS jobs; nothing runs them but this benchmark's writer."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b")
        factory = Factory(app, client)
        owner = await factory.account()
        scene = await factory.scene(owner)
        jobs = []
        for n in range(JOBS):
            response = await client.post(
                f"/v1/scenes/{scene['id']}/continuations",
                json={"text": f"Watcher bench job {n}: the bell rings."},
                headers={**owner.headers, "Idempotency-Key": uuid.uuid4().hex},
            )
            response.raise_for_status()
            jobs.append(response.json()["id"])
        await client.aclose()
    return owner.headers, jobs


async def _start(dsn: str, ids: list[str]) -> list[Job]:
    """The jobs as a worker's claim leaves them: processing, first stage, attempt 1."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "UPDATE jobs SET status = $2, stage = $3, attempt = attempt + 1, started_at = now() "
            "WHERE id = ANY($1::uuid[]) RETURNING id, created_at, attempt",
            [uuid.UUID(i) for i in ids],
            JobStatus.PROCESSING.value,
            JobStage.SCRIPT_EXPANSION.value,
        )
    finally:
        await conn.close()
    by_id = {
        str(r["id"]): Job(id=r["id"], created_at=r["created_at"], attempt=r["attempt"])
        for r in rows
    }
    return [by_id[i] for i in ids]


async def _watch(
    base: str,
    headers: dict[str, str],
    job_id: str,
    sent: dict[tuple[str, int], float],
    received: Received,
    connected: asyncio.Event,
    counter: list[int],
    total: int,
) -> None:
    """One raw HTTP/1.1 SSE client: as light as a client can be, so thousands fit here."""
    url = urlsplit(base)
    reader, writer = await asyncio.open_connection(url.hostname, url.port, limit=1 << 20)
    lines = [f"GET /v1/jobs/{job_id}/events HTTP/1.1", f"Host: {url.netloc}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    first = True
    try:
        while line := await reader.readline():
            if not line.startswith(b"data: "):
                continue
            now = time.perf_counter()
            if first:
                first = False
                counter[0] += 1
                if counter[0] == total:
                    connected.set()
                continue
            # Only the two fields the clock needs: a full JSON parse of every frame of 2,000
            # streams would make this process, not the server, the bottleneck measured.
            job = line[line.index(b'"id":"') + 6 :][:36].decode()
            progress = int(line[line.index(b'"progress":') + 11 :].split(b",", 1)[0])
            at = sent.get((job, progress))
            if at is not None:
                received.latencies.append(now - at)
                received.frames += 1
    finally:
        writer.close()


async def _xacts(conn: asyncpg.Connection) -> int:
    # pg_stat_database is refreshed at transaction end: read it in a fresh snapshot each time.
    await conn.execute("SELECT pg_stat_clear_snapshot()")
    return int(
        await conn.fetchval(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database "
            "WHERE datname = current_database()"
        )
    )


async def _round(
    base: str,
    settings: Settings,
    headers: dict[str, str],
    running: list[Job],
    watchers: int,
    start: int,
) -> dict[str, Any]:
    dsn = asyncpg_dsn(settings.database_url)
    jobs = [str(j.id) for j in running]
    sent: dict[tuple[str, int], float] = {}
    received = Received()
    connected = asyncio.Event()
    counter = [0]
    tasks = []
    began = time.perf_counter()
    for n in range(watchers):
        job = jobs[n % len(jobs)]
        tasks.append(
            asyncio.create_task(
                _watch(base, headers, job, sent, received, connected, counter, watchers)
            )
        )
        if n % CONNECT_BATCH == CONNECT_BATCH - 1:
            await asyncio.sleep(0.05)  # let the batch's handshakes through first
    await asyncio.wait_for(connected.wait(), 300)
    connect_seconds = time.perf_counter() - began
    gc.collect()
    gc.freeze()  # 2,000 clients' objects: no full collection pauses in the measured window
    await asyncio.sleep(1.0)  # connection storms settle
    # The worker's own connection kind (its channel pool) and statement (report).
    db = Database(settings)
    stats = await asyncpg.connect(dsn)
    interval = 1.0 / (WRITES_PER_JOB_SECOND * len(jobs))
    writes = int(SECONDS / interval)
    async with db.channel_connection() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None
        channel = Channel(driver)
        await asyncio.sleep(STATS_SETTLE_SECONDS)
        before = await _xacts(stats)
        window = time.perf_counter()
        clock = time.perf_counter()
        for k in range(writes):
            index = k % len(jobs)
            progress = start + k // len(jobs)
            sent[(jobs[index], progress)] = time.perf_counter()
            message = f"step {progress}"
            if not await run_repository.report(
                channel, running[index], progress=progress, message=message
            ):
                raise RuntimeError(f"job {jobs[index]} ended under the benchmark")
            delay = clock + (k + 1) * interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        elapsed = time.perf_counter() - clock
    await db.dispose()
    await asyncio.sleep(STATS_SETTLE_SECONDS)
    after = await _xacts(stats)
    window = time.perf_counter() - window
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await stats.close()
    expected = writes * watchers // len(jobs)
    others = after - before - writes
    ordered = sorted(received.latencies)
    return {
        "watchers": watchers,
        "connect_seconds": connect_seconds,
        "writes_per_second": writes / elapsed,
        "writes": writes,
        "others": others,
        "window": window,
        "frames": received.frames,
        "expected": expected,
        "p50": percentile(ordered, 0.5) if ordered else float("nan"),
        "p99": percentile(ordered, 0.99) if ordered else float("nan"),
        "max": ordered[-1] if ordered else float("nan"),
        "last_progress": start + writes // len(jobs),
    }


def _raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 65536
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return wanted


async def _measure(url: str, root: Path) -> list[dict[str, Any]]:
    settings = _settings(url, root)
    headers, ids = await _seed(settings)
    running = await _start(asyncpg_dsn(url), ids)
    results = []
    async with serve_process("api.app:create_app", settings, root) as base:
        start = 1
        for watchers in WATCHERS:
            result = await _round(base, settings, headers, running, watchers, start)
            start = result["last_progress"] + 1
            results.append(result)
    return results


def run() -> str:
    limit = _raise_fd_limit()  # the API process inherits it
    # uvloop on the client side too, as uvicorn uses it on the server side.
    with (
        scratch_database("bench_events") as url,
        tempfile.TemporaryDirectory() as tmp,
        asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner,
    ):
        results = runner.run(_measure(url, Path(tmp)))
    rows = [
        [
            f"{r['watchers']:,}",
            f"{r['connect_seconds']:.1f} s",
            f"{r['writes_per_second']:.0f}",
            f"{r['writes']:,}",
            f"{r['others']:,} ({r['others'] / r['window']:.2f}/s over {r['window']:.0f} s)",
            f"{r['frames']:,} / {r['expected']:,}",
            f"{r['p50'] * 1000:.1f} ms",
            f"{r['p99'] * 1000:.1f} ms",
            f"{r['max'] * 1000:.1f} ms",
        ]
        for r in results
    ]
    fast = all(r["p99"] < 0.1 for r in results)
    rates = [r["others"] / r["window"] for r in results]
    flat = max(rates) <= FLAT_RATIO * min(rates) if min(rates) > 0 else max(rates) == 0
    body = table(
        [
            "watchers",
            "all connected in",
            "job writes/s",
            "job writes (transactions)",
            "all other DB transactions",
            "frames read / expected",
            "latency p50",
            "latency p99",
            "latency max",
        ],
        rows,
    )
    return "\n".join(
        [
            "## Job event streams: SSE fan-out (`bench_events`)",
            "",
            f"{JOBS} processing jobs, each written {WRITES_PER_JOB_SECOND:g} times a second for "
            f"{SECONDS:g} s by one connection of the worker's channel pool with the worker's "
            "own progress statement (`run_repository.report`, one UPDATE in autocommit); "
            "W raw HTTP/1.1 clients in one Python process watch them through "
            "one API process (uvicorn, its own process). Latency: from just before the "
            "UPDATE is sent to the client reading the frame (same clock; the client shares its "
            f"process with the writer). Open-file limit raised to {limit}.",
            "",
            "Other DB transactions: pg_stat_database's xact_commit + xact_rollback over the "
            f"window (from {STATS_SETTLE_SECONDS:g} s before the first write to "
            f"{STATS_SETTLE_SECONDS:g} s after the last, so that every backend has reported), "
            "minus the writes. Nearly all are the API process's LISTEN backend reading the "
            "notification queue: PostgreSQL wakes an idle listener and has it read the queue in "
            "a transaction of its own, one per batch of notifications (here about one per "
            "write, as writes are spaced out), whatever the number of watchers; the rest are "
            "the feed's 5-second ping and the sampling.",
            "",
            body,
            "",
            f"- Target: database load flat in W (one LISTEN per API process; the old design "
            f"polled twice a second per watcher, {2 * WATCHERS[-1]:,} queries/s at "
            f"{WATCHERS[-1]:,}): other transactions/s within {FLAT_RATIO:g}x across W "
            f"({' / '.join(f'{r:.2f}' for r in rates)}): {'met' if flat else 'NOT met'}; "
            f"p99 under 100 ms: {'met' if fast else 'NOT met'}.",
        ]
    )
