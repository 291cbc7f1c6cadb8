"""The read-replica router against a real streaming replica, through HTTP.

The module starts its own primary and hot standby on loopback (tests/infra/pg_replica.py),
migrates the primary (the standby follows by streaming), and serves the app over both.
Which server answered a read is shown by its data: with replay paused, the standby cannot
know about a write, so a read that misses it was served by the standby.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from alembic import command
from sqlalchemy import text

from api.consistency import HEADER
from domain.users.models import Role
from infra.db import Database
from infra.prepared import Prepared
from infra.replicas import format_lsn, parse_lsn
from infra.settings import Settings
from tests.conftest import REDIS_URL, RUN_ID, alembic_config
from tests.factories import Factory, unique
from tests.infra.pg_replica import ReplicaPair, missing_tools, start_pair

DATABASE = "storyloom"


@pytest.fixture(scope="module")
def pair() -> Iterator[ReplicaPair]:
    missing = missing_tools()
    if missing:
        pytest.skip(f"PostgreSQL server tools are not installed: {', '.join(missing)}")
    pair = start_pair()
    try:
        asyncio.run(pair.sql(pair.primary_port, f'CREATE DATABASE "{DATABASE}"'))
        command.upgrade(alembic_config(pair.primary_url(DATABASE)), "head")
        asyncio.run(pair.wait_streaming())
        yield pair
    finally:
        pair.stop()


def replica_settings(pair: ReplicaPair, tmp: Any, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "STORYLOOM_ENV": "test",
        "DATABASE_URL": pair.primary_url(DATABASE),
        "DATABASE_REPLICA_URLS": pair.replica_url(DATABASE),
        "REDIS_URL": REDIS_URL,
        "QUEUE_NAME": f"storyloom:test:{RUN_ID}:replicas:{uuid.uuid4().hex[:6]}",
        "MEDIA_DIR": tmp,
        "LOG_JSON": False,
        "LOG_LEVEL": "WARNING",
        "REPLICA_HEALTH_INTERVAL_SECONDS": 0.2,
        # Generous, so a slow machine never takes the paused standby out mid-test; the
        # lag test below builds its own app with a tight limit.
        "REPLICA_MAX_LAG_SECONDS": 60,
    }
    values.update(overrides)
    return Settings(**values)


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[tuple[Any, httpx.AsyncClient, Factory]]:
    from api.app import create_app

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://storyloom.test") as c:
            yield app, c, Factory(app, c)


@pytest.fixture(scope="module")
async def served(
    pair: ReplicaPair, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Any, httpx.AsyncClient, Factory]]:
    async with serving(replica_settings(pair, tmp_path_factory.mktemp("media"))) as served:
        yield served


async def eventually(check: Callable[[], Awaitable[bool]], what: str, limit: int = 300) -> None:
    """Polls `check` every 0.1 s; a deadline, not a timing assertion."""
    for _ in range(limit):
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"never happened: {what}")


async def replica_report(client: httpx.AsyncClient) -> tuple[int, dict[str, Any]]:
    response = await client.get("/readyz")
    return response.status_code, response.json()


async def create_topic(client: httpx.AsyncClient, admin: Any) -> tuple[dict[str, Any], str]:
    response = await client.post(
        "/v1/topics", json={"name": unique("Topic ")}, headers=admin.headers
    )
    assert response.status_code == 201, response.text
    token = response.headers.get(HEADER)
    assert token is not None, "a committed write must carry a consistency token"
    return response.json(), token


def test_lsn_text_round_trips() -> None:
    assert parse_lsn("16/B374D848") == (0x16 << 32) | 0xB374D848
    assert format_lsn(parse_lsn("0/3000060")) == "0/3000060"
    for bad in ("", "16", "16/", "x/1", "123456789/0", "1/2/3"):
        with pytest.raises(ValueError):
            parse_lsn(bad)


async def test_readyz_lists_the_replica_in_rotation(served: Any) -> None:
    _, client, _ = served
    status, body = await replica_report(client)
    assert status == 200, body
    assert body["checks"] == {"primary": True, "replica_router": True, "redis": True}
    [replica] = body["replicas"]
    assert replica["name"] == "replica0"
    assert replica["in_rotation"] is True, replica
    assert replica["error"] is None
    assert replica["lag_seconds"] is not None


async def test_reads_do_not_carry_tokens_and_failed_writes_do_not_either(served: Any) -> None:
    _, client, factory = served
    admin = await factory.account(Role.ADMIN)
    listed = await client.get("/v1/topics")
    assert listed.status_code == 200
    assert HEADER not in listed.headers
    refused = await client.post("/v1/topics", json={"name": ""}, headers=admin.headers)
    assert refused.status_code == 422
    assert HEADER not in refused.headers


async def test_a_write_then_a_read_with_its_token_sees_it_every_time(served: Any) -> None:
    app, client, factory = served
    admin = await factory.account(Role.ADMIN)
    for round_ in range(50):
        topic, token = await create_topic(client, admin)
        read = await client.get(f"/v1/topics/{topic['slug']}", headers={HEADER: token})
        assert read.status_code == 200, (round_, read.text)
        assert read.json()["name"] == topic["name"]

        # An update is the harder case: a stale replica would answer 200 with the old text.
        description = f"round {round_} {uuid.uuid4().hex}"
        patched = await client.patch(
            f"/v1/topics/{topic['id']}", json={"description": description}, headers=admin.headers
        )
        assert patched.status_code == 200, patched.text
        read = await client.get(
            f"/v1/topics/{topic['slug']}", headers={HEADER: patched.headers[HEADER]}
        )
        assert read.json()["description"] == description, round_

    # Once the standby has replayed the last token, the router hands such reads to it.
    router = app.state.db.router
    lsn = parse_lsn(patched.headers[HEADER])

    async def replica_chosen() -> bool:
        return await router.pick_after(lsn) is not None

    await eventually(replica_chosen, "the caught-up standby serves a token read")


async def test_a_paused_replica_serves_plain_reads_and_token_reads_go_to_the_primary(
    served: Any, pair: ReplicaPair
) -> None:
    _, client, factory = served
    admin = await factory.account(Role.ADMIN)
    user = await factory.account()
    await pair.pause_replay()
    try:
        topic, token = await create_topic(client, admin)
        path = f"/v1/topics/{topic['slug']}"

        stale = await client.get(path)
        assert stale.status_code == 404, "a plain read is served by the (paused) standby"
        fresh = await client.get(path, headers={HEADER: token})
        assert fresh.status_code == 200, "a token read falls back to the primary"
        assert fresh.json()["name"] == topic["name"]

        # The caller's own follow-up reads see their writes without the header (Redis).
        proposed = await client.post(
            "/v1/topic-proposals",
            json={"name": unique("Proposal "), "description": "Worth having."},
            headers=user.headers,
        )
        assert proposed.status_code == 201, proposed.text
        own = await client.get(f"/v1/topic-proposals/{proposed.json()['id']}", headers=user.headers)
        assert own.status_code == 200, own.text

        async def reported_paused() -> bool:
            status, body = await replica_report(client)
            assert status == 200, body
            return body["replicas"][0]["replay_paused"] is True

        await eventually(reported_paused, "/readyz reports the paused replay")
    finally:
        await pair.resume_replay()

    async def replayed() -> bool:
        return (await client.get(path)).status_code == 200

    await eventually(replayed, "the resumed standby shows the topic")


async def test_a_lagging_replica_leaves_rotation_and_comes_back(
    pair: ReplicaPair, tmp_path_factory: pytest.TempPathFactory
) -> None:
    settings = replica_settings(pair, tmp_path_factory.mktemp("media"), REPLICA_MAX_LAG_SECONDS=1)
    async with serving(settings) as (_, client, factory):
        admin = await factory.account(Role.ADMIN)
        await pair.pause_replay()
        try:
            topic, _ = await create_topic(client, admin)

            async def out_of_rotation() -> bool:
                _, body = await replica_report(client)
                return body["replicas"][0]["in_rotation"] is False

            await eventually(out_of_rotation, "the lagging standby leaves rotation")
            status, body = await replica_report(client)
            assert status == 200, "a replica out of rotation is not fatal: the primary serves"
            assert "lagging" in body["replicas"][0]["error"]
            plain = await client.get(f"/v1/topics/{topic['slug']}")
            assert plain.status_code == 200, "with the standby out, plain reads use the primary"
        finally:
            await pair.resume_replay()

        async def back() -> bool:
            _, body = await replica_report(client)
            return body["replicas"][0]["in_rotation"] is True

        await eventually(back, "the caught-up standby rejoins rotation")


async def in_rotation(client: httpx.AsyncClient) -> bool:
    _, body = await replica_report(client)
    return body["replicas"][0]["in_rotation"] is True


async def test_a_read_session_outlives_its_replica(served: Any, pair: ReplicaPair) -> None:
    app, client, _ = served
    db = app.state.db
    on_standby = text("SELECT pg_is_in_recovery()")

    # Dying between two statements: the second is retried on the primary.
    await eventually(lambda: in_rotation(client), "the standby is in rotation")
    async with db.reading() as session:
        assert await session.scalar(on_standby) is True, "a plain read starts on the standby"
        await asyncio.to_thread(pair.stop_replica, "immediate")
        assert await session.scalar(on_standby) is False, "then it is answered by the primary"
    assert db.router.pick() is None, "the failed replica left rotation at once"

    # Dying after the last statement: only the closing rollback fails, and quietly.
    await asyncio.to_thread(pair.start_replica)
    await eventually(lambda: in_rotation(client), "the restarted standby rejoins rotation")
    async with db.reading() as session:
        assert await session.scalar(on_standby) is True
        await asyncio.to_thread(pair.stop_replica, "immediate")
    await asyncio.to_thread(pair.start_replica)
    await eventually(lambda: in_rotation(client), "the restarted standby rejoins rotation")


async def test_a_driver_read_goes_to_the_replica_and_survives_its_death(
    served: Any, pair: ReplicaPair, tmp_path: Any
) -> None:
    """`Database.read_row` (the job poll's path): routed like a read session, and retried on
    the primary when its replica dies, which leaves rotation at once.

    The health loop of this Database ticks once an hour: only the read itself can find the
    replica dead, as a read between two ticks would in production.
    """
    _, client, _ = served
    await eventually(lambda: in_rotation(client), "the standby is in rotation")
    db = Database(replica_settings(pair, tmp_path, REPLICA_HEALTH_INTERVAL_SECONDS=3600))
    await db.start()
    on_standby = Prepared(text("SELECT pg_is_in_recovery() AS standby"))
    try:
        assert (await db.read_row(on_standby, {})).standby is True, "a plain read: the standby"
        beyond = await db.write_lsn() + (1 << 40)  # a position no server has reached
        assert (await db.read_row(on_standby, {}, after=beyond)).standby is False
        # `read_rows` (the public lists' path) takes the same route.
        assert [r["standby"] for r in await db.read_rows(on_standby, {})] == [True]
        assert [r["standby"] for r in await db.read_rows(on_standby, {}, after=beyond)] == [False]

        await asyncio.to_thread(pair.stop_replica, "immediate")
        assert db.router.pick() is not None, "no health check has noticed"
        assert (await db.read_row(on_standby, {})).standby is False, "answered by the primary"
        assert db.router.pick() is None, "the failed replica left rotation at once"
    finally:
        await db.dispose()
        await asyncio.to_thread(pair.start_replica)
        await eventually(lambda: in_rotation(client), "the restarted standby rejoins rotation")


async def test_stopping_the_replica_mid_traffic_loses_no_request(
    served: Any, pair: ReplicaPair
) -> None:
    _, client, factory = served
    admin = await factory.account(Role.ADMIN)
    user = await factory.account()
    topic, token = await create_topic(client, admin)
    proposed = await client.post(
        "/v1/topic-proposals",
        json={"name": unique("Proposal "), "description": "Worth having."},
        headers=user.headers,
    )
    assert proposed.status_code == 201
    reads = [
        ("/v1/topics", {}),
        (f"/v1/topics/{topic['slug']}", {HEADER: token}),
        (f"/v1/topic-proposals/{proposed.json()['id']}", user.headers),
        (f"/v1/users/{user.username}", {}),
    ]
    statuses: list[tuple[str, int]] = []
    warmed, stopped = asyncio.Event(), asyncio.Event()

    async def reader(worker: int) -> None:
        after_stop = 0
        while after_stop < 25:
            path, headers = reads[(worker + len(statuses)) % len(reads)]
            response = await client.get(path, headers=headers)
            statuses.append((path, response.status_code))
            if len(statuses) >= 200:
                warmed.set()
            if stopped.is_set():
                after_stop += 1

    async def writer() -> None:
        while not stopped.is_set():
            response = await client.post(
                "/v1/topic-proposals",
                json={"name": unique("Proposal "), "description": "During the outage."},
                headers=user.headers,
            )
            statuses.append(("/v1/topic-proposals", response.status_code - 1))  # 201 -> 200

    async def stopper() -> None:
        await warmed.wait()
        await asyncio.to_thread(pair.stop_replica, "immediate")
        stopped.set()

    await asyncio.gather(stopper(), writer(), *(reader(w) for w in range(12)))
    failed = [s for s in statuses if s[1] != 200]
    assert not failed, failed[:10]
    assert len(statuses) >= 200 + 12 * 25

    status, body = await replica_report(client)
    assert status == 200, body
    assert body["checks"] == {"primary": True, "replica_router": True, "redis": True}
    assert body["replicas"][0]["in_rotation"] is False
    assert body["replicas"][0]["error"]

    await asyncio.to_thread(pair.start_replica)
    await eventually(lambda: in_rotation(client), "the restarted standby rejoins rotation")
    for path, headers in reads:
        assert (await client.get(path, headers=headers)).status_code == 200
