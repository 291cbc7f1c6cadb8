"""Scenes, their versioned bible and their segments (playback: api/routes/playback.py)."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, get_args

from fastapi import APIRouter, Header, Path, Query, Request, Response, status

from api import consistency
from api.deps import (
    ContentCheckerDep,
    CurrentUser,
    MediaUrlsDep,
    OptionalUser,
    ReadSessionDep,
    SessionDep,
    media_urls_of,
)
from api.errors import problem_responses
from api.fast_routes import fast_path, path_uuid
from api.presenters.scenes import (
    scene_fields,
    scene_page_response,
    scene_response,
    segment_page_response,
)
from domain.scenes import bible_service, service
from domain.scenes.models import SceneBible
from domain.users.models import User
from schemas.common import Page
from schemas.scenes import (
    BibleDiffOut,
    BibleOut,
    BibleUpdateIn,
    BibleVersionOut,
    BibleVersionSummary,
    SceneIn,
    SceneOut,
    SceneSort,
    SegmentOut,
)

router = APIRouter(tags=["scenes"])

MAX_VERSION = 2**31 - 1
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=512)]
Version = Annotated[int, Path(ge=1, le=MAX_VERSION)]


def _bible_out(row: SceneBible, response: Response) -> BibleOut:
    response.headers["ETag"] = bible_service.etag(row.version)
    return BibleOut(version=row.version, data=row.data)


@router.post(
    "/v1/ideas/{idea_id}/scenes",
    status_code=status.HTTP_201_CREATED,
    response_model=SceneOut,
    responses=problem_responses(401, 403, 404, 422),
)
async def create_scene(
    idea_id: uuid.UUID,
    body: SceneIn,
    user: CurrentUser,
    session: SessionDep,
    checker: ContentCheckerDep,
    urls: MediaUrlsDep,
    response: Response,
) -> SceneOut:
    """Start a scene from an idea; the bible is validated and stored as version 1."""
    scene = await service.create_scene(
        session,
        idea_id=idea_id,
        user=user,
        title=body.title,
        description=body.description,
        bible=body.bible,
        checker=checker,
    )
    response.headers["Location"] = f"/v1/scenes/{scene.id}"
    return SceneOut.model_validate(scene_fields(scene, None, urls))


@router.get(
    "/v1/ideas/{idea_id}/scenes",
    response_model=Page[SceneOut],
    responses=problem_responses(401, 404, 422),
)
async def list_idea_scenes(
    idea_id: uuid.UUID,
    request: Request,
    session: ReadSessionDep,
    viewer: OptionalUser,
    sort: SceneSort = "new",
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Response:
    """The idea's public scenes (404 when the idea is not yours to see), newest first."""
    db = request.app.state.db
    after = await consistency.required_lsn(request, db)
    page = await service.list_idea_scene_rows(
        session, db, idea_id, viewer, sort=sort, limit=limit, cursor=cursor, after=after
    )
    return scene_page_response(page.items, page.next_cursor, media_urls_of(request))


# A limit FastAPI would take as it is (1 to 100, plainly written); any other goes to FastAPI.
_PLAIN_LIMIT = re.compile(r"^[1-9][0-9]?$|^100$")


_TOPIC = re.compile(r"^[A-Za-z0-9-]{1,100}$")
_SORTS = frozenset(get_args(SceneSort))


async def _fast_list_scenes(request: Request) -> Response | None:
    # Only what the handler checks here, as FastAPI would; anything else is FastAPI's.
    query = request.query_params
    topic, sort = query.get("topic"), query.get("sort", "new")
    limit, cursor = query.get("limit", "20"), query.get("cursor")
    if (
        not set(query) <= {"topic", "sort", "limit", "cursor"}
        or (topic is not None and not _TOPIC.match(topic))
        or sort not in _SORTS
        or not _PLAIN_LIMIT.match(limit)
        or (cursor is not None and len(cursor) > 512)
    ):
        return None
    return await _scene_list(request, topic, sort, int(limit), cursor)


