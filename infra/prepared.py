"""Prepared statements: SQLAlchemy Core statements compiled once, run straight on asyncpg.

A statement executed through SQLAlchemy's AsyncConnection spends more client CPU than the
round trip itself (an execution context, a result object, a greenlet switch, and a pool
checkout when the connection is taken per statement): some 500 us per statement on the
benchmark machine, against under 200 us for the same prepared statement on asyncpg. The
worker writes each job a dozen times, so its statements are written with SQLAlchemy, compiled
once here for the asyncpg dialect, and run on the job's own connection (`Channel`); the API's
polled reads run theirs through `Database.read_row` / `read_rows` on asyncpg's own pool
(infra.driver_pool).

A Channel's connection is SQLAlchemy's own (its pool), so JSON and JSONB columns arrive decoded
by the codecs its asyncpg dialect installs on every connection it opens; the driver pool
installs the same.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import namedtuple
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy.dialects.postgresql.asyncpg import dialect as AsyncpgDialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

_DIALECT = AsyncpgDialect()
# One simple query, one round trip: both statements or neither.
_DURABLE_BEGIN = "BEGIN; SET LOCAL synchronous_commit TO on"


class Prepared:
    """One statement, compiled once: its SQL and how to turn named parameters into arguments.

    Bind processors are SQLAlchemy's own (JSON serialisation, for instance), and literal values
    that the statement carries as bound parameters are filled in from the statement.
    """

    def __init__(self, statement: ClauseElement) -> None:
        compiled = statement.compile(dialect=_DIALECT)
        assert isinstance(compiled, SQLCompiler)
        self.sql = compiled.string
        self._binds: list[tuple[str, Callable[[Any], Any] | None, Any]] = []
        for name in compiled.positiontup or ():
            bind = compiled.binds[name]
            processor = bind.type.dialect_impl(_DIALECT).bind_processor(_DIALECT)
            self._binds.append((name, processor, bind.effective_value))
        self._row: Callable[[Any], Any] | None = None

    def row(self, record: asyncpg.Record | None) -> Any:
        """`record` as a named tuple: attribute access, like SQLAlchemy's rows (None stays)."""
        if record is None:
            return None
        if self._row is None:  # the statement's columns, named as the record names them
            row_type: Any = namedtuple("Row", record.keys(), rename=True)  # type: ignore[misc]
            self._row = row_type._make
        return self._row(record.values())

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        """The positional arguments for `params`; a parameter not given takes the statement's
        own value (a literal bound by SQLAlchemy), or None."""
        arguments = []
        for name, processor, default in self._binds:
            value = params.get(name, default)
            arguments.append(value if processor is None else processor(value))
        return arguments


def _affected(status: str) -> int:
    # asyncpg answers an execute with the command tag: "UPDATE 1", "INSERT 0 1", "SELECT 3".
    count = status.rsplit(" ", 1)[-1]
    return int(count) if count.isdigit() else 0


class Runner:
    """Runs Prepared statements on an asyncpg connection that nobody else uses meanwhile."""

    def __init__(self, driver: asyncpg.Connection) -> None:
        self.driver = driver

    def _turn(self) -> AbstractAsyncContextManager[Any]:
        """Held for each statement: nothing to wait for on a connection of one's own."""
        return contextlib.nullcontext()

    async def fetch(self, statement: Prepared, params: Mapping[str, Any]) -> list[asyncpg.Record]:
        async with self._turn():
            return await self.driver.fetch(statement.sql, *statement.arguments(params))

    async def fetchrow(
        self, statement: Prepared, params: Mapping[str, Any]
    ) -> asyncpg.Record | None:
        async with self._turn():
            return await self.driver.fetchrow(statement.sql, *statement.arguments(params))

    async def fetchval(self, statement: Prepared, params: Mapping[str, Any]) -> Any:
        async with self._turn():
            return await self.driver.fetchval(statement.sql, *statement.arguments(params))

    async def execute(self, statement: Prepared, params: Mapping[str, Any]) -> int:
        """Runs the statement; returns how many rows it changed (or returned)."""
        async with self._turn():
            status = await self.driver.execute(statement.sql, *statement.arguments(params))
        return _affected(status)


class Channel(Runner):
    """A connection shared by a job's run and the watcher that pings it: one at a time.

    Outside `transaction()` each statement is its own transaction (asyncpg's autocommit).
    """

    def __init__(self, driver: asyncpg.Connection) -> None:
        super().__init__(driver)
        self._lock = asyncio.Lock()

    def _turn(self) -> AbstractAsyncContextManager[Any]:
        return self._lock

    async def ping(self, seconds: float) -> None:
        """One round trip, given up after `seconds`: is the connection still answering?"""
        async with self._lock:
            await self.driver.fetchval("SELECT 1", timeout=seconds)

    @asynccontextmanager
    async def transaction(self, *, durable: bool = False) -> AsyncIterator[Runner]:
        """BEGIN ... COMMIT (ROLLBACK on error); the connection is this block's until then.

        `durable`: the COMMIT waits for the WAL flush even on a connection whose commits
        otherwise do not (synchronous_commit off), at no extra round trip.
        """
        async with self._lock:
            await self.driver.execute(_DURABLE_BEGIN if durable else "BEGIN")
            try:
                yield Runner(self.driver)
            except BaseException:
                try:
                    await self.driver.execute("ROLLBACK")
                except BaseException:
                    # Never back into a pool in the middle of a transaction (and its locks).
                    self.driver.terminate()
                    raise
                raise
            await self.driver.execute("COMMIT")
