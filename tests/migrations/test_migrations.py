"""The migration chain on a scratch database: up, down, up again, and it matches the ORM."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from domain.models import Base
from infra.partitions import add_months, month_start
from tests.conftest import (
    alembic_config,
    asyncpg_dsn,
)
from tests.scratch import scratch_database


@pytest.fixture(scope="module")
def scratch_url() -> Iterator[str]:
    with scratch_database("migrations") as url:
        yield url


def schema_differences(config: Config) -> list[Any]:
    """Autogenerate's comparison, run through migrations/env.py (its engine and name filter)."""
    differences: list[Any] = []

    def compare(revision: Any, context: MigrationContext) -> list[Any]:
        differences.extend(compare_metadata(context, Base.metadata))
        return []

    with EnvironmentContext(config, ScriptDirectory.from_config(config), fn=compare):
        ScriptDirectory.from_config(config).run_env()
    return differences


async def fetch(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


def test_upgrade_downgrade_upgrade_matches_the_models(scratch_url: str) -> None:
    config = alembic_config(scratch_url)
    command.downgrade(config, "base")
    tables = asyncio.run(
        fetch(scratch_url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    )
    assert [t["tablename"] for t in tables] == ["alembic_version"]

    command.upgrade(config, "head")

    assert schema_differences(config) == []


def test_partitions_exist_for_this_month_three_ahead_and_default(scratch_url: str) -> None:
    first = month_start(datetime.now(UTC).date())
    rows = asyncio.run(
        fetch(
            scratch_url,
            "SELECT parent.relname AS parent, child.relname AS child FROM pg_inherits "
            "JOIN pg_class parent ON parent.oid = inhparent "
            "JOIN pg_class child ON child.oid = inhrelid "
            "WHERE parent.relname IN ('segments', 'jobs', 'job_events') "
            "AND child.relkind IN ('r', 'p')",
        )
    )
    found = {(r["parent"], r["child"]) for r in rows}
    for table in ("segments", "jobs", "job_events"):
        expected = {f"{table}_p{add_months(first, n):%Y_%m}" for n in range(4)}
        expected.add(f"{table}_default")
        assert expected <= {child for parent, child in found if parent == table}


def test_updated_at_trigger_stamps_real_changes_only(scratch_url: str) -> None:
    async def scenario() -> tuple[datetime, datetime, datetime]:
        conn = await asyncpg.connect(asyncpg_dsn(scratch_url))
        try:
            name = f"u{uuid.uuid4().hex[:10]}"
            old = datetime(2000, 1, 1, tzinfo=UTC)
            user_id = await conn.fetchval(
                "INSERT INTO users (email, username, password_hash, updated_at) "
                "VALUES ($1, $2, 'x', $3) RETURNING id",
                f"{name}@example.com",
                name,
                old,
            )
            await conn.execute("UPDATE users SET username = username WHERE id = $1", user_id)
            unchanged = await conn.fetchval("SELECT updated_at FROM users WHERE id = $1", user_id)
            await conn.execute("UPDATE users SET bio = 'hello' WHERE id = $1", user_id)
            changed = await conn.fetchval("SELECT updated_at FROM users WHERE id = $1", user_id)
            return old, unchanged, changed
        finally:
            await conn.close()

    old, unchanged, changed = asyncio.run(scenario())
    assert unchanged == old
    assert changed > old
