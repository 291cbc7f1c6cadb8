"""Every query on notifications."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.notifications.models import Notification
from domain.pagination import Page, paginate


async def page_for(
    session: AsyncSession, user_id: uuid.UUID, *, limit: int | None, cursor: str | None
) -> Page[Notification]:
    stmt = select(Notification).where(Notification.user_id == user_id)
    return await paginate(
        session,
        stmt,
        [Notification.created_at, Notification.id],
        limit=limit,
        cursor=cursor,
    )


async def unread_count(session: AsyncSession, user_id: uuid.UUID) -> int:
    stmt = select(func.count()).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)
    )
    return int(await session.scalar(stmt) or 0)


async def mark_read(
    session: AsyncSession, user_id: uuid.UUID, ids: Sequence[uuid.UUID] | None
) -> int:
    """Mark the user's unread notifications (those named, or all) read; how many changed."""
    stmt = (
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=func.now())
    )
    if ids is not None:
        stmt = stmt.where(Notification.id.in_(list(ids)))
    result = await session.execute(stmt)
    return int(result.rowcount)  # type: ignore[attr-defined]
