"""engagement_stats: hourly engagement, trending scores, activity orderings

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 06:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# An idea's activity moves when a scene starts on it or one of its scenes gets a segment
# (scenes.last_segment_at, set by finalization). Only ever forward, so out-of-order commits
# cannot move it back.
TRACK_IDEA_ACTIVITY = """
CREATE FUNCTION ideas_track_activity() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    moment timestamptz := coalesce(NEW.last_segment_at, NEW.created_at);
BEGIN
    UPDATE ideas SET last_activity_at = moment
    WHERE id = NEW.idea_id AND last_activity_at < moment;
    RETURN NULL;
END $$;
"""

# greatest() skips the NULL of an idea without scenes.
BACKFILL_IDEA_ACTIVITY = """
UPDATE ideas i SET last_activity_at = greatest(
    i.created_at,
    (SELECT max(coalesce(s.last_segment_at, s.created_at)) FROM scenes s WHERE s.idea_id = i.id)
)
"""


def _timestamp(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "engagement_hourly",
        sa.Column("target_type", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.Uuid(), nullable=False),
        _timestamp("hour"),
        sa.Column("likes", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("views", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("segments", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.CheckConstraint(
            "target_type IN ('idea', 'scene')", name=op.f("ck_engagement_hourly_target_type")
        ),
        sa.CheckConstraint(
            "likes >= 0 AND views >= 0 AND segments >= 0",
            name=op.f("ck_engagement_hourly_counters"),
        ),
        sa.PrimaryKeyConstraint(
            "target_type", "target_id", "hour", name=op.f("pk_engagement_hourly")
        ),
    )
    op.create_index("ix_engagement_hourly_hour", "engagement_hourly", ["hour"], unique=False)
    op.create_table(
        "trending_scores",
        sa.Column("target_type", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.Uuid(), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        _timestamp("computed_at"),
        sa.CheckConstraint(
            "target_type IN ('idea', 'scene')", name=op.f("ck_trending_scores_target_type")
        ),
        sa.CheckConstraint("score > 0", name=op.f("ck_trending_scores_score_positive")),
        sa.PrimaryKeyConstraint("target_type", "target_id", name=op.f("pk_trending_scores")),
    )
    op.create_index(
        "ix_trending_scores_feed",
        "trending_scores",
        ["target_type", "score", "target_id"],
        unique=False,
    )
    op.create_index("ix_likes_created", "likes", ["created_at"], unique=False)
    op.create_index("ix_scene_views_created", "scene_views", ["created_at"], unique=False)
    op.create_index(
        "ix_scenes_activity",
        "scenes",
        [sa.text("coalesce(last_segment_at, created_at)"), "id"],
        unique=False,
    )

    op.add_column("ideas", sa.Column("last_activity_at", sa.DateTime(timezone=True)))
    # The backfill is not an edit: updated_at stays as it was.
    op.execute("ALTER TABLE ideas DISABLE TRIGGER ideas_set_updated_at")
    op.execute(BACKFILL_IDEA_ACTIVITY)
    op.execute("ALTER TABLE ideas ENABLE TRIGGER ideas_set_updated_at")
    op.alter_column("ideas", "last_activity_at", server_default=sa.text("now()"), nullable=False)
    op.create_index("ix_ideas_active", "ideas", ["last_activity_at", "id"], unique=False)
    op.execute(TRACK_IDEA_ACTIVITY)
    op.execute(
        "CREATE TRIGGER scenes_track_idea_activity "
        "AFTER INSERT OR UPDATE OF last_segment_at ON scenes "
        "FOR EACH ROW EXECUTE FUNCTION ideas_track_activity()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS scenes_track_idea_activity ON scenes")
    op.execute("DROP FUNCTION IF EXISTS ideas_track_activity()")
    op.drop_index("ix_ideas_active", table_name="ideas")
    op.drop_column("ideas", "last_activity_at")
    op.drop_index("ix_scenes_activity", table_name="scenes")
    op.drop_index("ix_scene_views_created", table_name="scene_views")
    op.drop_index("ix_likes_created", table_name="likes")
    op.drop_index("ix_trending_scores_feed", table_name="trending_scores")
    op.drop_table("trending_scores")
    op.drop_index("ix_engagement_hourly_hour", table_name="engagement_hourly")
    op.drop_table("engagement_hourly")
