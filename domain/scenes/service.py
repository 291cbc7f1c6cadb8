"""Scenes: creation from an idea, visibility, lists and segments."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import NotFound
from domain.ideas import service as ideas_service
from domain.moderation.automatic import file_automatic_flag
from domain.moderation.models import TargetType
from domain.pagination import Page
from domain.scenes import read_repository, repository
from domain.scenes.access import get_visible_scene, is_moderator, is_public
from domain.scenes.bible_service import check_bible
from domain.scenes.models import Scene, SceneBible, Segment
from domain.users import repository as users_repository
from domain.users.models import User
from infra.db import Database
from infra.providers.moderation import ContentChecker


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


async def read_visible_scene(
    db: Database, scene_id: uuid.UUID, viewer: User | None, *, after: int | None
) -> Any:
    """Like get_visible_scene, as a row of SceneOut's columns with its cover's `cover_id`,
    read where `Database.reading(after)` would read."""
    row = await read_repository.scene_with_cover(db, scene_id, after=after)
    if row is None or (not is_public(row) and not is_moderator(viewer)):
        raise NotFound("No such scene.")
    return row


async def list_scene_rows(
    db: Database,
    *,
    topic: str | None,
    sort: str,
    limit: int | None,
    cursor: str | None,
    after: int | None,
) -> Page[Any]:
    """Like list_scenes, as rows of SceneOut's columns with their covers' `cover_id`."""
    return await read_repository.page_listed_scenes(
        db, topic=topic, sort=sort, limit=limit, cursor=cursor, after_lsn=after
    )


async def list_idea_scene_rows(
    session: AsyncSession,
    db: Database,
    idea_id: uuid.UUID,
    viewer: User | None,
    *,
    sort: str,
    limit: int | None,
    cursor: str | None,
    after: int | None,
) -> Page[Any]:
    """The public scenes started from an idea the viewer may see (else NotFound), as
    list_scene_rows' rows."""
    await ideas_service.get_idea(session, idea_id, viewer)
    return await read_repository.page_listed_scenes(
        db, topic=None, sort=sort, limit=limit, cursor=cursor, after_lsn=after, idea_id=idea_id
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


async def page_segment_rows(
    db: Database,
    scene_id: uuid.UUID,
    viewer: User | None,
    *,
    limit: int | None,
    cursor: str | None,
    after: int | None,
) -> Page[Any]:
    """page_segments as rows of SegmentOut's columns (read_repository.SEGMENT_FIELDS), each
    with its media kinds (`roles`) and author's names, read in one statement on the driver
    where `Database.reading(after)` reads (no session)."""
    page = await read_repository.page_scene_segments(
        db,
        scene_id,
        visible=lambda scene: is_public(scene) or is_moderator(viewer),
        limit=limit,
        cursor=cursor,
        after_lsn=after,
    )
    if page is None:
        raise NotFound("No such scene.")
    return page


async def segment_authors(
    session: AsyncSession, segments: Sequence[Segment]
) -> dict[uuid.UUID, tuple[str, str | None]]:
    """Who wrote each segment (username, display name), so a list shows names without N queries."""
    ids = {s.user_id for s in segments if s.user_id is not None}
    return await users_repository.names_by_id(session, ids)


async def cover_segments(
    session: AsyncSession, scenes: Sequence[Scene]
) -> dict[uuid.UUID, uuid.UUID]:
    """The segment whose thumbnail is each scene's cover: the chosen one (`thumbnail_url`
    holds its thumbnail's key) while it is active, else the first active segment with a
    thumbnail; one query for the lot."""
    return await repository.cover_segments(
        session, {scene.id: scene.thumbnail_url for scene in scenes}
    )
