"""Database.read_row / read_rows run on the driver pool (infra.driver_pool): connections given
back, errors raised as SQLAlchemy raises them, a closed connection replaced."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import text

from infra.database_urls import with_database
from infra.db import Database, database_unavailable, replica_failure
from infra.driver_pool import DriverPool
from infra.prepared import Prepared
from infra.settings import Settings

ONE = Prepared(text("SELECT CAST(:n AS integer) + 1 AS m"))
PID = Prepared(text("SELECT pg_backend_pid() AS pid"))


async def test_reads_give_their_connection_back(settings: Settings) -> None:
    db = Database(settings.model_copy(update={"db_read_pool_size": 1}))
    try:
        for n in range(3):  # a pool of one: each read must have returned it
            assert (await db.read_row(ONE, {"n": n})).m == n + 1
            assert [row["m"] for row in await db.read_rows(ONE, {"n": n})] == [n + 1]
        pids = {(await db.read_row(PID, {})).pid for _ in range(3)}
        assert len(pids) == 1, "one connection, reused"
    finally:
        await db.dispose()


async def test_json_arrives_decoded(settings: Settings) -> None:
    db = Database(settings)
    try:
        both = Prepared(text("""SELECT '{"a": [1]}'::jsonb AS b, '{"c": 2}'::json AS j"""))
        row = await db.read_row(both, {})
        assert row.b == {"a": [1]} and row.j == {"c": 2}
    finally:
        await db.dispose()


async def test_a_failed_connect_is_raised_as_through_engine_connect(settings: Settings) -> None:
    # What the error handlers and the replica router judge (a DBAPIError with the driver's
    # sqlstate on .orig) is what engine.connect() raised, not the driver's bare error.
    url = with_database(settings.database_url, "storyloom_no_such_database")
    db = Database(settings.model_copy(update={"database_url": url}))
    try:
        with pytest.raises(sa_exc.DBAPIError) as raised:
            await db.read_row(ONE, {"n": 1})
        assert getattr(raised.value.orig, "sqlstate", None) == "3D000"
    finally:
        await db.dispose()


async def test_a_refused_connection_is_an_unavailable_database(settings: Settings) -> None:
    pool = DriverPool("postgresql+asyncpg://postgres@127.0.0.1:1/none", size=1)
    try:
        with pytest.raises(sa_exc.DBAPIError) as raised:
            await pool.fetchrow("SELECT 1", [])
        assert raised.value.connection_invalidated
        assert database_unavailable(raised.value) and replica_failure(raised.value) == "down"
    finally:
        await pool.close()


async def test_a_failing_statement_keeps_its_connection(settings: Settings) -> None:
    pool = DriverPool(settings.database_url, size=1)
    try:
        with pytest.raises(sa_exc.DBAPIError) as raised:
            await pool.fetchrow("SELECT 1 / 0", [])
        assert getattr(raised.value.orig, "sqlstate", None) == "22012"
        assert not raised.value.connection_invalidated and not database_unavailable(raised.value)
        assert replica_failure(raised.value) is None, "a wrong statement is not the replica's"
        assert await pool.fetchrow("SELECT 2 AS two", []) == (2,), "a pool of one: given back"
    finally:
        await pool.close()


async def _pid(pool: DriverPool) -> int:
    record = await pool.fetchrow("SELECT pg_backend_pid() AS pid", [])
    assert record is not None
    return int(record["pid"])


async def test_a_connection_the_server_ended_is_replaced(settings: Settings) -> None:
    pool = DriverPool(settings.database_url, size=1)
    admin = await asyncpg.connect(settings.database_url.replace("+asyncpg", ""))
    try:
        first = await _pid(pool)
        # Ended in the middle of a read: raised as a lost connection (a 503 for the API).
        reading = asyncio.create_task(pool.fetchrow("SELECT pg_sleep(5)", []))
        await asyncio.sleep(0.3)
        await admin.execute("SELECT pg_terminate_backend($1)", first)
        with pytest.raises(sa_exc.DBAPIError) as raised:
            await reading
        assert raised.value.connection_invalidated and database_unavailable(raised.value)
        # The next read gets a fresh connection.
        second = await _pid(pool)
        assert second != first
        # Ended while idle in the pool: the next read does not fail.
        await admin.execute("SELECT pg_terminate_backend($1)", second)
        await asyncio.sleep(0.3)
        third = await _pid(pool)
        assert third not in (first, second)
    finally:
        await admin.close()
        await pool.close()


async def test_a_full_pool_times_out_as_busy(settings: Settings) -> None:
    pool = DriverPool(settings.database_url, size=1, acquire_timeout=0.3)
    try:
        holding = asyncio.create_task(pool.fetchrow("SELECT pg_sleep(1)", []))
        await asyncio.sleep(0.2)
        with pytest.raises(sa_exc.TimeoutError) as raised:
            await pool.fetchrow("SELECT 1", [])
        assert replica_failure(raised.value) == "busy", "a replica is busy, not down"
        await holding
        assert await pool.fetchrow("SELECT 1", []) == (1,), "a pool of one: given back"
    finally:
        await pool.close()


async def test_a_cancelled_read_closes_its_connection(settings: Settings) -> None:
    # A client that goes away cancels its request's read mid-statement: that connection's
    # state is unknown, so it is not handed to the next read; its slot is.
    pool = DriverPool(settings.database_url, size=1, acquire_timeout=2)
    try:
        first = await _pid(pool)
        reading = asyncio.create_task(pool.fetchrow("SELECT pg_sleep(5)", []))
        await asyncio.sleep(0.3)
        reading.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reading
        assert await _pid(pool) != first
    finally:
        await pool.close()


async def test_reads_keep_one_generic_plan(settings: Settings) -> None:
    # The statements' generic plans are checked in tests/infra/test_query_plans.py.
    pool = DriverPool(settings.database_url, size=1)
    try:
        assert await pool.fetchrow("SHOW plan_cache_mode", []) == ("force_generic_plan",)
    finally:
        await pool.close()
