"""The design's columns and indexes, and the scene's life (lock, archive, soft delete)

topics icon_url, is_curated, scene_count; ideas view_count, deleted_at; scenes topic_id (filled
from the idea by a trigger), thumbnail_url (the chosen cover, a storage key), locked_at,
deleted_at and status `archived`; segments resolution, file_size; jobs type. Indexes where a
query uses them: scenes by topic, the listed scenes newest first (partial), the deleted scenes
the purge reads (partial).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 07:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
# Written against 0006 (exports): the lead re-chains it when merging.
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LISTED_WHERE = "deleted_at IS NULL AND status IN ('active', 'locked', 'archived')"

# A scene's topic is its idea's; raw inserts (seeds, tools) need not know it.
SCENE_TOPIC_TRIGGER = """
CREATE FUNCTION scenes_fill_topic() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.topic_id IS NULL THEN
        SELECT topic_id INTO NEW.topic_id FROM ideas WHERE id = NEW.idea_id;
    END IF;
    RETURN NEW;
END $$;
"""


def upgrade() -> None:
    op.add_column("topics", sa.Column("icon_url", sa.String(length=500), nullable=True))
    op.add_column(
        "topics",
        sa.Column("is_curated", sa.Boolean(), server_default=sa.text("true"), nullable=False),
    )
    op.add_column(
        "topics",
        sa.Column("scene_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.create_check_constraint(
        op.f("ck_topics_scene_count_nonnegative"), "topics", "scene_count >= 0"
    )
    # Topics promoted from a user's proposal were not curated by an admin.
    op.execute(
        "UPDATE topics SET is_curated = false WHERE id IN "
        "(SELECT promoted_to_topic_id FROM user_topics WHERE promoted_to_topic_id IS NOT NULL)"
    )

    op.add_column(
        "ideas", sa.Column("view_count", sa.Integer(), server_default=sa.text("0"), nullable=False)
    )
    op.add_column("ideas", sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    op.create_check_constraint(op.f("ck_ideas_view_count_nonnegative"), "ideas", "view_count >= 0")

    op.add_column("scenes", sa.Column("topic_id", sa.Uuid(), nullable=True))
    op.add_column("scenes", sa.Column("thumbnail_url", sa.String(length=500), nullable=True))
    op.add_column("scenes", sa.Column("locked_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("scenes", sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    # Counters are backfilled without stamping updated_at: nothing a client sees changed.
    for table in ("ideas", "scenes", "topics"):
        op.execute(f"ALTER TABLE {table} DISABLE TRIGGER {table}_set_updated_at")
    op.execute("UPDATE scenes s SET topic_id = i.topic_id FROM ideas i WHERE i.id = s.idea_id")
    op.execute(
        "UPDATE ideas i SET view_count = v.views FROM "
        "(SELECT idea_id, sum(view_count) AS views FROM scenes GROUP BY idea_id) v "
        "WHERE v.idea_id = i.id"
    )
    op.execute(
        "UPDATE topics t SET scene_count = c.scenes FROM "
        "(SELECT topic_id, count(*) AS scenes FROM scenes GROUP BY topic_id) c "
        "WHERE c.topic_id = t.id"
    )
    for table in ("ideas", "scenes", "topics"):
        op.execute(f"ALTER TABLE {table} ENABLE TRIGGER {table}_set_updated_at")
    op.alter_column("scenes", "topic_id", nullable=False)
    op.create_foreign_key(
        op.f("fk_scenes_topic_id_topics"),
        "scenes",
        "topics",
        ["topic_id"],
        ["id"],
        ondelete="RESTRICT",
    )
    op.execute(SCENE_TOPIC_TRIGGER)
    op.execute(
        "CREATE TRIGGER scenes_fill_topic BEFORE INSERT ON scenes "
        "FOR EACH ROW EXECUTE FUNCTION scenes_fill_topic()"
    )
    op.drop_constraint(op.f("ck_scenes_status"), "scenes", type_="check")
    op.create_check_constraint(
        op.f("ck_scenes_status"),
        "scenes",
        "status IN ('active', 'locked', 'archived', 'hidden', 'removed')",
    )
    op.create_index(
        "ix_scenes_topic_created", "scenes", ["topic_id", "created_at", "id"], unique=False
    )
    op.create_index(
        "ix_scenes_listed_created",
        "scenes",
        ["created_at", "id"],
        unique=False,
        postgresql_where=sa.text(LISTED_WHERE),
    )
    op.create_index(
        "ix_scenes_deleted",
        "scenes",
        ["deleted_at"],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NOT NULL"),
    )

    op.add_column("segments", sa.Column("resolution", sa.String(length=20), nullable=True))
    op.add_column("segments", sa.Column("file_size", sa.BigInteger(), nullable=True))

    op.add_column(
        "jobs",
        sa.Column(
            "type", sa.String(length=24), server_default=sa.text("'continuation'"), nullable=False
        ),
    )
    op.create_check_constraint(op.f("ck_jobs_type"), "jobs", "type IN ('continuation', 'export')")


def downgrade() -> None:
    op.drop_constraint(op.f("ck_jobs_type"), "jobs", type_="check")
    op.drop_column("jobs", "type")
    op.drop_column("segments", "file_size")
    op.drop_column("segments", "resolution")

    op.drop_index("ix_scenes_deleted", table_name="scenes")
    op.drop_index("ix_scenes_listed_created", table_name="scenes")
    op.drop_index("ix_scenes_topic_created", table_name="scenes")
    # Archived scenes were closed to continuations: locked is the nearest older status.
    op.execute("ALTER TABLE scenes DISABLE TRIGGER scenes_set_updated_at")
    op.execute("UPDATE scenes SET status = 'locked' WHERE status = 'archived'")
    # A deleted scene has no older form: it is removed (what moderation's removal left).
    op.execute("UPDATE scenes SET status = 'removed' WHERE deleted_at IS NOT NULL")
    op.execute("ALTER TABLE scenes ENABLE TRIGGER scenes_set_updated_at")
    op.drop_constraint(op.f("ck_scenes_status"), "scenes", type_="check")
    op.create_check_constraint(
        op.f("ck_scenes_status"), "scenes", "status IN ('active', 'locked', 'hidden', 'removed')"
    )
    op.execute("DROP TRIGGER IF EXISTS scenes_fill_topic ON scenes")
    op.execute("DROP FUNCTION IF EXISTS scenes_fill_topic()")
    op.drop_constraint(op.f("fk_scenes_topic_id_topics"), "scenes", type_="foreignkey")
    op.drop_column("scenes", "deleted_at")
    op.drop_column("scenes", "locked_at")
    op.drop_column("scenes", "thumbnail_url")
    op.drop_column("scenes", "topic_id")

    op.drop_constraint(op.f("ck_ideas_view_count_nonnegative"), "ideas", type_="check")
    op.drop_column("ideas", "deleted_at")
    op.drop_column("ideas", "view_count")

    op.drop_constraint(op.f("ck_topics_scene_count_nonnegative"), "topics", type_="check")
    op.drop_column("topics", "scene_count")
    op.drop_column("topics", "is_curated")
    op.drop_column("topics", "icon_url")
