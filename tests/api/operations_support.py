"""Failed jobs for the dead-letter tests: a job submitted through the API, then failed."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, update

from domain.jobs.models import Job
from tests.factories import Account, Factory


async def failed_job(
    factory: Factory,
    owner: Account,
    scene: dict[str, Any],
    *,
    stage_outputs: dict[str, Any] | None = None,
    error_code: str = "provider_unavailable",
) -> dict[str, Any]:
    """A job that failed as the worker fails one (status failed, stage error, finished)."""
    job = await factory.job(owner, scene)
    async with factory.app.state.db.transaction() as session:
        await session.execute(
            update(Job)
            .where(Job.id == uuid.UUID(job["id"]))
            .values(
                status="failed",
                stage="error",
                error_code=error_code,
                error_message="The provider was out of reach.",
                retryable=True,
                stage_outputs=stage_outputs or {},
                attempt=4,
                retry_count=3,
                finished_at=func.now(),
            )
        )
    return job
