"""Who may see a scene: hidden and removed scenes exist only for moderators."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import NotFound
from domain.scenes import repository
from domain.scenes.models import Scene, SceneStatus
from domain.users.models import Role, User

HIDDEN_STATUSES = frozenset({SceneStatus.HIDDEN.value, SceneStatus.REMOVED.value})


def is_moderator(user: User | None) -> bool:
    return user is not None and Role(user.role).rank >= Role.MODERATOR.rank


async def get_visible_scene(
    session: AsyncSession, scene_id: uuid.UUID, viewer: User | None
) -> Scene:
    """The scene, unless it is hidden or removed and the viewer is not a moderator."""
    scene = await repository.get_scene(session, scene_id)
    if scene is None or (scene.status in HIDDEN_STATUSES and not is_moderator(viewer)):
        raise NotFound("No such scene.")
    return scene
