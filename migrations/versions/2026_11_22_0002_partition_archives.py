"""partition_archives: the manifest of partitions exported to storage

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 04:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "partition_archives",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("table_name", sa.String(length=63), nullable=False),
        sa.Column("partition_name", sa.String(length=63), nullable=False),
        sa.Column("range_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("range_to", sa.DateTime(timezone=True), nullable=False),
        sa.Column("storage_key", sa.String(length=1024), nullable=False),
        sa.Column("row_count", sa.BigInteger(), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column(
            "detached_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("restored_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("range_from < range_to", name=op.f("ck_partition_archives_range")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partition_archives")),
        sa.UniqueConstraint("partition_name", name=op.f("uq_partition_archives_partition_name")),
    )


def downgrade() -> None:
    # Archived partitions stay in storage; without the manifest they can only be restored by
    # hand (the file is a CSV with a header line).
    op.drop_table("partition_archives")
