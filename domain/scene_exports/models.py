"""Whole-scene exports: one MP4 per scene and set of active segments, built by the worker."""

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
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy import text as sql
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from domain.base import Base, created_at, enum_check, uuid_pk


class ExportStatus(StrEnum):
    BUILDING = "building"
    READY = "ready"
    FAILED = "failed"


class SceneExport(Base):
    """The export of a scene as its active segments stood: `fingerprint` names that list.

    A scene that changes gets a new fingerprint, so a new row; rows of older fingerprints are
    never served and are dropped once a newer export is ready.
    """

    __tablename__ = "scene_exports"
    __table_args__ = (
        UniqueConstraint("scene_id", "fingerprint"),
        CheckConstraint(enum_check("status", tuple(ExportStatus)), name="status"),
        CheckConstraint("attempts >= 1", name="attempts_positive"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    scene_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("scenes.id", ondelete="CASCADE"))
    fingerprint: Mapped[str] = mapped_column(String(64))
    # The active segments in sequence order when the export was asked for: what it is built from.
    segment_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid()))
    status: Mapped[str] = mapped_column(
        String(16), server_default=sql("'building'"), default=ExportStatus.BUILDING
    )
    # Which build is current: a worker finishing an older attempt changes nothing.
    attempts: Mapped[int] = mapped_column(Integer, server_default=sql("1"), default=1)
    storage_key: Mapped[str | None] = mapped_column(String(1024))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    duration: Mapped[float | None] = mapped_column(Double)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=sql("now()")
    )
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()
