"""A real arq worker, in-process, consuming the test run's queue."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn
from arq.worker import Worker

from infra.settings import Settings
from tests.scratch import private_database
from tests.worker.fault_stack import Stack, open_redis_stack, open_stack
from tests.worker.processes import RedisServer, free_port
from tests.worker.running import stop
from worker.main import worker_options
from worker.refill import RefillingWorker


@pytest.fixture
async def worker(settings: Settings) -> AsyncIterator[Worker]:
    """Runs until the test ends; poll_delay is short so tests do not wait on the queue."""
    options = worker_options(settings)
    options["poll_delay"] = 0.05
    running = RefillingWorker(**options, handle_signals=False)
    task = asyncio.create_task(running.async_run())
    try:
        yield running
    finally:
        await stop(running, task)


@pytest.fixture(scope="session")
async def http_base(app: object) -> AsyncIterator[str]:
    """The app served over real HTTP on loopback, for ffprobe and other real clients."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")  # type: ignore[arg-type]
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture(scope="module")
async def fault_database() -> AsyncIterator[str]:
    """A private database per module: fault tests' recovery crons would take up every
    unfinished job they can see, other modules' queued-on-purpose jobs included."""
    async with private_database("faults") as url:
        yield url


@pytest.fixture
async def stack(settings: Settings, fault_database: str, tmp_path: Path) -> AsyncIterator[Stack]:
    async with open_stack(settings, fault_database, tmp_path) as opened:
        yield opened


@pytest.fixture
async def redis_stack(
    settings: Settings, fault_database: str, tmp_path: Path
) -> AsyncIterator[tuple[Stack, RedisServer]]:
    """A stack whose queue lives on a redis-server of the test's own, which it may kill."""
    async with open_redis_stack(settings, fault_database, tmp_path) as opened:
        yield opened
