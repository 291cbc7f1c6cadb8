"""The flag queue and the audit trail of moderation decisions."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, DateTime, Double, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from domain.base import Base, created_at, enum_check, updated_at, uuid_pk


class TargetType(StrEnum):
    IDEA = "idea"
    SCENE = "scene"
    SEGMENT = "segment"
    USER = "user"
    TOPIC = "topic"


class FlagStatus(StrEnum):
    PENDING = "pending"
    REVIEWING = "reviewing"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"


OPEN_FLAG_STATUSES = (FlagStatus.PENDING, FlagStatus.REVIEWING)


class FlagReason(StrEnum):
    SPAM = "spam"
    HARASSMENT = "harassment"
    HATE = "hate"
    VIOLENCE = "violence"
    SEXUAL = "sexual"
    SELF_HARM = "self_harm"
    COPYRIGHT = "copyright"
    MISINFORMATION = "misinformation"
    OFF_TOPIC = "off_topic"
    OTHER = "other"


class ModerationAction(StrEnum):
    HIDE = "hide"
    REMOVE = "remove"
    BAN_USER = "ban_user"
    NONE = "none"


class ModerationFlag(Base):
    __tablename__ = "moderation_flags"
    __table_args__ = (
        CheckConstraint(enum_check("target_type", tuple(TargetType)), name="target_type"),
        CheckConstraint(enum_check("status", tuple(FlagStatus)), name="status"),
        CheckConstraint(enum_check("reason", tuple(FlagReason)), name="reason"),
        CheckConstraint(
            f"action_taken IS NULL OR {enum_check('action_taken', tuple(ModerationAction))}",
            name="action_taken",
        ),
        Index(
            "uq_moderation_flags_open_per_reporter",
            "reporter_id",
            "target_type",
            "target_id",
            unique=True,
            postgresql_where=text("status IN ('pending', 'reviewing')"),
        ),
        Index("ix_moderation_flags_target", "target_type", "target_id", "status"),
        Index("ix_moderation_flags_status_created", "status", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    # NULL reporter: filed by the automatic content check.
    reporter_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    target_type: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[uuid.UUID] = mapped_column()
    reason: Mapped[str] = mapped_column(String(32))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(
        String(16), server_default=text("'pending'"), default=FlagStatus.PENDING
    )
    score: Mapped[float] = mapped_column(Double, server_default=text("0"), default=0.0)
    claimed_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    claim_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    action_taken: Mapped[str | None] = mapped_column(String(16))
    resolution_notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class ModerationActionRecord(Base):
    """One line of the audit trail. Never updated, never deleted."""

    __tablename__ = "moderation_actions"
    __table_args__ = (
        CheckConstraint(enum_check("target_type", tuple(TargetType)), name="target_type"),
        Index("ix_moderation_actions_target", "target_type", "target_id"),
        Index("ix_moderation_actions_created", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    moderator_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    flag_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("moderation_flags.id", ondelete="SET NULL")
    )
    target_type: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[uuid.UUID] = mapped_column()
    action: Mapped[str] = mapped_column(String(32))
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()
