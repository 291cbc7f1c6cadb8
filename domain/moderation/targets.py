"""What can be flagged: loading a target, who may see it, its summary, and applying actions.

These are the moderation area's reads and writes on other areas' tables. Actions:
- hide / remove: ideas, scenes and segments get status `hidden` / `removed` (the public lists
  and the scene playlist show only active rows); topics become inactive; a user target is
  banned (an account has no hidden state).
- ban_user: the target user, or the content's author, is banned: inactive, every refresh
  token revoked, every job in flight cancelled. The content itself is left as it is.
- none: nothing changes, except that an idea still awaiting review is approved: a moderator
  has looked at it. Hide, remove and ban reject an idea awaiting review.
Nobody can ban an account of their own rank or above (which includes themselves).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import Forbidden, InvalidInput
from domain.ideas.models import ContentStatus, Idea, ReviewStatus
from domain.ideas.service import can_see as can_see_idea
from domain.jobs.models import UNFINISHED, Job, JobStatus
from domain.moderation.models import ModerationAction, TargetType
from domain.moderation.repository import Target
from domain.scenes.access import is_public as scene_is_public
from domain.scenes.lifecycle_repository import forget_cover
from domain.scenes.models import Scene, Segment, SegmentStatus
from domain.topics.models import Topic
from domain.users import service as users_service
from domain.users.models import Role, User

Content = Idea | Scene | Segment | User | Topic
BAN_MESSAGE = "Cancelled: account suspended"
EXCERPT = 140


def rank(user: User | None) -> int:
    return Role(user.role).rank if user is not None else -1


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


async def is_visible(session: AsyncSession, content: Content, viewer: User) -> bool:
    """Whether `viewer` can see the content through the public API."""
    moderator = rank(viewer) >= Role.MODERATOR.rank
    if isinstance(content, Idea):
        return can_see_idea(content, viewer)
    if isinstance(content, Scene):
        return moderator or scene_is_public(content)
    if isinstance(content, Segment):
        if moderator:
            return True
        scene = await session.get(Scene, content.scene_id)
        return (
            content.status == SegmentStatus.ACTIVE and scene is not None and scene_is_public(scene)
        )
    if isinstance(content, User):
        return moderator or content.is_active
    return content.is_active or rank(viewer) >= Role.ADMIN.rank


def author_of(content: Content | None) -> uuid.UUID | None:
    if isinstance(content, User):
        return content.id
    if isinstance(content, Idea | Scene | Segment):
        return content.user_id
    return None


@dataclass(frozen=True)
class Summary:
    text: str | None
    status: str | None


async def summaries(session: AsyncSession, targets: Sequence[Target]) -> dict[Target, Summary]:
    """A short label (title, username, name or text excerpt) and state for each target."""
    ids: dict[str, list[uuid.UUID]] = {}
    for kind, target_id in targets:
        ids.setdefault(kind, []).append(target_id)
    found: dict[Target, Summary] = {}
    for kind, wanted in ids.items():
        stmt: Any
        if kind == TargetType.IDEA:
            stmt = select(Idea.id, Idea.title, Idea.status).where(Idea.id.in_(wanted))
        elif kind == TargetType.SCENE:
            stmt = select(Scene.id, Scene.title, Scene.status).where(Scene.id.in_(wanted))
        elif kind == TargetType.SEGMENT:
            excerpt = func.left(Segment.text, EXCERPT)
            stmt = select(Segment.id, excerpt, Segment.status).where(Segment.id.in_(wanted))
        elif kind == TargetType.USER:
            stmt = select(User.id, User.username, User.is_active).where(User.id.in_(wanted))
        else:
            stmt = select(Topic.id, Topic.name, Topic.is_active).where(Topic.id.in_(wanted))
        for row in await session.execute(stmt):
            found[(kind, row[0])] = Summary(row[1], _state(kind, row[2]))
    return found


def _state(kind: str, raw: str | bool) -> str:
    if isinstance(raw, str):
        return raw
    if raw:
        return "active"
    return "banned" if kind == TargetType.USER else "inactive"


async def apply(
    session: AsyncSession, content: Content | None, action: ModerationAction, actor: User
) -> None:
    """Carry out `action` on the content (nothing when it no longer exists)."""
    if content is None:
        return
    if isinstance(content, Idea) and content.review_status == ReviewStatus.PENDING:
        approved = action == ModerationAction.NONE
        content.review_status = (ReviewStatus.APPROVED if approved else ReviewStatus.REJECTED).value
    if action == ModerationAction.NONE:
        await session.flush()
        return
    if action == ModerationAction.BAN_USER or isinstance(content, User):
        author_id = author_of(content)
        if author_id is None:
            raise InvalidInput(
                "This target has no author to ban.",
                [{"pointer": "/action_taken", "message": "ban_user needs a target with an author"}],
            )
        await ban(session, author_id, actor)
        return
    if isinstance(content, Topic):
        content.is_active = False
    else:
        status = ContentStatus.HIDDEN if action == ModerationAction.HIDE else ContentStatus.REMOVED
        content.status = status.value
        if isinstance(content, Segment) and content.thumbnail_key:
            # A hidden segment is nobody's cover: the scene falls back to the automatic one.
            await forget_cover(session, content.scene_id, content.thumbnail_key)
    await session.flush()


async def ban(session: AsyncSession, user_id: uuid.UUID, actor: User) -> None:
    """Suspend the account: no sign-in, no refresh, no writes, its jobs in flight cancelled."""
    user = await session.scalar(select(User).where(User.id == user_id).with_for_update())
    if user is None:
        return
    if rank(user) >= rank(actor):
        raise Forbidden("Only someone of a higher role can suspend this account.")
    await users_service.ban(session, user)
    await session.execute(
        update(Job)
        .where(Job.user_id == user_id, UNFINISHED)
        .values(
            status=JobStatus.CANCELLED.value,
            cancel_requested=True,
            message=BAN_MESSAGE,
            finished_at=datetime.now(UTC),
        )
        .execution_options(synchronize_session=False)
    )
    await session.flush()
