"""A flagged target in context for the moderator deciding on it: its words, its place, its media."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import NotFound
from domain.ideas import repository as ideas_repository
from domain.ideas.models import Idea
from domain.moderation import repository, target_repository, targets
from domain.moderation.service import is_moderator
from domain.scenes import repository as scenes_repository
from domain.scenes.models import Scene, Segment
from domain.topics.models import Topic
from domain.users import repository as users_repository
from domain.users.models import User


@dataclass
class TargetContext:
    """What a moderator needs to judge a target without opening five pages."""

    target_type: str
    target_id: uuid.UUID
    exists: bool
    status: str | None = None
    title: str | None = None
    text: str | None = None
    tags: list[str] = field(default_factory=list)
    author_id: uuid.UUID | None = None
    author_username: str | None = None
    idea_id: uuid.UUID | None = None
    idea_title: str | None = None
    scene_id: uuid.UUID | None = None
    scene_title: str | None = None
    sequence: int | None = None
    duration: float | None = None
    # The segment whose media the moderator sees playing (its URLs are made by the route).
    media_segment_id: uuid.UUID | None = None


async def _fill_scene(session: AsyncSession, ctx: TargetContext, scene_id: uuid.UUID) -> None:
    scene = await scenes_repository.get_scene(session, scene_id)
    if scene is not None:
        ctx.scene_id, ctx.scene_title = scene.id, scene.title
        await _fill_idea(session, ctx, scene.idea_id)


async def _fill_idea(session: AsyncSession, ctx: TargetContext, idea_id: uuid.UUID) -> None:
    idea = await ideas_repository.get(session, idea_id)
    if idea is not None:
        ctx.idea_id, ctx.idea_title = idea.id, idea.title


async def for_flag(session: AsyncSession, flag_id: uuid.UUID, viewer: User) -> TargetContext:
    """The flag's target as it is now (moderators only; hidden and removed targets included)."""
    flag = await repository.get_flag(session, flag_id)
    if flag is None or not is_moderator(viewer):
        raise NotFound("No such flag.")
    content = await target_repository.load(session, (flag.target_type, flag.target_id))
    ctx = TargetContext(flag.target_type, flag.target_id, exists=content is not None)
    if isinstance(content, Idea):
        ctx.status, ctx.title, ctx.text = content.status, content.title, content.prompt
        ctx.tags = list(content.tags or [])
        ctx.idea_id, ctx.idea_title = content.id, content.title
    elif isinstance(content, Scene):
        ctx.status, ctx.title, ctx.text = content.status, content.title, content.description
        ctx.scene_id, ctx.scene_title = content.id, content.title
        await _fill_idea(session, ctx, content.idea_id)
    elif isinstance(content, Segment):
        ctx.status, ctx.text = content.status, content.text
        ctx.sequence, ctx.duration = content.sequence, content.duration
        ctx.media_segment_id = content.id
        await _fill_scene(session, ctx, content.scene_id)
    elif isinstance(content, User):
        ctx.status = "active" if content.is_active else "banned"
        ctx.title, ctx.text = content.display_name or content.username, content.bio
        ctx.author_id, ctx.author_username = content.id, content.username
    elif isinstance(content, Topic):
        ctx.status = "active" if content.is_active else "inactive"
        ctx.title, ctx.text = content.name, content.description
    author_id = targets.author_of(content)
    if author_id is not None and ctx.author_username is None:
        author = await users_repository.get(session, author_id)
        ctx.author_id = author_id
        ctx.author_username = author.username if author is not None else None
    return ctx
