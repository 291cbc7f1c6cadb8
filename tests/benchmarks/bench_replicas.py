"""Read throughput with the replica router (primary + 1 replica) against the primary alone.

Both setups run in the same process tree on the same throw-away cluster pair
(tests/infra/pg_replica.py): a uvicorn server on loopback, driven by wrk (as in bench_http:
a Python load generator would be the bottleneck) with `GET /v1/topics?limit=20` for SECONDS
after a warm-up. Which server did the work is read from
each server's transaction counters (pg_stat_database), taken after the app has exited.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass

import httpx
from alembic import command
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from domain.topics.models import Topic
from infra.settings import ROOT
from tests.benchmarks import table
from tests.benchmarks.bench_http import CONNECTIONS, THREADS, wrk
from tests.conftest import alembic_config
from tests.infra.pg_replica import ReplicaPair, missing_tools, start_pair
from tests.worker.processes import free_port

SECONDS = float(os.environ.get("BENCH_REPLICAS_SECONDS", "5"))
WARMUP_SECONDS = 1.0
TOPICS = 200
DATABASE = "storyloom"
PATH = "/v1/topics?limit=20"
_XACTS = (
    "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"
)


@dataclass
class Result:
    setup: str
    stats: dict[str, float]  # tests.benchmarks.bench_http.wrk's figures
    primary_xacts: int
    replica_xacts: int

    def row(self) -> list[str]:
        total = max(1, self.primary_xacts + self.replica_xacts)
        return [
            self.setup,
            f"{self.stats['rps']:,.0f}",
            f"{self.stats['p50'] * 1000:.2f} ms",
            f"{self.stats['p99'] * 1000:.2f} ms",
            f"{self.stats['errors']:.0f}",
            f"{self.primary_xacts:,} / {self.replica_xacts:,} ({self.replica_xacts / total:.0%})",
        ]


async def _seed(pair: ReplicaPair) -> None:
    engine = create_async_engine(pair.primary_url(DATABASE))
    try:
        async with AsyncSession(engine) as session, session.begin():
            for n in range(TOPICS):
                slug = f"bench-{n}-{uuid.uuid4().hex[:6]}"
                session.add(Topic(name=slug, slug=slug, display_order=n))
        lsn = await pair.sql(pair.primary_port, "SELECT pg_current_wal_lsn()::text", DATABASE)
        query = f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn"
        for _ in range(600):
            if await pair.sql(pair.replica_port, query, DATABASE):
                return
            await asyncio.sleep(0.05)
        raise RuntimeError("the replica never replayed the seed data")
    finally:
        await engine.dispose()


def _serve(pair: ReplicaPair, port: int, replicas: bool, media: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "STORYLOOM_ENV": "test",
        "DATABASE_URL": pair.primary_url(DATABASE),
        "DATABASE_REPLICA_URLS": pair.replica_url(DATABASE) if replicas else "",
        "QUEUE_NAME": f"storyloom:bench:{uuid.uuid4().hex[:8]}",
        "MEDIA_DIR": media,
        "LOG_LEVEL": "WARNING",
        "LOG_JSON": "false",
    }
    argv = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory"]
    argv += [
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    return subprocess.Popen(argv, cwd=ROOT, env=env)


async def _ready(base: str, replicas: bool) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=5) as client:
        for _ in range(600):
            try:
                response = await client.get("/readyz")
                body = response.json()
                rotation = [r["in_rotation"] for r in body["replicas"]]
                wanted = [True] if replicas else []
                if response.status_code == 200 and rotation == wanted:
                    return
            except (httpx.HTTPError, ValueError):
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"the server at {base} never became ready")


async def _xacts(pair: ReplicaPair) -> tuple[int, int]:
    primary = await pair.sql(pair.primary_port, _XACTS, DATABASE)
    replica = await pair.sql(pair.replica_port, _XACTS, DATABASE)
    return int(primary), int(replica)


def _measure(pair: ReplicaPair, setup: str, replicas: bool, media: str) -> Result:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    before = asyncio.run(_xacts(pair))
    server = _serve(pair, port, replicas, media)
    try:
        asyncio.run(_ready(base, replicas))
        wrk(base + PATH, (), WARMUP_SECONDS)
        stats = wrk(base + PATH, (), SECONDS)
    finally:
        server.terminate()
        server.wait(timeout=30)
    # Backends flush their counters when they exit, which they do once the app has gone.
    time.sleep(1.5)
    after = asyncio.run(_xacts(pair))
    return Result(
        setup,
        stats,
        primary_xacts=after[0] - before[0],
        replica_xacts=after[1] - before[1],
    )


def run() -> str:
    missing = missing_tools()
    if missing:
        return f"Skipped: PostgreSQL server tools are not installed ({', '.join(missing)})."
    pair = start_pair()
    try:
        asyncio.run(pair.sql(pair.primary_port, f'CREATE DATABASE "{DATABASE}"'))
        command.upgrade(alembic_config(pair.primary_url(DATABASE)), "head")
        asyncio.run(pair.wait_streaming())
        asyncio.run(_seed(pair))
        with tempfile.TemporaryDirectory() as media:
            results = [
                _measure(pair, "primary alone", False, media),
                _measure(pair, "router: primary + 1 replica", True, media),
            ]
    finally:
        pair.stop()
    header = ["setup", "requests/s", "p50", "p99", "errors", "transactions primary / replica"]
    return "\n".join(
        [
            "### Read throughput: replica router against the primary alone",
            "",
            f"`GET {PATH}` ({TOPICS} topics), `wrk -t{THREADS} -c{CONNECTIONS}`, one uvicorn",
            f"worker on loopback, {SECONDS:g} s after a {WARMUP_SECONDS:g} s warm-up per setup;",
            "primary and streaming replica are throw-away clusters on the same machine.",
            "",
            table(header, [r.row() for r in results]),
            "",
            "Every server here shares this machine's cores, so the replica adds no capacity:",
            "the figures show what routing costs, and that the router moves the reads off the",
            "primary (the transaction counts), which is what frees it on separate hardware.",
        ]
    )


if __name__ == "__main__":
    print(run())
    sys.exit(0)
