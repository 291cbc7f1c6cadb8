"""Playback: HLS playlists made from the database, and redirects to stored media.

URLs in the API's answers point here and never expire; the object URLs these routes hand to
the player (in playlist entries or redirects) are made per response (infra/media_urls.py).
Only live content plays: a hidden or removed segment, or a scene that is not public, is 404.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import RedirectResponse

from api.deps import ReadSessionDep, SettingsDep, media_urls_of
from api.errors import problem_responses
from domain.media import playlists, service

router = APIRouter(tags=["playback"])
HLS = "application/vnd.apple.mpegurl"
VTT = "text/vtt; charset=utf-8"
# Entries may be signed URLs: a player refetches the playlist rather than keep stale ones.
NO_CACHE = {"Cache-Control": "no-cache"}
BLANK_PATH = "/v1/captions/blank.vtt"
_PLAYLIST = problem_responses(
    404, 422, others={200: {"content": {HLS: {}}, "description": "HLS playlist"}}
)
_REDIRECT = problem_responses(
    404, 422, others={307: {"description": "Redirect to the stored object"}}
)


def _hls(text: str) -> Response:
    return Response(text, media_type=HLS, headers=NO_CACHE)


@router.get("/v1/segments/{segment_id}/playlist.m3u8", response_class=Response, responses=_PLAYLIST)
async def segment_playlist(
    segment_id: uuid.UUID, session: ReadSessionDep, settings: SettingsDep
) -> Response:
    """The segment's master playlist: its video and, with captions, a subtitles rendition."""
    files = await service.live_segment(session, segment_id)
    captions = "captions.m3u8" if files.captions else None
    return _hls(playlists.master("video.m3u8", captions, service.captions_language(settings)))


@router.get("/v1/segments/{segment_id}/video.m3u8", response_class=Response, responses=_PLAYLIST)
async def segment_video(
    segment_id: uuid.UUID, session: ReadSessionDep, request: Request
) -> Response:
    """The segment's video media playlist (its chunks)."""
    files = await service.live_segment(session, segment_id)
    return _hls(playlists.video([files], media_urls_of(request).object))


@router.get("/v1/segments/{segment_id}/captions.m3u8", response_class=Response, responses=_PLAYLIST)
async def segment_captions(
    segment_id: uuid.UUID, session: ReadSessionDep, request: Request
) -> Response:
    """The segment's subtitles media playlist: its WebVTT file as one entry."""
    files = await service.live_segment(session, segment_id)
    service.object_key(files, "captions")
    urls = media_urls_of(request)
    return _hls(playlists.captions([files], urls.object, urls.api(BLANK_PATH)))


async def _redirect(
    segment_id: uuid.UUID, kind: str, session: ReadSessionDep, request: Request
) -> RedirectResponse:
    files = await service.live_segment(session, segment_id)
    target = media_urls_of(request).object(service.object_key(files, kind))
    return RedirectResponse(target, status.HTTP_307_TEMPORARY_REDIRECT, headers=NO_CACHE)


@router.get("/v1/segments/{segment_id}/video.mp4", response_class=Response, responses=_REDIRECT)
async def segment_mp4(
    segment_id: uuid.UUID, session: ReadSessionDep, request: Request
) -> RedirectResponse:
    """The segment as one MP4 file (a redirect to where it is stored)."""
    return await _redirect(segment_id, "video", session, request)


@router.get("/v1/segments/{segment_id}/thumbnail.jpg", response_class=Response, responses=_REDIRECT)
async def segment_thumbnail(
    segment_id: uuid.UUID, session: ReadSessionDep, request: Request
) -> RedirectResponse:
    """The segment's thumbnail (a redirect to where it is stored)."""
    return await _redirect(segment_id, "thumbnail", session, request)


@router.get("/v1/segments/{segment_id}/captions.vtt", response_class=Response, responses=_REDIRECT)
async def segment_captions_file(
    segment_id: uuid.UUID, session: ReadSessionDep, request: Request
) -> RedirectResponse:
    """The segment's WebVTT captions (a redirect to where they are stored)."""
    return await _redirect(segment_id, "captions", session, request)


@router.get("/v1/scenes/{scene_id}/playlist.m3u8", response_class=Response, responses=_PLAYLIST)
async def scene_playlist(
    scene_id: uuid.UUID, session: ReadSessionDep, settings: SettingsDep
) -> Response:
    """The whole scene, segment after segment: a master playlist with a video rendition and,
    when any segment has captions, a subtitles rendition."""
    files = await service.live_scene(session, scene_id)
    captions = "captions.m3u8" if any(f.captions for f in files) else None
    return _hls(playlists.master("video.m3u8", captions, service.captions_language(settings)))


@router.get("/v1/scenes/{scene_id}/video.m3u8", response_class=Response, responses=_PLAYLIST)
async def scene_video(scene_id: uuid.UUID, session: ReadSessionDep, request: Request) -> Response:
    """Every live segment's chunks in order, a discontinuity between segments."""
    files = await service.live_scene(session, scene_id)
    return _hls(playlists.video(files, media_urls_of(request).object))


@router.get("/v1/scenes/{scene_id}/captions.m3u8", response_class=Response, responses=_PLAYLIST)
async def scene_captions(
    scene_id: uuid.UUID, session: ReadSessionDep, request: Request
) -> Response:
    """One subtitle file per live segment (blank for a segment without captions)."""
    files = await service.live_scene(session, scene_id)
    if not any(f.captions for f in files):
        service.object_key(files[0], "captions")  # not found: nothing to caption
    urls = media_urls_of(request)
    return _hls(playlists.captions(files, urls.object, urls.api(BLANK_PATH)))


@router.get(
    BLANK_PATH,
    response_class=Response,
    responses={200: {"content": {"text/vtt": {}}, "description": "An empty WebVTT file"}},
)
async def blank_captions() -> Response:
    """An empty WebVTT file: the subtitles of a scene's segment that has none."""
    return Response(
        playlists.BLANK_VTT, media_type=VTT, headers={"Cache-Control": "public, max-age=86400"}
    )
