"""Wire models for scenes, their versioned bibles and their segments."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field, StrictBool, field_validator, model_validator

from schemas.common import InputModel, ShortText, Title, WireModel, text_field

SceneSort = Literal["new", "popular", "active", "trending"]
OwnerStatus = Literal["active", "locked", "archived"]
SceneDescription = text_field(5_000)


class SceneIn(InputModel):
    title: Title  # type: ignore[valid-type]
    description: SceneDescription  # type: ignore[valid-type]
    bible: dict[str, Any] = Field(
        description="The initial canon: any document valid under the design's bible schema "
        "(scene_bible.schema.json; docs/SCHEMA.md); stored as version 1 with `version` "
        "stamped and the defaults filled in, everything else as sent."
    )


class ScenePatch(InputModel):
    title: Title | None = None  # type: ignore[valid-type]
    description: SceneDescription | None = None  # type: ignore[valid-type]
    status: OwnerStatus | None = Field(
        None,
        description="active; locked (no new continuations: 409) or archived (closed for good, "
        "still readable). Hidden and removed belong to moderation.",
    )
    cancel_in_flight: StrictBool = Field(
        False,
        description="With status locked or archived: cancel the continuations under way "
        "(false: they finish and their segments are added).",
    )
    cover_segment_id: uuid.UUID | None = Field(
        None,
        description="An active segment of the scene whose thumbnail becomes the cover; null "
        "goes back to the automatic cover (the first active segment's).",
    )

    @field_validator("title", "description", "status")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Only an explicit null reaches here (defaults are not validated): these cannot be cleared.
        if value is None:
            raise ValueError("may be left out but not set to null")
        return value

    @model_validator(mode="after")
    def _cancel_needs_closing(self) -> ScenePatch:
        if self.cancel_in_flight and self.status not in ("locked", "archived"):
            raise ValueError("cancel_in_flight goes with status locked or archived")
        return self


class SceneOut(WireModel):
    id: uuid.UUID
    idea_id: uuid.UUID
    topic_id: uuid.UUID
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
    locked_at: datetime | None = Field(
        None, description="When it was last locked or archived; null while active."
    )
    deleted_at: datetime | None = Field(
        None, description="Set on a deleted scene (only moderators still read it)."
    )
    cover_url: str | None = Field(
        None,
        description="The chosen cover segment's thumbnail, else the first active segment's; "
        "null before the first.",
    )
    playlist_url: str = Field(
        description="The whole scene as one HLS master playlist (its active segments one after "
        "another, with their subtitles rendition)."
    )
    export_url: str = Field(
        description="The whole scene as one MP4, a chapter per segment: 202 with `Retry-After` "
        "while it is being made, 404 before the first segment."
    )


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
    author_username: str | None = Field(
        None, description="Who wrote it (null when the account is gone or the list omits it)."
    )
    author_display_name: str | None = None
    captions_url: str | None = None
    resolution: str | None = Field(None, description="e.g. 1280x720; null when not measured.")
    file_size: int | None = Field(None, description="The video's bytes; null when not measured.")
