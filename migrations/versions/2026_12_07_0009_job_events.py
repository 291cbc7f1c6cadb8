"""job_events: the append-only log of every change to a job, pushed through NOTIFY

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 07:45:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONTHS_AHEAD = 3

# One BEFORE trigger for every writer of jobs (the worker's prepared statements, the API's
# cancel, recovery, admin requeues): the event and the job's `event_seq` are written by the
# same statement as the row, under the row's lock, so the log and the row never disagree and
# no writer can forget it. `data` holds only the public fields that changed (the first event:
# all of them), so folding a job's events rebuilds its state. The NOTIFY is sent at commit;
# its payload carries the event itself unless too long for NOTIFY (then only its id).

# The public fields a job's events carry: those that change (the rest are fixed at insert).
STATE_FIELDS = (
    "status", "stage", "progress", "message", "error_code", "error_message", "retryable",
    "retry_count", "attempt", "provider_video_id", "segment_id", "result_data",
    "cancel_requested", "started_at", "finished_at",
)  # fmt: skip
# Field by field rather than diffing two jsonb objects: about a third cheaper per UPDATE.
_CHANGED = "\n".join(
    f"        IF NEW.{f} IS DISTINCT FROM OLD.{f} THEN "
    f"delta := delta || jsonb_build_object('{f}', NEW.{f}); END IF;"
    for f in STATE_FIELDS
)
_ALL = ", ".join(f"'{f}', NEW.{f}" for f in STATE_FIELDS)
RECORD_EVENT = f"""
CREATE FUNCTION jobs_record_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    delta jsonb := '{{}}'::jsonb;
    event_kind text;
    payload text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        delta := jsonb_build_object({_ALL});
        NEW.event_seq := 1;
        event_kind := 'job.created';
    ELSE
{_CHANGED}
        IF delta = '{{}}'::jsonb THEN
            RETURN NEW;
        END IF;
        NEW.event_seq := OLD.event_seq + 1;
        event_kind := CASE
            WHEN NEW.status IS DISTINCT FROM OLD.status
                 AND NEW.status IN ('final_ready', 'failed', 'cancelled') THEN 'job.' || NEW.status
            WHEN NEW.retry_count > OLD.retry_count THEN 'job.retry_scheduled'
            WHEN NEW.attempt > OLD.attempt THEN 'job.attempt_started'
            WHEN NEW.provider_video_id IS DISTINCT FROM OLD.provider_video_id
                THEN 'job.provider_called'
            WHEN NEW.cancel_requested AND NOT OLD.cancel_requested THEN 'job.cancel_requested'
            WHEN NEW.status IS DISTINCT FROM OLD.status THEN 'job.status'
            WHEN NEW.stage IS DISTINCT FROM OLD.stage THEN 'job.stage'
            WHEN NEW.progress IS DISTINCT FROM OLD.progress THEN 'job.progress'
            ELSE 'job.updated'
        END;
    END IF;
    INSERT INTO job_events (job_id, created_at, seq, kind, data)
    VALUES (NEW.id, NEW.created_at, NEW.event_seq, event_kind, delta);
    payload := jsonb_build_object(
        'job_id', NEW.id, 'seq', NEW.event_seq, 'kind', event_kind, 'data', delta,
        'recorded_at', now())::text;
    IF octet_length(payload) > 7900 THEN  -- NOTIFY takes at most 8000 bytes
        payload := jsonb_build_object('job_id', NEW.id, 'seq', NEW.event_seq)::text;
    END IF;
    PERFORM pg_notify('job_events', payload);
    RETURN NEW;
END $$;
"""


# A job deleted (its account erased) takes its events along; moving rows between partitions
# disables DELETE triggers (infra/partitions.py), so a moved job keeps them.
FORGET_EVENTS = """
CREATE FUNCTION jobs_forget_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM job_events WHERE job_id = OLD.id AND created_at = OLD.created_at;
    RETURN OLD;
END $$;
"""


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def upgrade() -> None:
    op.add_column(
        "jobs", sa.Column("event_seq", sa.Integer(), server_default=sa.text("0"), nullable=False)
    )
    op.create_table(
        "job_events",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        # The job's created_at, not the event's: the partition key, named as on every
        # partitioned table (infra/partitions.py relies on it), so a job's events share its month.
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("job_id", "created_at", "seq", name=op.f("pk_job_events")),
        postgresql_partition_by="RANGE (created_at)",
    )
    first = datetime.now(UTC).date().replace(day=1)
    for offset in range(MONTHS_AHEAD + 1):
        lower, upper = _add_months(first, offset), _add_months(first, offset + 1)
        op.execute(
            f"CREATE TABLE job_events_p{lower:%Y_%m} PARTITION OF job_events "
            f"FOR VALUES FROM ('{lower.isoformat()} 00:00:00+00') "
            f"TO ('{upper.isoformat()} 00:00:00+00')"
        )
    op.execute("CREATE TABLE job_events_default PARTITION OF job_events DEFAULT")
    op.execute(RECORD_EVENT)
    op.execute(
        "CREATE TRIGGER jobs_record_event BEFORE INSERT OR UPDATE ON jobs "
        "FOR EACH ROW EXECUTE FUNCTION jobs_record_event()"
    )
    op.execute(FORGET_EVENTS)
    op.execute(
        "CREATE TRIGGER jobs_forget_events AFTER DELETE ON jobs "
        "FOR EACH ROW EXECUTE FUNCTION jobs_forget_events()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS jobs_forget_events ON jobs")
    op.execute("DROP FUNCTION IF EXISTS jobs_forget_events()")
    op.execute("DROP TRIGGER IF EXISTS jobs_record_event ON jobs")
    op.execute("DROP FUNCTION IF EXISTS jobs_record_event()")
    op.drop_table("job_events")
    op.drop_column("jobs", "event_seq")
