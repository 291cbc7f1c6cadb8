"""Job leases: which run holds a job, until when (table job_leases, migration 0012).

A run takes its job's lease as it starts (`claim`, in the same statement as the job's new
attempt) and renews it every few seconds; a lease not renewed in time is a dead run's, and any
worker may take the job over. What fences a run that lost its lease is the job's `attempt`,
which every write of a run names (domain/jobs/run_repository.py): a run that took the job over
has moved it on. Statements are compiled once and run on the run's own connection, as the
other statements of a run are.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Interval, Table, bindparam, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.jobs.models import Job, JobLease, JobStatus, is_unfinished, unfinished_sql
from domain.jobs.repository import JOB_IN_ITS_MONTH, in_its_month
from infra.prepared import Prepared, Runner

_JOBS = cast(Table, Job.__table__)
_LEASES = cast(Table, JobLease.__table__)
_OPEN = text(unfinished_sql("jobs.status"))


def _job(row: Any) -> Job:
    # A detached Job the run reads from; the run writes through its own statements.
    return Job(**row)


class JobLeaseLost(Exception):
    """Another run has taken the job over (this run's lease lapsed): it must write nothing."""


# The lease first: INSERT ... ON CONFLICT waits for a concurrent taker and then sees its lease,
# so of two runs only one takes a job; the job's new attempt in the same statement.
_LEASED = (
    pg_insert(_LEASES)
    .values(
        job_id=bindparam("job_id"),
        token=bindparam("lease_token"),
        holder=bindparam("lease_holder"),
        expires_at=func.now() + bindparam("lease_for", type_=Interval),
    )
    .on_conflict_do_update(
        index_elements=[_LEASES.c.job_id],
        set_={
            "token": bindparam("lease_token"),
            "holder": bindparam("lease_holder"),
            "expires_at": func.now() + bindparam("lease_for", type_=Interval),
        },
        where=_LEASES.c.expires_at <= func.now(),
    )
    .returning(_LEASES.c.job_id)
    .cte("leased")
)
_CLAIM = Prepared(
    update(_JOBS)
    .where(*JOB_IN_ITS_MONTH, _OPEN, select(_LEASED.c.job_id).exists())
    .values(
        attempt=_JOBS.c.attempt + 1,
        started_at=func.coalesce(_JOBS.c.started_at, func.now()),
        status=func.coalesce(func.nullif(_JOBS.c.status, JobStatus.QUEUED.value), "processing"),
    )
    .returning(*_JOBS.c)
)
_LOAD = Prepared(select(*_JOBS.c).where(*JOB_IN_ITS_MONTH))
_RENEW = Prepared(
    update(_LEASES)
    .where(_LEASES.c.job_id == bindparam("job_id"), _LEASES.c.token == bindparam("lease_token"))
    .values(expires_at=func.now() + bindparam("lease_for", type_=Interval))
)
_RELEASE = Prepared(
    delete(_LEASES).where(
        _LEASES.c.job_id == bindparam("job_id"), _LEASES.c.token == bindparam("lease_token")
    )
)
_LAPSE = Prepared(
    update(_LEASES)
    .where(_LEASES.c.job_id == bindparam("job_id"), _LEASES.c.token == bindparam("lease_token"))
    .values(expires_at=func.now())
)


class Claim(StrEnum):
    TAKEN = "taken"  # this run holds the lease, and the job is open
    BUSY = "busy"  # another run holds a live lease
    ENDED = "ended"  # the job had already ended
    MISSING = "missing"


@dataclass(frozen=True)
class Lease:
    """This run's hold on a job: renewed by `token` every few seconds, for `seconds`."""

    job_id: uuid.UUID
    token: uuid.UUID
    seconds: float

    def params(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "lease_token": self.token,
            "lease_for": timedelta(seconds=self.seconds),
        }


async def claim(conn: Runner, lease: Lease, holder: str) -> tuple[Claim, Job | None]:
    """Take the job's lease and start a new attempt of the job, in one statement.

    The lease is taken only if nobody holds it or its holder let it lapse (a dead run).
    TAKEN: the job, open and now this run's; ENDED: the job, which had ended; BUSY: the job
    is another live run's; MISSING: no such job.
    """
    params = {**in_its_month(lease.job_id), **lease.params(), "lease_holder": holder}
    row = await conn.fetchrow(_CLAIM, params)
    if row is not None:
        return Claim.TAKEN, _job(row)
    # The lease was taken for an ended (or missing) job, if free or a dead run's: let it go,
    # or recovery would take the job up at every look.
    await conn.execute(_RELEASE, lease.params())
    found = await conn.fetchrow(_LOAD, in_its_month(lease.job_id))
    if found is None:
        return Claim.MISSING, None
    job = _job(found)
    return (Claim.BUSY if is_unfinished(job.status) else Claim.ENDED), job


async def renew(conn: Runner, lease: Lease) -> bool:
    """Push the lease's end on; False when another run has taken the job over."""
    return await conn.execute(_RENEW, lease.params()) == 1


async def release(conn: Runner, lease: Lease) -> None:
    """The run is over: whoever comes next may take the job at once."""
    await conn.execute(_RELEASE, lease.params())


async def lapse(conn: Runner, lease: Lease) -> None:
    """End the lease now (its run stopped mid-job): recovery takes the job over at its next
    look instead of when the lease would have run out."""
    await conn.execute(_LAPSE, lease.params())


async def lapsed_leases(session: AsyncSession, limit: int) -> list[tuple[uuid.UUID, datetime]]:
    """Jobs whose run stopped renewing its lease (it died), with when the lease ran out."""
    rows = await session.execute(
        select(JobLease.job_id, JobLease.expires_at)
        .where(JobLease.expires_at <= func.now())
        .order_by(JobLease.expires_at)
        .limit(limit)
    )
    return [(row.job_id, row.expires_at) for row in rows]


async def live_leases(session: AsyncSession, job_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Those of these jobs that a live run holds."""
    if not job_ids:
        return set()
    held = await session.scalars(
        select(JobLease.job_id).where(
            JobLease.job_id.in_(job_ids), JobLease.expires_at > func.now()
        )
    )
    return set(held)
