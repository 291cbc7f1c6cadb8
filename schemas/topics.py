"""Wire models for topics, categories and topic proposals."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StrictBool, StrictInt, field_validator

from schemas.common import HttpsUrl, InputModel, Name, ShortText, Slug, WireModel

DisplayOrder = Annotated[StrictInt, Field(ge=-1_000_000, le=1_000_000)]
ProposalStatus = Literal["pending", "approved", "rejected"]


class TopicIn(InputModel):
    name: Name  # type: ignore[valid-type]
    slug: Slug | None = Field(None, description="Derived from the name when absent.")
    description: ShortText | None = None  # type: ignore[valid-type]
    display_order: DisplayOrder = 0
    icon_url: HttpsUrl | None = None
    is_curated: StrictBool = Field(True, description="False for a topic not chosen by an admin.")


class TopicPatch(InputModel):
    name: Name | None = None  # type: ignore[valid-type]
    slug: Slug | None = None
    description: ShortText | None = Field(None, description="null clears it.")  # type: ignore[valid-type]
    display_order: DisplayOrder | None = None
    is_active: StrictBool | None = None
    icon_url: HttpsUrl | None = Field(None, description="null clears it.")
    is_curated: StrictBool | None = None

    @field_validator("name", "slug", "display_order", "is_active", "is_curated")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Only an explicit null reaches here (defaults are not validated): these cannot be cleared.
        if value is None:
            raise ValueError("may be left out but not set to null")
        return value


class CategoryIn(InputModel):
    name: Name  # type: ignore[valid-type]
    slug: Slug | None = Field(None, description="Derived from the name when absent.")
    description: ShortText | None = None  # type: ignore[valid-type]
    display_order: DisplayOrder = 0


class TopicOut(WireModel):
    id: uuid.UUID
    name: str
    slug: str
    description: str | None
    icon_url: str | None
    is_curated: bool
    scene_count: int = Field(description="Scenes on the topic's ideas that are not deleted.")
    display_order: int
    is_active: bool
    created_at: datetime
    updated_at: datetime


class CategoryOut(WireModel):
    id: uuid.UUID
    topic_id: uuid.UUID
    name: str
    slug: str
    description: str | None
    display_order: int
    is_active: bool


class TopicDetail(TopicOut):
    categories: list[CategoryOut]


class ProposalIn(InputModel):
    name: Name  # type: ignore[valid-type]
    description: ShortText  # type: ignore[valid-type]


class ApproveIn(InputModel):
    promote: StrictBool = Field(False, description="Also create a topic from the proposal.")


class RejectIn(InputModel):
    reason: ShortText  # type: ignore[valid-type]


class ProposalOut(WireModel):
    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    description: str
    status: ProposalStatus
    reviewed_by: uuid.UUID | None
    reviewed_at: datetime | None
    rejection_reason: str | None
    promoted_to_topic_id: uuid.UUID | None
    created_at: datetime
