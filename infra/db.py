"""Database engines and the read-replica router.

Writes and transactions that write use the primary. Reads that may lag use `read_session`,
which picks a replica when one is configured (round robin) and falls back to the primary.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from infra.settings import Settings


def make_engine(url: str, settings: Settings) -> AsyncEngine:
    return create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=True,
    )


class Database:
    """The primary engine, the replica engines, and the session factories over them."""

    def __init__(self, settings: Settings) -> None:
        self.primary = make_engine(settings.database_url, settings)
        self.replicas = [make_engine(url, settings) for url in settings.replica_urls]
        self._next_replica = itertools.cycle(self.replicas) if self.replicas else None
        self._primary_sessions = async_sessionmaker(self.primary, expire_on_commit=False)

    def session(self) -> AsyncSession:
        """A session on the primary: the caller owns its transaction."""
        return self._primary_sessions()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session on the primary that commits on success and rolls back on error."""
        async with self._primary_sessions() as session, session.begin():
            yield session

    def read_session(self) -> AsyncSession:
        """A read-only session on a replica when one is configured, else on the primary."""
        engine = next(self._next_replica) if self._next_replica else self.primary
        return AsyncSession(engine, expire_on_commit=False)

    async def ping(self) -> dict[str, bool]:
        result: dict[str, bool] = {}
        for name, engine in [("primary", self.primary)] + [
            (f"replica{i}", e) for i, e in enumerate(self.replicas)
        ]:
            try:
                async with engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
                result[name] = True
            except Exception:  # noqa: BLE001 - any failure means not ready
                result[name] = False
        return result

    async def dispose(self) -> None:
        await self.primary.dispose()
        for engine in self.replicas:
            await engine.dispose()
