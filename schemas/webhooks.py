"""Wire models of webhook endpoints and their delivery log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints

from schemas.common import InputModel, WireModel

# What an endpoint may subscribe to (domain.notifications.events); webhook.disabled is told
# in the app only.
WebhookEventType = Literal[
    "job.final_ready",
    "job.failed",
    "job.cancelled",
    "scene.continued",
    "moderation.action",
    "proposal.decided",
]


def _printable_ascii(value: str) -> str:
    if not value.isascii() or not value.isprintable() or " " in value:
        raise ValueError("must be printable ASCII without spaces (percent-encode the rest)")
    return value


WebhookUrl = Annotated[
    str,
    StringConstraints(min_length=8, max_length=2048),
    AfterValidator(_printable_ascii),
]


class WebhookIn(InputModel):
    url: WebhookUrl = Field(description="http(s) URL on a public address.")
    events: list[WebhookEventType] = Field(min_length=1, max_length=6)
    all_users: bool = Field(
        False, description="Admins only: receive every user's events, not just your own."
    )


class WebhookOut(WireModel):
    id: uuid.UUID
    url: str
    events: list[str]
    all_users: bool
    created_at: datetime
    failing_since: datetime | None
    disabled_at: datetime | None
    disabled_reason: str | None


class WebhookCreated(WebhookOut):
    secret: str = Field(
        description="The signing secret, `whsec_<base64>`: shown only in this response."
    )


class DeliveryOut(WireModel):
    id: uuid.UUID = Field(description="The `webhook-id` header of every attempt.")
    event_type: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    last_status_code: int | None
    last_error: str | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