@router.get("/v1/scenes", response_model=Page[SceneOut], responses=problem_responses(422))
@fast_path(_fast_list_scenes)
async def list_scenes(
    request: Request,
    topic: Annotated[
        str | None,
        Query(max_length=100, pattern=r"^[A-Za-z0-9-]+$", description="Topic id or slug."),
    ] = None,
    sort: Annotated[
        SceneSort,
        Query(
            description="new; popular (likes); active (latest segment); trending (likes, views "
            "and segments against the scene's usual rate, hourly; only scenes with recent "
            "engagement)."
        ),
    ] = "new",
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Response:
    """Active scenes, newest, most liked or most recently continued first."""
    return await _scene_list(request, topic, sort, limit, cursor)


async def _scene_list(
    request: Request, topic: str | None, sort: str, limit: int, cursor: str | None
) -> Response:
    # No session: one prepared statement on the driver reads the page and its covers.
    db = request.app.state.db
    after = await consistency.required_lsn(request, db)
    page = await service.list_scene_rows(
        db, topic=topic, sort=sort, limit=limit, cursor=cursor, after=after
    )
    return scene_page_response(page.items, page.next_cursor, media_urls_of(request))


def _anonymous_scene_id(request: Request) -> uuid.UUID | None:
    """The path's scene id for a request without credentials (OptionalUser: no viewer), else
    None: a presented token, or an id not canonically spelled, is FastAPI's to judge."""
    if "authorization" in request.headers:
        return None
    return path_uuid(request, "scene_id")


async def _fast_read_scene(request: Request) -> Response | None:
    scene_id = _anonymous_scene_id(request)
    return None if scene_id is None else await _scene(request, scene_id, None)


@router.get("/v1/scenes/{scene_id}", response_model=SceneOut, responses=problem_responses(404, 422))
@fast_path(_fast_read_scene)
async def read_scene(scene_id: uuid.UUID, viewer: OptionalUser, request: Request) -> Response:
    """One scene with its counters, the head bible version and its cover."""
    return await _scene(request, scene_id, viewer)


async def _scene(request: Request, scene_id: uuid.UUID, viewer: User | None) -> Response:
    db = request.app.state.db
    after = await consistency.required_lsn(request, db)
    row = await service.read_visible_scene(db, scene_id, viewer, after=after)
    return scene_response(row, media_urls_of(request))


@router.get(
    "/v1/scenes/{scene_id}/bible", response_model=BibleOut, responses=problem_responses(404, 422)
)
async def read_bible(
    scene_id: uuid.UUID, session: ReadSessionDep, viewer: OptionalUser, response: Response
) -> BibleOut:
    """The head of the scene's bible, with `ETag: "<version>"` to send back as If-Match."""
    return _bible_out(await bible_service.get_version(session, scene_id, viewer), response)


@router.put(
    "/v1/scenes/{scene_id}/bible",
    response_model=BibleOut,
    responses=problem_responses(401, 403, 404, 409, 412, 422, 428),
)
async def update_bible(
    scene_id: uuid.UUID,
    body: BibleUpdateIn,
    user: CurrentUser,
    session: SessionDep,
    response: Response,
    if_match: Annotated[
        str | None, Header(max_length=200, description='The base version: `"<version>"`.')
    ] = None,
) -> BibleOut:
    """Store a new bible version; 412 with the patch to the head when the base is stale."""
    row = await bible_service.update_bible(
        session,
        scene_id,
        user,
        if_match=if_match,
        data=body.data,
        change_note=body.change_note,
    )
    return _bible_out(row, response)


@router.get(
    "/v1/scenes/{scene_id}/bible/versions",
    response_model=Page[BibleVersionSummary],
    responses=problem_responses(404, 422),
)
async def list_bible_versions(
    scene_id: uuid.UUID,
    session: ReadSessionDep,
    viewer: OptionalUser,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Page[BibleVersionSummary]:
    """Every version of the bible, oldest first, without the data."""
    page = await bible_service.page_versions(session, scene_id, viewer, limit=limit, cursor=cursor)
    return Page[BibleVersionSummary](
        items=[BibleVersionSummary.model_validate(v) for v in page.items],
        next_cursor=page.next_cursor,
    )


@router.get(
    "/v1/scenes/{scene_id}/bible/versions/{version}",
    response_model=BibleVersionOut,
    responses=problem_responses(404, 422),
)
async def read_bible_version(
    scene_id: uuid.UUID,
    version: Version,
    session: ReadSessionDep,
    viewer: OptionalUser,
    response: Response,
) -> BibleVersionOut:
    """One version of the bible, with its ETag."""
    row = await bible_service.get_version(session, scene_id, viewer, version)
    response.headers["ETag"] = bible_service.etag(row.version)
    return BibleVersionOut.model_validate(row)


@router.get(
    "/v1/scenes/{scene_id}/bible/diff",
    response_model=BibleDiffOut,
    responses=problem_responses(404, 422),
)
async def diff_bible_versions(
    scene_id: uuid.UUID,
    session: ReadSessionDep,
    viewer: OptionalUser,
    start: Annotated[int, Query(alias="from", ge=1, le=MAX_VERSION)],
    end: Annotated[int, Query(alias="to", ge=1, le=MAX_VERSION)],
) -> BibleDiffOut:
    """The RFC 6902 JSON Patch that turns version `from` into version `to`."""
    patch = await bible_service.diff(session, scene_id, viewer, start, end)
    return BibleDiffOut.model_validate({"from": start, "to": end, "patch": patch})


async def _fast_list_segments(request: Request) -> Response | None:
    scene_id = _anonymous_scene_id(request)
    limit = request.query_params.get("limit", "20")
    cursor = request.query_params.get("cursor")
    if scene_id is None or not _PLAIN_LIMIT.match(limit) or (cursor and len(cursor) > 512):
        return None
    return await _segments(request, scene_id, None, int(limit), cursor)


@router.get(
    "/v1/scenes/{scene_id}/segments",
    response_model=Page[SegmentOut],
    responses=problem_responses(404, 422),
)
@fast_path(_fast_list_segments)
async def list_segments(
    scene_id: uuid.UUID,
    request: Request,
    viewer: OptionalUser,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Response:
    """The scene's active segments in sequence order."""
    return await _segments(request, scene_id, viewer, limit, cursor)


async def _segments(
    request: Request, scene_id: uuid.UUID, viewer: User | None, limit: int, cursor: str | None
) -> Response:
    db = request.app.state.db
    # The caller's writes looked up once, for the session and the driver's reads alike.
    after = await consistency.required_lsn(request, db)
    page = await service.page_segment_rows(
        db, scene_id, viewer, limit=limit, cursor=cursor, after=after
    )
    return segment_page_response(page, media_urls_of(request))
