"""Continuation submission and job reads: idempotency, caps, ETag polling, cancel, SSE."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest
from sqlalchemy import update

from domain.jobs.models import Job
from domain.scenes.models import Scene
from tests.factories import Account, Factory


async def submit(
    client: httpx.AsyncClient, account: Account, scene_id: str, text: str, key: str | None = None
) -> httpx.Response:
    headers = {**account.headers, "Idempotency-Key": key or uuid.uuid4().hex}
    return await client.post(
        f"/v1/scenes/{scene_id}/continuations", json={"text": text}, headers=headers
    )


@pytest.fixture
async def owner(factory: Factory) -> Account:
    return await factory.account()


@pytest.fixture
async def scene(factory: Factory, owner: Account) -> dict:
    return await factory.scene(owner)


async def test_submit_writes_a_queued_job_with_its_context(
    client: httpx.AsyncClient, owner: Account, scene: dict, app
) -> None:  # noqa: ANN001
    response = await submit(client, owner, scene["id"], "Mara rings the bell.")
    assert response.status_code == 202
    job = response.json()
    assert response.headers["location"] == f"/v1/jobs/{job['id']}"
    assert job["status"] == "queued" and job["stage"] == "pending" and job["progress"] == 0
    assert job["bible_version"] == 1
    async with app.state.db.session() as session:
        row = await session.get(Job, (uuid.UUID(job["id"]), _created(job)))
        assert row.context_data["bible"]["characters"][0]["canonicalName"] == "Mara Hart"
        assert row.context_data["segment_count"] == 0


def _created(job: dict):  # noqa: ANN202
    from datetime import datetime

    return datetime.fromisoformat(job["created_at"])


async def test_idempotency_same_body_same_job_other_body_422(
    client: httpx.AsyncClient, owner: Account, scene: dict
) -> None:
    key = uuid.uuid4().hex
    first = await submit(client, owner, scene["id"], "The fog lifts.", key)
    again = await submit(client, owner, scene["id"], "The fog lifts.", key)
    other = await submit(client, owner, scene["id"], "The fog thickens.", key)
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]
    assert other.status_code == 422


async def test_concurrent_submissions_with_one_key_make_one_job(
    client: httpx.AsyncClient, owner: Account, scene: dict
) -> None:
    key = uuid.uuid4().hex
    responses = await asyncio.gather(
        *(submit(client, owner, scene["id"], "Same words.", key) for _ in range(8))
    )
    assert {r.status_code for r in responses} == {202}
    assert len({r.json()["id"] for r in responses}) == 1


async def test_missing_key_unknown_scene_and_closed_scene(
    client: httpx.AsyncClient, owner: Account, scene: dict, app
) -> None:  # noqa: ANN001
    no_key = await client.post(
        f"/v1/scenes/{scene['id']}/continuations", json={"text": "x"}, headers=owner.headers
    )
    assert no_key.status_code == 422
    unknown = await submit(client, owner, str(uuid.uuid4()), "x")
    assert unknown.status_code == 404
    async with app.state.db.transaction() as session:
        await session.execute(
            update(Scene).where(Scene.id == uuid.UUID(scene["id"])).values(status="locked")
        )
    locked = await submit(client, owner, scene["id"], "x")
    assert locked.status_code == 409


async def test_in_flight_cap_is_429_with_retry_after(
    client: httpx.AsyncClient, factory: Factory, settings
) -> None:  # noqa: ANN001
    account = await factory.account()
    target = await factory.scene(account)
    for i in range(settings.max_jobs_in_flight):
        assert (await submit(client, account, target["id"], f"part {i}")).status_code == 202
    over = await submit(client, account, target["id"], "one too many")
    assert over.status_code == 429
    assert int(over.headers["retry-after"]) > 0


async def test_read_job_etag_and_304(
    client: httpx.AsyncClient, owner: Account, scene: dict, factory: Factory
) -> None:
    job = (await submit(client, owner, scene["id"], "A door opens.")).json()
    first = await client.get(f"/v1/jobs/{job['id']}", headers=owner.headers)
    assert first.status_code == 200
    tag = first.headers["etag"]
    unchanged = await client.get(
        f"/v1/jobs/{job['id']}", headers={**owner.headers, "If-None-Match": tag}
    )
    assert unchanged.status_code == 304
    await client.post(f"/v1/jobs/{job['id']}/cancel", headers=owner.headers)
    changed = await client.get(
        f"/v1/jobs/{job['id']}", headers={**owner.headers, "If-None-Match": tag}
    )
    assert changed.status_code == 200
    assert changed.json()["status"] == "cancelled"


async def test_who_may_see_and_cancel_a_job(
    client: httpx.AsyncClient, owner: Account, scene: dict, factory: Factory
) -> None:
    job = (await submit(client, owner, scene["id"], "The bell rings twice.")).json()
    url = f"/v1/jobs/{job['id']}"
    stranger = await factory.account()
    moderator = await factory.account("moderator")
    admin = await factory.account("admin")
    assert (await client.get(url)).status_code == 401
    assert (await client.get(url, headers=stranger.headers)).status_code == 404
    assert (await client.get(url, headers=moderator.headers)).status_code == 200
    assert (await client.get(url, headers=admin.headers)).status_code == 200
    assert (await client.post(f"{url}/cancel")).status_code == 401
    assert (await client.post(f"{url}/cancel", headers=stranger.headers)).status_code == 404
    assert (await client.post(f"{url}/cancel", headers=moderator.headers)).status_code == 403
    assert (await client.post(f"{url}/cancel", headers=owner.headers)).status_code == 200
    assert (await client.post(f"{url}/cancel", headers=owner.headers)).status_code == 409


async def test_my_jobs_lists_own_jobs_newest_first_with_filter(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    account = await factory.account()
    target = await factory.scene(account)
    ids = [
        (await submit(client, account, target["id"], f"part {i}")).json()["id"] for i in range(3)
    ]
    await client.post(f"/v1/jobs/{ids[0]}/cancel", headers=account.headers)
    listed, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (
            await client.get("/v1/users/me/jobs", params=params, headers=account.headers)
        ).json()
        listed += [j["id"] for j in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert listed == list(reversed(ids))
    cancelled = await client.get(
        "/v1/users/me/jobs", params={"status": "cancelled"}, headers=account.headers
    )
    assert [j["id"] for j in cancelled.json()["items"]] == [ids[0]]
    other = await factory.account()
    assert (await client.get("/v1/users/me/jobs", headers=other.headers)).json()["items"] == []
    assert (await client.get("/v1/users/me/jobs")).status_code == 401


async def test_events_stream_ends_after_a_terminal_status(
    client: httpx.AsyncClient, owner: Account, scene: dict
) -> None:
    job = (await submit(client, owner, scene["id"], "Smoke on the water.")).json()

    async def cancel_soon() -> None:
        await asyncio.sleep(0.3)
        await client.post(f"/v1/jobs/{job['id']}/cancel", headers=owner.headers)

    events = []
    canceller = asyncio.create_task(cancel_soon())
    async with client.stream("GET", f"/v1/jobs/{job['id']}/events", headers=owner.headers) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        async for line in r.aiter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
    await canceller
    assert events[0]["status"] == "queued"
    assert events[-1]["status"] == "cancelled"


async def test_a_banned_owner_cannot_read_their_job(
    client: httpx.AsyncClient, factory: Factory, app
) -> None:  # noqa: ANN001
    from domain.users import service as users_service
    from domain.users.models import User

    account = await factory.account()
    target = await factory.scene(await factory.account())
    job = (await submit(client, account, target["id"], "Before the ban.")).json()
    async with app.state.db.transaction() as session:
        await users_service.ban(session, await session.get(User, uuid.UUID(account.id)))
    response = await client.get(f"/v1/jobs/{job['id']}", headers=account.headers)
    assert response.status_code == 403


async def test_a_queue_out_of_reach_leaves_the_job_to_recovery(
    client: httpx.AsyncClient, owner: Account, scene: dict, app, settings
) -> None:  # noqa: ANN001
    from arq.connections import ArqRedis

    from tests.worker.processes import free_port

    live = app.state.queue
    app.state.queue = ArqRedis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5)
    try:
        response = await submit(client, owner, scene["id"], "Mara waits for the tide.")
    finally:
        await app.state.queue.aclose()
        app.state.queue = live
    assert response.status_code == 202  # committed: the recovery cron will enqueue it
    job = response.json()
    async with app.state.db.session() as session:
        row = await session.get(Job, (uuid.UUID(job["id"]), _created(job)))
        assert row is not None and row.status == "queued"
