"""Wire models for continuation jobs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from schemas.common import InputModel, WireModel, text_field

ContinuationText = text_field(10_000)

JobStatusName = Literal[
    "queued",
    "processing",
    "script_ready",
    "continuity_checked",
    "preview_ready",
    "final_ready",
    "failed",
    "cancelled",
]
JobStageName = Literal[
    "pending",
    "script_expansion",
    "continuity_validation",
    "video_generation",
    "upload",
    "finalization",
    "completed",
    "error",
]


class ContinuationIn(InputModel):
    text: ContinuationText  # type: ignore[valid-type]


class ContinuityViolationOut(WireModel):
    """One problem of a `continuity_violation` failure: an item of `result_data.violations`.

    The first three fields are always there. A problem found in the continuation's own text
    (pointer `/text`) also names the bible entry it breaks and where: the sentence and the
    words, with character offsets into the submitted text, so a page can underline them.
    """

    pointer: str = Field(
        description="JSON pointer: into the script (/shots/0/...), the bible, or /text"
    )
    message: str
    rule: str = Field(description="inactive_character, thread_revived, timeline_backwards, ...")
    entity: str | None = Field(
        None, description="The bible entry broken: a character id, a plot thread id or timeline"
    )
    sentence: str | None = None
    sentence_start: int | None = Field(None, description="Offset of the sentence in the text")
    sentence_end: int | None = None
    words: str | None = Field(None, description="The words that break it: text[start:end]")
    start: int | None = None
    end: int | None = None


RESULT_DATA = (
    "What the job produced; when it failed with continuity_violation, "
    "`{violations: [ContinuityViolationOut]}`: pointer, message, rule and, for a problem in "
    "the text, entity, sentence, sentence_start, sentence_end, words, start and end "
    "(character offsets into the submitted text)."
)


class JobOut(WireModel):
    id: uuid.UUID
    scene_id: uuid.UUID
    user_id: uuid.UUID
    type: Literal["continuation", "export"]
    status: JobStatusName
    stage: JobStageName
    progress: int
    message: str | None
    result_data: dict[str, Any] | None = Field(description=RESULT_DATA)
    error_code: str | None
    error_message: str | None
    retryable: bool
    retry_count: int
    max_retries: int
    bible_version: int
    cancel_requested: bool
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
