"""Operations for admins: system events, dead letters, table and queue statistics."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from api.deps import AdminUser, ReadSessionDep, SessionDep, SettingsDep
from api.errors import problem_responses
from api.presenters.operations import failed_job_out
from domain.errors import InvalidInput
from domain.operations import dead_letters
from domain.operations.events import list_system_events
from domain.operations.stats import read_stats
from schemas.common import Page
from schemas.operations import (
    FailedJobOut,
    QueueStatsOut,
    StatsOut,
    SystemEventOut,
    TableStatsOut,
)

router = APIRouter(prefix="/v1/admin", tags=["admin"])
ADMIN_PROBLEMS = problem_responses(401, 403, 422)
JOB_PROBLEMS = problem_responses(401, 403, 404, 409, 422)
Limit = Annotated[int | None, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=512)]
KIND_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z0-9_]*)*$"


@router.get("/events", response_model=Page[SystemEventOut], responses=ADMIN_PROBLEMS)
async def system_events(
    admin: AdminUser,
    session: ReadSessionDep,
    kind: Annotated[
        str | None,
        Query(max_length=64, pattern=KIND_PATTERN, description="A kind, or a prefix ending in '.'"),
    ] = None,
    since: Annotated[datetime | None, Query(description="Inclusive, ISO 8601.")] = None,
    until: Annotated[datetime | None, Query(description="Exclusive, ISO 8601.")] = None,
    limit: Limit = None,
    cursor: Cursor = None,
) -> Page[SystemEventOut]:
    """System events, newest first, filterable by kind and time."""
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise InvalidInput(
                "Times need a UTC offset.", [{"pointer": f"/{name}", "message": "naive time"}]
            )
    page = await list_system_events(
        session, kind=kind, since=since, until=until, limit=limit, cursor=cursor
    )
    return Page(
        items=[SystemEventOut.model_validate(e) for e in page.items], next_cursor=page.next_cursor
    )


@router.get("/failed-jobs", response_model=Page[FailedJobOut], responses=ADMIN_PROBLEMS)
async def failed_jobs(
    admin: AdminUser,
    session: ReadSessionDep,
    discarded: Annotated[bool, Query(description="List the discarded ones instead.")] = False,
    limit: Limit = None,
    cursor: Cursor = None,
) -> Page[FailedJobOut]:
    """Dead letters: failed jobs with their error code, stage, attempts and reason."""
    page = await dead_letters.list_failed(session, limit=limit, cursor=cursor, discarded=discarded)
    return Page(items=[failed_job_out(j) for j in page.items], next_cursor=page.next_cursor)


@router.post(
    "/jobs/{job_id}/requeue",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=FailedJobOut,
    responses=JOB_PROBLEMS,
)
async def requeue_job(job_id: uuid.UUID, admin: AdminUser, session: SessionDep) -> FailedJobOut:
    """Resume a failed job from its last finished stage; once (a second requeue is a 409)."""
    return failed_job_out(await dead_letters.requeue(session, admin, job_id))


@router.post("/jobs/{job_id}/discard", response_model=FailedJobOut, responses=JOB_PROBLEMS)
async def discard_job(job_id: uuid.UUID, admin: AdminUser, session: SessionDep) -> FailedJobOut:
    """Close a failed job for good; it leaves the failed-jobs list (idempotent)."""
    return failed_job_out(await dead_letters.discard(session, admin, job_id))


@router.get("/stats", response_model=StatsOut, responses=ADMIN_PROBLEMS)
async def stats(
    admin: AdminUser, session: SessionDep, request: Request, settings: SettingsDep
) -> StatsOut:
    """Per table and partition: rows, sizes, dead tuples, vacuum, index usage; the queue."""
    # The primary's session, not a replica's: a standby keeps its own scan counts and never
    # vacuums, so its statistics would describe the wrong server.
    found = await read_stats(session, request.app.state.queue, settings.queue_name)
    tables = found.tables
    return StatsOut(
        tables=[TableStatsOut.model_validate(t) for t in tables],
        unused_indexes=[f"{t.name}.{i.name}" for t in tables for i in t.indexes if i.unused],
        queue=QueueStatsOut(name=settings.queue_name, **vars(found.queue)),
    )
