"""Scenes, their versioned bibles, summaries and video segments."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Computed,
    DateTime,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import (
    text as sql,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from domain.base import Base, created_at, enum_check, updated_at, uuid_pk


class SceneStatus(StrEnum):
    ACTIVE = "active"
    LOCKED = "locked"
    ARCHIVED = "archived"
    HIDDEN = "hidden"
    REMOVED = "removed"


# The statuses the owner sets (PATCH); hidden and removed belong to moderation.
OWNER_STATUSES = (SceneStatus.ACTIVE, SceneStatus.LOCKED, SceneStatus.ARCHIVED)
# Listed publicly, unless deleted (migration 0008's partial index spells the same set).
LISTED_STATUSES = tuple(status.value for status in OWNER_STATUSES)
LISTED_WHERE = "deleted_at IS NULL AND status IN ('active', 'locked', 'archived')"
# Scenes whose live segments the public may play (media_access, domain/media/repository.py),
# unless deleted.
PUBLIC_SCENE_STATUSES = LISTED_STATUSES


class SegmentStatus(StrEnum):
    ACTIVE = "active"
    HIDDEN = "hidden"
    REMOVED = "removed"


# Title over description; kept by PostgreSQL (migration 0003), searched by domain.search.
SEARCH_VECTOR = (
    "setweight(to_tsvector('english'::regconfig, title), 'A') || "
    "setweight(to_tsvector('english'::regconfig, description), 'B')"
)


class Scene(Base):
    __tablename__ = "scenes"
    __table_args__ = (
        CheckConstraint(enum_check("status", tuple(SceneStatus)), name="status"),
        CheckConstraint("bible_version >= 1", name="bible_version_positive"),
        CheckConstraint(
            "segment_count >= 0 AND contributor_count >= 0 AND like_count >= 0"
            " AND view_count >= 0 AND total_duration >= 0",
            name="counters",
        ),
        Index("ix_scenes_created", "created_at", "id"),
        Index("ix_scenes_popular", "like_count", "id"),
        Index("ix_scenes_active", "last_segment_at", "id"),
        # sort=active orders by this expression; the index above cannot serve it.
        Index("ix_scenes_activity", sql("coalesce(last_segment_at, created_at)"), "id"),
        Index("ix_scenes_user_created", "user_id", "created_at"),
        Index("ix_scenes_search_vector", "search_vector", postgresql_using="gin"),
        Index("ix_scenes_topic_created", "topic_id", "created_at", "id"),
        # The public list, newest first: only listed rows, so deleted and hidden ones cost nothing.
        Index("ix_scenes_listed_created", "created_at", "id", postgresql_where=sql(LISTED_WHERE)),
        # The purge cron's scan for deleted scenes past the retention window.
        Index("ix_scenes_deleted", "deleted_at", postgresql_where=sql("deleted_at IS NOT NULL")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    idea_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ideas.id", ondelete="RESTRICT"), index=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # The idea's topic, copied at creation (an idea never changes topic) so lists filter on it.
    topic_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("topics.id", ondelete="RESTRICT"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(
        String(16), server_default=sql("'active'"), default=SceneStatus.ACTIVE
    )
    bible_version: Mapped[int] = mapped_column(Integer, server_default=sql("1"), default=1)
    segment_count: Mapped[int] = mapped_column(Integer, server_default=sql("0"), default=0)
    total_duration: Mapped[float] = mapped_column(Double, server_default=sql("0"), default=0.0)
    contributor_count: Mapped[int] = mapped_column(Integer, server_default=sql("0"), default=0)
    like_count: Mapped[int] = mapped_column(Integer, server_default=sql("0"), default=0)
    view_count: Mapped[int] = mapped_column(Integer, server_default=sql("0"), default=0)
    last_segment_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The chosen cover: a storage key (a segment's thumbnail), never a URL; null = automatic.
    thumbnail_url: Mapped[str | None] = mapped_column(String(500))
    # When the scene was last locked: jobs submitted before it may still finish.
    locked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Soft delete: gone from every public read; purged with its media after the retention.
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
    # Deferred: only search queries read it, and only inside SQL.
    search_vector: Mapped[str | None] = mapped_column(
        TSVECTOR, Computed(SEARCH_VECTOR, persisted=True), deferred=True
    )


class SceneBible(Base):
    """One immutable version of a scene's canon; `scenes.bible_version` names the head."""

    __tablename__ = "scene_bibles"
    __table_args__ = (
        UniqueConstraint("scene_id", "version"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    scene_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("scenes.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    source_job_id: Mapped[uuid.UUID | None] = mapped_column()
    change_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()


class SceneSummary(Base):
    """Older segments of a long scene compressed into prose, so job context stays bounded."""

    __tablename__ = "scene_summaries"
    __table_args__ = (
        UniqueConstraint("scene_id", "to_sequence"),
        CheckConstraint("from_sequence >= 1 AND from_sequence <= to_sequence", name="range"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    scene_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("scenes.id", ondelete="CASCADE"))
    from_sequence: Mapped[int] = mapped_column(Integer)
    to_sequence: Mapped[int] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()


class Segment(Base):
    """A rendered piece of a scene. RANGE-partitioned by month on created_at.

    PostgreSQL requires the partition key in every unique key, so the primary key is
    (id, created_at) and `(scene_id, sequence)` uniqueness lives in `segment_sequences`,
    kept by the `segments_claim_sequence` trigger.
    """

    __tablename__ = "segments"
    __table_args__ = (
        PrimaryKeyConstraint("id", "created_at"),
        CheckConstraint(enum_check("status", tuple(SegmentStatus)), name="status"),
        CheckConstraint("sequence >= 1", name="sequence_positive"),
        CheckConstraint("duration >= 0", name="duration_nonnegative"),
        Index("ix_segments_scene_sequence", "scene_id", "sequence"),
        Index("ix_segments_user_created", "user_id", "created_at"),
        {"postgresql_partition_by": "RANGE (created_at)"},
    )

    id: Mapped[uuid.UUID] = mapped_column(
        default=uuid.uuid4, server_default=sql("gen_random_uuid()")
    )
    created_at: Mapped[datetime] = created_at()
    scene_id: Mapped[uuid.UUID] = mapped_column()
    job_id: Mapped[uuid.UUID | None] = mapped_column()
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    sequence: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    script: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=sql("'{}'::jsonb"))
    duration: Mapped[float] = mapped_column(Double, server_default=sql("0"), default=0.0)
    status: Mapped[str] = mapped_column(
        String(16), server_default=sql("'active'"), default=SegmentStatus.ACTIVE
    )
    bible_version: Mapped[int | None] = mapped_column(Integer)
    hls_playlist_key: Mapped[str | None] = mapped_column(String(1024))
    video_key: Mapped[str | None] = mapped_column(String(1024))
    thumbnail_key: Mapped[str | None] = mapped_column(String(1024))
    resolution: Mapped[str | None] = mapped_column(String(20))
    file_size: Mapped[int | None] = mapped_column(BigInteger)
    # Provenance: enough to reproduce the segment.
    provider: Mapped[str | None] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(128))
    prompt_version: Mapped[str | None] = mapped_column(String(32))
    input_hash: Mapped[str | None] = mapped_column(String(64))
    stage_durations: Mapped[dict[str, Any]] = mapped_column(
        JSONB, server_default=sql("'{}'::jsonb")
    )
    updated_at: Mapped[datetime] = updated_at()


class SegmentSequence(Base):
    """The unique claim of a sequence number in a scene, and of a job's one segment.

    Written only by the trigger on `segments`; its foreign key to `scenes` is what makes the
    segment -> scene link hold on a partitioned table. `cover_key` is the segment's thumbnail
    key while it is active, else NULL: what a scene's cover is chosen from
    (repository.cover_of), without reading every month's partition of `segments`.
    """

    __tablename__ = "segment_sequences"
    __table_args__ = (
        PrimaryKeyConstraint("scene_id", "sequence"),
        ForeignKeyConstraint(["scene_id"], ["scenes.id"], ondelete="RESTRICT"),
        Index(
            "ix_segment_sequences_first_cover",
            "scene_id",
            "sequence",
            postgresql_where=sql("cover_key IS NOT NULL"),
        ),
        Index(
            "ix_segment_sequences_cover_key",
            "scene_id",
            "cover_key",
            "sequence",
            postgresql_where=sql("cover_key IS NOT NULL"),
        ),
    )

    scene_id: Mapped[uuid.UUID] = mapped_column()
    sequence: Mapped[int] = mapped_column(Integer)
    segment_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    segment_created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    job_id: Mapped[uuid.UUID | None] = mapped_column(unique=True)
    cover_key: Mapped[str | None] = mapped_column(String(1024))
    # The kinds of media the segment has (segment_media's roles), sorted; NULL: none. Kept by
    # the trigger on segment_media (migration 0015), for the segments page.
    media_roles: Mapped[list[str] | None] = mapped_column(ARRAY(String(16)))
