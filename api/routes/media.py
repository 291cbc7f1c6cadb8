"""Media from the local media directory (with S3, players fetch from the bucket instead).

Object URLs are made by infra/media_urls.py; this route serves them for local storage.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from api.deps import ReadSessionDep
from domain.scenes.media_access import local_public_media

router = APIRouter(tags=["media"])


@router.get("/media/{key:path}", include_in_schema=False)
async def media_file(key: str, request: Request, session: ReadSessionDep) -> FileResponse:
    """A stored media object of live content; keys can never reach outside the media directory."""
    found = await local_public_media(session, request.app.state.storage, key)
    return FileResponse(found.path, media_type=found.content_type)
