"""In-app notifications: made where things happen, listed newest first, marked read."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from domain.users.models import Role
from tests.factories import Account, Factory


async def reject(client: httpx.AsyncClient, moderator: Account, proposal: dict[str, Any]) -> None:
    response = await client.post(
        f"/v1/topic-proposals/{proposal['id']}/reject",
        json={"reason": "Too close to an existing topic."},
        headers=moderator.headers,
    )
    assert response.status_code == 200, response.text


async def inbox(client: httpx.AsyncClient, account: Account, **params: Any) -> dict[str, Any]:
    response = await client.get("/v1/notifications", params=params, headers=account.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_decided_proposal_tells_its_author(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    author, moderator = await factory.account(), await factory.account(Role.MODERATOR)
    rejected, approved = await factory.proposal(author), await factory.proposal(author)
    await reject(client, moderator, rejected)
    response = await client.post(
        f"/v1/topic-proposals/{approved['id']}/approve",
        json={"promote": True},
        headers=moderator.headers,
    )
    assert response.status_code == 200, response.text
    got = await inbox(client, author)
    assert got["unread_count"] == 2 and got["next_cursor"] is None
    newest, oldest = got["items"]
    assert newest["type"] == oldest["type"] == "proposal.decided"
    assert newest["data"]["proposal_id"] == approved["id"]
    assert newest["data"]["status"] == "approved" and newest["data"]["promoted_to_topic_id"]
    assert oldest["data"]["status"] == "rejected"
    assert oldest["data"]["rejection_reason"] == "Too close to an existing topic."
    assert newest["read"] is False and newest["read_at"] is None
    # Nobody else hears of it.
    assert (await inbox(client, moderator))["items"] == []


async def test_a_moderators_action_tells_the_contents_author(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    author, reporter = await factory.account(), await factory.account()
    moderator = await factory.account(Role.MODERATOR)
    idea = await factory.idea(author)
    flag = await client.post(
        "/v1/flags",
        json={"target_type": "idea", "target_id": idea["id"], "reason": "spam"},
        headers=reporter.headers,
    )
    assert flag.status_code == 201, flag.text
    resolved = await client.post(
        f"/v1/moderation/flags/{flag.json()['id']}/resolve",
        json={"action_taken": "hide", "notes": "Spam."},
        headers=moderator.headers,
    )
    assert resolved.status_code == 200, resolved.text
    items = (await inbox(client, author))["items"]
    assert [n["type"] for n in items] == ["moderation.action"]
    assert items[0]["data"] == {"action": "hide", "target_type": "idea", "target_id": idea["id"]}
    assert (await inbox(client, reporter))["items"] == []


async def test_a_flag_let_go_tells_nobody(client: httpx.AsyncClient, factory: Factory) -> None:
    author, reporter = await factory.account(), await factory.account()
    moderator = await factory.account(Role.MODERATOR)
    idea = await factory.idea(author)
    flag = await client.post(
        "/v1/flags",
        json={"target_type": "idea", "target_id": idea["id"], "reason": "spam"},
        headers=reporter.headers,
    )
    resolved = await client.post(
        f"/v1/moderation/flags/{flag.json()['id']}/resolve",
        json={"action_taken": "none"},
        headers=moderator.headers,
    )
    assert resolved.status_code == 200, resolved.text
    assert (await inbox(client, author))["items"] == []


async def test_pages_newest_first_and_marking_read(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    author, moderator = await factory.account(), await factory.account(Role.MODERATOR)
    stranger = await factory.account()
    for _ in range(5):
        await reject(client, moderator, await factory.proposal(author))
    first = await inbox(client, author, limit=2)
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = await inbox(client, author, limit=2, cursor=first["next_cursor"])
    third = await inbox(client, author, limit=2, cursor=second["next_cursor"])
    items = first["items"] + second["items"] + third["items"]
    assert len({n["id"] for n in items}) == 5 and third["next_cursor"] is None
    stamps = [(n["created_at"], n["id"]) for n in items]
    assert stamps == sorted(stamps, reverse=True)

    # Someone else's ids change nothing.
    ids = [items[0]["id"], items[1]["id"]]
    other = await client.post("/v1/notifications/read", json={"ids": ids}, headers=stranger.headers)
    assert other.status_code == 200 and other.json()["marked"] == 0
    marked = await client.post("/v1/notifications/read", json={"ids": ids}, headers=author.headers)
    assert marked.json() == {"marked": 2, "unread_count": 3}
    again = await client.post("/v1/notifications/read", json={"ids": ids}, headers=author.headers)
    assert again.json() == {"marked": 0, "unread_count": 3}
    listed = await inbox(client, author)
    assert [n["read"] for n in listed["items"]] == [True, True, False, False, False]
    everything = await client.post("/v1/notifications/read", headers=author.headers)
    assert everything.status_code == 200, everything.text
    assert everything.json() == {"marked": 3, "unread_count": 0}
    assert (await inbox(client, author))["unread_count"] == 0


@pytest.mark.parametrize(
    "payload",
    [
        {"ids": ["not-a-uuid"]},
        {"ids": "all"},
        {"ids": [None]},
        {"ids": ["00000000-0000-0000-0000-000000000000"] * 101},
        {"all": True},
        [],
    ],
)
async def test_hostile_mark_read_is_422_and_changes_nothing(
    client: httpx.AsyncClient, factory: Factory, payload: Any
) -> None:
    author, moderator = await factory.account(), await factory.account(Role.MODERATOR)
    await reject(client, moderator, await factory.proposal(author))
    response = await client.post("/v1/notifications/read", json=payload, headers=author.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert (await inbox(client, author))["unread_count"] == 1


async def test_a_foreign_cursor_is_422(client: httpx.AsyncClient, factory: Factory) -> None:
    author = await factory.account()
    response = await client.get(
        "/v1/notifications", params={"cursor": "bm90LWEtY3Vyc29y"}, headers=author.headers
    )
    assert response.status_code == 422, response.text
