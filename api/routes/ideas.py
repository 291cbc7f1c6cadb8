"""Ideas endpoints."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, cast, get_args

from fastapi import APIRouter, Query, Request, Response, status

from api import consistency
from api.deps import (
    ContentCheckerDep,
    CurrentUser,
    ModeratorUser,
    OptionalUser,
    ReadSessionDep,
    SessionDep,
    SettingsDep,
)
from api.errors import problem_responses
from api.fast_routes import fast_path
from api.presenters.ideas import idea_page_response
from domain.ideas import service
from domain.pagination import DEFAULT_LIMIT, MAX_LIMIT
from domain.users.models import User
from schemas.common import Page
from schemas.ideas import IdeaIn, IdeaOut, IdeaPatch, IdeaSort

router = APIRouter(prefix="/v1/ideas", tags=["ideas"])

# Ids (UUIDs) and slugs both fit; anything else can match nothing.
REF_PATTERN = r"^[A-Za-z0-9-]{1,100}$"


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=IdeaOut,
    responses=problem_responses(401, 403, 422),
)
async def create_idea(
    body: IdeaIn,
    user: CurrentUser,
    session: SessionDep,
    checker: ContentCheckerDep,
    response: Response,
) -> IdeaOut:
    """Post an idea; it is public at once if it passes the content check, else pending review."""
    idea = await service.create_idea(session, checker, user, **body.model_dump())
    response.headers["Location"] = f"/v1/ideas/{idea.id}"
    return IdeaOut.model_validate(idea)


_REF = re.compile(REF_PATTERN)
_SORTS = frozenset(get_args(IdeaSort))
_DIGITS = re.compile(r"^[1-9][0-9]{0,2}$")  # a limit written plainly (FastAPI judges others)


async def _fast_list_ideas(request: Request) -> Response | None:
    # Anonymous callers (OptionalUser: no viewer) and only what the handler checks here, as
    # FastAPI would; any Authorization header, or anything else, is FastAPI's.
    query = request.query_params
    topic, category, tag = query.get("topic"), query.get("category"), query.get("tag")
    sort, limit = query.get("sort", "new"), query.get("limit", str(DEFAULT_LIMIT))
    cursor = query.get("cursor")
    if (
        "authorization" in request.headers
        or not set(query) <= {"topic", "category", "tag", "sort", "limit", "cursor"}
        or any(ref is not None and not _REF.match(ref) for ref in (topic, category))
        or (tag is not None and len(tag) > 100)
        or sort not in _SORTS
        or not _DIGITS.match(limit)
        or int(limit) > MAX_LIMIT
        or (cursor is not None and len(cursor) > 512)
    ):
        return None
    ref = cast(IdeaSort, sort)
    return await _idea_list(request, None, topic, category, tag, ref, int(limit), cursor)


@router.get("", response_model=Page[IdeaOut], responses=problem_responses(401, 422))
@fast_path(_fast_list_ideas)
async def list_ideas(
    request: Request,
    viewer: OptionalUser,
    topic: Annotated[str | None, Query(pattern=REF_PATTERN, description="Id or slug.")] = None,
    category: Annotated[str | None, Query(pattern=REF_PATTERN, description="Id or slug.")] = None,
    tag: Annotated[str | None, Query(max_length=100)] = None,
    sort: Annotated[
        IdeaSort,
        Query(
            description="new; popular (likes); active (latest scene or segment on the idea); "
            "trending (engagement on the idea and its scenes against their usual rate, "
            "hourly; only ideas with recent engagement)."
        ),
    ] = "new",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Response:
    """Public ideas (and the caller's own), newest or most liked first."""
    return await _idea_list(request, viewer, topic, category, tag, sort, limit, cursor)


async def _idea_list(
    request: Request,
    viewer: User | None,
    topic: str | None,
    category: str | None,
    tag: str | None,
    sort: IdeaSort,
    limit: int,
    cursor: str | None,
) -> Response:
    where = service.list_filter(topic, category, tag)
    # No session: one statement, prepared once per shape of the list, on the driver.
    db = request.app.state.db
    after = await consistency.required_lsn(request, db)
    page = await service.list_idea_rows(
        db, viewer, where=where, sort=sort, limit=limit, cursor=cursor, after=after
    )
    return idea_page_response(page.items, page.next_cursor)


@router.get("/{idea_id}", response_model=IdeaOut, responses=problem_responses(401, 404, 422))
async def read_idea(idea_id: uuid.UUID, session: ReadSessionDep, viewer: OptionalUser) -> IdeaOut:
    """One idea, if the caller may see it."""
    return IdeaOut.model_validate(await service.get_idea(session, idea_id, viewer))


@router.patch("/{idea_id}", response_model=IdeaOut, responses=problem_responses(401, 403, 404, 422))
async def update_idea(
    idea_id: uuid.UUID,
    body: IdeaPatch,
    user: CurrentUser,
    session: SessionDep,
    checker: ContentCheckerDep,
) -> IdeaOut:
    """Edit your idea; changed text is checked again and may return to review."""
    changes = body.model_dump(exclude_unset=True)
    idea = await service.update_idea(session, checker, user, idea_id, changes)
    return IdeaOut.model_validate(idea)


@router.delete(
    "/{idea_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(401, 403, 404, 422),
)
async def delete_idea(idea_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> Response:
    """Remove your idea (soft: it disappears but is kept for moderation)."""
    await service.remove_idea(session, user, idea_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{idea_id}/restore",
    response_model=IdeaOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def restore_idea(
    idea_id: uuid.UUID, user: ModeratorUser, session: SessionDep, settings: SettingsDep
) -> IdeaOut:
    """Bring back an idea its author deleted, within DELETED_RETENTION_DAYS."""
    idea = await service.restore_idea(
        session, user, idea_id, retention_days=settings.deleted_retention_days
    )
    return IdeaOut.model_validate(idea)
