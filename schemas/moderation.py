"""Wire models for flags, the moderation queue, decisions and the audit trail."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from schemas.common import InputModel, ShortText, WireModel

TargetType = Literal["idea", "scene", "segment", "user", "topic"]
FlagReason = Literal[
    "spam",
    "harassment",
    "hate",
    "violence",
    "sexual",
    "self_harm",
    "copyright",
    "misinformation",
    "off_topic",
    "other",
]
FlagStatus = Literal["pending", "reviewing", "resolved", "dismissed"]
ActionTaken = Literal["hide", "remove", "ban_user", "none"]
Outcome = Literal["resolved", "dismissed", "skipped"]
MAX_BULK = 100
FlagIds = list[uuid.UUID]


class FlagIn(InputModel):
    target_type: TargetType
    target_id: uuid.UUID
    reason: FlagReason
    description: ShortText | None = None  # type: ignore[valid-type]


class FlagOut(WireModel):
    """A flag. Reporters reading their own flag see no moderator ids and no score."""

    id: uuid.UUID
    reporter_id: uuid.UUID | None = Field(description="Null for the automatic content check.")
    target_type: TargetType
    target_id: uuid.UUID
    reason: FlagReason
    description: str | None
    status: FlagStatus
    score: float | None = None
    claimed_by: uuid.UUID | None = None
    claim_expires_at: datetime | None = None
    resolved_by: uuid.UUID | None = None
    resolved_at: datetime | None = None
    action_taken: ActionTaken | None = None
    resolution_notes: str | None = None
    created_at: datetime


class QueueFlag(WireModel):
    id: uuid.UUID
    reporter_id: uuid.UUID | None
    reason: FlagReason
    description: str | None
    status: FlagStatus
    created_at: datetime


class QueueItem(WireModel):
    """One flagged target with its flags (the newest 50; the counts cover all)."""

    target_type: TargetType
    target_id: uuid.UUID
    target_summary: str | None = Field(
        description="Title, username, name or text excerpt; null when the target is gone."
    )
    target_status: str | None
    status: FlagStatus = Field(description="`pending` includes targets whose claim expired.")
    score: float = Field(description="Priority: reporters x reason severity x reporter standing.")
    flag_count: int
    reporter_count: int = Field(description="Distinct users who flagged it.")
    automatic_count: int = Field(description="Flags filed by the automatic content check.")
    reasons: list[FlagReason] = Field(description="Most severe first.")
    claimed_by: uuid.UUID | None
    claim_expires_at: datetime | None
    flags: list[QueueFlag]


class ResolveIn(InputModel):
    action_taken: ActionTaken
    notes: ShortText | None = None  # type: ignore[valid-type]


class DismissIn(InputModel):
    notes: ShortText | None = None  # type: ignore[valid-type]


class BulkResolveIn(InputModel):
    flag_ids: FlagIds = Field(min_length=1, max_length=MAX_BULK)
    action_taken: ActionTaken
    notes: ShortText | None = None  # type: ignore[valid-type]


class BulkDismissIn(InputModel):
    flag_ids: FlagIds = Field(min_length=1, max_length=MAX_BULK)
    notes: ShortText | None = None  # type: ignore[valid-type]


class DecisionOut(WireModel):
    """What happened to one target: every open flag on it closed, or why it was skipped."""

    target_type: TargetType
    target_id: uuid.UUID
    outcome: Outcome
    action_taken: ActionTaken | None
    flag_ids: list[uuid.UUID] = Field(
        description="The flags closed; for a skipped target, the named flags."
    )
    action_id: uuid.UUID | None = Field(description="The audit entry of this decision.")
    skipped_because: str | None = Field(
        None, description="claimed, already_decided, forbidden, validation-error, ..."
    )
    detail: str | None = None
    claimed_by: uuid.UUID | None = None
    claim_expires_at: datetime | None = None


class BulkOut(WireModel):
    results: list[DecisionOut]
    not_found: list[uuid.UUID] = Field(description="Named flag ids that do not exist.")


class ActionOut(WireModel):
    id: uuid.UUID
    moderator_id: uuid.UUID | None = Field(description="Null for the automatic content check.")
    flag_id: uuid.UUID | None
    target_type: TargetType
    target_id: uuid.UUID
    action: str = Field(description="hide, remove, ban_user, none, dismiss or auto_flag.")
    notes: str | None
    created_at: datetime


DeletedType = Literal["scene", "idea"]


class DeletedOut(WireModel):
    """A deleted scene or idea that a moderator may still restore."""

    type: DeletedType
    id: uuid.UUID
    title: str
    user_id: uuid.UUID | None = Field(description="Its author; null once that account is gone.")
    deleted_at: datetime
    restore_until: datetime = Field(
        description="Until when POST /v1/scenes/{id}/restore or /v1/ideas/{id}/restore works."
    )


class TargetContextOut(WireModel):
    """A flagged target as it is now, in its context (hidden and removed targets included)."""

    target_type: TargetType
    target_id: uuid.UUID
    exists: bool = Field(description="False when the target was deleted for good.")
    status: str | None
    title: str | None = Field(description="Idea or scene title, display name, topic name.")
    text: str | None = Field(description="Idea prompt, scene description, segment text, bio.")
    tags: list[str]
    author_id: uuid.UUID | None
    author_username: str | None
    idea_id: uuid.UUID | None = Field(description="The idea itself, or the scene's idea.")
    idea_title: str | None
    scene_id: uuid.UUID | None = Field(description="The scene itself, or the segment's scene.")
    scene_title: str | None
    sequence: int | None = Field(description="A segment's place in its scene.")
    duration: float | None
    hls_playlist_url: str | None = None
    video_url: str | None = None
    thumbnail_url: str | None = None
