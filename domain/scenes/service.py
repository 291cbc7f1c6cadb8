"""Scenes: creation from an idea, visibility, lists, segments and the scene's HLS playlist."""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import NotFound
from domain.moderation.automatic import file_automatic_flag
from domain.moderation.models import TargetType
from domain.pagination import Page
from domain.scenes import repository
from domain.scenes.access import get_visible_scene
from domain.scenes.bible_service import check_bible
from domain.scenes.models import Scene, SceneBible, Segment
from domain.users.models import User
from infra.providers.moderation import ContentChecker
from infra.settings import Settings


async def create_scene(
    session: AsyncSession,
    *,
    idea_id: uuid.UUID,
    user: User,
    title: str,
    description: str,
    bible: dict[str, Any],
    checker: ContentChecker | None = None,
) -> Scene:
    """Start a scene from a visible idea with its bible as version 1.

    With a checker, title and description pass the content check; a hit files an automatic
    flag for moderators (the scene is still created).
    """
    verdict = await checker.check(f"{title}\n{description}") if checker is not None else None
    topic_id = await repository.count_scene_on_idea(session, idea_id, user.id)
    if topic_id is None:
        raise NotFound("No such idea.")
    await repository.count_scenes_of_topic(session, topic_id, 1)
    data = check_bible(bible, segment_count=0, previous=None, version=1, pointer_prefix="/bible")
    scene = Scene(
        idea_id=idea_id,
        topic_id=topic_id,
        user_id=user.id,
        title=title,
        description=description,
        bible_version=1,
    )
    first = SceneBible(version=1, data=data, created_by=user.id, change_note="Initial canon")
    scene = await repository.add_scene(session, scene, first)
    if verdict is not None:
        await file_automatic_flag(session, TargetType.SCENE, scene.id, verdict)
    return scene


async def list_scenes(
    session: AsyncSession, *, topic: str | None, sort: str, limit: int | None, cursor: str | None
) -> Page[Scene]:
    """Active and locked scenes, optionally of one topic (by id or slug)."""
    return await repository.page_listed_scenes(
        session, topic=topic, sort=sort, limit=limit, cursor=cursor
    )


async def page_segments(
    session: AsyncSession,
    scene_id: uuid.UUID,
    viewer: User | None,
    *,
    limit: int | None,
    cursor: str | None,
) -> Page[Segment]:
    """The scene's active segments in sequence order."""
    await get_visible_scene(session, scene_id, viewer)
    return await repository.page_active_segments(session, scene_id, limit=limit, cursor=cursor)


async def playlist_segments(
    session: AsyncSession, scene_id: uuid.UUID, viewer: User | None
) -> list[Segment]:
    await get_visible_scene(session, scene_id, viewer)
    return await repository.all_active_segments(session, scene_id)


async def cover_keys(session: AsyncSession, scenes: Sequence[Scene]) -> dict[uuid.UUID, str]:
    """The storage key of each scene's cover: the chosen one (`thumbnail_url`, a key), else
    its first active segment's thumbnail, read in one query for the scenes without a choice."""
    chosen = {scene.id: scene.thumbnail_url for scene in scenes if scene.thumbnail_url}
    automatic = [scene.id for scene in scenes if scene.id not in chosen]
    return {**await repository.first_thumbnails(session, automatic), **chosen}


# Media


def media_url(settings: Settings, key: str | None) -> str | None:
    """The public URL of a stored media object, or None when there is none."""
    if not key:
        return None
    return f"{settings.public_base_url}/media/{key.lstrip('/')}"


def local_playlist_reader(settings: Settings) -> Callable[[str], str | None]:
    """Read segment playlists from the local media directory, refusing paths outside it."""
    root = Path(settings.media_dir).resolve()

    def read(key: str) -> str | None:
        path = (root / key).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            return None
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    return read


# The scene playlist. HLS media playlists cannot include one another, so the scene's
# playlist is the concatenation of its segments' entries, a discontinuity between segments.

_PLAYLIST_LEVEL_TAGS = (
    "#EXTM3U",
    "#EXT-X-VERSION",
    "#EXT-X-TARGETDURATION",
    "#EXT-X-MEDIA-SEQUENCE",
    "#EXT-X-DISCONTINUITY-SEQUENCE",
    "#EXT-X-PLAYLIST-TYPE",
    "#EXT-X-ENDLIST",
    "#EXT-X-INDEPENDENT-SEGMENTS",
    "#EXT-X-START",
    "#EXT-X-I-FRAMES-ONLY",
    "#EXT-X-ALLOW-CACHE",
)
_URI_ATTRIBUTE = re.compile(r'URI="([^"]*)"')
_EXTINF = re.compile(r"#EXTINF:\s*([0-9.]+)")


def _segment_entries(playlist: str, base_url: str) -> tuple[list[str], float] | None:
    """The media entries of one segment playlist with absolute URIs, and its longest entry.

    None for a master playlist (it lists variants, not media) or one without media.
    """
    lines: list[str] = []
    longest = 0.0
    for raw in playlist.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#EXT-X-STREAM-INF"):
            return None
        if line.startswith("#"):
            if line.startswith(_PLAYLIST_LEVEL_TAGS) or not line.startswith("#EXT"):
                continue
            match = _EXTINF.match(line)
            if match:
                longest = max(longest, float(match.group(1)))
            lines.append(_URI_ATTRIBUTE.sub(lambda m: f'URI="{urljoin(base_url, m[1])}"', line))
        else:
            lines.append(urljoin(base_url, line))
    if not any(not line.startswith("#") for line in lines):
        return None
    return lines, longest


def scene_playlist(
    segments: Sequence[Segment],
    read_segment_playlist: Callable[[str], str | None],
    url_of: Callable[[str], str | None] = lambda key: key,
) -> str:
    """One VOD media playlist playing `segments` in order.

    `read_segment_playlist(key)` returns a segment's own media playlist (None when missing:
    that segment is skipped); `url_of(key)` is the public URL its relative URIs resolve against.
    """
    body: list[str] = []
    target = 1
    for segment in segments:
        key = segment.hls_playlist_key
        text = read_segment_playlist(key) if key else None
        playlist_url = url_of(key) if key and text is not None else None
        entries = _segment_entries(text, playlist_url) if text and playlist_url else None
        if entries is None:
            continue
        lines, longest = entries
        if body:
            body.append("#EXT-X-DISCONTINUITY")
        body.extend(lines)
        target = max(target, math.ceil(longest))
    head = [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        f"#EXT-X-TARGETDURATION:{target}",
        "#EXT-X-MEDIA-SEQUENCE:0",
    ]
    return "\n".join([*head, *body, "#EXT-X-ENDLIST"]) + "\n"
