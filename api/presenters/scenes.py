"""Scenes and segments on the wire: with their media URLs, covers and authors."""

from __future__ import annotations

import uuid
from collections.abc import Sequence, Set
from typing import Any

import asyncpg
from fastapi import Response
from sqlalchemy.ext.asyncio import AsyncSession

from api.presenters.wire import WireFields, wire_response
from domain.media import service as media_service
from domain.pagination import Page as DomainPage
from domain.scenes import service
from domain.scenes.models import Scene, Segment
from infra.media_urls import MediaUrls
from schemas.scenes import SceneOut, SegmentOut

# SceneOut's fields that are the scene's own columns (the URLs, its last, are made here).
_SCENE_COLUMNS = WireFields(SceneOut, made=("cover_url", "playlist_url", "export_url"))


def segment_out(
    segment: Segment,
    urls: MediaUrls,
    roles: set[str],
    author: tuple[str, str | None] | None = None,
) -> SegmentOut:
    """A segment with its URLs (stable API URLs, for the kinds of media it has) and author."""
    return SegmentOut(**segment_fields(segment, urls, roles, author))


def segment_fields(
    segment: Segment,
    urls: MediaUrls,
    roles: Set[str],
    author: tuple[str, str | None] | None = None,
) -> dict[str, Any]:
    """SegmentOut's fields of a segment, its media kinds and its author."""
    return dict(
        id=segment.id,
        scene_id=segment.scene_id,
        sequence=segment.sequence,
        user_id=segment.user_id,
        text=segment.text,
        duration=segment.duration,
        bible_version=segment.bible_version,
        created_at=segment.created_at,
        **urls.segment_links(segment.id, roles),
        author_username=author[0] if author else None,
        author_display_name=author[1] if author else None,
        resolution=segment.resolution,
        file_size=segment.file_size,
    )


def segment_page_response(page: DomainPage[Any], urls: MediaUrls) -> Response:
    """A page of segment records (domain.scenes.service.page_segment_rows) as the route's
    Page[SegmentOut], its items made in SegmentOut's field order (its URL fields lie between
    its columns) and written as api.presenters.wire writes: the same bytes, not validated
    again."""
    items = []
    for row in page.items:
        segment_id = str(row["id"])  # once, for the id and the links
        item = {
            "id": segment_id,
            "scene_id": row["scene_id"],
            "sequence": row["sequence"],
            "user_id": row["user_id"],
            "text": row["text"],
            "duration": row["duration"],
            "bible_version": row["bible_version"],
            "created_at": row["created_at"],
            "hls_playlist_url": None,
            "video_url": None,
            "thumbnail_url": None,
            "author_username": row["author_username"],
            "author_display_name": row["author_display_name"],
            "captions_url": None,
            "resolution": row["resolution"],
            "file_size": row["file_size"],
        }
        if roles := row["roles"]:  # the URLs of its media, in their places
            item.update(urls.segment_links(segment_id, roles))
        items.append(item)
    return wire_response({"items": items, "next_cursor": page.next_cursor})


async def segment_outs(
    session: AsyncSession,
    urls: MediaUrls,
    segments: Sequence[Segment],
    *,
    with_authors: bool = False,
) -> list[SegmentOut]:
    """Segments on the wire, their media kinds (and authors, when asked) read in one query each."""
    roles = await media_service.media_roles(session, [s.id for s in segments])
    authors = await service.segment_authors(session, segments) if with_authors else {}
    return [
        segment_out(s, urls, roles.get(s.id, set()), authors.get(s.user_id) if s.user_id else None)
        for s in segments
    ]


async def scene_outs(
    session: AsyncSession, urls: MediaUrls, scenes: Sequence[Scene]
) -> list[SceneOut]:
    """Scenes on the wire, with their covers read in one query for the lot."""
    covers = await service.cover_segments(session, scenes)
    return [
        SceneOut.model_validate(scene_fields(scene, covers.get(scene.id), urls)) for scene in scenes
    ]


def scene_fields(scene: Any, cover_id: uuid.UUID | None, urls: MediaUrls) -> dict[str, Any]:
    """SceneOut's fields of a scene (a row or the model: its columns by name) and its cover
    segment, in SceneOut's order (api.presenters.wire)."""
    fields = _SCENE_COLUMNS.of(scene)
    fields["cover_url"] = urls.segment_thumbnail(cover_id) if cover_id else None
    fields.update(urls.scene_links(scene.id))
    return fields


def scene_row_out(row: Any, urls: MediaUrls) -> dict[str, Any]:
    """SceneOut's fields of a row of the scene's columns and its cover segment (`cover_id`)."""
    return scene_fields(row, row.cover_id, urls)


def scene_response(row: Any, urls: MediaUrls) -> Response:
    """A scene row (see scene_row_out) as the route's SceneOut."""
    return wire_response(scene_row_out(row, urls))


def scene_page_response(
    rows: Sequence[asyncpg.Record], next_cursor: str | None, urls: MediaUrls
) -> Response:
    """A page of scene records (read_repository.page_listed_scenes: SceneOut's columns in its
    order, then their cover's `cover_id`) as the route's Page[SceneOut]."""
    items = _SCENE_COLUMNS.records(rows)
    for item, row in zip(items, rows, strict=True):
        scene_id = item["id"] = str(item["id"])  # once, for the id and the links
        cover_id = row["cover_id"]
        item["cover_url"] = urls.segment_thumbnail(cover_id) if cover_id else None
        item.update(urls.scene_links(scene_id))
    return wire_response({"items": items, "next_cursor": next_cursor})
