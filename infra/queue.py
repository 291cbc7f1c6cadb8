"""The arq queue, and the rule that work is enqueued only after its transaction commits."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.ext.asyncio import AsyncSession

from infra.settings import Settings

_PENDING = "storyloom.pending_jobs"
# arq stops its worker on the first Redis error; retried with backoff (capped at 2 s), a
# command rides out a restart or failover of up to about a minute instead.
WORKER_REDIS_RETRIES = 35
WORKER_REDIS_BACKOFF_CAP_SECONDS = 2.0


def redis_settings(settings: Settings) -> RedisSettings:
    return RedisSettings.from_dsn(settings.redis_url)


def worker_redis_settings(settings: Settings) -> RedisSettings:
    """The worker's queue connection: every command retried through a short Redis outage.

    Only the worker's: an API request should answer at once rather than wait for Redis.
    """
    backoff = ExponentialBackoff(cap=WORKER_REDIS_BACKOFF_CAP_SECONDS, base=0.05)
    return replace(
        redis_settings(settings),
        retry=Retry(backoff, WORKER_REDIS_RETRIES),
        # OSError too: redis-py converts a refused connect only after its retry loop.
        retry_on_error=[RedisConnectionError, RedisTimeoutError, OSError],
    )


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


def has_pending(session: AsyncSession) -> bool:
    return bool(session.info.get(_PENDING))


def take_pending(session: AsyncSession) -> list[PendingJob]:
    return session.info.pop(_PENDING, [])


def drop_pending(session: AsyncSession) -> None:
    session.info.pop(_PENDING, None)


def wake_channel(queue_name: str) -> str:
    """The pub/sub channel on which new work is announced to the queue's idle workers."""
    return f"{queue_name}:wake"


async def push(queue: ArqRedis, jobs: list[PendingJob]) -> None:
    for job in jobs:
        await queue.enqueue_job(job.function, *job.args, _job_id=job.job_id, **job.kwargs)
    # Workers poll every WORKER_POLL_DELAY; the announcement lets an idle one start at once.
    # Best effort: a worker that misses it finds the job at its next poll.
    await queue.publish(wake_channel(queue.default_queue_name), b"1")


@dataclass(frozen=True)
class QueueStats:
    depth: int
    ready: int
    oldest_ready_age_seconds: float


async def queue_stats(redis: Any, queue_name: str, now_ms: int) -> QueueStats:
    """arq's queue is a sorted set scored by the time each entry is due (ms since the epoch)."""
    depth = int(await redis.zcard(queue_name))
    ready = int(await redis.zcount(queue_name, "-inf", now_ms))
    first = await redis.zrange(queue_name, 0, 0, withscores=True)
    # How long the longest-waiting due entry has waited: a stalled worker shows here first.
    age = max(0.0, (now_ms - float(first[0][1])) / 1000) if first and ready else 0.0
    return QueueStats(depth=depth, ready=ready, oldest_ready_age_seconds=age)
