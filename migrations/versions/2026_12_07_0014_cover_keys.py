"""cover keys: segment_sequences.cover_key, a segment's thumbnail while it is active

A scene's cover is the active segment whose thumbnail is the chosen key (scenes.thumbnail_url),
else its first active segment with a thumbnail. Read from the partitioned `segments`, each
scene of a list page probed every month's partition twice (the cost grew with the months
kept); `segment_sequences` (unpartitioned, one row per segment) now carries what the choice
needs, kept by the trigger that already claims a segment's sequence there, in the segment's
own statement: its thumbnail key while the segment is active, else NULL. Two partial indexes
answer "the first coverable one" and "the one showing this key".

Revision ID: 0014_cover_keys
Revises: 0013_provider_call_events
Create Date: 2026-12-07 18:15:00.000000
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision: str = "0014_cover_keys"
down_revision: str | None = "0013_provider_call_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# 0001's function, with the cover key written beside the claim and kept when only a
# segment's status or thumbnail changes.
CLAIM_WITH_COVER_KEY = """
CREATE OR REPLACE FUNCTION segments_claim_sequence() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    key varchar(1024);
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM segment_sequences WHERE segment_id = OLD.id;
        RETURN OLD;
    END IF;
    key := CASE WHEN NEW.status = 'active' THEN NEW.thumbnail_key END;
    IF TG_OP = 'UPDATE' THEN
        IF NEW.scene_id = OLD.scene_id AND NEW.sequence = OLD.sequence
           AND NEW.job_id IS NOT DISTINCT FROM OLD.job_id AND NEW.id = OLD.id THEN
            UPDATE segment_sequences SET cover_key = key
                WHERE segment_id = NEW.id AND cover_key IS DISTINCT FROM key;
            RETURN NEW;
        END IF;
        DELETE FROM segment_sequences WHERE segment_id = OLD.id;
    END IF;
    INSERT INTO segment_sequences
        (scene_id, sequence, segment_id, segment_created_at, job_id, cover_key)
    VALUES (NEW.scene_id, NEW.sequence, NEW.id, NEW.created_at, NEW.job_id, key)
    ON CONFLICT (scene_id, sequence) DO UPDATE
        SET segment_created_at = EXCLUDED.segment_created_at, cover_key = EXCLUDED.cover_key
        WHERE segment_sequences.segment_id = EXCLUDED.segment_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'sequence % of scene % is taken', NEW.sequence, NEW.scene_id
            USING ERRCODE = 'unique_violation', CONSTRAINT = 'pk_segment_sequences';
    END IF;
    RETURN NEW;
END $$;
"""


def _initial_claim() -> str:
    """0001's function as it was, for the downgrade (as CREATE OR REPLACE)."""
    path = Path(__file__).with_name("2026_11_22_0001_initial_schema.py")
    spec = importlib.util.spec_from_file_location("initial_schema", path)
    assert spec is not None and spec.loader is not None
    initial = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(initial)
    text: str = initial.SEGMENT_SEQUENCE_TRIGGER
    return text.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def upgrade() -> None:
    op.add_column(
        "segment_sequences", sa.Column("cover_key", sa.String(length=1024), nullable=True)
    )
    op.execute(CLAIM_WITH_COVER_KEY)
    op.execute(
        "UPDATE segment_sequences q SET cover_key = s.thumbnail_key FROM segments s "
        "WHERE s.id = q.segment_id AND s.created_at = q.segment_created_at "
        "AND s.status = 'active' AND s.thumbnail_key IS NOT NULL"
    )
    op.create_index(
        "ix_segment_sequences_first_cover",
        "segment_sequences",
        ["scene_id", "sequence"],
        postgresql_where=sa.text("cover_key IS NOT NULL"),
    )
    op.create_index(
        "ix_segment_sequences_cover_key",
        "segment_sequences",
        ["scene_id", "cover_key", "sequence"],
        postgresql_where=sa.text("cover_key IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_segment_sequences_cover_key", table_name="segment_sequences")
    op.drop_index("ix_segment_sequences_first_cover", table_name="segment_sequences")
    op.execute(_initial_claim())
    op.drop_column("segment_sequences", "cover_key")
