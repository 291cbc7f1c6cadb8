"""An account's end of life: everything it holds, exported; the account erased.

Erasure keeps the row (its id still attributes ideas, scenes and segments, which stay) but
replaces every personal field: the username becomes a tombstone (`deleted_<id>`), the email an
address that cannot receive mail, name, bio, avatar and password go, and the account can no
longer sign in or be found. Public reads present the contributions with their `user_id` only;
that id's profile answers 404 and search never returns it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import Conflict, NotFound
from domain.users import account_repository, repository
from domain.users.models import Role, User
from infra.logging import get_logger

log = get_logger("domain.users.lifecycle")
EXPORT_FORMAT = 1
# Profile fields a person wrote; the rest of the row is the platform's bookkeeping.
PROFILE_COLUMNS = (
    "id",
    "email",
    "email_verified",
    "username",
    "display_name",
    "avatar_url",
    "bio",
    "role",
    "is_active",
    "last_login_at",
    "created_at",
    "updated_at",
)


def tombstone_username(user_id: uuid.UUID) -> str:
    return f"deleted_{user_id.hex[:24]}"


def tombstone_email(user_id: uuid.UUID) -> str:
    # .invalid is reserved (RFC 2606): no mail can ever reach it.
    return f"deleted-{user_id.hex}@deleted.invalid"


async def export(session: AsyncSession, user_id: uuid.UUID) -> dict[str, Any]:
    """Everything the platform holds about the account, as JSON-ready data."""
    user = await repository.get(session, user_id)
    if user is None or user.deleted_at is not None:
        raise NotFound("No such user.")
    data: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "exported_at": datetime.now(UTC).isoformat(),
        "profile": {c: _plain(getattr(user, c)) for c in PROFILE_COLUMNS},
    }
    for table in await account_repository.tables_with_user_id(session):
        if table != "users":
            data[table] = await account_repository.rows_naming(session, table, "user_id", user_id)
    for section, table, column in account_repository.OTHER_OWNER_COLUMNS:
        data[section] = await account_repository.rows_naming(session, table, column, user_id)
    data["moderation_of_account"] = await account_repository.moderation_of(session, user_id)
    return data


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


async def erase(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Erase the account's personal data and end its sessions; its contributions stay."""
    user = await repository.get(session, user_id)
    if user is None or user.deleted_at is not None:
        raise NotFound("No such user.")
    if user.role == Role.ADMIN.value and not await account_repository.other_active_admins(
        session, user.id
    ):
        raise Conflict("The last admin cannot delete their account; appoint another first.")
    erased_text = " ".join(filter(None, (user.username, user.display_name, user.bio)))
    _erase_fields(user)
    await account_repository.forget_credentials(session, user.id)
    await session.flush()  # the row's search vector is recomputed before the words are checked
    await account_repository.forget_words(session, erased_text)
    log.info("account_erased", user_id=str(user.id))


def _erase_fields(user: User) -> None:
    now = datetime.now(UTC)
    user.username = tombstone_username(user.id)
    user.email = tombstone_email(user.id)
    user.display_name = None
    user.bio = None
    user.avatar_url = None
    user.password_hash = None
    user.email_verified = False
    user.role = Role.USER.value
    user.is_active = False
    user.last_login_at = None
    user.deleted_at = now
    user.tokens_valid_after = now
