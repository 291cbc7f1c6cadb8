"""Wire models for likes and views."""

from __future__ import annotations

from pydantic import Field

from schemas.common import WireModel


class LikeOut(WireModel):
    liked: bool = Field(description="Whether the caller likes the target now.")
    like_count: int


class ViewOut(WireModel):
    counted: bool = Field(description="False when this viewer was already counted in this window.")
    view_count: int
