"""Every query on likes and views, and on the counters they keep on ideas and scenes.

Counters move only when a like or view row was really inserted or deleted, in the same
transaction, so `like_count` always equals the number of like rows, however requests race.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from domain.engagement.models import Like, LikeTarget, SceneView
from domain.ideas.models import Idea
from domain.scenes.models import Scene

_LIKE_COUNTERS: dict[LikeTarget, InstrumentedAttribute[int]] = {
    LikeTarget.IDEA: Idea.like_count,
    LikeTarget.SCENE: Scene.like_count,
}


async def add_like(
    session: AsyncSession, user_id: uuid.UUID, target: LikeTarget, target_id: uuid.UUID
) -> bool:
    """True when this call created the like (False: it already existed)."""
    stmt = (
        insert(Like)
        .values(user_id=user_id, target_type=target.value, target_id=target_id)
        .on_conflict_do_nothing(index_elements=["user_id", "target_type", "target_id"])
        .returning(Like.user_id)
    )
    return (await session.execute(stmt)).first() is not None


async def remove_like(
    session: AsyncSession, user_id: uuid.UUID, target: LikeTarget, target_id: uuid.UUID
) -> bool:
    """True when this call deleted the like (False: there was none)."""
    stmt = (
        delete(Like)
        .where(
            Like.user_id == user_id,
            Like.target_type == target.value,
            Like.target_id == target_id,
        )
        .returning(Like.user_id)
    )
    return (await session.execute(stmt)).first() is not None


async def _bump(
    session: AsyncSession,
    column: InstrumentedAttribute[int],
    row_id: uuid.UUID,
    delta: int,
) -> int:
    model = column.class_
    stmt = (
        update(model)
        .where(model.id == row_id)
        .values({column.key: column + delta})
        .returning(column)
        .execution_options(synchronize_session=False)
    )
    return int((await session.execute(stmt)).scalar_one())


async def _read(
    session: AsyncSession, column: InstrumentedAttribute[int], row_id: uuid.UUID
) -> int:
    model = column.class_
    return int(await session.scalar(select(column).where(model.id == row_id)) or 0)


async def bump_like_count(
    session: AsyncSession, target: LikeTarget, target_id: uuid.UUID, delta: int
) -> int:
    return await _bump(session, _LIKE_COUNTERS[target], target_id, delta)


async def like_count(session: AsyncSession, target: LikeTarget, target_id: uuid.UUID) -> int:
    return await _read(session, _LIKE_COUNTERS[target], target_id)


async def get_scene(session: AsyncSession, scene_id: uuid.UUID) -> Scene | None:
    return await session.get(Scene, scene_id)


async def add_view(
    session: AsyncSession,
    scene_id: uuid.UUID,
    *,
    viewer_id: uuid.UUID | None,
    viewer_key: str,
    window_start: datetime,
) -> bool:
    """True when this viewer was not yet counted for the scene in this window."""
    stmt = (
        insert(SceneView)
        .values(
            scene_id=scene_id,
            viewer_id=viewer_id,
            viewer_key=viewer_key,
            window_start=window_start,
        )
        .on_conflict_do_nothing(index_elements=["scene_id", "viewer_key", "window_start"])
        .returning(SceneView.id)
    )
    return (await session.execute(stmt)).first() is not None


async def bump_view_count(session: AsyncSession, scene_id: uuid.UUID) -> int:
    return await _bump(session, Scene.view_count, scene_id, 1)


async def bump_idea_view_count(session: AsyncSession, idea_id: uuid.UUID) -> int:
    """An idea's views are its scenes' views, counted with each."""
    return await _bump(session, Idea.view_count, idea_id, 1)


async def view_count(session: AsyncSession, scene_id: uuid.UUID) -> int:
    return await _read(session, Scene.view_count, scene_id)
