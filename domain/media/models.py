"""Content-addressed media objects and the segments' references to them."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from domain.base import Base, enum_check


class MediaRole(StrEnum):
    CHUNK = "chunk"  # an HLS MPEG-TS part; `position` orders them, `duration` is its EXTINF
    VIDEO = "video"
    THUMBNAIL = "thumbnail"
    CAPTIONS = "captions"


class MediaObject(Base):
    """One stored object, keyed by the SHA-256 of its bytes: identical files are stored once.

    `touched_at` moves whenever an upload (re)stores it; the sweeper removes an object that
    nothing references once its last touch is older than the grace period.
    """

    __tablename__ = "media_objects"
    __table_args__ = (
        CheckConstraint("size >= 0", name="size_nonnegative"),
        CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="sha256_hex"),
        Index("ix_media_objects_touched_at", "touched_at"),
    )

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(1024), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    touched_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class SegmentMedia(Base):
    """A segment's use of an object: its HLS chunks in order, its MP4, thumbnail and captions.

    The foreign key to media_objects is RESTRICT: an object a segment uses cannot be deleted.
    """

    __tablename__ = "segment_media"
    __table_args__ = (
        PrimaryKeyConstraint("segment_id", "role", "position"),
        # To segment_sequences, not the partitioned segments: moving a segment row between
        # partitions (infra/partitions.py) deletes it from one, which would cascade here.
        ForeignKeyConstraint(["segment_id"], ["segment_sequences.segment_id"], ondelete="CASCADE"),
        CheckConstraint(enum_check("role", tuple(MediaRole)), name="role"),
        CheckConstraint("position >= 0", name="position_nonnegative"),
        Index("ix_segment_media_object_sha256", "object_sha256"),
    )

    segment_id: Mapped[uuid.UUID] = mapped_column()
    segment_created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    role: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(Integer)
    object_sha256: Mapped[str] = mapped_column(
        String(64), ForeignKey("media_objects.sha256", ondelete="RESTRICT")
    )
    duration: Mapped[float | None] = mapped_column(Double)
