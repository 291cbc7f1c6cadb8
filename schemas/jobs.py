"""Wire models for continuation jobs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

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


class JobOut(WireModel):
    id: uuid.UUID
    scene_id: uuid.UUID
    user_id: uuid.UUID
    type: Literal["continuation", "export"]
    status: JobStatusName
    stage: JobStageName
    progress: int
    message: str | None
    result_data: dict[str, Any] | None
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
