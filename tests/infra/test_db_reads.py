"""Database.read_row / read_rows take their connection straight from the engine's pool."""

from __future__ import annotations

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import text

from infra.database_urls import with_database
from infra.db import Database
from infra.prepared import Prepared
from infra.settings import Settings

ONE = Prepared(text("SELECT CAST(:n AS integer) + 1 AS m"))


# A connection not given back is found by the garbage collector, which warns.
@pytest.mark.filterwarnings("error")
async def test_reads_give_their_connection_back(settings: Settings) -> None:
    db = Database(settings.model_copy(update={"db_pool_size": 1, "db_max_overflow": 0}))
    try:
        for n in range(3):  # a pool of one: each read must have returned it
            assert (await db.read_row(ONE, {"n": n})).m == n + 1
            assert [row.m for row in await db.read_rows(ONE, {"n": n})] == [n + 1]
        assert db.primary.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
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
