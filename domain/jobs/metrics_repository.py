"""The jobs table's figures for the metrics scrape: counts by state, ages and durations.

Kept apart from repository.py: these are aggregate reads over recent partitions, written as
SQL text so the planner can prove they match the partial index on unfinished jobs.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.jobs.models import TERMINAL_STATUSES, JobStage, unfinished_sql
from infra.metrics import QUANTILES, JobCount, JobFigures, StageTimes

FINISHED_WINDOW = timedelta(hours=24)
# Jobs live minutes, at worst hours (timeouts, retries, recovery); bounding created_at as well
# lets PostgreSQL prune the scan to the last one or two monthly partitions.
CREATED_WINDOW = timedelta(days=7)
TIMED_STAGES = [s.value for s in JobStage]

# Spelled as literals, not parameters: only then can the planner prove that the query matches
# the partial index ix_jobs_unfinished (status NOT IN the terminal statuses).
_TERMINAL = "(" + ", ".join(f"'{s}'" for s in TERMINAL_STATUSES) + ")"

_JOBS_BY_STATE = text(
    f"""
    SELECT false AS finished, status, stage, count(*) AS jobs FROM jobs
    WHERE {unfinished_sql()} GROUP BY status, stage
    UNION ALL
    SELECT true, status, stage, count(*) FROM jobs
    WHERE status IN {_TERMINAL} AND created_at >= :created_since AND finished_at >= :since
    GROUP BY status, stage
    """
)

_OLDEST_UNFINISHED = text(
    f"SELECT extract(epoch FROM now() - min(updated_at)) FROM jobs WHERE {unfinished_sql()}"
)

# Every stage that finished records its wall time as stage_outputs[stage].seconds (a retried
# stage keeps its last run's); finalization's own time is not recorded there.
_STAGE_SECONDS = text(
    """
    SELECT o.key AS stage, count(*) AS runs,
           percentile_cont(CAST(:quantiles AS float8[]))
               WITHIN GROUP (ORDER BY (o.value->>'seconds')::float8) AS q
    FROM jobs j CROSS JOIN LATERAL jsonb_each(j.stage_outputs) AS o(key, value)
    WHERE j.created_at >= :created_since AND j.finished_at >= :since
      AND o.key = ANY(CAST(:stages AS text[]))
      AND jsonb_typeof(o.value) = 'object' AND jsonb_typeof(o.value->'seconds') = 'number'
    GROUP BY o.key
    """
)

_END_TO_END = text(
    """
    SELECT count(*) AS jobs,
           percentile_cont(CAST(:quantiles AS float8[]))
               WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - created_at)) AS q
    FROM jobs
    WHERE status = 'final_ready' AND created_at >= :created_since AND finished_at >= :since
    """
)


async def job_figures(session: AsyncSession, now: datetime) -> JobFigures:
    """Unfinished jobs, jobs finished in the last 24 hours, and their stage and total times."""
    window = {"since": now - FINISHED_WINDOW, "created_since": now - CREATED_WINDOW}
    counts = [
        JobCount(bool(row["finished"]), row["status"], row["stage"], int(row["jobs"]))
        for row in (await session.execute(_JOBS_BY_STATE, window)).mappings()
    ]
    oldest = await session.scalar(_OLDEST_UNFINISHED)
    params = {**window, "quantiles": list(QUANTILES), "stages": TIMED_STAGES}
    stage_times = [
        StageTimes(row["stage"], int(row["runs"]), row["q"] or ())
        for row in (await session.execute(_STAGE_SECONDS, params)).mappings()
    ]
    overall = (await session.execute(_END_TO_END, {**window, "quantiles": list(QUANTILES)})).one()
    return JobFigures(
        counts=counts,
        oldest_unfinished_age=float(oldest) if oldest is not None else None,
        stage_times=stage_times,
        end_to_end=overall.q,
    )
