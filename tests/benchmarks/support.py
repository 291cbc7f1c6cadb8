"""Scratch databases and servers for benchmarks: the same real parts the tests use."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import uvicorn

from infra.settings import ROOT
from tests.benchmarks import percentile
from tests.worker.processes import free_port


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
async def serve_process(factory: str, settings: Any, log_dir: Any) -> AsyncIterator[str]:
    """`factory` (module:function) under uvicorn in a process of its own, on loopback.

    The load generator then has this process to itself, as a real client would: measuring a
    server from inside its own event loop charges the generator's work to the server.
    """
    from tests.worker.processes import Child, settings_env

    port = free_port()
    args = [sys.executable, "-m", "uvicorn", factory, "--factory", "--host", "127.0.0.1",
            "--port", str(port), "--no-access-log", "--log-level", "warning"]  # fmt: skip
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
        yield base
    finally:
        child.stop()


async def load(
    base: str,
    request: Callable[[httpx.AsyncClient], Awaitable[httpx.Response]],
    *,
    clients: int,
    seconds: float,
    warmup: float = 1.0,
) -> dict[str, float]:
    """Closed-loop load: `clients` concurrent loops for `seconds` after a warm-up."""
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        latencies: list[float] = []
        errors = 0
        measuring = False

        async def loop(deadline: float) -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    ok = (await request(client)).status_code < 400
                except httpx.HTTPError:
                    ok = False
                if measuring:
                    latencies.append(time.perf_counter() - started)
                    errors += 0 if ok else 1

        until = time.perf_counter() + warmup
        await asyncio.gather(*(loop(until) for _ in range(clients)))
        measuring = True
        started = time.perf_counter()
        await asyncio.gather(*(loop(started + seconds) for _ in range(clients)))
        elapsed = time.perf_counter() - started
    ordered = sorted(latencies) or [0.0]
    return {
        "rps": len(latencies) / elapsed,
        "p50": percentile(ordered, 0.5),
        "p99": percentile(ordered, 0.99),
        "errors": float(errors),
        "requests": float(len(latencies)),
    }
