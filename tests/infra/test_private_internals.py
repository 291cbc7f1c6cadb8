"""Guards for the private library internals listed in docs/INTERNALS.md, one test per row.

Each test fails with the row it guards when an upgrade changes what our code relies on.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import time
import uuid
from pathlib import Path
from typing import Any

import structlog
from arq import create_pool
from arq.worker import Worker, func
from sqlalchemy import Integer, bindparam, literal, select
from sqlalchemy.dialects.postgresql.asyncpg import dialect as AsyncpgDialect
from sqlalchemy.sql.compiler import SQLCompiler

from infra.queue import redis_settings
from infra.settings import Settings

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "INTERNALS.md"


async def _noop(ctx: dict[str, Any]) -> None:
    return None


def _worker(settings: Settings, **options: Any) -> Worker:
    return Worker(
        functions=[func(_noop, name="noop")],
        redis_settings=redis_settings(settings),
        queue_name=settings.queue_name,
        handle_signals=False,
        **options,
    )


def _queue_settings(settings: Settings) -> Settings:
    name = f"{settings.queue_name}:internals:{uuid.uuid4().hex[:6]}"
    return settings.model_copy(update={"queue_name": name})


def test_every_row_of_the_list_has_its_guard_here() -> None:
    guards = re.findall(r"\| `(test_\w+)` \|$", DOCUMENT.read_text(), re.M)
    here = {name for name in globals() if name.startswith("test_")}
    assert guards, "docs/INTERNALS.md lists no guard"
    assert set(guards) <= here, f"rows without a guard: {sorted(set(guards) - here)}"


def test_arq_polls_through_poll_iteration() -> None:
    assert inspect.iscoroutinefunction(Worker._poll_iteration)
    assert "await self._poll_iteration()" in inspect.getsource(Worker.main), (
        "arq's main loop no longer awaits _poll_iteration: RefillingWorker's override is dead"
    )


def test_arq_frees_a_slot_through_the_release_callback() -> None:
    assert "_release_sem_dec_counter_on_complete" in inspect.getsource(Worker.start_jobs), (
        "arq's start_jobs no longer frees slots through the callback RefillingWorker wraps"
    )
    assert callable(Worker._release_sem_dec_counter_on_complete)


def test_arq_worker_attributes_exist(settings: Settings) -> None:
    queued = _queue_settings(settings)
    worker = _worker(queued, max_jobs=3, poll_delay=0.25, burst=True)
    assert worker.max_jobs == 3 and worker.poll_delay_s == 0.25 and worker.burst is True
    assert worker.job_counter == 0 and worker.tasks == {} and worker.allow_pick_jobs is True
    assert isinstance(worker.sem, asyncio.BoundedSemaphore)
    assert worker.queue_name == queued.queue_name
    assert isinstance(inspect.getattr_static(Worker, "pool"), property)


async def test_arq_start_jobs_takes_the_slot_first_and_keeps_tasks(settings: Settings) -> None:
    queued = _queue_settings(settings)
    pool = await create_pool(redis_settings(queued), default_queue_name=queued.queue_name)
    worker = _worker(queued, max_jobs=2, redis_pool=pool)
    try:
        job = await pool.enqueue_job("noop")
        assert job is not None
        await worker.start_jobs([job.job_id.encode()])
        assert worker.job_counter == 1, "start_jobs no longer counts the slot it takes"
        task = worker.tasks[job.job_id]
        await task
        await asyncio.sleep(0)  # the done-callback runs on the next turn of the loop
        assert worker.job_counter == 0, "the finished job's slot was not given back"
    finally:
        await worker.close()
        await pool.delete(queued.queue_name)
        await pool.aclose()


async def test_arq_queue_is_a_sorted_set_scored_by_due_time(settings: Settings) -> None:
    queued = _queue_settings(settings)
    pool = await create_pool(redis_settings(queued), default_queue_name=queued.queue_name)
    try:
        before = time.time() * 1000
        job = await pool.enqueue_job("noop", _defer_by=60)
        assert job is not None
        assert await pool.type(queued.queue_name) == b"zset"
        score = await pool.zscore(queued.queue_name, job.job_id)
        assert score is not None and before + 59_000 <= score <= time.time() * 1000 + 61_000
    finally:
        await pool.delete(queued.queue_name)
        await pool.aclose()


def test_sqlalchemy_compiled_statements_expose_positional_binds() -> None:
    dialect = AsyncpgDialect()
    statement = select(literal(5), bindparam("b", type_=Integer), bindparam("a", type_=Integer))
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    names = list(compiled.positiontup or ())
    assert len(names) == 3 and names[1:] == ["b", "a"], names
    assert compiled.binds[names[0]].effective_value == 5
    assert compiled.string.count("$") == 3


async def test_sqlalchemy_pooled_asyncpg_connections_decode_json(app: Any) -> None:
    async with app.state.db.primary.connect() as connection:
        driver: Any = (await connection.get_raw_connection()).driver_connection
        row = await driver.fetchrow("""SELECT '{"a": [1]}'::jsonb AS b, '{"c": 2}'::json AS j""")
    assert row["b"] == {"a": [1]} and row["j"] == {"c": 2}, "JSON arrives undecoded"


def test_structlog_json_renderer_defaults_to_its_fallback_handler() -> None:
    from infra.logging import _dumps

    renderer = structlog.processors.JSONRenderer(_dumps)
    assert renderer._dumps is _dumps
    assert renderer._dumps_kw == {"default": structlog.processors._json_fallback_handler}


async def test_starlette_handlers_and_route_matches_as_fast_paths_assume() -> None:
    import httpx
    from fastapi import APIRouter, FastAPI, Request
    from fastapi.responses import PlainTextResponse
    from starlette.middleware.errors import ServerErrorMiddleware
    from starlette.routing import Match

    router = APIRouter()

    @router.get("/raise/{kind}")
    async def raising(kind: str) -> None:
        raise KeyError(kind) if kind == "key" else RuntimeError(kind)

    async def by_name(_: Request, exc: Exception) -> PlainTextResponse:
        return PlainTextResponse(type(exc).__name__, status_code=418)

    app = FastAPI()
    app.include_router(router)
    app.add_exception_handler(LookupError, by_name)  # found along KeyError's MRO
    app.add_exception_handler(Exception, by_name)  # the server error middleware's
    transport = httpx.ASGITransport(app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/raise/key")).text == "KeyError"
        caught = await client.get("/raise/other")
    assert (caught.status_code, caught.text) == (418, "RuntimeError")
    stack = app.build_middleware_stack()  # the catch-all is the outermost layer's
    assert isinstance(stack, ServerErrorMiddleware) and stack.handler is by_name
    scope = {"type": "http", "method": "GET", "path": "/raise/key", "root_path": ""}
    match, child = router.routes[0].matches(scope)
    assert match is Match.FULL
    assert child["path_params"] == {"kind": "key"} and child["route"] is router.routes[0]
