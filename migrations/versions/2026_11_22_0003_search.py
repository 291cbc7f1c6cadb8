"""search: full-text vectors, trigram indexes and the typo vocabulary

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 06:00:00.000000

Each searchable table gets a STORED generated `search_vector` (the title weighted A over the
body B, tags C) with a GIN index, so the database keeps it right on every write. Typos are
corrected against `search_words`, the vocabulary of every word ever written, kept by a trigger:
a trigram lookup over tens of thousands of short words costs about a millisecond, where a
trigram match against 100,000 titles and prompts would recheck thousands of long texts.
search_match_estimate hands the planner's match estimate to the search, which picks its plan
by it (see domain.search.repository).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# array_to_string is only STABLE (element output functions may depend on settings); for
# varchar[] it is immutable in fact, and a generated column accepts only immutable calls.
TAGS_TEXT = """
CREATE FUNCTION search_tags_text(tags varchar[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT array_to_string(tags, ' ') $$
"""

VECTORS = {
    "ideas": (
        "setweight(to_tsvector('english'::regconfig, title), 'A') || "
        "setweight(to_tsvector('english'::regconfig, prompt), 'B') || "
        "setweight(to_tsvector('english'::regconfig, search_tags_text(tags)), 'C')"
    ),
    "scenes": (
        "setweight(to_tsvector('english'::regconfig, title), 'A') || "
        "setweight(to_tsvector('english'::regconfig, description), 'B')"
    ),
    "users": (
        "setweight(to_tsvector('english'::regconfig, username), 'A') || "
        "setweight(to_tsvector('english'::regconfig, coalesce(display_name, '')), 'A') || "
        "setweight(to_tsvector('english'::regconfig, coalesce(bio, '')), 'B')"
    ),
}

# The columns whose words feed the vocabulary, per table (the trigger's arguments).
WORD_SOURCES = {
    "ideas": ("title", "prompt", "tags"),
    "scenes": ("title", "description"),
    "users": ("username", "display_name", "bio"),
}

# Words are inserted in sorted order, so two writers adding overlapping new words wait for
# each other instead of deadlocking. Only alphabetic words of 3..32 letters: numbers, ids and
# one-letter tokens are not worth correcting towards.
COLLECT_WORDS = """
CREATE FUNCTION search_words_collect() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    fields jsonb := to_jsonb(NEW);
BEGIN
    INSERT INTO search_words (word)
    SELECT DISTINCT lexeme
    FROM unnest(TG_ARGV) AS field,
         unnest(tsvector_to_array(to_tsvector('simple', coalesce(fields ->> field, ''))))
             AS lexeme
    WHERE lexeme ~ '^[[:alpha:]]{3,32}$'
    ORDER BY lexeme
    ON CONFLICT (word) DO NOTHING;
    RETURN NULL;
END $$;
"""

BACKFILL_WORDS = """
INSERT INTO search_words (word)
SELECT DISTINCT lexeme
FROM {table},
     unnest(tsvector_to_array(to_tsvector('simple', concat_ws(' ', {columns})))) AS lexeme
WHERE lexeme ~ '^[[:alpha:]]{{3,32}}$'
ON CONFLICT (word) DO NOTHING
"""

# The planner's estimate of how many rows of `target` match `query` (from the lexeme statistics
# ANALYZE keeps), for the search to choose between ranking every match and walking the most
# liked rows. EXPLAIN may only run in a VOLATILE function.
MATCH_ESTIMATE = """
CREATE FUNCTION search_match_estimate(target regclass, query tsquery) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    plan json;
BEGIN
    EXECUTE format('EXPLAIN (FORMAT JSON) SELECT FROM %s WHERE search_vector @@ $1', target)
        INTO plan USING query;
    RETURN (plan -> 0 -> 'Plan' ->> 'Plan Rows')::bigint;
END $$;
"""

# A generated column is still NULL in NEW while BEFORE triggers run (it is computed after
# them), so set_updated_at's whole-row comparison would see every update as a change. Copying
# the old value in keeps "real changes only"; the column is recomputed from NEW regardless.
SET_UPDATED_AT_IGNORING_VECTORS = """
CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME IN ('ideas', 'scenes', 'users') THEN
        NEW.search_vector := OLD.search_vector;
    END IF;
    IF ROW(NEW.*) IS DISTINCT FROM ROW(OLD.*) THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END $$;
"""

# The body migration 0001 created, restored on downgrade.
SET_UPDATED_AT_ORIGINAL = """
CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF ROW(NEW.*) IS DISTINCT FROM ROW(OLD.*) THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END $$;
"""


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(TAGS_TEXT)
    for table, expression in VECTORS.items():
        op.add_column(
            table,
            sa.Column(
                "search_vector",
                postgresql.TSVECTOR(),
                sa.Computed(expression, persisted=True),
                nullable=True,
            ),
        )
        op.create_index(
            f"ix_{table}_search_vector",
            table,
            ["search_vector"],
            unique=False,
            postgresql_using="gin",
        )
    op.create_index(
        "ix_users_username_trgm",
        "users",
        ["username"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"username": "gin_trgm_ops"},
    )
    op.execute(SET_UPDATED_AT_IGNORING_VECTORS)
    op.execute(MATCH_ESTIMATE)

    op.create_table(
        "search_words",
        sa.Column("word", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("word", name=op.f("pk_search_words")),
    )
    op.create_index(
        "ix_search_words_trgm",
        "search_words",
        ["word"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"word": "gin_trgm_ops"},
    )
    op.execute(COLLECT_WORDS)
    for table, columns in WORD_SOURCES.items():
        listed = ", ".join(columns)
        args = ", ".join(f"'{c}'" for c in columns)
        op.execute(
            f"CREATE TRIGGER {table}_search_words AFTER INSERT OR UPDATE OF {listed} "
            f"ON {table} FOR EACH ROW EXECUTE FUNCTION search_words_collect({args})"
        )
        text_columns = ", ".join("search_tags_text(tags)" if c == "tags" else c for c in columns)
        op.execute(BACKFILL_WORDS.format(table=table, columns=text_columns))


def downgrade() -> None:
    for table in WORD_SOURCES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_search_words ON {table}")
    op.execute("DROP FUNCTION IF EXISTS search_words_collect()")
    op.drop_index(
        "ix_search_words_trgm",
        table_name="search_words",
        postgresql_using="gin",
        postgresql_ops={"word": "gin_trgm_ops"},
    )
    op.drop_table("search_words")
    op.execute("DROP FUNCTION IF EXISTS search_match_estimate(regclass, tsquery)")
    op.execute(SET_UPDATED_AT_ORIGINAL)
    op.drop_index(
        "ix_users_username_trgm",
        table_name="users",
        postgresql_using="gin",
        postgresql_ops={"username": "gin_trgm_ops"},
    )
    for table in VECTORS:
        op.drop_index(f"ix_{table}_search_vector", table_name=table, postgresql_using="gin")
        op.drop_column(table, "search_vector")
    op.execute("DROP FUNCTION IF EXISTS search_tags_text(varchar[])")
    op.execute("DROP EXTENSION IF EXISTS pg_trgm")
