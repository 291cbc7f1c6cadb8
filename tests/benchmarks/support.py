"""Scratch databases and servers for benchmarks: the same real parts the tests use."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from infra.settings import ROOT, Settings
from tests.worker.processes import free_port


def bench_settings(database_url: str, root: Path, **extra: Any) -> Settings:
    """Settings for a benchmark's scratch database: media and work under `root`, a queue of
    its own, quiet plain-text logs unless `extra` says otherwise."""
    values: dict[str, Any] = {
        "STORYLOOM_ENV": "test",
        "DATABASE_URL": database_url,
        "QUEUE_NAME": f"storyloom:bench:{uuid.uuid4().hex[:8]}",
        "MEDIA_DIR": root / "media",
        "WORK_DIR": root / "work",
        "LOG_LEVEL": "WARNING",
        "LOG_JSON": False,
        **extra,
    }
    return Settings(**values)


@contextlib.asynccontextmanager
async def in_process(settings: Settings) -> AsyncIterator[tuple[Any, httpx.AsyncClient, Any]]:
    """The app (started) with an in-process client and a test data factory, for seeding."""
    from api.app import create_app
    from tests.factories import Factory

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            yield app, client, Factory(app, client)


@contextlib.asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    """`app` on a real loopback HTTP server in this event loop."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, lifespan="off", log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def serve_process(
    factory: str, settings: Any, log_dir: Any, *, workers: int = 1
) -> AsyncIterator[str]:
    """`factory` (module:function) under uvicorn in a process of its own, on loopback.

    The load generator then has this process to itself, as a real client would: measuring a
    server from inside its own event loop charges the generator's work to the server.
    """
    async with server_process(factory, settings, log_dir, workers=workers) as server:
        yield server.base


@dataclass(frozen=True)
class Server:
    base: str
    child: Any  # tests.worker.processes.Child

    def cpu_seconds(self) -> float:
        """User + system CPU of the server process and its live children (uvicorn workers)."""
        return process_cpu_seconds(self.child.pid)


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process `pid` and its live children, from /proc."""
    return sum(_cpu_seconds(p) for p in [pid, *_children(pid)])


def _cpu_seconds(pid: int) -> float:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": field 3 is fields[0]
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


@contextlib.asynccontextmanager
async def server_process(
    factory: str, settings: Any, log_dir: Any, *, workers: int = 1
) -> AsyncIterator[Server]:
    """`serve_process`, with the process itself (its CPU time) at hand."""
    from tests.worker.processes import Child, settings_env

    port = free_port()
    args = [sys.executable, "-m", "uvicorn", factory, "--factory", "--host", "127.0.0.1",
            "--port", str(port), "--no-access-log", "--log-level", "warning",
            "--workers", str(workers)]  # fmt: skip
    name = factory.replace(":", "_").replace(".", "_")
    child = Child(args, log_dir / f"{name}.log", settings_env(settings), ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=2) as client:
            deadline = time.monotonic() + 60
            while True:
                if not child.alive or time.monotonic() > deadline:
                    raise RuntimeError(f"{factory} did not start:\n{child.log_tail()}")
                try:
                    await client.get("/healthz")
                    break
                except httpx.HTTPError:
                    await asyncio.sleep(0.1)
        yield Server(base, child)
    finally:
        child.stop()
