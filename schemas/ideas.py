"""Wire models for ideas."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints, field_validator

from schemas.common import InputModel, LongText, Title, WireModel

MAX_TAGS = 20
TAG_PATTERN = r"^[a-z0-9][a-z0-9 _-]*$"
_TAG_RE = re.compile(TAG_PATTERN)
IdeaSort = Literal["new", "popular", "active", "trending"]


def _normalize_tag(value: object) -> object:
    # Non-strings fall through so the str validator reports the wrong type.
    return " ".join(value.split()).lower() if isinstance(value, str) else value


def _dedupe_tags(tags: list[str]) -> list[str]:
    unique = list(dict.fromkeys(tags))
    if len(unique) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} distinct tags")
    return unique


Tag = Annotated[
    str,
    BeforeValidator(_normalize_tag),
    StringConstraints(min_length=1, max_length=40, pattern=TAG_PATTERN),
]
Tags = Annotated[
    list[Tag],
    Field(max_length=100, description=f"Lowercased, trimmed, deduplicated; at most {MAX_TAGS}."),
    AfterValidator(_dedupe_tags),
]


class IdeaIn(InputModel):
    topic_id: uuid.UUID
    category_id: uuid.UUID | None = None
    title: Title  # type: ignore[valid-type]
    prompt: LongText  # type: ignore[valid-type]
    tags: Tags = Field(default_factory=list)


class IdeaPatch(InputModel):
    title: Title | None = None  # type: ignore[valid-type]
    prompt: LongText | None = None  # type: ignore[valid-type]
    tags: Tags | None = None
    category_id: uuid.UUID | None = Field(None, description="null clears the category.")

    @field_validator("title", "prompt", "tags")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Only an explicit null reaches here (defaults are not validated): these cannot be cleared.
        if value is None:
            raise ValueError("may be left out but not set to null")
        return value


class IdeaOut(WireModel):
    id: uuid.UUID
    user_id: uuid.UUID
    topic_id: uuid.UUID
    category_id: uuid.UUID | None
    title: str
    prompt: str
    tags: list[str]
    status: Literal["active", "hidden", "removed"]
    review_status: Literal["pending", "approved", "rejected"]
    like_count: int
    scene_count: int
    view_count: int = Field(description="Views of the idea's scenes.")
    created_at: datetime
    updated_at: datetime


def normalize_tag(value: str) -> str | None:
    """A tag in stored form, or None when it breaks the tag rules."""
    tag = str(_normalize_tag(value))
    return tag if 1 <= len(tag) <= 40 and _TAG_RE.match(tag) else None
