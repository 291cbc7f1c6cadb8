"""Linked OAuth accounts keep their tokens encrypted at rest, and survive key rotation.

Rotation runs over the whole table, so every test here leaves only rows that the ring of the
test after it can read: ciphertext under a key nobody has is deleted before the test ends.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import delete, select, text, update

from api.cli.main import run
from domain.errors import Conflict
from domain.users import oauth
from domain.users import service as users_service
from domain.users.models import OAuthAccount
from infra.crypto import DecryptionError, Keyring, generate_key_entry, key_id_of
from infra.db import Database
from infra.settings import Settings
from tests.factories import PASSWORD, Factory, unique
from tests.scratch import scratch_database

OLD, NEW = generate_key_entry("old"), generate_key_entry("new")
ACCESS, REFRESH = "ya29.access-token-plaintext", "1//refresh-token-plaintext"


async def link(app: Any, ring: Keyring, user_id: str, **fields: Any) -> uuid.UUID:
    async with app.state.db.transaction() as session:
        account = await oauth.link_account(
            session,
            ring,
            user_id=uuid.UUID(user_id),
            provider=fields.pop("provider", "github"),
            provider_account_id=fields.pop("provider_account_id", uuid.uuid4().hex),
            access_token=fields.pop("access_token", ACCESS),
            refresh_token=fields.pop("refresh_token", REFRESH),
            **fields,
        )
        return account.id


async def read(app: Any, ring: Keyring, account_id: uuid.UUID) -> oauth.OAuthTokens:
    async with app.state.db.session() as session:
        return await oauth.read_tokens(session, ring, account_id)


async def raw_row(app: Any, account_id: uuid.UUID) -> tuple[bytes, bytes]:
    async with app.state.db.session() as session:
        row = (
            await session.execute(
                text(
                    "SELECT access_token_encrypted, refresh_token_encrypted "
                    "FROM oauth_accounts WHERE id = :id"
                ),
                {"id": account_id},
            )
        ).one()
        return bytes(row[0]), bytes(row[1])


async def rotate_all(app: Any, ring: Keyring, limit: int = 2) -> tuple[int, list[uuid.UUID]]:
    rewritten, after = 0, None
    unreadable: list[uuid.UUID] = []
    while True:
        async with app.state.db.transaction() as session:
            batch = await oauth.reencrypt_batch(session, ring, after=after, limit=limit)
        rewritten, unreadable = rewritten + batch.rewritten, unreadable + batch.unreadable
        if batch.last_id is None:
            return rewritten, unreadable
        after = batch.last_id


@pytest.fixture
async def user_id(factory: Factory) -> str:
    return (await factory.account()).id


@pytest.fixture
async def clean_table(app: Any) -> AsyncIterator[None]:
    """Rows under throwaway keys must not outlive the test that made them."""
    async with app.state.db.transaction() as session:
        before = set(await session.scalars(select(OAuthAccount.id)))
    yield
    async with app.state.db.transaction() as session:
        await session.execute(delete(OAuthAccount).where(OAuthAccount.id.not_in(before)))


async def test_tokens_round_trip_and_never_rest_in_clear(app: Any, user_id: str) -> None:
    ring = Keyring.parse(NEW)
    expires = datetime(2030, 1, 1, tzinfo=UTC)
    account_id = await link(app, ring, user_id, expires_at=expires)
    tokens = await read(app, ring, account_id)
    assert (tokens.access_token, tokens.refresh_token, tokens.expires_at) == (
        ACCESS,
        REFRESH,
        expires,
    )
    access, refresh = await raw_row(app, account_id)
    for blob in (access, refresh):
        assert key_id_of(blob) == "new"
        assert ACCESS.encode() not in blob and REFRESH.encode() not in blob
        assert b"access-token" not in blob and b"refresh-token" not in blob


async def test_relinking_replaces_the_tokens_and_another_user_is_refused(
    app: Any, user_id: str, factory: Factory
) -> None:
    ring = Keyring.parse(NEW)
    external = uuid.uuid4().hex
    first = await link(app, ring, user_id, provider_account_id=external)
    again = await link(
        app, ring, user_id, provider_account_id=external, access_token="fresh", refresh_token=None
    )
    assert again == first
    tokens = await read(app, ring, first)
    assert (tokens.access_token, tokens.refresh_token) == ("fresh", None)
    other = (await factory.account()).id
    with pytest.raises(Conflict):
        await link(app, ring, other, provider_account_id=external)


async def test_a_ciphertext_moved_to_another_row_or_column_does_not_decrypt(
    app: Any, user_id: str
) -> None:
    ring = Keyring.parse(NEW)
    mine, theirs = await link(app, ring, user_id), await link(app, ring, user_id)
    their_access, _ = await raw_row(app, theirs)
    mine_access, _ = await raw_row(app, mine)
    async with app.state.db.transaction() as session:
        await session.execute(
            update(OAuthAccount)
            .where(OAuthAccount.id == mine)
            .values(access_token_encrypted=their_access)
        )
    with pytest.raises(DecryptionError):
        await read(app, ring, mine)
    async with app.state.db.transaction() as session:
        await session.execute(
            update(OAuthAccount)
            .where(OAuthAccount.id == mine)
            .values(access_token_encrypted=None, refresh_token_encrypted=mine_access)
        )
    with pytest.raises(DecryptionError):
        await read(app, ring, mine)
    async with app.state.db.transaction() as session:
        await session.execute(delete(OAuthAccount).where(OAuthAccount.id == mine))


async def test_rotation_re_encrypts_so_the_old_key_can_be_dropped(
    app: Any, user_id: str, clean_table: None
) -> None:
    old_ring, rotating, new_only = (
        Keyring.parse(OLD),
        Keyring.parse(f"{NEW},{OLD}"),
        Keyring.parse(NEW),
    )
    old_ids = [await link(app, old_ring, user_id) for _ in range(5)]
    partial = await link(app, old_ring, user_id, refresh_token=None)
    with pytest.raises(DecryptionError):
        await read(app, new_only, old_ids[0])

    before = await raw_row(app, old_ids[0])
    ours = {*old_ids, partial}
    # Other tests' rows (sign-ins under the app's own key) may share the table: they are
    # unreadable to this keyring and left alone; none of ours may be.
    rewritten, unreadable = await rotate_all(app, rotating)
    assert rewritten >= 6 and ours.isdisjoint(unreadable)
    for account_id in [*old_ids, partial]:
        tokens = await read(app, new_only, account_id)
        assert tokens.access_token == ACCESS
    assert (await read(app, new_only, partial)).refresh_token is None
    after = await raw_row(app, old_ids[0])
    assert all(key_id_of(blob) == "new" for blob in after) and after != before
    # Idempotent: nothing left to do, nothing rewritten.
    assert await rotate_all(app, rotating) == (0, unreadable)
    assert await raw_row(app, old_ids[0]) == after


async def test_rotation_reports_rows_it_cannot_read_and_leaves_them(
    app: Any, user_id: str, clean_table: None
) -> None:
    lost = await link(app, Keyring.parse(generate_key_entry("lost")), user_id)
    fine = await link(app, Keyring.parse(OLD), user_id)
    before = await raw_row(app, lost)
    rewritten, unreadable = await rotate_all(app, Keyring.parse(f"{NEW},{OLD}"), limit=1)
    assert lost in unreadable and fine not in unreadable and rewritten >= 1
    assert await raw_row(app, lost) == before
    assert (await read(app, Keyring.parse(NEW), fine)).access_token == ACCESS


def test_the_rotate_command_is_batched_and_idempotent(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    # A database of its own: the command rewrites every row, and must find only ours.
    with scratch_database("rotate") as url:
        _rotate_command_round(settings.model_copy(update={"database_url": url}), capsys)


def _rotate_command_round(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    rotating = settings.model_copy(update={"secrets_encryption_keys": SecretStr(f"{NEW},{OLD}")})

    async def seed() -> list[uuid.UUID]:
        db = Database(settings)
        try:
            async with db.transaction() as session:
                name = unique("rot")
                user = await users_service.create_user(
                    session, email=f"{name}@example.com", username=name, password=PASSWORD
                )
                user_id = user.id
                ring = Keyring.parse(OLD)
                return [
                    (
                        await oauth.link_account(
                            session,
                            ring,
                            user_id=user_id,
                            provider="gitlab",
                            provider_account_id=uuid.uuid4().hex,
                            access_token=ACCESS,
                        )
                    ).id
                    for _ in range(3)
                ]
        finally:
            await db.dispose()

    async def key_ids(ids: list[uuid.UUID]) -> set[str]:
        db = Database(settings)
        try:
            async with db.session() as session:
                blobs = await session.scalars(
                    select(OAuthAccount.access_token_encrypted).where(OAuthAccount.id.in_(ids))
                )
                return {key_id_of(b) for b in blobs if b is not None}
        finally:
            await db.dispose()

    ids = asyncio.run(seed())
    assert run(["secrets", "rotate", "--batch-size", "1"], rotating) == 0
    assert "re-encrypted under key new" in capsys.readouterr().out
    assert asyncio.run(key_ids(ids)) == {"new"}
    assert run(["secrets", "rotate"], rotating) == 0
    assert capsys.readouterr().out.startswith("0 oauth account(s)")
