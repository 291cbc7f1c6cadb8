"""media_objects: content-addressed media and the segments' references to it

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 07:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "media_objects",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=1024), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(length=128), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "touched_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("size >= 0", name=op.f("ck_media_objects_size_nonnegative")),
        sa.CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name=op.f("ck_media_objects_sha256_hex")),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_media_objects")),
        sa.UniqueConstraint("key", name=op.f("uq_media_objects_key")),
    )
    op.create_index("ix_media_objects_touched_at", "media_objects", ["touched_at"])
    op.create_table(
        "segment_media",
        sa.Column("segment_id", sa.Uuid(), nullable=False),
        sa.Column("segment_created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("object_sha256", sa.String(length=64), nullable=False),
        sa.Column("duration", sa.Double(), nullable=True),
        sa.CheckConstraint(
            "role IN ('chunk', 'video', 'thumbnail', 'captions')",
            name=op.f("ck_segment_media_role"),
        ),
        sa.CheckConstraint("position >= 0", name=op.f("ck_segment_media_position_nonnegative")),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["segment_sequences.segment_id"],
            name=op.f("fk_segment_media_segment_id_segment_sequences"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["object_sha256"],
            ["media_objects.sha256"],
            name=op.f("fk_segment_media_object_sha256_media_objects"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("segment_id", "role", "position", name=op.f("pk_segment_media")),
    )
    op.create_index("ix_segment_media_object_sha256", "segment_media", ["object_sha256"])


def downgrade() -> None:
    op.drop_index("ix_segment_media_object_sha256", table_name="segment_media")
    op.drop_table("segment_media")
    op.drop_index("ix_media_objects_touched_at", table_name="media_objects")
    op.drop_table("media_objects")
