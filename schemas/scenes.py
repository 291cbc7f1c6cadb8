"""Wire models for scenes, their versioned bibles and their segments."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from schemas.common import InputModel, ShortText, Title, WireModel, text_field

SceneSort = Literal["new", "popular", "active", "trending"]
SceneDescription = text_field(5_000)


class SceneIn(InputModel):
    title: Title  # type: ignore[valid-type]
    description: SceneDescription  # type: ignore[valid-type]
    bible: dict[str, Any] = Field(
        description="The initial canon: any document valid under the design's bible schema "
        "(scene_bible.schema.json; docs/SCHEMA.md); stored as version 1 with `version` "
        "stamped and the defaults filled in, everything else as sent."
    )


class SceneOut(WireModel):
    id: uuid.UUID
    idea_id: uuid.UUID
    user_id: uuid.UUID
    title: str
    description: str
    status: str
    bible_version: int
    segment_count: int
    total_duration: float
    contributor_count: int
    like_count: int
    view_count: int
    last_segment_at: datetime | None
    created_at: datetime
    updated_at: datetime


class BibleUpdateIn(InputModel):
    data: dict[str, Any] = Field(
        description="The whole new canon; its `version` field is set by the server and the "
        "defaults are filled in (docs/SCHEMA.md); everything else is stored as sent."
    )
    change_note: ShortText | None = None  # type: ignore[valid-type]


class BibleOut(WireModel):
    version: int
    data: dict[str, Any] = Field(
        description="The canon as stored: as sent, with `version` and the defaults filled in."
    )


class BibleVersionOut(WireModel):
    version: int
    data: dict[str, Any]
    created_at: datetime
    created_by: uuid.UUID | None
    change_note: str | None


class BibleVersionSummary(WireModel):
    version: int
    created_at: datetime
    created_by: uuid.UUID | None
    change_note: str | None
    source_job_id: uuid.UUID | None


class BibleDiffOut(WireModel):
    from_: int = Field(alias="from", serialization_alias="from")
    to: int
    patch: list[dict[str, Any]] = Field(description="RFC 6902 operations from `from` to `to`.")


class SegmentOut(WireModel):
    id: uuid.UUID
    scene_id: uuid.UUID
    sequence: int
    user_id: uuid.UUID | None
    text: str
    duration: float
    bible_version: int | None
    created_at: datetime
    hls_playlist_url: str | None
    video_url: str | None
    thumbnail_url: str | None
