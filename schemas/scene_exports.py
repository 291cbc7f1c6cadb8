"""Wire models for whole-scene exports."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from schemas.common import WireModel


class ExportPending(WireModel):
    """The answer while the export is being made (202): ask again after `retry_after` seconds."""

    status: Literal["building"] = "building"
    scene_id: uuid.UUID
    started_at: datetime
    retry_after: int = Field(description="Seconds to wait before asking again (as Retry-After).")
    detail: str = "The scene's export is being made."
