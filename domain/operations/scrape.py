"""What GET /metrics reports beyond the HTTP figures: jobs, partitions, tables and the queue.

Each source is read when the scrape asks, bounded, and reported as down when it does not answer
(see infra.metrics.gather_sources).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prometheus_client.metrics_core import Metric

from domain.jobs import metrics_repository as job_metrics
from domain.partitions import service as partitions
from infra.db import Database
from infra.metrics import (
    gather_sources,
    job_families,
    partition_families,
    queue_families,
    table_families,
)
from infra.settings import Settings


async def scrape_families(
    db: Database, redis: Any, settings: Settings, now: datetime
) -> list[Metric]:
    """This scrape's families, read from the database and from Redis concurrently."""

    async def database() -> list[Metric]:
        async with db.reading() as session:
            jobs = job_families(await job_metrics.job_figures(session, now))
            parts = partition_families(
                await partitions.figures(session, settings.partition_months_ahead)
            )
        # Table statistics are per server: a replica's scans and vacuums are not the primary's.
        async with db.session() as primary:
            tables = await table_families(primary)
        return jobs + parts + tables

    async def queue() -> list[Metric]:
        return await queue_families(redis, settings.queue_name)

    return await gather_sources({"database": database, "redis": queue})
