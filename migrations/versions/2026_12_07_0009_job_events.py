"""job_events: the append-only log of every change to a job, pushed through NOTIFY

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-07 07:45:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONTHS_AHEAD = 3

# One BEFORE trigger for every writer of jobs (the worker's prepared statements, the API's
# cancel, recovery, admin requeues): the event and the job's `event_seq` are written by the
# same statement as the row, under the row's lock, so the log and the row never disagree and
# no writer can forget it. `data` holds only the public fields that changed (the first event:
# all of them), so folding a job's events rebuilds its state. The NOTIFY is sent at commit;
# its payload carries the event itself unless too long for NOTIFY (then only its id).
RECORD_EVENT = """
CREATE FUNCTION jobs_record_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    fresh jsonb;
    delta jsonb;
    event_kind text;
    payload text;
BEGIN
    fresh := jsonb_build_object(
        'status', NEW.status, 'stage', NEW.stage, 'progress', NEW.progress,
        'message', NEW.message, 'error_code', NEW.error_code,
        'error_message', NEW.error_message, 'retryable', NEW.retryable,
        'retry_count', NEW.retry_count, 'attempt', NEW.attempt,
        'provider_video_id', NEW.provider_video_id, 'segment_id', NEW.segment_id,
        'result_data', NEW.result_data, 'cancel_requested', NEW.cancel_requested,
        'started_at', NEW.started_at, 'finished_at', NEW.finished_at);
    IF TG_OP = 'INSERT' THEN
        delta := fresh;
        NEW.event_seq := 1;
        event_kind := 'job.created';
    ELSE
        SELECT coalesce(jsonb_object_agg(f.key, f.value), '{}'::jsonb) INTO delta
        FROM jsonb_each(fresh) AS f
        WHERE f.value IS DISTINCT FROM (jsonb_build_object(
            'status', OLD.status, 'stage', OLD.stage, 'progress', OLD.progress,
            'message', OLD.message, 'error_code', OLD.error_code,
            'error_message', OLD.error_message, 'retryable', OLD.retryable,
            'retry_count', OLD.retry_count, 'attempt', OLD.attempt,
            'provider_video_id', OLD.provider_video_id, 'segment_id', OLD.segment_id,
            'result_data', OLD.result_data, 'cancel_requested', OLD.cancel_requested,
            'started_at', OLD.started_at, 'finished_at', OLD.finished_at) -> f.key);
        IF delta = '{}'::jsonb THEN
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


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS jobs_record_event ON jobs")
    op.execute("DROP FUNCTION IF EXISTS jobs_record_event()")
    op.drop_table("job_events")
    op.drop_column("jobs", "event_seq")
