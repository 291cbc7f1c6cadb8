"""The moderation area's reads of what can be flagged: ideas, scenes, segments, users, topics."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.ideas.models import Idea
from domain.moderation.models import TargetType
from domain.moderation.repository import Target
from domain.scenes.models import Scene, Segment
from domain.topics.models import Topic
from domain.users.models import User

Content = Idea | Scene | Segment | User | Topic
EXCERPT = 140


async def load(session: AsyncSession, target: Target) -> Content | None:
    kind, target_id = TargetType(target[0]), target[1]
    if kind == TargetType.SEGMENT:
        return await session.scalar(select(Segment).where(Segment.id == target_id))
    if kind == TargetType.IDEA:
        return await session.get(Idea, target_id)
    if kind == TargetType.SCENE:
        return await session.get(Scene, target_id)
    if kind == TargetType.USER:
        return await session.get(User, target_id)
    return await session.get(Topic, target_id)


async def lock_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.scalar(select(User).where(User.id == user_id).with_for_update())


async def label_rows(
    session: AsyncSession, kind: str, ids: Collection[uuid.UUID]
) -> list[tuple[uuid.UUID, str | None, str | bool]]:
    """(id, label, raw state) of each target of one kind: a title, username, name or excerpt,
    and a status, or an is_active flag for users and topics."""
    stmt: Any
    if kind == TargetType.IDEA:
        stmt = select(Idea.id, Idea.title, Idea.status).where(Idea.id.in_(ids))
    elif kind == TargetType.SCENE:
        stmt = select(Scene.id, Scene.title, Scene.status).where(Scene.id.in_(ids))
    elif kind == TargetType.SEGMENT:
        excerpt = func.left(Segment.text, EXCERPT)
        stmt = select(Segment.id, excerpt, Segment.status).where(Segment.id.in_(ids))
    elif kind == TargetType.USER:
        stmt = select(User.id, User.username, User.is_active).where(User.id.in_(ids))
    else:
        stmt = select(Topic.id, Topic.name, Topic.is_active).where(Topic.id.in_(ids))
    return [(row[0], row[1], row[2]) for row in await session.execute(stmt)]
