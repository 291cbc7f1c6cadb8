"""provider call events: every provider call charged to a job is also one of its job events

Revision ID: 0013_provider_call_events
Revises: 0012_job_leases
Create Date: 2026-12-07 13:10:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013_provider_call_events"
down_revision: str | None = "0012_job_leases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# An AFTER INSERT trigger on provider_calls, as 0009's is on jobs: whoever records a call (the
# ledger, from any process) records the job's event in the same transaction, so the call and
# its event commit together. The job's event_seq is bumped by an UPDATE that takes the row's
# lock, so seqs stay gapless next to the jobs_record_event trigger's; event_seq is not a
# public field, so that UPDATE records no event of its own. A call whose job does not exist
# (any more) records nothing. `data` holds no job field: folding the event changes no state.
RECORD_CALL_EVENT = """
CREATE FUNCTION provider_calls_record_job_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    next_seq integer;
    job_created timestamptz;
    delta jsonb;
    payload text;
BEGIN
    UPDATE jobs SET event_seq = event_seq + 1 WHERE id = NEW.job_id
        RETURNING event_seq, created_at INTO next_seq, job_created;
    IF next_seq IS NULL THEN
        RETURN NULL;
    END IF;
    delta := jsonb_build_object('provider_call', jsonb_build_object(
        'provider', NEW.provider, 'kind', NEW.kind, 'operation', NEW.operation,
        'outcome', NEW.outcome, 'error_code', NEW.error_code,
        'duration_ms', NEW.duration_ms, 'cost_units', NEW.cost_units));
    INSERT INTO job_events (job_id, created_at, seq, kind, data)
    VALUES (NEW.job_id, job_created, next_seq, 'job.provider_call', delta);
    payload := jsonb_build_object(
        'job_id', NEW.job_id, 'seq', next_seq, 'kind', 'job.provider_call', 'data', delta,
        'recorded_at', now())::text;
    PERFORM pg_notify('job_events', payload);
    RETURN NULL;
END $$;
"""


def upgrade() -> None:
    op.execute(RECORD_CALL_EVENT)
    op.execute(
        "CREATE TRIGGER provider_calls_record_job_event AFTER INSERT ON provider_calls "
        "FOR EACH ROW WHEN (NEW.job_id IS NOT NULL) "
        "EXECUTE FUNCTION provider_calls_record_job_event()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS provider_calls_record_job_event ON provider_calls")
    op.execute("DROP FUNCTION IF EXISTS provider_calls_record_job_event()")
