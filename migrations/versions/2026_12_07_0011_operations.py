"""operations: system events, the provider ledger, dead-letter discards

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 07:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain, not partitioned: a few hundred rows a day at most; the created_at index serves
    # both the time filter and the cursor, and old rows go with a DELETE, not a partition drop.
    op.create_table(
        "system_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("data", JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_system_events")),
    )
    op.create_index("ix_system_events_created", "system_events", ["created_at", "id"])
    op.create_index("ix_system_events_kind_created", "system_events", ["kind", "created_at", "id"])
    op.create_table(
        "provider_calls",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("operation", sa.String(length=32), nullable=False),
        sa.Column("work_key", sa.String(length=128), nullable=True),
        sa.Column("request_id", sa.String(length=255), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("cost_units", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("response", JSONB(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "kind IN ('llm', 'moderation', 'speech', 'video')", name=op.f("ck_provider_calls_kind")
        ),
        sa.CheckConstraint("outcome IN ('ok', 'error')", name=op.f("ck_provider_calls_outcome")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_calls")),
    )
    op.create_index("ix_provider_calls_user_created", "provider_calls", ["user_id", "created_at"])
    op.create_index("ix_provider_calls_job", "provider_calls", ["job_id"])
    # One successful answer per piece of work: a rerun after a crash finds it here first.
    op.create_index(
        "uq_provider_calls_work_ok",
        "provider_calls",
        ["work_key"],
        unique=True,
        postgresql_where=sa.text("outcome = 'ok' AND work_key IS NOT NULL"),
    )
    # A discarded dead letter leaves the failed-jobs list; the job itself stays failed.
    op.add_column("jobs", sa.Column("discarded_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("jobs", "discarded_at")
    op.drop_table("provider_calls")
    op.drop_table("system_events")
