"""Ideas: the prompts that scenes are created from."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    ARRAY,
    CheckConstraint,
    Computed,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from domain.base import Base, created_at, enum_check, updated_at, uuid_pk


class ContentStatus(StrEnum):
    """Lifecycle of user content: visible, hidden by a moderator, or removed."""

    ACTIVE = "active"
    HIDDEN = "hidden"
    REMOVED = "removed"


class ReviewStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


# Title over prompt over tags; kept by PostgreSQL (migration 0003), searched by domain.search.
SEARCH_VECTOR = (
    "setweight(to_tsvector('english'::regconfig, title), 'A') || "
    "setweight(to_tsvector('english'::regconfig, prompt), 'B') || "
    "setweight(to_tsvector('english'::regconfig, search_tags_text(tags)), 'C')"
)


class Idea(Base):
    __tablename__ = "ideas"
    __table_args__ = (
        CheckConstraint(enum_check("status", tuple(ContentStatus)), name="status"),
        CheckConstraint(enum_check("review_status", tuple(ReviewStatus)), name="review_status"),
        CheckConstraint("like_count >= 0 AND scene_count >= 0", name="counters"),
        CheckConstraint("cardinality(tags) <= 20", name="tag_count"),
        CheckConstraint("view_count >= 0", name="view_count_nonnegative"),
        Index("ix_ideas_tags", "tags", postgresql_using="gin"),
        Index("ix_ideas_topic_created", "topic_id", "created_at", "id"),
        Index("ix_ideas_created", "created_at", "id"),
        Index("ix_ideas_popular", "like_count", "id"),
        Index("ix_ideas_user_created", "user_id", "created_at"),
        Index("ix_ideas_search_vector", "search_vector", postgresql_using="gin"),
        Index("ix_ideas_active", "last_activity_at", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    topic_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("topics.id", ondelete="RESTRICT"))
    category_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("categories.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    prompt: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(
        ARRAY(String(40)), server_default=text("'{}'"), default=list
    )
    status: Mapped[str] = mapped_column(
        String(16), server_default=text("'active'"), default=ContentStatus.ACTIVE
    )
    review_status: Mapped[str] = mapped_column(
        String(16), server_default=text("'pending'"), default=ReviewStatus.PENDING
    )
    like_count: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    scene_count: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    # Views of its scenes, counted as each scene's view is.
    view_count: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    # When its author deleted it (status removed): a moderator may restore it within the window.
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The latest of: the idea posted, a scene started on it, a segment added to one of its
    # scenes. Kept by the scenes_track_idea_activity trigger (migration 0004), for sort=active.
    last_activity_at: Mapped[datetime] = created_at()
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
    # Deferred: only search queries read it, and only inside SQL.
    search_vector: Mapped[str | None] = mapped_column(
        TSVECTOR, Computed(SEARCH_VECTOR, persisted=True), deferred=True
    )
