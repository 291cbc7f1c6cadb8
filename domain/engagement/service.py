"""Likes and views: idempotent toggles and counters that stay exact under concurrency."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from domain.engagement import repository
from domain.engagement.models import LikeTarget
from domain.errors import NotFound
from domain.ideas import repository as ideas
from domain.ideas.service import can_like
from domain.scenes.models import Scene, SceneStatus
from domain.users.models import User

# A viewer is counted once per scene in each window; windows are aligned to the epoch.
VIEW_WINDOW = timedelta(minutes=30)
ENGAGEABLE_SCENE_STATUSES = frozenset({SceneStatus.ACTIVE.value})


@dataclass(frozen=True)
class LikeState:
    liked: bool
    like_count: int


@dataclass(frozen=True)
class ViewResult:
    counted: bool
    view_count: int


async def _set_like(
    session: AsyncSession, user: User, target: LikeTarget, target_id: uuid.UUID, liked: bool
) -> LikeState:
    if liked:
        changed = await repository.add_like(session, user.id, target, target_id)
    else:
        changed = await repository.remove_like(session, user.id, target, target_id)
    if changed:
        count = await repository.bump_like_count(session, target, target_id, 1 if liked else -1)
    else:
        count = await repository.like_count(session, target, target_id)
    return LikeState(liked=liked, like_count=count)


async def set_idea_like(
    session: AsyncSession, user: User, idea_id: uuid.UUID, *, liked: bool
) -> LikeState:
    """Like or unlike an idea; repeating either is a no-op."""
    idea = await ideas.get(session, idea_id)
    if idea is None or not can_like(idea, user):
        raise NotFound("No such idea.")
    return await _set_like(session, user, LikeTarget.IDEA, idea_id, liked)


async def _engageable_scene(session: AsyncSession, scene_id: uuid.UUID) -> Scene:
    scene = await repository.get_scene(session, scene_id)
    if (
        scene is None
        or scene.status not in ENGAGEABLE_SCENE_STATUSES
        or scene.deleted_at is not None
    ):
        raise NotFound("No such scene.")
    return scene


async def set_scene_like(
    session: AsyncSession, user: User, scene_id: uuid.UUID, *, liked: bool
) -> LikeState:
    """Like or unlike a scene; repeating either is a no-op."""
    await _engageable_scene(session, scene_id)
    return await _set_like(session, user, LikeTarget.SCENE, scene_id, liked)


def window_start(now: datetime) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return epoch + ((now - epoch) // VIEW_WINDOW) * VIEW_WINDOW


def anonymous_viewer_key(secret: str, address: str, now: datetime) -> str:
    """A stable-for-a-day pseudonym of the address; the address itself is not kept.

    The address alone, not the user agent with it: a refresh loop can send a new User-Agent
    on every request. The salt changes daily and derives from a server secret, so keys cannot
    be linked across days or reversed by hashing every address.
    """
    day = now.astimezone(UTC).date().isoformat()
    salt = hmac.new(secret.encode(), f"scene-views:{day}".encode(), hashlib.sha256).digest()
    message = address.encode("utf-8", "replace")
    return hmac.new(salt, message, hashlib.sha256).hexdigest()


async def record_view(
    session: AsyncSession,
    scene_id: uuid.UUID,
    *,
    viewer: User | None,
    secret: str,
    address: str,
    now: datetime | None = None,
) -> ViewResult:
    """Count a view unless this viewer was already counted for the scene in this window."""
    now = now or datetime.now(UTC)
    scene = await _engageable_scene(session, scene_id)
    key = str(viewer.id) if viewer is not None else anonymous_viewer_key(secret, address, now)
    counted = await repository.add_view(
        session,
        scene_id,
        viewer_id=viewer.id if viewer else None,
        viewer_key=key,
        window_start=window_start(now),
    )
    if counted:
        await repository.bump_idea_view_count(session, scene.idea_id)
        return ViewResult(True, await repository.bump_view_count(session, scene_id))
    return ViewResult(False, await repository.view_count(session, scene_id))
