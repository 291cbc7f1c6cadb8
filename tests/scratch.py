"""Databases of their own, built by the migrations and dropped afterwards.

For tests that change what every other test shares (partitions, a short horizon, archives,
migrations run down and up), fault drills that run a worker on a private database, and the
benchmarks and load test. The run's own database is in conftest.py.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from alembic import command

from infra.database_urls import with_database
from tests.conftest import BASE_DATABASE_URL, RUN_ID, _admin, alembic_config


def _name(label: str) -> str:
    return f"storyloom_{label}_{RUN_ID}_{uuid.uuid4().hex[:6]}"


@contextmanager
def scratch_database(label: str) -> Iterator[str]:
    """A freshly migrated database (its URL), dropped afterwards; for synchronous callers."""
    name = _name(label)
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        url = with_database(BASE_DATABASE_URL, name)
        command.upgrade(alembic_config(url), "head")
        yield url
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@asynccontextmanager
async def private_database(label: str) -> AsyncIterator[str]:
    """`scratch_database` for callers inside an event loop."""
    name = _name(label)
    await _admin(f'CREATE DATABASE "{name}"')
    try:
        url = with_database(BASE_DATABASE_URL, name)
        await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
        yield url
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
