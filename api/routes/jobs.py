"""Continuation submission and the job's progress: poll (ETag/304), stream (SSE), cancel."""

from __future__ import annotations

import contextlib
import functools
import json
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from api import consistency
from api.deps import Claims, ClaimsDep, CurrentUser, ReadSessionDep, SessionDep, SettingsDep
from api.errors import problem_responses
from api.fast_routes import bearer_claims, fast_path, path_uuid
from api.presenters.wire import WireFields, wire_response
from domain.errors import InvalidInput
from domain.jobs import events, service
from domain.jobs.follow import follow
from schemas.common import Page
from schemas.jobs import ContinuationIn, JobOut, JobStatusName

router = APIRouter(tags=["jobs"])
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Any unique string (1-255 printable ASCII characters) per intended request.",
    ),
]
# What a job's events never carry: its fixed fields, read once when a stream opens.
_FIXED_FIELDS = ("id", "scene_id", "user_id", "type", "max_retries", "bible_version", "created_at")
_JOB_FIELDS = WireFields(JobOut)


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
    responses=problem_responses(401, 403, 404, 409, 422, 429),
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


async def _poll(
    request: Request, job_id: uuid.UUID, claims: Claims, if_none_match: str | None
) -> Response:
    # No session: frontends poll this route every second, and a session (or a generator
    # dependency) costs more CPU than the whole query; the read is routed all the same.
    db = request.app.state.db
    after = await consistency.required_lsn(request, db)
    job = await service.get_for_caller(db, claims.user_id, job_id, claims.issued_at, after=after)
    tag = service.etag(job)
    headers = {"ETag": tag, "Cache-Control": "no-cache"}
    if if_none_match is not None and tag in (t.strip() for t in if_none_match.split(",")):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return wire_response(_JOB_FIELDS.of(job), headers)


async def _fast_poll(request: Request) -> Response | None:
    job_id = path_uuid(request, "job_id")
    claims = bearer_claims(request) if job_id is not None else None
    if job_id is None or claims is None:
        return None
    return await _poll(request, job_id, claims, request.headers.get("if-none-match"))


@router.get(
    "/v1/jobs/{job_id}",
    response_model=JobOut,
    responses=problem_responses(401, 403, 404, 422, others={304: {"description": "Not modified"}}),
)
@fast_path(_fast_poll)
async def read_job(
    job_id: uuid.UUID,
    claims: ClaimsDep,
    request: Request,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """The job's status, stage and progress; cheap to poll with If-None-Match."""
    return await _poll(request, job_id, claims, if_none_match)


def _last_event_id(value: str | None) -> int:
    if value is None:
        return 0
    value = value.strip()
    # isascii too: str.isdigit() accepts digits int() refuses ("²", a Latin-1 header byte).
    if not (value.isascii() and value.isdigit()) or len(value) > 9:
        raise InvalidInput(
            "Last-Event-ID must be the id of an event of this stream (a whole number).",
            [{"pointer": "/headers/Last-Event-ID", "message": "not an event id"}],
        )
    return int(value)


def _frame(base: dict[str, Any], state: dict[str, Any], event: events.Event) -> str:
    # The data keeps the shape it always had (a JobOut), plus the event's own seq and kind,
    # and the ETag GET /v1/jobs/{id} gives the job in this state (the `id:` was that once).
    job = JobOut.model_validate({**base, **state})
    data = job.model_dump(mode="json")
    data["seq"], data["kind"], data["etag"] = event.seq, event.kind, service.etag(job)
    return f"id: {event.seq}\nevent: job\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


@router.get(
    "/v1/jobs/{job_id}/events",
    responses=problem_responses(
        401,
        403,
        404,
        422,
        others={
            200: {
                "content": {"text/event-stream": {}},
                "description": "Each event has an `id:` (the job's event seq); `data` is the job "
                "after it (JobOut) with the event's `seq` and `kind`. Comments are heartbeats.",
            }
        },
    ),
)
async def job_events(
    job_id: uuid.UUID,
    user: CurrentUser,
    request: Request,
    settings: SettingsDep,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    """Server-Sent Events: the job's history after Last-Event-ID, then each change as it
    happens (pushed, not polled), ending after a terminal status."""
    resume_after = _last_event_id(last_event_id)
    db = request.app.state.db
    async with db.session() as session:
        job = await service.get_visible(session, user, job_id)
    base = {name: getattr(job, name) for name in _FIXED_FIELDS}
    frames = follow(
        db,
        request.app.state.job_feed,
        job.id,
        job.created_at,
        functools.partial(_frame, base),
        resume_after=resume_after,
        heartbeat=settings.sse_heartbeat_seconds,
        max_seconds=settings.sse_max_seconds,
    )

    async def stream() -> AsyncIterator[str]:
        # Closed with the response: the follower stops watching the moment the client leaves.
        async with contextlib.aclosing(frames):
            async for frame in frames:
                yield ": keep-alive\n\n" if frame is None else frame

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.post(
    "/v1/jobs/{job_id}/cancel",
    response_model=JobOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def cancel_job(job_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> JobOut:
    """Cancel a job that has not ended; it leaves no partial segment."""
    return JobOut.model_validate(await service.cancel(session, user, job_id))


@router.get(
    "/v1/users/me/jobs",
    response_model=Page[JobOut],
    responses=problem_responses(401, 403, 422),
)
async def my_jobs(
    user: CurrentUser,
    session: ReadSessionDep,
    status_filter: Annotated[JobStatusName | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Page[JobOut]:
    """The caller's own jobs, newest first."""
    page = await service.page_own_jobs(session, user, status_filter, limit=limit, cursor=cursor)
    return Page[JobOut](
        items=[JobOut.model_validate(j) for j in page.items], next_cursor=page.next_cursor
    )
