"""Wire models for search: the query text and the three kinds of hit."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from schemas.common import WireModel, line_field

SearchType = Literal["idea", "scene", "user"]
# Trimmed, then 1..200 characters on one line, no control characters (NUL included).
SearchText = line_field(200)


class SnippetOut(WireModel):
    text: str = Field(description="Plain text around the best match; no markup.")
    highlights: list[str] = Field(
        description="The words of `text` that matched, each once, as they appear in it."
    )


class _HitOut(WireModel):
    id: uuid.UUID
    score: float = Field(description="Relevance blended with popularity; higher is better.")


class IdeaHitOut(_HitOut):
    type: Literal["idea"]
    title: str
    snippet: SnippetOut | None = Field(description="From the prompt.")
    user_id: uuid.UUID
    topic_id: uuid.UUID
    category_id: uuid.UUID | None
    tags: list[str]
    like_count: int
    scene_count: int
    created_at: datetime


class SceneHitOut(_HitOut):
    type: Literal["scene"]
    title: str
    snippet: SnippetOut | None = Field(description="From the description.")
    idea_id: uuid.UUID
    topic_id: uuid.UUID
    user_id: uuid.UUID
    status: str
    like_count: int
    segment_count: int
    total_duration: float
    created_at: datetime


class UserHitOut(_HitOut):
    type: Literal["user"]
    username: str
    display_name: str | None
    avatar_url: str | None
    snippet: SnippetOut | None = Field(description="From the bio.")


SearchHitOut = Annotated[IdeaHitOut | SceneHitOut | UserHitOut, Field(discriminator="type")]
