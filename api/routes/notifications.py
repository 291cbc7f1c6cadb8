"""The caller's in-app notifications: the list with its unread count, and marking them read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import CurrentUser, ReadSessionDep, SessionDep
from api.errors import problem_responses
from domain.notifications import repository, service
from domain.notifications.models import Notification
from schemas.notifications import MarkReadIn, MarkReadOut, NotificationOut, NotificationPage

router = APIRouter(tags=["notifications"])


def _out(note: Notification) -> NotificationOut:
    return NotificationOut(
        id=note.id,
        type=note.type,
        data=note.data,
        created_at=note.created_at,
        read_at=note.read_at,
        read=note.read_at is not None,
    )


@router.get(
    "/v1/notifications",
    response_model=NotificationPage,
    responses=problem_responses(401, 403, 422),
)
async def list_notifications(
    user: CurrentUser,
    session: ReadSessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> NotificationPage:
    """The caller's notifications, newest first, with how many are unread."""
    inbox = await service.inbox(session, user, limit=limit, cursor=cursor)
    return NotificationPage(
        items=[_out(n) for n in inbox.page.items],
        next_cursor=inbox.page.next_cursor,
        unread_count=inbox.unread_count,
    )


@router.post(
    "/v1/notifications/read",
    response_model=MarkReadOut,
    responses=problem_responses(401, 403, 422),
)
async def mark_read(
    user: CurrentUser, session: SessionDep, body: MarkReadIn | None = None
) -> MarkReadOut:
    """Mark the named notifications (or, without `ids`, all of them) read."""
    ids = body.ids if body is not None else None
    marked = await service.mark_read(session, user, ids)
    return MarkReadOut(marked=marked, unread_count=await repository.unread_count(session, user.id))
