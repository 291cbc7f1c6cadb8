"""Likes and views: the counters on ideas and scenes are derived from these rows."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    PrimaryKeyConstraint,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from domain.base import Base, created_at, enum_check, uuid_pk


class LikeTarget(StrEnum):
    IDEA = "idea"
    SCENE = "scene"


class Like(Base):
    __tablename__ = "likes"
    __table_args__ = (
        PrimaryKeyConstraint("user_id", "target_type", "target_id"),
        CheckConstraint(enum_check("target_type", tuple(LikeTarget)), name="target_type"),
        Index("ix_likes_target", "target_type", "target_id"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    target_type: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[uuid.UUID] = mapped_column()
    created_at: Mapped[datetime] = created_at()


class SceneView(Base):
    """A view counted once per viewer, scene and window (viewer_key: user id or hashed address)."""

    __tablename__ = "scene_views"
    __table_args__ = (
        UniqueConstraint("scene_id", "viewer_key", "window_start"),
        Index("ix_scene_views_scene_created", "scene_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    scene_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("scenes.id", ondelete="CASCADE"))
    viewer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    viewer_key: Mapped[str] = mapped_column(String(64))
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()
