"""Hourly engagement stats and trending scores, kept by the worker rather than per request.

One run (domain.engagement.stats.refresh, from the hourly cron and at worker start-up):

1. Recount the last few hour buckets of engagement_hourly from likes, scene_views (already
   one row per viewer, scene and 30-minute window) and segments. The first run, or one after
   a long stop, recounts everything back to the baseline horizon; buckets older than the
   horizon are dropped.
2. Score every target with a bucket in the recent window (domain.engagement.trending) and
   replace trending_scores with the result: targets without recent activity drop out.

The run holds a transaction-scoped advisory lock and recomputes rather than increments, so
overlapping runs (two workers starting at once) queue up and leave the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from domain.engagement import stats_repository as repository
from domain.engagement.stats_repository import Score
from domain.engagement.trending import HOUR, Counts, TrendingRule, age_in_hours, hour_start, score
from infra.settings import Settings


@dataclass(frozen=True)
class StatsRun:
    now: datetime
    recounted_from: datetime
    buckets: int
    scored: int
    dropped: int


def rule_from(settings: Settings) -> TrendingRule:
    return TrendingRule(
        recent_hours=settings.trending_recent_hours,
        baseline_days=settings.trending_baseline_days,
        half_life_hours=settings.trending_half_life_hours,
        prior=settings.trending_prior,
    )


def _scores(
    rule: TrendingRule, now: datetime, found: list[repository.TargetActivity]
) -> list[Score]:
    scores = []
    for target in found:
        recent = [
            (age_in_hours(now, hour), Counts(likes, views, segments))
            for hour, likes, views, segments in target.recent
        ]
        value = score(rule, recent, Counts(*target.baseline))
        if value > 0:
            scores.append(Score(target.target_type, target.target_id, value))
    return scores


async def refresh(
    session: AsyncSession,
    rule: TrendingRule,
    *,
    rollup_hours: int,
    now: datetime | None = None,
) -> StatsRun:
    """Recount recent engagement buckets and recompute every trending score."""
    await repository.lock(session)
    now = now or await repository.database_now(session)
    current = hour_start(now)
    end = current + HOUR
    horizon = current - (rule.horizon_hours - 1) * HOUR
    latest = await repository.latest_hour(session)
    start = horizon
    if latest is not None:
        # A bucket from a clock that ran ahead must not hide the hours since.
        start = max(horizon, min(latest, current) - (rollup_hours - 1) * HOUR)
    await repository.forget_before(session, horizon)
    buckets = await repository.roll_up(session, start, end)
    found = await repository.recent_activity(
        session, horizon=horizon, recent=current - (rule.recent_hours - 1) * HOUR, end=end
    )
    scores = _scores(rule, now, found)
    dropped = await repository.replace_scores(session, scores, computed_at=now)
    return StatsRun(
        now=now, recounted_from=start, buckets=buckets, scored=len(scores), dropped=dropped
    )
