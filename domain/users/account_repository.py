"""The queries of an account's export and erasure: every row that names the account."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.notifications.models import Notification
from domain.users.models import AccountToken, OAuthAccount, RefreshToken, Role, User
from domain.webhooks.models import WebhookEndpoint

# Columns that are never exported: secrets (or their digests), ciphertexts, derived indexes, and
# the context a job was given (other contributors' segments, not the caller's data).
NEVER_EXPORTED = [
    "password_hash",
    "token_hash",
    "search_vector",
    "access_token_encrypted",
    "refresh_token_encrypted",
    "secret",
    "secret_encrypted",
    "signing_secret",
    "context_data",
]

# Tables whose rows name the caller in a column other than `user_id`: (section, table, column).
OTHER_OWNER_COLUMNS = (
    ("bible_versions_written", "scene_bibles", "created_by"),
    ("scene_views", "scene_views", "viewer_id"),
    ("flags_filed", "moderation_flags", "reporter_id"),
    ("moderation_actions_taken", "moderation_actions", "moderator_id"),
)

# Every table (not a partition of one) of the schema with a `user_id` column, found in the
# catalog, so that tables added later (notifications, webhooks, ...) are exported too.
_TABLES_WITH_USER_ID = text(
    """
    SELECT c.relname
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'user_id' AND NOT a.attisdropped
    WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition
    ORDER BY c.relname
    """
)


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


async def tables_with_user_id(session: AsyncSession) -> list[str]:
    return list((await session.scalars(_TABLES_WITH_USER_ID)).all())


async def rows_naming(
    session: AsyncSession, table: str, column: str, user_id: uuid.UUID
) -> list[dict[str, Any]]:
    """Every row of `table` whose `column` is the account, as JSON objects, oldest first.

    `table` and `column` come from our catalog or constants, never from a request.
    """
    order = "t.created_at" if await _has_column(session, table, "created_at") else "1"
    statement = text(
        f"SELECT coalesce(jsonb_agg(to_jsonb(t) - CAST(:drop AS text[]) ORDER BY {order}),"
        f" '[]'::jsonb) FROM {_quoted(table)} t WHERE t.{_quoted(column)} = :user_id"
    )
    rows = await session.scalar(statement, {"drop": NEVER_EXPORTED, "user_id": user_id})
    return list(rows or [])


async def _has_column(session: AsyncSession, table: str, column: str) -> bool:
    found = await session.scalar(
        text(
            "SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(:table) "
            "AND attname = :column AND NOT attisdropped"
        ),
        {"table": _quoted(table), "column": column},
    )
    return found is not None


async def moderation_of(session: AsyncSession, user_id: uuid.UUID) -> list[dict[str, Any]]:
    """Moderation actions taken on the account itself."""
    rows = await session.scalar(
        text(
            "SELECT coalesce(jsonb_agg(to_jsonb(a) ORDER BY a.created_at), '[]'::jsonb) "
            "FROM moderation_actions a WHERE a.target_type = 'user' AND a.target_id = :user_id"
        ),
        {"user_id": user_id},
    )
    return list(rows or [])


async def other_active_admins(session: AsyncSession, user_id: uuid.UUID) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(User)
        .where(
            User.role == Role.ADMIN.value,
            User.is_active.is_(True),
            User.deleted_at.is_(None),
            User.id != user_id,
        )
    )
    return int(count or 0)


async def forget_credentials(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Linked identities, mailed tokens, sessions, webhook endpoints (with their deliveries)
    and notifications of the account: deleted, not kept."""
    for model in (OAuthAccount, AccountToken, RefreshToken, WebhookEndpoint, Notification):
        await session.execute(delete(model).where(model.user_id == user_id))


# Words of the vocabulary (domain.search) that came only from the erased fields: a word still
# written in any searchable row stays (matched through the indexed vectors), the rest go.
_FORGET_WORDS = text(
    """
    DELETE FROM search_words w
    WHERE w.word = ANY(CAST(:words AS text[]))
      -- a stop word matches nothing: kept, as the text search would never look for it anyway
      AND numnode(plainto_tsquery('english', w.word)) > 0
      AND NOT EXISTS (SELECT 1 FROM users u
                      WHERE u.search_vector @@ plainto_tsquery('english', w.word))
      AND NOT EXISTS (SELECT 1 FROM ideas i
                      WHERE i.search_vector @@ plainto_tsquery('english', w.word))
      AND NOT EXISTS (SELECT 1 FROM scenes s
                      WHERE s.search_vector @@ plainto_tsquery('english', w.word))
    """
)
_WORDS_OF = text(
    "SELECT coalesce(array_agg(DISTINCT lexeme), '{}') "
    "FROM unnest(tsvector_to_array(to_tsvector('simple', :text))) AS lexeme"
)


async def forget_words(session: AsyncSession, erased_text: str) -> None:
    """Drop from the search vocabulary the words only the erased text carried."""
    words = await session.scalar(_WORDS_OF, {"text": erased_text})
    if words:
        await session.execute(_FORGET_WORDS, {"words": list(words)})
