"""Webhook deliveries through the real worker, Redis and PostgreSQL to a real HTTP receiver.

Events are real ones (a moderator deciding a topic proposal is the cheapest to make); the
receiver checks every signature itself, answers 500s or hangs on purpose, and is stopped and
started again. Every event must arrive once (by id), in order per endpoint, signed.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from domain.notifications.events import PROPOSAL_DECIDED, Event, record
from domain.operations.models import SystemEvent, SystemEventKind
from domain.users.models import Role
from domain.webhooks.models import WebhookEndpoint
from infra.settings import Settings
from tests.factories import Account, Factory
from tests.webhooks.conftest import hook_settings, start_worker
from tests.webhooks.receiver import Receiver
from tests.worker.running import stop
from worker.webhooks import sweep_webhooks


async def until(check: Callable[[], Any], seconds: float = 20.0, what: str = "") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {seconds}s: {what}")


async def register(
    client: httpx.AsyncClient, receiver: Receiver, owner: Account, events: list[str]
) -> tuple[str, str]:
    path = f"/hooks/{uuid.uuid4().hex}"
    response = await client.post(
        "/v1/webhooks",
        json={"url": receiver.url(path), "events": events},
        headers=owner.headers,
    )
    assert response.status_code == 201, response.text
    receiver.secrets[path] = response.json()["secret"]
    return response.json()["id"], path


async def decide(
    client: httpx.AsyncClient, factory: Factory, owner: Account, moderator: Account, n: int
) -> list[str]:
    """`n` proposals by `owner`, rejected one after the other: their ids, in decision order."""
    ids = []
    for i in range(n):
        proposal = await factory.proposal(owner)
        response = await client.post(
            f"/v1/topic-proposals/{proposal['id']}/reject",
            json={"reason": f"Not now ({i})."},
            headers=moderator.headers,
        )
        assert response.status_code == 200, response.text
        ids.append(proposal["id"])
    return ids


def proposal_ids(receiver: Receiver, path: str) -> list[str]:
    return [
        receiver.accepted[i].body["data"]["proposal_id"]
        for i in receiver.accepted_order.get(path, [])
    ]


async def deliveries(client: httpx.AsyncClient, owner: Account, endpoint_id: str) -> list[dict]:
    response = await client.get(
        f"/v1/webhooks/{endpoint_id}/deliveries", params={"limit": 100}, headers=owner.headers
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


@pytest.mark.usefixtures("hook_worker")
async def test_every_event_arrives_once_in_order_and_signed(
    hook_client: httpx.AsyncClient, hook_factory: Factory, receiver: Receiver
) -> None:
    owner = await hook_factory.account()
    moderator = await hook_factory.account(Role.MODERATOR)
    endpoint_id, path = await register(hook_client, receiver, owner, ["proposal.decided"])
    decided = await decide(hook_client, hook_factory, owner, moderator, 5)
    await until(lambda: len(receiver.accepted_order.get(path, [])) == 5, what="5 deliveries")
    assert proposal_ids(receiver, path) == decided
    assert receiver.bad_signatures == 0
    first = receiver.accepted[receiver.accepted_order[path][0]]
    assert first.body["type"] == "proposal.decided"
    assert first.body["timestamp"].endswith("Z")
    assert first.body["data"]["status"] == "rejected"
    assert first.headers["content-type"] == "application/json"
    # The receiver accepts a delivery a moment before the sender records it: wait for the log.
    for _ in range(100):
        log = await deliveries(hook_client, owner, endpoint_id)
        if all(d["status"] != "pending" for d in log):
            break
        await asyncio.sleep(0.05)
    assert [d["status"] for d in log] == ["delivered"] * 5
    assert {d["last_status_code"] for d in log} == {204}
    assert {d["attempts"] for d in log} == {1}
    # Newest first; each delivery's id is the webhook-id the receiver saw.
    assert [d["id"] for d in reversed(log)] == receiver.accepted_order[path]
    # The proposer was told in the app too.
    inbox = (await hook_client.get("/v1/notifications", headers=owner.headers)).json()
    assert inbox["unread_count"] == 5
    assert [n["data"]["proposal_id"] for n in inbox["items"]] == list(reversed(decided))


@pytest.mark.usefixtures("hook_worker")
async def test_failures_are_retried_with_the_same_id_and_hold_later_events_back(
    hook_client: httpx.AsyncClient, hook_factory: Factory, receiver: Receiver
) -> None:
    owner = await hook_factory.account()
    moderator = await hook_factory.account(Role.MODERATOR)
    endpoint_id, path = await register(hook_client, receiver, owner, ["proposal.decided"])
    receiver.fail_next = 3
    decided = await decide(hook_client, hook_factory, owner, moderator, 4)
    await until(lambda: len(receiver.accepted_order.get(path, [])) == 4, what="4 deliveries")
    assert proposal_ids(receiver, path) == decided
    ids = [r.id for r in receiver.requests]
    first = receiver.accepted_order[path][0]
    # The three failed attempts and the success were the same message; nothing overtook it.
    assert ids[:4] == [first] * 4
    log = await deliveries(hook_client, owner, endpoint_id)
    oldest = log[-1]
    assert oldest["attempts"] == 4 and oldest["last_status_code"] == 204
    assert oldest["status"] == "delivered" and oldest["last_error"] is None

    # Down for a while: events pile up; back up: every one arrives, once, in order.
    await receiver.stop()
    before = len(receiver.requests)
    more = await decide(hook_client, hook_factory, owner, moderator, 3)
    await asyncio.sleep(1.0)  # several refused attempts
    assert len(receiver.requests) == before
    failing = await deliveries(hook_client, owner, endpoint_id)
    assert failing[-5]["status"] == "pending" and failing[-5]["last_status_code"] is None
    assert failing[-5]["attempts"] >= 1 and failing[-5]["last_error"]
    await receiver.start()
    await until(lambda: len(receiver.accepted_order.get(path, [])) == 7, what="7 deliveries")
    assert proposal_ids(receiver, path) == decided + more
    assert len(receiver.accepted) == 7 and receiver.bad_signatures == 0


@pytest.mark.usefixtures("hook_worker")
async def test_a_timeout_is_retried_and_the_receiver_dedupes_by_id(
    hook_client: httpx.AsyncClient, hook_factory: Factory, receiver: Receiver
) -> None:
    owner = await hook_factory.account()
    moderator = await hook_factory.account(Role.MODERATOR)
    endpoint_id, path = await register(hook_client, receiver, owner, ["proposal.decided"])
    receiver.delay = 1.5  # past WEBHOOK_TIMEOUT_SECONDS=1
    await decide(hook_client, hook_factory, owner, moderator, 1)
    await until(lambda: len(receiver.requests) >= 1, what="a first attempt")

    async def timed_out() -> bool:
        log = await deliveries(hook_client, owner, endpoint_id)
        return bool(log[0]["last_error"]) and "timed out" in log[0]["last_error"]

    for _ in range(60):
        if await timed_out():
            break
        await asyncio.sleep(0.05)
    assert await timed_out()
    receiver.delay = 0
    await until(lambda: len(receiver.requests) >= 2, what="a retry")
    log = await deliveries(hook_client, owner, endpoint_id)
    await until(lambda: len(receiver.accepted) == 1, what="accepted")
    # The slow first attempt was accepted too, late: the same id, so it counts once.
    assert len({r.id for r in receiver.requests}) == 1
    assert len(receiver.accepted_order[path]) == 1
    assert log[0]["attempts"] >= 1


@pytest.mark.usefixtures("hook_worker")
async def test_redirects_are_not_followed(
    hook_client: httpx.AsyncClient, hook_factory: Factory, receiver: Receiver
) -> None:
    owner = await hook_factory.account()
    moderator = await hook_factory.account(Role.MODERATOR)
    endpoint_id, _ = await register(hook_client, receiver, owner, ["proposal.decided"])
    receiver.redirect_to = receiver.url("/landing")
    await decide(hook_client, hook_factory, owner, moderator, 1)
    for _ in range(100):
        log = await deliveries(hook_client, owner, endpoint_id)
        if log[0]["attempts"] >= 2:
            break
        await asyncio.sleep(0.05)
    assert log[0]["last_status_code"] == 302 and log[0]["status"] == "pending"
    assert receiver.requests == [], "the redirect target was requested"


async def test_an_endpoint_failing_for_too_long_is_disabled_and_its_owner_told(
    hook_client: httpx.AsyncClient, hook_factory: Factory, receiver: Receiver, settings: Settings
) -> None:
    owner = await hook_factory.account()
    moderator = await hook_factory.account(Role.MODERATOR)
    endpoint_id, _ = await register(hook_client, receiver, owner, ["proposal.decided"])
    receiver.fail_always = True
    worker, task = await start_worker(hook_settings(settings, webhook_disable_after_seconds=0.5))
    try:
        await decide(hook_client, hook_factory, owner, moderator, 1)
        for _ in range(200):
            listed = (await hook_client.get("/v1/webhooks", headers=owner.headers)).json()
            if listed["items"][0]["disabled_at"]:
                break
            await asyncio.sleep(0.05)
    finally:
        await stop(worker, task)
    endpoint = listed["items"][0]
    assert endpoint["id"] == endpoint_id and endpoint["disabled_at"] is not None
    assert endpoint["failing_since"] is not None and endpoint["disabled_reason"]
    inbox = (await hook_client.get("/v1/notifications", headers=owner.headers)).json()
    told = [n for n in inbox["items"] if n["type"] == "webhook.disabled"]
    assert len(told) == 1 and told[0]["data"]["endpoint_id"] == endpoint_id
    async with hook_factory.app.state.db.session() as session:
        recorded = await session.scalars(
            select(SystemEvent.data).where(SystemEvent.kind == SystemEventKind.WEBHOOK_DISABLED)
        )
        assert endpoint_id in [d["endpoint_id"] for d in recorded]
    attempts = len(receiver.requests)
    receiver.fail_always = False
    await decide(hook_client, hook_factory, owner, moderator, 1)
    await asyncio.sleep(0.5)
    assert len(receiver.requests) == attempts, "a disabled endpoint was sent to"


async def test_a_delivery_failing_past_the_window_is_given_up_and_the_next_goes(
    hook_client: httpx.AsyncClient, hook_factory: Factory, receiver: Receiver, settings: Settings
) -> None:
    owner = await hook_factory.account()
    moderator = await hook_factory.account(Role.MODERATOR)
    endpoint_id, path = await register(hook_client, receiver, owner, ["proposal.decided"])
    receiver.fail_always = True
    worker, task = await start_worker(hook_settings(settings, webhook_retry_window_seconds=0.6))
    try:
        await decide(hook_client, hook_factory, owner, moderator, 1)
        for _ in range(200):
            log = await deliveries(hook_client, owner, endpoint_id)
            if log[0]["status"] == "failed":
                break
            await asyncio.sleep(0.05)
        assert log[0]["status"] == "failed" and log[0]["last_status_code"] == 500
        assert log[0]["attempts"] >= 2
        receiver.fail_always = False
        later = await decide(hook_client, hook_factory, owner, moderator, 1)
        await until(lambda: len(receiver.accepted_order.get(path, [])) == 1, what="the next one")
        assert proposal_ids(receiver, path) == later
    finally:
        await stop(worker, task)


async def test_private_targets_are_refused_at_send_time_when_not_allowed(
    hook_client: httpx.AsyncClient, hook_factory: Factory, receiver: Receiver, settings: Settings
) -> None:
    owner = await hook_factory.account()
    moderator = await hook_factory.account(Role.MODERATOR)
    # Registered while allowed (as a name that resolves to loopback), sent while not.
    path = f"/hooks/{uuid.uuid4().hex}"
    response = await hook_client.post(
        "/v1/webhooks",
        json={"url": f"http://localhost:{receiver.port}{path}", "events": ["proposal.decided"]},
        headers=owner.headers,
    )
    assert response.status_code == 201, response.text
    endpoint_id = response.json()["id"]
    worker, task = await start_worker(hook_settings(settings, webhook_allow_private_targets=False))
    try:
        await decide(hook_client, hook_factory, owner, moderator, 1)
        for _ in range(200):
            log = await deliveries(hook_client, owner, endpoint_id)
            if log[0]["attempts"] >= 1:
                break
            await asyncio.sleep(0.05)
    finally:
        await stop(worker, task)
    assert log[0]["last_status_code"] is None and "refused" in log[0]["last_error"]
    assert receiver.requests == []


@pytest.mark.usefixtures("hook_worker")
async def test_a_delivery_whose_queue_entry_was_lost_is_sent_by_the_sweep(
    hook_client: httpx.AsyncClient, hook_factory: Factory, hook_app: Any, receiver: Receiver
) -> None:
    owner = await hook_factory.account()
    _, path = await register(hook_client, receiver, owner, ["proposal.decided"])
    # Recorded without waking the sender, as if Redis had lost the queue entry.
    async with hook_app.state.db.transaction() as session:
        reached = await record(
            session, [Event(PROPOSAL_DECIDED, {"proposal_id": "lost"}, [uuid.UUID(owner.id)])]
        )
        endpoint = await session.scalar(
            select(WebhookEndpoint).where(WebhookEndpoint.user_id == uuid.UUID(owner.id))
        )
    assert endpoint is not None and endpoint.id in reached
    await until(lambda: len(receiver.accepted_order.get(path, [])) == 1, what="the sweep")
    assert proposal_ids(receiver, path) == ["lost"]


async def test_an_endpoint_whose_secret_cannot_be_read_holds_up_no_other(
    hook_client: httpx.AsyncClient,
    hook_factory: Factory,
    hook_app: Any,
    receiver: Receiver,
    settings: Settings,
) -> None:
    owner = await hook_factory.account()
    broken_id, broken_path = await register(hook_client, receiver, owner, ["proposal.decided"])
    _, path = await register(hook_client, receiver, owner, ["proposal.decided"])
    async with hook_app.state.db.transaction() as session:
        # A secret sealed under a key the ring no longer has (or a damaged row).
        broken = await session.get(WebhookEndpoint, uuid.UUID(broken_id))
        assert broken is not None
        broken.secret_encrypted = b"\x00"
        # Recorded without waking the sender: the sweep meets both endpoints in one pass.
        await record(
            session, [Event(PROPOSAL_DECIDED, {"proposal_id": "swept"}, [uuid.UUID(owner.id)])]
        )
    ctx = {"db": hook_app.state.db, "settings": hook_settings(settings), "redis": None}

    assert await sweep_webhooks(ctx) == 1  # the other endpoint's delivery; nothing raised
    assert proposal_ids(receiver, path) == ["swept"]
    assert receiver.accepted_order.get(broken_path, []) == []
    waiting = await deliveries(hook_client, owner, broken_id)
    assert [d["status"] for d in waiting] == ["pending"]  # kept for when its key is back


@pytest.mark.usefixtures("hook_worker")
async def test_an_admins_endpoint_may_hear_everyone_and_a_users_only_their_own(
    hook_client: httpx.AsyncClient, hook_factory: Factory, receiver: Receiver
) -> None:
    author, bystander = await hook_factory.account(), await hook_factory.account()
    admin = await hook_factory.account(Role.ADMIN)
    moderator = await hook_factory.account(Role.MODERATOR)
    _, bystander_path = await register(hook_client, receiver, bystander, ["proposal.decided"])
    everyone_path = f"/hooks/{uuid.uuid4().hex}"
    response = await hook_client.post(
        "/v1/webhooks",
        json={
            "url": receiver.url(everyone_path),
            "events": ["proposal.decided"],
            "all_users": True,
        },
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    receiver.secrets[everyone_path] = response.json()["secret"]
    decided = await decide(hook_client, hook_factory, author, moderator, 2)
    await until(lambda: len(receiver.accepted_order.get(everyone_path, [])) == 2, what="admin's")
    assert proposal_ids(receiver, everyone_path) == decided
    await asyncio.sleep(0.3)
    assert receiver.accepted_order.get(bystander_path) is None
    # Not left listening to the rest of the run's events.
    gone = await hook_client.delete(f"/v1/webhooks/{response.json()['id']}", headers=admin.headers)
    assert gone.status_code == 204
