"""Playback: the media of live segments and scenes, for the playlist and redirect routes."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import NotFound
from domain.media import playlists, repository
from domain.media.repository import SegmentFiles
from infra.settings import Settings


async def live_segment(session: AsyncSession, segment_id: uuid.UUID) -> SegmentFiles:
    """A live segment's media; hidden, removed or unplayable segments are not found."""
    files = await repository.live_segment_files(session, segment_id)
    if files is None or not files.playable:
        raise NotFound("No such segment, or it has nothing to play.")
    return files


async def media_roles(
    session: AsyncSession, segment_ids: list[uuid.UUID]
) -> dict[uuid.UUID, set[str]]:
    """Which kinds of media each segment has (for its URLs in a list)."""
    return await repository.roles_of(session, segment_ids)


async def live_scene(session: AsyncSession, scene_id: uuid.UUID) -> list[SegmentFiles]:
    """The playable live segments of a public scene; none at all is not found (never an
    empty playlist, which a player would read as a zero-length video)."""
    files = [f for f in await repository.live_scene_files(session, scene_id) if f.playable]
    if not files:
        raise NotFound("This scene has nothing to play yet.")
    return files


def object_key(files: SegmentFiles, kind: str) -> str:
    """The key of the segment's `kind` object (video, thumbnail or captions)."""
    key = {"video": files.video, "thumbnail": files.thumbnail, "captions": files.captions}[kind]
    if key is None:
        raise NotFound(f"This segment has no {kind}.")
    return key


def captions_language(settings: Settings) -> playlists.CaptionsLanguage:
    """The language the captions are written in (CAPTIONS_LANGUAGE, CAPTIONS_LANGUAGE_NAME)."""
    return playlists.CaptionsLanguage(settings.captions_language, settings.captions_language_name)
