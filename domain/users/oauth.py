"""Linked OAuth identities and their provider tokens, stored only as AES-GCM ciphertext.

Each ciphertext is bound to its row and column (see `_context`), so a blob moved elsewhere in
the table fails to decrypt. Rotation re-encrypts, batch by batch, the rows whose ciphertext is
not under the current key; re-running it changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import Conflict, NotFound
from domain.users import repository
from domain.users.models import OAuthAccount
from infra.crypto import DecryptionError, Keyring

TOKEN_COLUMNS = ("access_token_encrypted", "refresh_token_encrypted")


@dataclass(frozen=True)
class OAuthTokens:
    access_token: str | None
    refresh_token: str | None
    expires_at: datetime | None


@dataclass(frozen=True)
class RotationBatch:
    """One batch of `reencrypt_batch`: rows seen, rows rewritten, rows that would not decrypt."""

    last_id: uuid.UUID | None
    seen: int
    rewritten: int
    unreadable: list[uuid.UUID]


def _context(account_id: uuid.UUID, column: str) -> bytes:
    return f"storyloom/oauth_accounts/{column}/{account_id}".encode()


def _seal(keyring: Keyring, account_id: uuid.UUID, column: str, value: str | None) -> bytes | None:
    if value is None:
        return None
    return keyring.encrypt(value.encode("utf-8"), _context(account_id, column))


def _open(keyring: Keyring, account_id: uuid.UUID, column: str, blob: bytes | None) -> str | None:
    if blob is None:
        return None
    return keyring.decrypt(blob, _context(account_id, column)).decode("utf-8")


async def link_account(
    session: AsyncSession,
    keyring: Keyring,
    *,
    user_id: uuid.UUID,
    provider: str,
    provider_account_id: str,
    access_token: str | None,
    refresh_token: str | None = None,
    expires_at: datetime | None = None,
) -> OAuthAccount:
    """Link an external identity to a user, or store its new tokens; tokens are encrypted."""
    account = await repository.get_oauth_account_by_provider(session, provider, provider_account_id)
    if account is None:
        account = OAuthAccount(
            id=uuid.uuid4(),
            user_id=user_id,
            provider=provider,
            provider_account_id=provider_account_id,
        )
        repository.add_oauth_account(session, account)
    elif account.user_id != user_id:
        raise Conflict("That external account is linked to another user.")
    account.access_token_encrypted = _seal(
        keyring, account.id, "access_token_encrypted", access_token
    )
    account.refresh_token_encrypted = _seal(
        keyring, account.id, "refresh_token_encrypted", refresh_token
    )
    account.expires_at = expires_at
    await session.flush()
    return account


async def read_tokens(
    session: AsyncSession, keyring: Keyring, account_id: uuid.UUID
) -> OAuthTokens:
    """The decrypted tokens of a linked account; DecryptionError when a blob does not verify."""
    account = await repository.get_oauth_account(session, account_id)
    if account is None:
        raise NotFound("No such linked account.")
    return OAuthTokens(
        access_token=_open(
            keyring, account.id, "access_token_encrypted", account.access_token_encrypted
        ),
        refresh_token=_open(
            keyring, account.id, "refresh_token_encrypted", account.refresh_token_encrypted
        ),
        expires_at=account.expires_at,
    )


async def reencrypt_batch(
    session: AsyncSession, keyring: Keyring, *, after: uuid.UUID | None, limit: int
) -> RotationBatch:
    """Re-encrypt under the current key the next `limit` rows (by id) that are not yet under it."""
    rows = await repository.lock_oauth_accounts_not_under(
        session, keyring.header(), after=after, limit=limit
    )
    rewritten, unreadable = 0, []
    for account in rows:
        try:
            fresh = {
                column: _seal(keyring, account.id, column, _open(keyring, account.id, column, blob))
                for column in TOKEN_COLUMNS
                if (blob := getattr(account, column)) is not None and not keyring.is_current(blob)
            }
        except DecryptionError:
            unreadable.append(account.id)  # left as it is: an operator must bring its key back
            continue
        for column, blob in fresh.items():
            setattr(account, column, blob)
        rewritten += 1
    await session.flush()
    return RotationBatch(
        last_id=rows[-1].id if rows else None,
        seen=len(rows),
        rewritten=rewritten,
        unreadable=unreadable,
    )
