"""The reference endpoints of the HTTP benchmarks: bare FastAPI, nothing of ours in the way.

`GET /hello` answers without I/O (the framework and server alone); `GET /jobs/{id}` runs one
primary-key SELECT on an asyncpg pool and returns three columns. Run by uvicorn as a process
of its own (`--factory tests.benchmarks.bare_app:create`), the way the API is run beside it;
DATABASE_URL comes from the settings, like the API's.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import FastAPI

from infra.settings import Settings

_READ = "SELECT id, status, progress FROM jobs WHERE id = $1"


def create() -> FastAPI:
    dsn = Settings().database_url.replace("postgresql+asyncpg://", "postgresql://")
    pool: dict[str, asyncpg.Pool] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        pool["db"] = await asyncpg.create_pool(dsn, min_size=5, max_size=10)
        try:
            yield
        finally:
            await pool["db"].close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/hello")
    async def hello() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/jobs/{job_id}")
    async def read(job_id: uuid.UUID) -> dict[str, Any]:
        row = await pool["db"].fetchrow(_READ, job_id)
        if row is None:
            return {}
        return {"id": str(row["id"]), "status": row["status"], "progress": row["progress"]}

    return app
