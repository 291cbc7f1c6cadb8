"""Continuation submission and the job's progress: poll (ETag/304), stream (SSE), cancel."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from api.deps import ClaimsDep, CurrentUser, ReadSessionDep, SessionDep, SettingsDep, reading
from domain.errors import InvalidInput
from domain.jobs import repository, service
from domain.jobs.models import TERMINAL_STATUSES, Job
from domain.pagination import paginate
from schemas.common import Page, Problem
from schemas.jobs import ContinuationIn, JobOut, JobStatusName

router = APIRouter(tags=["jobs"])
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Any unique string (1-255 printable ASCII characters) per intended request.",
    ),
]
SSE_POLL_SECONDS = 0.5
SSE_HEARTBEAT_SECONDS = 15.0
SSE_MAX_SECONDS = 3600.0


def _checked_key(key: str | None) -> str:
    if key is None or not 1 <= len(key) <= 255 or not key.isascii() or not key.isprintable():
        raise InvalidInput(
            "Send an Idempotency-Key header of 1 to 255 printable ASCII characters.",
            [{"pointer": "/headers/Idempotency-Key", "message": "missing or malformed"}],
        )
    return key


@router.post(
    "/v1/scenes/{scene_id}/continuations",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobOut,
    responses={s: {"model": Problem} for s in (401, 403, 404, 409, 422, 429)},
)
async def submit_continuation(
    scene_id: uuid.UUID,
    body: ContinuationIn,
    idempotency_key: IdempotencyKey,
    request: Request,
    response: Response,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> JobOut:
    """Write what happens next; a job turns it into the scene's next video segment."""
    submission = await service.submit_continuation(
        session,
        settings,
        user,
        scene_id,
        body.text,
        _checked_key(idempotency_key),
        request_id=getattr(request.state, "request_id", None),
    )
    response.headers["Location"] = f"/v1/jobs/{submission.job.id}"
    return JobOut.model_validate(submission.job)


@router.get(
    "/v1/jobs/{job_id}",
    response_model=JobOut,
    responses={
        304: {"description": "Not modified"},
        **{s: {"model": Problem} for s in (401, 403, 404, 422)},
    },
)
async def read_job(
    job_id: uuid.UUID,
    claims: ClaimsDep,
    request: Request,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """The job's status, stage and progress; cheap to poll with If-None-Match."""
    # The read session is opened here rather than by ReadSessionDep: a generator dependency
    # costs FastAPI more than this whole query, and frontends poll this route every second.
    async with reading(request) as session:
        job = await service.get_for_caller(session, claims.user_id, job_id, claims.issued_at)
    tag = service.etag(job)
    headers = {"ETag": tag, "Cache-Control": "no-cache"}
    if if_none_match is not None and tag in (t.strip() for t in if_none_match.split(",")):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    body = JobOut.model_validate(job).model_dump_json()
    return Response(body, media_type="application/json", headers=headers)


def _event(job: Job) -> str:
    data = JobOut.model_validate(job).model_dump_json()
    return f"id: {service.etag(job)}\nevent: job\ndata: {data}\n\n"


@router.get(
    "/v1/jobs/{job_id}/events",
    responses={
        200: {"content": {"text/event-stream": {}}},
        **{s: {"model": Problem} for s in (401, 403, 404, 422)},
    },
)
async def job_events(job_id: uuid.UUID, user: CurrentUser, request: Request) -> StreamingResponse:
    """Server-Sent Events: one `job` event per change, ending after a terminal status."""
    db = request.app.state.db
    async with db.session() as session:
        first = await service.get_visible(session, user, job_id)

    async def stream() -> AsyncIterator[str]:
        job, last_tag = first, service.etag(first)
        yield _event(job)
        loop = asyncio.get_running_loop()
        started = last_beat = loop.time()
        while job.status not in TERMINAL_STATUSES and loop.time() - started < SSE_MAX_SECONDS:
            if await request.is_disconnected():
                return
            await asyncio.sleep(SSE_POLL_SECONDS)
            async with db.session() as session:
                fresh = await repository.get(session, job_id)
            if fresh is None:
                return
            job = fresh
            if service.etag(job) != last_tag:
                last_tag = service.etag(job)
                last_beat = loop.time()
                yield _event(job)
            elif loop.time() - last_beat > SSE_HEARTBEAT_SECONDS:
                last_beat = loop.time()
                yield ": keep-alive\n\n"

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.post(
    "/v1/jobs/{job_id}/cancel",
    response_model=JobOut,
    responses={s: {"model": Problem} for s in (401, 403, 404, 409, 422)},
)
async def cancel_job(job_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> JobOut:
    """Cancel a job that has not ended; it leaves no partial segment."""
    return JobOut.model_validate(await service.cancel(session, user, job_id))


@router.get(
    "/v1/users/me/jobs",
    response_model=Page[JobOut],
    responses={s: {"model": Problem} for s in (401, 403, 422)},
)
async def my_jobs(
    user: CurrentUser,
    session: ReadSessionDep,
    status_filter: Annotated[JobStatusName | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Page[JobOut]:
    """The caller's own jobs, newest first."""
    stmt = repository.user_jobs(user.id, status_filter)
    page = await paginate(session, stmt, [Job.created_at, Job.id], limit=limit, cursor=cursor)
    return Page[JobOut](
        items=[JobOut.model_validate(j) for j in page.items], next_cursor=page.next_cursor
    )
