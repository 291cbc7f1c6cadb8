"""Likes and views: the counters on ideas and scenes are derived from these rows."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    UniqueConstraint,
    text,
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
        # The hourly engagement roll-up reads likes by time.
        Index("ix_likes_created", "created_at"),
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
        Index("ix_scene_views_created", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    scene_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("scenes.id", ondelete="CASCADE"))
    viewer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    viewer_key: Mapped[str] = mapped_column(String(64))
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()


class EngagementHourly(Base):
    """Likes, counted views and new segments of one target in one UTC hour (the stats cron).

    An idea's rows hold its own likes plus everything that happened on its scenes, so ideas
    and scenes are scored by the same rule. Rows are recomputed from the source tables, never
    incremented, so re-running the roll-up over an hour gives the same row.
    """

    __tablename__ = "engagement_hourly"
    __table_args__ = (
        PrimaryKeyConstraint("target_type", "target_id", "hour"),
        CheckConstraint(enum_check("target_type", tuple(LikeTarget)), name="target_type"),
        CheckConstraint("likes >= 0 AND views >= 0 AND segments >= 0", name="counters"),
        Index("ix_engagement_hourly_hour", "hour"),
    )

    target_type: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[uuid.UUID] = mapped_column()
    hour: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    likes: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    views: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    segments: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)


class TrendingScore(Base):
    """The current trending score of a target with recent engagement (absent: not trending)."""

    __tablename__ = "trending_scores"
    __table_args__ = (
        PrimaryKeyConstraint("target_type", "target_id"),
        CheckConstraint(enum_check("target_type", tuple(LikeTarget)), name="target_type"),
        CheckConstraint("score > 0", name="score_positive"),
        # The feed order, walked backwards: (score, id) descending within one target type.
        Index("ix_trending_scores_feed", "target_type", "score", "target_id"),
    )

    target_type: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[uuid.UUID] = mapped_column()
    score: Mapped[float] = mapped_column(Double)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
