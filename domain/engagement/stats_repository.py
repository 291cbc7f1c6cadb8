"""Every query on engagement_hourly and trending_scores."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, and_, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.engagement.models import EngagementHourly, LikeTarget, TrendingScore

LOCK_NAME = "storyloom:engagement-stats"

# Hour buckets are UTC whatever the session's TimeZone. Counts are recomputed from the source
# rows, so running this twice over the same hours writes the same rows. An idea's buckets add
# its own likes to everything that happened on its scenes.
ROLLUP = text(
    """
    WITH scene_events AS (
        SELECT target_id AS scene_id, date_trunc('hour', created_at, 'UTC') AS hour,
               count(*) AS likes, 0 AS views, 0 AS segments
        FROM likes
        WHERE target_type = 'scene' AND created_at >= :start AND created_at < :end
        GROUP BY 1, 2
        UNION ALL
        SELECT scene_id, date_trunc('hour', created_at, 'UTC'), 0, count(*), 0
        FROM scene_views
        WHERE created_at >= :start AND created_at < :end
        GROUP BY 1, 2
        UNION ALL
        SELECT scene_id, date_trunc('hour', created_at, 'UTC'), 0, 0, count(*)
        FROM segments
        WHERE created_at >= :start AND created_at < :end AND status = 'active'
        GROUP BY 1, 2
    ),
    scene_hours AS (
        SELECT scene_id, hour, sum(likes) AS likes, sum(views) AS views,
               sum(segments) AS segments
        FROM scene_events GROUP BY 1, 2
    ),
    idea_events AS (
        SELECT s.idea_id, h.hour, h.likes, h.views, h.segments
        FROM scene_hours h JOIN scenes s ON s.id = h.scene_id
        UNION ALL
        SELECT target_id, date_trunc('hour', created_at, 'UTC'), count(*), 0, 0
        FROM likes
        WHERE target_type = 'idea' AND created_at >= :start AND created_at < :end
        GROUP BY 1, 2
    )
    INSERT INTO engagement_hourly (target_type, target_id, hour, likes, views, segments)
    SELECT 'scene', scene_id, hour, likes, views, segments FROM scene_hours
    UNION ALL
    SELECT 'idea', idea_id, hour, sum(likes), sum(views), sum(segments)
    FROM idea_events GROUP BY idea_id, hour
    """
)

# Every target with a bucket in the recent window: its recent buckets one by one, and the
# totals of its baseline window.
RECENT_ACTIVITY = text(
    """
    SELECT target_type, target_id,
           array_agg(hour ORDER BY hour) FILTER (WHERE hour >= :recent) AS hours,
           array_agg(likes ORDER BY hour) FILTER (WHERE hour >= :recent) AS likes,
           array_agg(views ORDER BY hour) FILTER (WHERE hour >= :recent) AS views,
           array_agg(segments ORDER BY hour) FILTER (WHERE hour >= :recent) AS segments,
           coalesce(sum(likes) FILTER (WHERE hour < :recent), 0) AS baseline_likes,
           coalesce(sum(views) FILTER (WHERE hour < :recent), 0) AS baseline_views,
           coalesce(sum(segments) FILTER (WHERE hour < :recent), 0) AS baseline_segments
    FROM engagement_hourly
    WHERE hour >= :horizon AND hour < :end
    GROUP BY target_type, target_id
    HAVING bool_or(hour >= :recent)
    """
)

UPSERT_SCORES = text(
    """
    INSERT INTO trending_scores (target_type, target_id, score, computed_at)
    SELECT u.target_type, u.target_id, u.score, :computed_at
    FROM unnest(CAST(:types AS text[]), CAST(:ids AS uuid[]), CAST(:scores AS float8[]))
        AS u(target_type, target_id, score)
    ON CONFLICT (target_type, target_id)
    DO UPDATE SET score = EXCLUDED.score, computed_at = EXCLUDED.computed_at
    """
)


@dataclass(frozen=True)
class TargetActivity:
    target_type: str
    target_id: uuid.UUID
    recent: list[tuple[datetime, int, int, int]]  # (hour, likes, views, segments)
    baseline: tuple[int, int, int]


@dataclass(frozen=True)
class Score:
    target_type: str
    target_id: uuid.UUID
    score: float


# The trending feeds: a list joins its scores and pages on (score, id), newest scores only.


def trending_join(target: LikeTarget, target_id: Any) -> ColumnElement[bool]:
    """The join of a list's rows to their scores; rows without one are not trending."""
    return and_(TrendingScore.target_type == target.value, TrendingScore.target_id == target_id)


TRENDING_KEYS: list[Any] = [TrendingScore.score, TrendingScore.target_id]


def _rowcount(result: Any) -> int:
    return int(cast(CursorResult[Any], result).rowcount or 0)


async def lock(session: AsyncSession) -> None:
    """Serialise stats runs until the transaction ends (the worker start-up and the cron)."""
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(LOCK_NAME, 0))))


async def database_now(session: AsyncSession) -> datetime:
    """The transaction's now(): the clock the counted rows' created_at came from."""
    return cast(datetime, await session.scalar(select(func.now())))


async def latest_hour(session: AsyncSession) -> datetime | None:
    return await session.scalar(select(func.max(EngagementHourly.hour)))


async def forget_before(session: AsyncSession, horizon: datetime) -> int:
    """Drop buckets older than any rule reads."""
    result = await session.execute(
        text("DELETE FROM engagement_hourly WHERE hour < :horizon"), {"horizon": horizon}
    )
    return _rowcount(result)


async def roll_up(session: AsyncSession, start: datetime, end: datetime) -> int:
    """Recount the buckets of [start, end) from likes, scene_views and segments."""
    await session.execute(
        text("DELETE FROM engagement_hourly WHERE hour >= :start AND hour < :end"),
        {"start": start, "end": end},
    )
    return _rowcount(await session.execute(ROLLUP, {"start": start, "end": end}))


async def recent_activity(
    session: AsyncSession, *, horizon: datetime, recent: datetime, end: datetime
) -> list[TargetActivity]:
    rows = await session.execute(
        RECENT_ACTIVITY, {"horizon": horizon, "recent": recent, "end": end}
    )
    return [
        TargetActivity(
            target_type=row.target_type,
            target_id=row.target_id,
            recent=list(zip(row.hours, row.likes, row.views, row.segments, strict=True)),
            baseline=(
                int(row.baseline_likes),
                int(row.baseline_views),
                int(row.baseline_segments),
            ),
        )
        for row in rows
    ]


async def replace_scores(
    session: AsyncSession, scores: Sequence[Score], computed_at: datetime
) -> int:
    """Write this run's scores; every other row (no recent activity) is dropped. Returns drops."""
    if scores:
        await session.execute(
            UPSERT_SCORES,
            {
                "types": [s.target_type for s in scores],
                "ids": [s.target_id for s in scores],
                "scores": [s.score for s in scores],
                "computed_at": computed_at,
            },
        )
    result = await session.execute(
        text("DELETE FROM trending_scores WHERE computed_at <> :computed_at"),
        {"computed_at": computed_at},
    )
    # Every row was just rewritten: without fresh statistics the planner takes a deep feed
    # page's (score, id) bound to match a handful of rows and sorts them all instead of
    # walking the feed index (5x slower at 20,000 scenes). Sampling the table costs ~10 ms.
    await session.execute(text("ANALYZE trending_scores"))
    return _rowcount(result)
