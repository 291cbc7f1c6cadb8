"""The caller's in-app notifications: the list with its unread count, and marking them read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import CurrentUser, ReadSessionDep, SessionDep
from api.errors import problem_responses
from api.presenters.notifications import notification_out
from domain.notifications import service
from schemas.notifications import MarkReadIn, MarkReadOut, NotificationPage

router = APIRouter(tags=["notifications"])


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
        items=[notification_out(n) for n in inbox.page.items],
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
    return MarkReadOut(marked=marked, unread_count=await service.unread_count(session, user))
