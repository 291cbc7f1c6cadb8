"""Topic proposals: a user proposes, a moderator approves (maybe promoting it) or rejects."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from domain.users.models import Role
from tests.api.test_topics import assert_problem, pointers, propose, walk
from tests.factories import Account, Factory


@pytest.fixture(scope="module")
async def admin(factory: Factory) -> Account:
    return await factory.account(Role.ADMIN)


@pytest.fixture(scope="module")
async def moderator(factory: Factory) -> Account:
    return await factory.account(Role.MODERATOR)


@pytest.fixture(scope="module")
async def user(factory: Factory) -> Account:
    return await factory.account(Role.USER)


async def test_proposal_lifecycle_with_promotion(
    client: httpx.AsyncClient, moderator: Account, user: Account, factory: Factory
) -> None:
    response = await client.post(
        "/v1/topic-proposals",
        json={"name": "Solarpunk Cities", "description": "Hopeful futures."},
        headers=user.headers,
    )
    assert response.status_code == 201, response.text
    proposal = response.json()
    assert proposal["status"] == "pending" and proposal["user_id"] == user.id
    assert proposal["reviewed_by"] is None and proposal["promoted_to_topic_id"] is None
    location = response.headers["location"]
    assert location == f"/v1/topic-proposals/{proposal['id']}"
    assert (await client.get(location, headers=user.headers)).json()["id"] == proposal["id"]
    stranger = await factory.account()
    assert_problem(await client.get(location, headers=stranger.headers), 404)

    pending = await walk(client, "/v1/topic-proposals", 100, moderator.headers, status="pending")
    assert proposal["id"] in {p["id"] for p in pending}

    approved = await client.post(
        f"{location}/approve", json={"promote": True}, headers=moderator.headers
    )
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["status"] == "approved" and body["reviewed_by"] == moderator.id
    assert body["reviewed_at"] is not None and body["rejection_reason"] is None
    topic = (await client.get(f"/v1/topics/{body['promoted_to_topic_id']}")).json()
    assert topic["name"] == "Solarpunk Cities" and topic["description"] == "Hopeful futures."
    assert topic["slug"].startswith("solarpunk-cities")

    again = await client.post(
        f"{location}/approve", json={"promote": True}, headers=moderator.headers
    )
    assert_problem(again, 409)
    late_reject = await client.post(
        f"{location}/reject", json={"reason": "Changed my mind."}, headers=moderator.headers
    )
    assert_problem(late_reject, 409)
    final = (await client.get(location, headers=user.headers)).json()
    assert final["status"] == "approved" and final["promoted_to_topic_id"] == topic["id"]


async def test_approval_without_promotion_creates_no_topic(
    client: httpx.AsyncClient, admin: Account, user: Account
) -> None:
    first, second = await propose(client, user), await propose(client, user)
    no_body = await client.post(f"/v1/topic-proposals/{first['id']}/approve", headers=admin.headers)
    assert no_body.status_code == 200, no_body.text
    explicit = await client.post(
        f"/v1/topic-proposals/{second['id']}/approve",
        json={"promote": False},
        headers=admin.headers,
    )
    for response in (no_body, explicit):
        assert response.json()["status"] == "approved"
        assert response.json()["promoted_to_topic_id"] is None
    slugs = {t["slug"] for t in await walk(client, "/v1/topics", 100)}
    assert first["name"].lower().replace(" ", "-") not in slugs


async def test_reject_requires_a_reason(
    client: httpx.AsyncClient, moderator: Account, user: Account
) -> None:
    proposal = await propose(client, user)
    path = f"/v1/topic-proposals/{proposal['id']}/reject"
    assert pointers(await client.post(path, json={}, headers=moderator.headers)) == {"/reason"}
    blank = await client.post(path, json={"reason": "   "}, headers=moderator.headers)
    assert pointers(blank) == {"/reason"}
    still = await client.get(f"/v1/topic-proposals/{proposal['id']}", headers=user.headers)
    assert still.json()["status"] == "pending"

    rejected = await client.post(
        path, json={"reason": "Too close to Trains."}, headers=moderator.headers
    )
    assert rejected.status_code == 200, rejected.text
    body = rejected.json()
    assert body["status"] == "rejected" and body["rejection_reason"] == "Too close to Trains."
    assert body["reviewed_by"] == moderator.id
    approve = await client.post(
        f"/v1/topic-proposals/{proposal['id']}/approve", json={}, headers=moderator.headers
    )
    assert_problem(approve, 409)

    def ids(items: list[dict]) -> set[str]:
        return {p["id"] for p in items}

    rejected_list = await walk(
        client, "/v1/topic-proposals", 100, moderator.headers, status="rejected"
    )
    pending_list = await walk(
        client, "/v1/topic-proposals", 100, moderator.headers, status="pending"
    )
    assert proposal["id"] in ids(rejected_list) and proposal["id"] not in ids(pending_list)
    assert all(p["status"] == "rejected" for p in rejected_list)


async def test_proposals_are_listed_newest_first_and_paginated(
    client: httpx.AsyncClient, moderator: Account, user: Account
) -> None:
    made = [await propose(client, user) for _ in range(5)]
    listed = await walk(client, "/v1/topic-proposals", 2, moderator.headers)
    ids = [p["id"] for p in listed]
    assert len(ids) == len(set(ids))
    positions = [ids.index(p["id"]) for p in made]
    assert positions == sorted(positions, reverse=True)
    keys = [(p["created_at"], p["id"]) for p in listed]
    assert keys == sorted(keys, reverse=True)
    bad = await client.get(
        "/v1/topic-proposals", params={"status": "maybe"}, headers=moderator.headers
    )
    assert pointers(bad) == {"/query/status"}


async def test_bad_proposal_input_is_a_problem(
    client: httpx.AsyncClient, moderator: Account, user: Account
) -> None:
    cases: list[tuple[dict[str, Any], set[str]]] = [
        ({}, {"/name", "/description"}),
        ({"name": "Trains"}, {"/description"}),
        ({"name": ["Trains"], "description": "x"}, {"/name"}),
        ({"name": "Tr\x00ins", "description": "x"}, {"/name"}),
        ({"name": "Trains", "description": "x\x00"}, {"/description"}),
        ({"name": "Trains", "description": "x", "status": "approved"}, {"/status"}),
    ]
    for body, expected in cases:
        response = await client.post("/v1/topic-proposals", json=body, headers=user.headers)
        assert pointers(response) == expected, (body, response.text)

    proposal = await propose(client, user)
    approve = f"/v1/topic-proposals/{proposal['id']}/approve"
    wrong_type = await client.post(approve, json={"promote": "yes"}, headers=moderator.headers)
    assert pointers(wrong_type) == {"/promote"}
    extra = await client.post(approve, json={"promote": True, "x": 1}, headers=moderator.headers)
    assert pointers(extra) == {"/x"}
    still = await client.get(f"/v1/topic-proposals/{proposal['id']}", headers=user.headers)
    assert still.json()["status"] == "pending"

    for action, body in (("approve", {"promote": True}), ("reject", {"reason": "No."})):
        unknown = await client.post(
            f"/v1/topic-proposals/{uuid.uuid4()}/{action}", json=body, headers=moderator.headers
        )
        assert_problem(unknown, 404)
        malformed = await client.post(
            f"/v1/topic-proposals/nope/{action}", json=body, headers=moderator.headers
        )
        assert pointers(malformed) == {"/path/proposal_id"}
    assert_problem(
        await client.get(f"/v1/topic-proposals/{uuid.uuid4()}", headers=moderator.headers), 404
    )


async def test_concurrent_approvals_decide_once(
    client: httpx.AsyncClient, moderator: Account, user: Account
) -> None:
    proposal = await propose(client, user)
    path = f"/v1/topic-proposals/{proposal['id']}/approve"
    reviews = await asyncio.gather(
        *(client.post(path, json={"promote": True}, headers=moderator.headers) for _ in range(2))
    )
    assert sorted(r.status_code for r in reviews) == [200, 409]
