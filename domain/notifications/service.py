"""Notifications: telling people what happened, listing and marking what they were told."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import InvalidInput
from domain.notifications import repository
from domain.notifications.events import Event, record
from domain.notifications.models import Notification
from domain.pagination import Page
from domain.users.models import User
from domain.webhooks.wake import wake_after_commit

MAX_IDS = 100


async def tell(session: AsyncSession, *events: Event) -> None:
    """Record `events` in the session's transaction; the webhook sender runs after commit."""
    endpoints = await record(session, events)
    wake_after_commit(session, endpoints)


@dataclass(frozen=True)
class Inbox:
    page: Page[Notification]
    unread_count: int


async def inbox(
    session: AsyncSession, user: User, *, limit: int | None, cursor: str | None
) -> Inbox:
    """The caller's notifications, newest first, and how many are unread."""
    page = await repository.page_for(session, user.id, limit=limit, cursor=cursor)
    return Inbox(page, await repository.unread_count(session, user.id))


async def unread_count(session: AsyncSession, user: User) -> int:
    """How many of the caller's notifications are unread."""
    return await repository.unread_count(session, user.id)


async def mark_read(session: AsyncSession, user: User, ids: Sequence[uuid.UUID] | None) -> int:
    """Mark the caller's notifications read: those named (others' ids are ignored), or all."""
    if ids is not None and len(ids) > MAX_IDS:
        raise InvalidInput(
            f"Name at most {MAX_IDS} notifications at a time.",
            [{"pointer": "/ids", "message": f"at most {MAX_IDS} items"}],
        )
    return await repository.mark_read(session, user.id, ids)
