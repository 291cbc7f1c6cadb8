"""Keyset pagination: every item exactly once, in order, whatever the duplicates in the sort key."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    Column,
    DateTime,
    Double,
    Integer,
    MetaData,
    String,
    Table,
    Uuid,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from domain.errors import InvalidInput
from domain.pagination import cursor_after, decode_cursor, encode_cursor, paginate

metadata = MetaData()
items = Table(
    "pagination_items",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("score", Integer, nullable=False),
    Column("batch", Uuid, nullable=False),
    Column("weight", Double, nullable=False, server_default="0"),
    Column("name", String, nullable=False, server_default=""),
)
# Several rows per group, for lists keyed by an aggregate.
grouped = Table(
    "pagination_groups",
    metadata,
    Column("row", Integer, primary_key=True, autoincrement=True),
    Column("grp", Uuid, nullable=False),
    Column("score", Integer, nullable=False),
    Column("batch", Uuid, nullable=False),
)
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
async def engine(database_url: str):  # noqa: ANN201
    engine = create_async_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield engine
    async with engine.begin() as conn:
        await conn.execute(text("DROP TABLE pagination_items, pagination_groups"))
    await engine.dispose()


async def walk(session: AsyncSession, batch: uuid.UUID, keys: list, limit: int, descending: bool):  # noqa: ANN001, ANN201
    seen, cursor, pages = [], None, 0
    while True:
        stmt = select(items.c.id, items.c.score, items.c.created_at).where(items.c.batch == batch)
        page = await paginate(
            session, stmt, keys, limit=limit, cursor=cursor, descending=descending, scalars=False
        )
        seen.extend(page.items)
        pages += 1
        assert len(page.items) <= limit
        if page.next_cursor is None:
            return seen, pages
        cursor = page.next_cursor


# The sort keys of our lists, one per SQL type a key has: each list's own cursors must pass
# the type check that paginate infers from its keys.
KEY_CHOICES: dict[str, Callable[[], list[Any]]] = {
    "datetime": lambda: [items.c.created_at, items.c.id],
    "coalesced datetime": lambda: [
        func.coalesce(items.c.created_at, items.c.created_at),
        items.c.id,
    ],
    "integer": lambda: [items.c.score, items.c.id],
    "double": lambda: [items.c.weight, items.c.id],
    "text, then integer": lambda: [items.c.name, items.c.score, items.c.id],
}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    scores=st.lists(st.integers(min_value=0, max_value=3), max_size=40),
    limit=st.integers(min_value=1, max_value=7),
    descending=st.booleans(),
    choice=st.sampled_from(sorted(KEY_CHOICES)),
)
async def test_every_item_exactly_once_and_in_order(
    engine, scores: list[int], limit: int, descending: bool, choice: str
) -> None:
    """Whatever the key types, a walk (cursors checked against them) serves rows once, in order."""
    batch = uuid.uuid4()
    rows = [
        {
            "id": uuid.uuid4(),
            "created_at": EPOCH + timedelta(seconds=s),
            "score": s,
            "batch": batch,
            "weight": s / 3,
            "name": f"n{s % 2}",
        }
        for s in scores
    ]
    async with AsyncSession(engine) as session:
        if rows:
            await session.execute(insert(items), rows)
            await session.commit()
        seen, pages = await walk(session, batch, KEY_CHOICES[choice](), limit, descending)

    # Every key but the name orders rows as the score does.
    name_first = choice == "text, then integer"
    expected = sorted(
        rows,
        key=lambda r: (r["name"] if name_first else "", r["score"], r["id"]),
        reverse=descending,
    )
    assert [r.id for r in seen] == [r["id"] for r in expected]
    assert pages == max(1, -(-len(rows) // limit))


async def walk_groups(  # noqa: ANN201
    session: AsyncSession, batch: uuid.UUID, limit: int, descending: bool
):
    """Page over the groups by (best score, group): the sort key is an aggregate."""
    best = func.max(grouped.c.score)
    stmt = (
        select(grouped.c.grp, best.label("best"))
        .where(grouped.c.batch == batch)
        .group_by(grouped.c.grp)
        .having(func.count() > 0)
    )
    seen, cursor = [], None
    while True:
        page = await paginate(
            session,
            stmt,
            [best, grouped.c.grp],
            limit=limit,
            cursor=cursor,
            descending=descending,
            scalars=False,
            having=True,
            key_types=(int, uuid.UUID),
        )
        assert len(page.items) <= limit
        seen.extend(page.items)
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    groups=st.lists(
        st.lists(st.integers(min_value=0, max_value=3), min_size=1, max_size=4), max_size=15
    ),
    limit=st.integers(min_value=1, max_value=5),
    descending=st.booleans(),
)
async def test_grouped_lists_page_by_an_aggregate_with_having(
    engine, groups: list[list[int]], limit: int, descending: bool
) -> None:
    """Each group once, ordered by its aggregate: the cursor condition sits in HAVING."""
    batch = uuid.uuid4()
    ids = [uuid.uuid4() for _ in groups]
    rows = [
        {"grp": gid, "score": s, "batch": batch}
        for gid, scores in zip(ids, groups, strict=True)
        for s in scores
    ]
    async with AsyncSession(engine) as session:
        if rows:
            await session.execute(insert(grouped), rows)
            await session.commit()
        seen = await walk_groups(session, batch, limit, descending)

    expected = sorted(
        ((max(scores), gid) for gid, scores in zip(ids, groups, strict=True)), reverse=descending
    )
    assert [(r.best, r.grp) for r in seen] == expected


async def test_a_cursor_of_other_types_is_invalid_input(engine) -> None:  # noqa: ANN001
    async with AsyncSession(engine) as session:
        stmt = select(items.c.id)
        with pytest.raises(InvalidInput):
            await paginate(
                session,
                stmt,
                [items.c.score, items.c.id],
                limit=5,
                cursor=encode_cursor(["x", uuid.uuid4()]),
                key_types=(int, uuid.UUID),
            )


@pytest.mark.parametrize(
    "values",
    [
        ["d", "2026-01-01T00:00:00"],  # naive
        ["d", "0001-01-01T00:00:00+14:00"],  # before year 1 in UTC
        ["i", 2**63],
        ["i", 1e400],
        ["i", "3"],
        ["s", "a\x00"],
        ["u", 5],
        ["b", True],
    ],
)
def test_values_postgresql_cannot_compare_are_invalid_input(values: list) -> None:
    kinds = {"d": datetime, "i": int, "s": str, "u": uuid.UUID, "b": int}
    cursor = base64.urlsafe_b64encode(json.dumps([values]).encode()).decode()
    with pytest.raises(InvalidInput):
        cursor_after(cursor, [kinds[values[0]]])


def test_cursor_round_trip_keeps_types() -> None:
    values = [EPOCH, uuid.uuid4(), 3, 2.5, "x"]
    assert decode_cursor(encode_cursor(values), len(values)) == values


@pytest.mark.parametrize("cursor", ["%%%", "bm90IGpzb24", encode_cursor([1]), "W1sieiIsMV1d"])
def test_foreign_or_broken_cursors_are_invalid_input(cursor: str) -> None:
    with pytest.raises(InvalidInput):
        decode_cursor(cursor, 2)
