"""The baseline of the polling benchmark: a bare FastAPI endpoint doing one primary-key SELECT.

Run by uvicorn as its own process (`--factory tests.benchmarks.bare_app:create`), the way the
API is run for the comparison; DATABASE_URL comes from the settings, like the API's.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from domain.jobs.models import Job
from infra.settings import Settings


def create() -> FastAPI:
    engine = create_async_engine(Settings().database_url, pool_size=10, max_overflow=10)
    app = FastAPI()

    @app.get("/jobs/{job_id}")
    async def read(job_id: uuid.UUID) -> dict[str, Any]:
        async with AsyncSession(engine) as session:
            job = await session.scalar(select(Job).where(Job.id == job_id))
        if job is None:
            return {}
        return {"id": str(job.id), "status": job.status, "progress": job.progress}

    return app
