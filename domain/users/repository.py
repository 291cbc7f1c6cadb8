"""Every query on accounts, refresh tokens and linked OAuth identities."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.users.models import AccountToken, OAuthAccount, RefreshToken, User


async def get(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def names_by_id(
    session: AsyncSession, ids: set[uuid.UUID]
) -> dict[uuid.UUID, tuple[str, str | None]]:
    """Username and display name of each of these users, in one query."""
    if not ids:
        return {}
    rows = await session.execute(
        select(User.id, User.username, User.display_name).where(User.id.in_(ids))
    )
    return {row.id: (row.username, row.display_name) for row in rows}


async def get_by_username(session: AsyncSession, username: str) -> User | None:
    return await session.scalar(select(User).where(User.username == username.lower()))


async def get_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == email.strip().lower()))


async def get_by_login(session: AsyncSession, login: str) -> User | None:
    key = login.strip().lower()
    return await session.scalar(select(User).where(or_(User.email == key, User.username == key)))


async def exists_with(session: AsyncSession, email: str, username: str) -> tuple[bool, bool]:
    rows = (
        await session.execute(
            select(User.email, User.username).where(
                or_(User.email == email, User.username == username)
            )
        )
    ).all()
    return any(r.email == email for r in rows), any(r.username == username for r in rows)


async def add_refresh_token(session: AsyncSession, token: RefreshToken) -> None:
    session.add(token)
    await session.flush()


async def get_refresh_token_for_update(
    session: AsyncSession, token_hash: str
) -> RefreshToken | None:
    return await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update()
    )


async def lock_admin_bootstrap(session: AsyncSession) -> None:
    """Held until the transaction ends: one start-up at a time ensures the admin."""
    key = func.hashtextextended("users:ensure_admin", 0)
    await session.execute(select(func.pg_advisory_xact_lock(key)))


async def revoke_family(session: AsyncSession, family_id: uuid.UUID, when: datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=when)
    )


async def revoke_all_for_user(session: AsyncSession, user_id: uuid.UUID, when: datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=when)
    )


async def add_account_token(session: AsyncSession, token: AccountToken) -> None:
    session.add(token)
    await session.flush()


async def get_account_token_for_update(
    session: AsyncSession, token_hash: str
) -> AccountToken | None:
    return await session.scalar(
        select(AccountToken).where(AccountToken.token_hash == token_hash).with_for_update()
    )


async def spend_account_tokens(
    session: AsyncSession, user_id: uuid.UUID, purpose: str, when: datetime
) -> None:
    """Mark every unused token of this purpose used: one redeemed link kills its siblings."""
    await session.execute(
        update(AccountToken)
        .where(
            AccountToken.user_id == user_id,
            AccountToken.purpose == purpose,
            AccountToken.used_at.is_(None),
        )
        .values(used_at=when)
    )


async def get_oauth_account(session: AsyncSession, account_id: uuid.UUID) -> OAuthAccount | None:
    return await session.get(OAuthAccount, account_id)


async def get_oauth_account_by_provider(
    session: AsyncSession, provider: str, provider_account_id: str
) -> OAuthAccount | None:
    return await session.scalar(
        select(OAuthAccount).where(
            OAuthAccount.provider == provider,
            OAuthAccount.provider_account_id == provider_account_id,
        )
    )


def add_oauth_account(session: AsyncSession, account: OAuthAccount) -> None:
    session.add(account)


async def lock_oauth_accounts_not_under(
    session: AsyncSession, header: bytes, *, after: uuid.UUID | None, limit: int
) -> list[OAuthAccount]:
    """The next `limit` accounts (by id, after `after`) with a token blob not starting with
    `header` (the current key's), their rows locked for re-encryption."""
    stale = [
        (column.isnot(None)) & (func.substring(column, 1, len(header)) != header)
        for column in (OAuthAccount.access_token_encrypted, OAuthAccount.refresh_token_encrypted)
    ]
    query = select(OAuthAccount).where(or_(*stale)).order_by(OAuthAccount.id).limit(limit)
    if after is not None:
        query = query.where(OAuthAccount.id > after)
    return list((await session.scalars(query.with_for_update())).all())
