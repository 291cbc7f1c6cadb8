"""Start-up ensures the admin account and never fails on data already in the database."""

from __future__ import annotations

import asyncio

import asyncpg
from pydantic import SecretStr

from api.app import create_app
from infra.settings import Settings
from tests.conftest import asyncpg_dsn
from tests.factories import PASSWORD, Factory, unique


async def admin_rows(settings: Settings, email: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(asyncpg_dsn(settings.database_url))
    try:
        return await conn.fetch("SELECT username, role FROM users WHERE email = $1", email)
    finally:
        await conn.close()


async def delete_user(settings: Settings, email: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(settings.database_url))
    try:
        await conn.execute("DELETE FROM users WHERE email = $1", email)
    finally:
        await conn.close()


async def start(settings: Settings) -> None:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        pass


async def test_a_changed_admin_email_whose_username_exists_still_starts(
    settings: Settings, factory: Factory
) -> None:
    taken = await factory.account()
    email = f"{unique('new-admin')}@example.com"
    changed = settings.model_copy(
        update={
            "admin_email": email,
            "admin_password": SecretStr(PASSWORD),
            "admin_username": taken.username,
        }
    )
    await start(changed)
    rows = await admin_rows(settings, email)
    assert [(r["username"], r["role"]) for r in rows] == [(f"{taken.username}_2", "admin")]
    # The account that held the name is untouched, and a second start changes nothing.
    await start(changed)
    assert len(await admin_rows(settings, email)) == 1
    assert [r["role"] for r in await admin_rows(settings, taken.email)] == ["user"]


async def test_two_processes_starting_at_once_both_start_with_one_admin(
    settings: Settings,
) -> None:
    email = f"{unique('race-admin')}@example.com"
    both = settings.model_copy(
        update={
            "admin_email": email,
            "admin_password": SecretStr(PASSWORD),
            "admin_username": unique("raceadmin"),
        }
    )
    for _ in range(3):  # each round a fresh admin: the race is run again
        await asyncio.gather(start(both), start(both))
        rows = await admin_rows(settings, email)
        assert [r["role"] for r in rows] == ["admin"]
        await delete_user(settings, email)
