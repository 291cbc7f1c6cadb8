"""Wire models of in-app notifications."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field

from schemas.common import InputModel, WireModel


class NotificationOut(WireModel):
    id: uuid.UUID
    type: str = Field(
        description="job.final_ready, job.failed, scene.continued, moderation.action, "
        "proposal.decided or webhook.disabled"
    )
    data: dict[str, Any] = Field(description="The event's ids and details, by type.")
    created_at: datetime
    read_at: datetime | None
    read: bool


class NotificationPage(WireModel):
    items: list[NotificationOut]
    next_cursor: str | None = Field(None, description="Pass as ?cursor= for the next page.")
    unread_count: int = Field(description="How many of the caller's notifications are unread.")


class MarkReadIn(InputModel):
    ids: list[uuid.UUID] | None = Field(
        None, max_length=100, description="Those notifications; absent: every one."
    )


class MarkReadOut(WireModel):
    marked: int = Field(description="How many notifications this request marked read.")
    unread_count: int
