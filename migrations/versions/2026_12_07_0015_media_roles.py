"""media roles: segment_sequences.media_roles, the kinds of media a segment has

A segments page shows a segment's URL fields only for the kinds of media it has. Each row of
the page aggregated its segment_media rows for them (two HLS chunks or more, an MP4, a
thumbnail, captions: half of PostgreSQL's work for the page); the segment's claim row now
carries them, sorted, kept by a trigger on segment_media in the statement that adds or removes
a use.

Revision ID: 0015_media_roles
Revises: 0014_cover_keys
Create Date: 2026-12-07 19:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_media_roles"
down_revision: str | None = "0014_cover_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The claim row is locked before the roles are read, in a statement of its own (a new
# snapshot, in READ COMMITTED): a concurrent change to the same segment's media, committed
# meanwhile, is counted. A use moved to another segment refreshes both.
NOTE_ROLES = """
CREATE FUNCTION segment_media_note_roles() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    target uuid;
BEGIN
    FOREACH target IN ARRAY CASE TG_OP
        WHEN 'INSERT' THEN ARRAY[NEW.segment_id]
        WHEN 'DELETE' THEN ARRAY[OLD.segment_id]
        ELSE ARRAY[OLD.segment_id, NEW.segment_id] END
    LOOP
        PERFORM 1 FROM segment_sequences WHERE segment_id = target FOR UPDATE;
        UPDATE segment_sequences SET media_roles = (
            SELECT array_agg(DISTINCT role ORDER BY role) FROM segment_media
            WHERE segment_id = target
        ) WHERE segment_id = target;
    END LOOP;
    RETURN NULL;
END $$;
"""


def upgrade() -> None:
    op.add_column(
        "segment_sequences",
        sa.Column("media_roles", sa.ARRAY(sa.String(length=16)), nullable=True),
    )
    op.execute(NOTE_ROLES)
    op.execute(
        "CREATE TRIGGER segment_media_note_roles "
        "AFTER INSERT OR DELETE OR UPDATE OF segment_id, role ON segment_media "
        "FOR EACH ROW EXECUTE FUNCTION segment_media_note_roles()"
    )
    op.execute(
        "UPDATE segment_sequences q SET media_roles = m.roles FROM "
        "(SELECT segment_id, array_agg(DISTINCT role ORDER BY role) AS roles "
        "FROM segment_media GROUP BY segment_id) m WHERE m.segment_id = q.segment_id"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS segment_media_note_roles ON segment_media")
    op.execute("DROP FUNCTION IF EXISTS segment_media_note_roles()")
    op.drop_column("segment_sequences", "media_roles")
