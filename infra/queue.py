"""The arq queue, and the rule that work is enqueued only after its transaction commits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from sqlalchemy.ext.asyncio import AsyncSession

from infra.settings import Settings

_PENDING = "storyloom.pending_jobs"


def redis_settings(settings: Settings) -> RedisSettings:
    return RedisSettings.from_dsn(settings.redis_url)


async def connect_queue(settings: Settings) -> ArqRedis:
    return await create_pool(redis_settings(settings), default_queue_name=settings.queue_name)


@dataclass(frozen=True)
class PendingJob:
    function: str
    args: tuple[Any, ...] = ()
    job_id: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)


def enqueue_after_commit(session: AsyncSession, job: PendingJob) -> None:
    """Hold `job` on the session; the unit of work pushes it once the commit succeeded."""
    session.info.setdefault(_PENDING, []).append(job)


def take_pending(session: AsyncSession) -> list[PendingJob]:
    return session.info.pop(_PENDING, [])


def drop_pending(session: AsyncSession) -> None:
    session.info.pop(_PENDING, None)


async def push(queue: ArqRedis, jobs: list[PendingJob]) -> None:
    for job in jobs:
        await queue.enqueue_job(job.function, *job.args, _job_id=job.job_id, **job.kwargs)
