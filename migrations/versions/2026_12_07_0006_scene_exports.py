"""scene_exports: whole-scene MP4 exports, one per scene and set of active segments

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 07:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
# Independent of 0005 (storage): the lead re-chains it when merging.
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scene_exports",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("scene_id", sa.Uuid(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("segment_ids", postgresql.ARRAY(sa.Uuid()), nullable=False),
        sa.Column(
            "status", sa.String(length=16), server_default=sa.text("'building'"), nullable=False
        ),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("storage_key", sa.String(length=1024), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("duration", sa.Double(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('building', 'ready', 'failed')", name=op.f("ck_scene_exports_status")
        ),
        sa.CheckConstraint("attempts >= 1", name=op.f("ck_scene_exports_attempts_positive")),
        sa.ForeignKeyConstraint(
            ["scene_id"],
            ["scenes.id"],
            name=op.f("fk_scene_exports_scene_id_scenes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scene_exports")),
        sa.UniqueConstraint(
            "scene_id", "fingerprint", name=op.f("uq_scene_exports_scene_id_fingerprint")
        ),
    )


def downgrade() -> None:
    op.drop_table("scene_exports")
