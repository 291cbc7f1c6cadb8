"""Notifications on the wire."""

from __future__ import annotations

from domain.notifications.models import Notification
from schemas.notifications import NotificationOut


def notification_out(note: Notification) -> NotificationOut:
    return NotificationOut(
        id=note.id,
        type=note.type,
        data=note.data,
        created_at=note.created_at,
        read_at=note.read_at,
        read=note.read_at is not None,
    )
