"""The engagement stats cron: hourly buckets and trending scores (domain.engagement.stats)."""

from __future__ import annotations

from typing import Any

from arq import cron

from domain.engagement import stats
from infra.db import Database
from infra.logging import get_logger
from infra.settings import Settings

log = get_logger("worker.engagement")


async def refresh_engagement_stats(ctx: dict[str, Any]) -> int:
    """Recount recent engagement buckets and rescore trending; returns how many are scored."""
    db: Database = ctx["db"]
    settings: Settings = ctx["settings"]
    async with db.transaction() as session:
        run = await stats.refresh(
            session, stats.rule_from(settings), rollup_hours=settings.engagement_rollup_hours
        )
    log.info(
        "engagement_stats_refreshed",
        recounted_from=run.recounted_from.isoformat(),
        buckets=run.buckets,
        scored=run.scored,
        dropped=run.dropped,
    )
    return run.scored


def engagement_cron() -> Any:
    """Hourly, a few minutes past so the hour just ended is complete, and at worker start-up
    so a fresh deployment has trending feeds at once. unique=True keeps it to one run per tick
    across workers; the run's advisory lock makes any overlap harmless anyway."""
    return cron(
        refresh_engagement_stats,
        name="engagement_stats",
        minute=7,
        run_at_startup=True,
        unique=True,
        timeout=900,
    )
