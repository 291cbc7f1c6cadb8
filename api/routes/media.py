"""Media from the local media directory (with S3, players fetch from the bucket instead).

Object URLs are made by infra/media_urls.py; this route serves them for local storage.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from api.deps import ReadSessionDep
from domain.errors import NotFound
from domain.scenes.media_access import is_public_media
from infra.storage import InvalidStorageKey, LocalStorage, content_type_for

router = APIRouter(tags=["media"])


@router.get("/media/{key:path}", include_in_schema=False)
async def media_file(key: str, request: Request, session: ReadSessionDep) -> FileResponse:
    """A stored media object of live content; keys can never reach outside the media directory."""
    storage = request.app.state.storage
    if not isinstance(storage, LocalStorage):
        raise NotFound("Media is served from object storage.")
    try:
        path = storage.path(key)
    except InvalidStorageKey as exc:
        raise NotFound("No such media.") from exc
    if not await is_public_media(session, key):
        raise NotFound("No such media.")  # taken down, not yet published, or not content at all
    if not path.is_file():
        raise NotFound("No such media.")
    return FileResponse(path, media_type=content_type_for(key))
