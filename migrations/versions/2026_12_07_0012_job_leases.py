"""job leases: which run holds a job, until when

Revision ID: 0012_job_leases
Revises: 0011
Create Date: 2026-12-07 09:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_job_leases"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A table of its own, not columns on jobs: a lease is renewed every few seconds, and a
    # jobs row's every update moves its updated_at (the poll's ETag) and fires its triggers.
    # Plain, not partitioned: one row per job being run, deleted when the run ends.
    op.create_table(
        "job_leases",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("token", sa.Uuid(), nullable=False),
        sa.Column("holder", sa.String(length=255), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_job_leases")),
    )
    op.create_index("ix_job_leases_expires", "job_leases", ["expires_at"])


def downgrade() -> None:
    op.drop_table("job_leases")
