"""Who may see a scene: hidden, removed and deleted scenes exist only for moderators."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import NotFound
from domain.scenes import repository
from domain.scenes.models import Scene, SceneStatus
from domain.users.models import Role, User

HIDDEN_STATUSES = frozenset({SceneStatus.HIDDEN.value, SceneStatus.REMOVED.value})


def is_moderator(user: User | None) -> bool:
    return user is not None and Role(user.role).rank >= Role.MODERATOR.rank


class Visible(Protocol):
    """What visibility reads of a scene: a Scene, or a row of its columns."""

    @property
    def status(self) -> str: ...
    @property
    def deleted_at(self) -> datetime | None: ...


def is_public(scene: Visible) -> bool:
    """Neither hidden, removed nor deleted: what anyone may read."""
    return scene.status not in HIDDEN_STATUSES and scene.deleted_at is None


async def get_visible_scene(
    session: AsyncSession, scene_id: uuid.UUID, viewer: User | None
) -> Scene:
    """The scene, unless it is hidden, removed or deleted and the viewer is not a moderator."""
    scene = await repository.get_scene(session, scene_id)
    if scene is None or (not is_public(scene) and not is_moderator(viewer)):
        raise NotFound("No such scene.")
    return scene
