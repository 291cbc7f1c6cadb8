"""A pool of plain asyncpg connections for the API's polled reads (`Database.read_row`,
`Database.read_rows`).

A frontend polls its job every second, and the public lists are read on every visit: each of
these reads is one statement in autocommit, nothing more. What a pool does around it was
most of the client's CPU for such a read (16 concurrent readers, uvloop, on the benchmark
machine): a statement on a connection of one's own costs some 21 us; taken from SQLAlchemy's
pool (two greenlet switches, the checkout's fairy and events, the reset on return) 96 us;
from asyncpg's pool 72 us (a proxy object per checkout, a timer per return, and a reset
query: a second round trip); from this one about 25 us.

This pool is only for such reads, which is what lets it be small:
- nothing needs resetting between two of them (no transaction, no session setting, no
  LISTEN), so a connection goes back as it is;
- `size` slots, taken in order of arrival (`_Slots`); a slot takes an idle
  connection or opens one, so at most `size` are ever open, and they stay open;
- a connection the server closed is dropped when it is next taken or given back, and one
  whose read was cancelled is closed (its state is unknown), so no read meets either;
- its statements are a fixed set of shapes whose parameters are keys and cursors, so each
  keeps one generic plan (`plan_cache_mode`): PostgreSQL's default re-planned the job poll at
  every call, the jobs table's partitions and all (its generic plan, costed over every
  partition, looked dearer than it is), which cost the database more CPU than the read itself.
  The plan tests (tests/infra/test_query_plans.py) check these statements' generic plans.

Errors are raised as SQLAlchemy's would be (a DBAPIError with the driver's error as `.orig`,
`connection_invalidated` when the connection is gone), so the API's error handlers and the
replica router judge them as they judge a session's; waiting `acquire_timeout` seconds for a
slot raises SQLAlchemy's pool TimeoutError, as its QueuePool would.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Sequence
from typing import Any

import asyncpg
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

# SQLAlchemy's default pool_timeout: how long a read waits for a slot of a full pool.
ACQUIRE_TIMEOUT_SECONDS = 30.0
_SERVER_SETTINGS = {"plan_cache_mode": "force_generic_plan"}


def driver_error(exc: BaseException, connection: asyncpg.Connection | None) -> BaseException:
    """`exc` as SQLAlchemy raises a driver's error: a DBAPIError around a database error or a
    lost connection (invalidated when the connection is gone); anything else as it came."""
    if isinstance(exc, OSError):  # refused, reset, timed out while connecting
        return sa_exc.DBAPIError(None, None, exc, connection_invalidated=True)
    if isinstance(exc, asyncpg.PostgresError | asyncpg.InterfaceError):
        lost = connection is not None and connection.is_closed()
        return sa_exc.DBAPIError(None, None, exc, connection_invalidated=lost)
    return exc


class DriverPool:
    """At most `size` asyncpg connections to one database, opened as reads need them, for
    single statements run outside a transaction."""

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
        self._connect_timeout = connect_timeout
        self._acquire_timeout = acquire_timeout
        self._slots = _Slots(size, acquire_timeout)
        self._idle: list[asyncpg.Connection] = []
        self._closed = False

    async def fetchrow(self, sql: str, arguments: Sequence[Any]) -> asyncpg.Record | None:
        record: asyncpg.Record | None = await self._run("fetchrow", sql, arguments)
        return record

    async def fetch(self, sql: str, arguments: Sequence[Any]) -> list[asyncpg.Record]:
        records: list[asyncpg.Record] = await self._run("fetch", sql, arguments)
        return records

    async def close(self) -> None:
        """Close the idle connections; those in use are closed when given back."""
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            try:
                await asyncio.wait_for(connection.close(), self._acquire_timeout)
            except Exception:  # noqa: BLE001 - closing anyway
                connection.terminate()

    async def _run(self, method: str, sql: str, arguments: Sequence[Any]) -> Any:
        await self._take_slot()
        try:
            connection = await self._connection()
            try:
                result = await getattr(connection, method)(sql, *arguments)
            except Exception as exc:
                self._give_back(connection)
                raise driver_error(exc, connection) from exc
            except BaseException:  # cancelled mid-read: the connection's state is unknown
                connection.terminate()
                raise
            self._give_back(connection)
            return result
        finally:
            self._slots.release()

    async def _take_slot(self) -> None:
        try:
            await self._slots.acquire()
        except TimeoutError as exc:
            raise sa_exc.TimeoutError(
                f"no free connection in the driver pool ({self._size}) "
                f"after {self._acquire_timeout:g} s"
            ) from exc

    async def _connection(self) -> asyncpg.Connection:
        while self._idle:
            connection = self._idle.pop()
            if not connection.is_closed():
                return connection
        connection = None
        try:
            connection = await asyncpg.connect(
                self._dsn,
                server_settings=_SERVER_SETTINGS,
                **({} if self._connect_timeout is None else {"timeout": self._connect_timeout}),
            )
            await _decode_json(connection)
        except BaseException as exc:
            if connection is not None:
                connection.terminate()
            if isinstance(exc, Exception):
                raise driver_error(exc, None) from exc
            raise
        return connection

    def _give_back(self, connection: asyncpg.Connection) -> None:
        if connection.is_closed():
            return
        if self._closed:
            connection.terminate()
        else:
            self._idle.append(connection)


class _Slots:
    """A semaphore whose waiters give up after `timeout` seconds, first come first served.

    asyncio.Semaphore under asyncio.timeout() costs a timer per waiting read, and under load
    most reads wait a little. Here the waiters queue with their deadlines, which therefore
    come in order, and one timer at a time, set for the oldest waiter's, sends away those
    whose deadline has passed: a read served in time costs a future and no timer.
    """

    def __init__(self, size: int, timeout: float) -> None:
        self._free = size
        self._timeout = timeout
        self._waiters: deque[tuple[float, asyncio.Future[None]]] = deque()
        self._sweep: asyncio.TimerHandle | None = None

    async def acquire(self) -> None:
        if self._free and not self._waiters:
            self._free -= 1
            return
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters.append((loop.time() + self._timeout, waiter))
        if self._sweep is None:
            self._sweep = loop.call_at(self._waiters[0][0], self._expire, loop)
        try:
            await waiter  # a slot handed over by release(), or TimeoutError from _expire
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self.release()  # handed a slot as it was cancelled: pass it on
            raise

    def release(self) -> None:
        while self._waiters:
            _, waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1

    def _expire(self, loop: asyncio.AbstractEventLoop) -> None:
        self._sweep = None
        now = loop.time()
        while self._waiters and self._waiters[0][0] <= now:
            _, waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(TimeoutError())
        if self._waiters:
            self._sweep = loop.call_at(self._waiters[0][0], self._expire, loop)


async def _decode_json(connection: asyncpg.Connection) -> None:
    """JSON and JSONB arrive as Python values, as on SQLAlchemy's asyncpg connections."""
    for kind in ("json", "jsonb"):
        await connection.set_type_codec(
            kind, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )
