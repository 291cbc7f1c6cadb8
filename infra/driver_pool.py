"""asyncpg's own pool for the API's polled reads (`Database.read_row`, `Database.read_rows`).

A frontend polls its job every second, and the public lists are read on every visit: each of
these reads is one statement in autocommit. Taken from SQLAlchemy's pool, its connection cost
two greenlet switches and the pool's checkout and return (events, fairy, reset-on-return),
more client CPU than the statement's own round trip. asyncpg's pool hands out a connection
from an asyncio queue, in order of arrival.

Nothing needs resetting between two such reads (no transaction, no session setting, no
LISTEN), so a connection goes back to the pool without asyncpg's reset query: one round trip
per read, not two. A connection the server closed is replaced by the pool on its next use.

Errors are raised as SQLAlchemy's would be (a DBAPIError with the driver's error as `.orig`,
`connection_invalidated` when the connection is gone), so the API's error handlers and the
replica router judge them as they judge a session's; a pool with no free connection for
`ACQUIRE_TIMEOUT_SECONDS` raises SQLAlchemy's pool TimeoutError, as its QueuePool would.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

import asyncpg
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

# SQLAlchemy's default pool_timeout: how long a read waits for a connection of a full pool.
ACQUIRE_TIMEOUT_SECONDS = 30.0


async def _decode_json(connection: asyncpg.Connection) -> None:
    """JSON and JSONB arrive as Python values, as on SQLAlchemy's asyncpg connections."""
    await connection.set_type_codec(
        "json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
    )
    await connection.set_type_codec(
        "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
    )


async def _nothing_to_reset(connection: asyncpg.Connection) -> None:
    """A read in autocommit leaves nothing behind on its connection (see the module)."""


def driver_error(exc: BaseException, connection: asyncpg.Connection | None) -> BaseException:
    """`exc` as SQLAlchemy raises a driver's error: a DBAPIError around a database error or a
    lost connection (invalidated when the connection is gone); anything else as it came."""
    if isinstance(exc, OSError):  # refused, reset, timed out while connecting
        return sa_exc.DBAPIError(None, None, exc, connection_invalidated=True)
    if isinstance(exc, asyncpg.PostgresError | asyncpg.InterfaceError):
        lost = connection is not None and _closed(connection)
        return sa_exc.DBAPIError(None, None, exc, connection_invalidated=lost)
    return exc


def _closed(connection: asyncpg.Connection) -> bool:
    try:
        return connection.is_closed()
    except asyncpg.InterfaceError:  # the pool took a lost connection back while it was read
        return True


class DriverPool:
    """One database's asyncpg pool, opened on first use (empty: connections as reads need
    them, up to `size`), for single statements run outside a transaction."""

    def __init__(
        self,
        url: str,
        *,
        size: int,
        connect_timeout: float | None = None,
        acquire_timeout: float = ACQUIRE_TIMEOUT_SECONDS,
    ) -> None:
        self._dsn = make_url(url).set(drivername="postgresql").render_as_string(False)
        self._size = size
        self._acquire_timeout = acquire_timeout
        self._connect = {} if connect_timeout is None else {"timeout": connect_timeout}
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()

    async def fetchrow(self, sql: str, arguments: Sequence[Any]) -> asyncpg.Record | None:
        record: asyncpg.Record | None = await self._run("fetchrow", sql, arguments)
        return record

    async def fetch(self, sql: str, arguments: Sequence[Any]) -> list[asyncpg.Record]:
        records: list[asyncpg.Record] = await self._run("fetch", sql, arguments)
        return records

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            try:
                await asyncio.wait_for(pool.close(), self._acquire_timeout)
            except TimeoutError:  # a read still running: end its connection
                pool.terminate()

    async def _run(self, method: str, sql: str, arguments: Sequence[Any]) -> Any:
        connection = await self._acquire()
        try:
            return await getattr(connection, method)(sql, *arguments)
        except Exception as exc:
            raise driver_error(exc, connection) from exc
        finally:
            await self._release(connection)

    async def _acquire(self) -> asyncpg.Connection:
        pool = self._pool or await self._open()
        waiting = asyncio.timeout(self._acquire_timeout)
        try:
            async with waiting:
                connection: asyncpg.Connection = await pool.acquire()
        except TimeoutError as exc:
            if waiting.expired():
                raise sa_exc.TimeoutError(
                    f"no free connection in the driver pool ({self._size}) "
                    f"after {self._acquire_timeout:g} s"
                ) from exc
            raise driver_error(exc, None) from exc
        except Exception as exc:
            raise driver_error(exc, None) from exc
        return connection

    async def _release(self, connection: asyncpg.Connection) -> None:
        if self._pool is not None:
            await self._pool.release(connection)
        else:  # closed meanwhile
            connection.terminate()

    async def _open(self) -> asyncpg.Pool:
        async with self._opening:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self._dsn,
                    min_size=0,
                    max_size=self._size,
                    init=_decode_json,
                    reset=_nothing_to_reset,
                    **self._connect,
                )
        return self._pool
