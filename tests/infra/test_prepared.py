"""Prepared statements on a raw asyncpg connection: arguments, JSON, row counts, transactions,
and the Channel's one-at-a-time rule, against the real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy import Integer, bindparam, column, insert, literal, select, table, text, update
from sqlalchemy.dialects.postgresql import JSONB

from infra.prepared import Channel, Prepared

_PROBE = table("prepared_probe", column("id", Integer), column("doc", JSONB), column("n", Integer))
_INSERT = Prepared(
    insert(_PROBE).values(id=bindparam("id"), doc=bindparam("doc", type_=JSONB), n=literal(7))
)
_BUMP = Prepared(update(_PROBE).where(_PROBE.c.id <= bindparam("upto")).values(n=_PROBE.c.n + 1))
_READ = Prepared(select(_PROBE.c.doc, _PROBE.c.n).where(_PROBE.c.id == bindparam("id")))


@pytest.fixture
async def channel(app: Any) -> AsyncIterator[Channel]:
    async with app.state.db.autocommit() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        # Temporary, so only this session sees it; kept (emptied) for the pooled connection's
        # next test, so that asyncpg's cached statements stay valid.
        await driver.execute(
            "CREATE TEMP TABLE IF NOT EXISTS prepared_probe (id int PRIMARY KEY, doc jsonb, n int);"
            " TRUNCATE prepared_probe"
        )
        yield Channel(driver)


def test_arguments_follow_the_compiled_order_and_fill_in_literals() -> None:
    statement = Prepared(
        select(literal(5), bindparam("b", type_=Integer), bindparam("a", type_=Integer))
    )
    assert statement.sql.count("$") == 3
    # Names given in any order land in the statement's own order; the literal is its own.
    assert statement.arguments({"a": 1, "b": 2}) == [5, 2, 1]
    assert Prepared(text("SELECT :x, :x")).arguments({"x": "once"}) == ["once"]


async def test_json_goes_through_sqlalchemys_serialiser(channel: Channel) -> None:
    document = {"shots": [{"line": 'Mara: "Now."'}], "n": 1.5, "none": None}
    assert await channel.execute(_INSERT, {"id": 1, "doc": document}) == 1
    row = await channel.fetchrow(_READ, {"id": 1})
    assert row is not None and dict(row) == {"doc": document, "n": 7}


async def test_execute_counts_the_rows_changed(channel: Channel) -> None:
    for key in (1, 2, 3):
        await channel.execute(_INSERT, {"id": key, "doc": {}})
    assert await channel.execute(_BUMP, {"upto": 2}) == 2
    assert await channel.execute(_BUMP, {"upto": 0}) == 0
    assert [await channel.fetchval(_READ, {"id": key}) for key in (1, 3)] == [{}, {}]


async def test_a_failed_transaction_leaves_nothing(channel: Channel) -> None:
    with pytest.raises(asyncpg.UniqueViolationError):
        async with channel.transaction() as tx:
            await tx.execute(_INSERT, {"id": 1, "doc": {"kept": False}})
            await tx.execute(_INSERT, {"id": 1, "doc": {}})
    assert await channel.fetchrow(_READ, {"id": 1}) is None
    async with channel.transaction() as tx:
        await tx.execute(_INSERT, {"id": 1, "doc": {"kept": True}})
    assert await channel.fetchval(_READ, {"id": 1}) == {"kept": True}


async def test_a_ping_waits_for_the_transaction_that_holds_the_connection(
    channel: Channel,
) -> None:
    # Used at once by two tasks, asyncpg raises "another operation is in progress".
    async with channel.transaction() as tx:
        ping = asyncio.create_task(channel.ping(5))
        await tx.execute(_INSERT, {"id": 1, "doc": {}})
        await asyncio.sleep(0.05)
        assert not ping.done()
        await tx.execute(_BUMP, {"upto": 1})
    await ping
    row = await channel.fetchrow(_READ, {"id": 1})
    assert row is not None and row["n"] == 8


async def test_statements_from_two_tasks_take_turns(channel: Channel) -> None:
    await channel.execute(_INSERT, {"id": 1, "doc": {}})
    await asyncio.gather(*(channel.execute(_BUMP, {"upto": 1}) for _ in range(20)))
    assert (await channel.fetchrow(_READ, {"id": 1}) or {})["n"] == 27


_SYNCHRONOUS_COMMIT = Prepared(text("SELECT current_setting('synchronous_commit')"))


async def test_a_job_channel_commits_without_waiting_except_when_durable(app: Any) -> None:
    async with app.state.db.channel_connection() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        channel = Channel(driver)
        assert await channel.fetchval(_SYNCHRONOUS_COMMIT, {}) == "off"
        plan_cache_mode = Prepared(text("SELECT current_setting('plan_cache_mode')"))
        assert await channel.fetchval(plan_cache_mode, {}) == "force_generic_plan"
        async with channel.transaction(durable=True) as tx:
            assert await tx.fetchval(_SYNCHRONOUS_COMMIT, {}) == "on"
        async with channel.transaction() as tx:
            assert await tx.fetchval(_SYNCHRONOUS_COMMIT, {}) == "off"
        assert await channel.fetchval(_SYNCHRONOUS_COMMIT, {}) == "off"  # LOCAL: it ended
    async with app.state.db.autocommit() as conn:  # the other connections wait as ever
        assert await conn.scalar(text("SELECT current_setting('synchronous_commit')")) == "on"


async def test_a_cancelled_transaction_rolls_back_and_the_channel_goes_on(
    channel: Channel,
) -> None:
    async def stuck() -> None:
        async with channel.transaction(durable=True) as tx:
            await tx.execute(_INSERT, {"id": 1, "doc": {}})
            await asyncio.sleep(30)

    task = asyncio.create_task(stuck())
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not channel.driver.is_in_transaction()
    assert await channel.fetchrow(_READ, {"id": 1}) is None


async def test_a_row_reads_by_attribute_like_sqlalchemys(channel: Channel) -> None:
    await channel.execute(_INSERT, {"id": 4, "doc": {"k": 1}})
    row = _READ.row(await channel.fetchrow(_READ, {"id": 4}))
    assert (row.doc, row.n) == ({"k": 1}, 7)
    assert _READ.row(await channel.fetchrow(_READ, {"id": 404})) is None
