"""GET /v1/moderation/deleted: the deleted scenes and ideas a moderator may still restore."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from domain.scenes.models import Scene
from domain.users.models import Role
from tests.factories import Account, Factory

DELETED = "/v1/moderation/deleted"


async def listed(
    client: httpx.AsyncClient, moderator: Account, kind: str, **params: Any
) -> dict[str, Any]:
    response = await client.get(DELETED, params={"type": kind, **params}, headers=moderator.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_deleted_scenes_newest_first_within_the_window_until_restored(
    app: Any, client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, moderator = await factory.account(), await factory.account(Role.MODERATOR)
    old, first, second = [await factory.scene(owner) for _ in range(3)]
    for scene in (old, first, second):
        deleted = await client.delete(f"/v1/scenes/{scene['id']}", headers=owner.headers)
        assert deleted.status_code == 204
    async with app.state.db.transaction() as session:
        await session.execute(
            update(Scene)
            .where(Scene.id == uuid.UUID(old["id"]))
            .values(deleted_at=datetime.now(UTC) - timedelta(days=31))
        )

    page = await listed(client, moderator, "scene", limit=1)
    [newest] = page["items"]
    assert (newest["type"], newest["id"], newest["title"]) == (
        "scene",
        second["id"],
        second["title"],
    )
    assert newest["user_id"] == owner.id
    deleted_at = datetime.fromisoformat(newest["deleted_at"])
    assert datetime.fromisoformat(newest["restore_until"]) - deleted_at == timedelta(days=30)
    following = await listed(client, moderator, "scene", limit=1, cursor=page["next_cursor"])
    assert [item["id"] for item in following["items"]] == [first["id"]]
    everything = await listed(client, moderator, "scene", limit=100)
    ids = [item["id"] for item in everything["items"]]
    assert old["id"] not in ids  # past the window: the purge's, no longer restorable
    stamps = [item["deleted_at"] for item in everything["items"]]
    assert stamps == sorted(stamps, reverse=True)
    assert all(item["type"] == "scene" for item in everything["items"])

    restored = await client.post(f"/v1/scenes/{second['id']}/restore", headers=moderator.headers)
    assert restored.status_code == 200
    after = await listed(client, moderator, "scene", limit=1)
    assert [item["id"] for item in after["items"]] == [first["id"]]


async def test_deleted_ideas_are_those_their_authors_deleted(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, moderator = await factory.account(), await factory.account(Role.MODERATOR)
    removed_by_moderation = await factory.idea_row(owner, status="removed")
    idea = await factory.idea(owner)
    assert (
        await client.delete(f"/v1/ideas/{idea['id']}", headers=owner.headers)
    ).status_code == 204

    items = (await listed(client, moderator, "idea", limit=100))["items"]
    assert items[0]["id"] == idea["id"] and items[0]["type"] == "idea"
    assert removed_by_moderation["id"] not in [item["id"] for item in items]
    scenes = (await listed(client, moderator, "scene", limit=100))["items"]
    assert idea["id"] not in [item["id"] for item in scenes]

    await client.post(f"/v1/ideas/{idea['id']}/restore", headers=moderator.headers)
    again = (await listed(client, moderator, "idea", limit=100))["items"]
    assert idea["id"] not in [item["id"] for item in again]


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"type": "segment"},
        {"type": "Scene"},
        {"type": "scene\x00"},
        {"type": "scene", "limit": "0"},
        {"type": "scene", "limit": "101"},
        {"type": "scene", "limit": "ten"},
        {"type": "scene", "cursor": "x" * 600},
        {"type": "scene", "cursor": "%%%"},
    ],
    ids=lambda params: repr(params)[:40],
)
async def test_hostile_queries_are_a_problem(
    client: httpx.AsyncClient, factory: Factory, params: dict[str, Any]
) -> None:
    moderator = await factory.account(Role.MODERATOR)
    response = await client.get(DELETED, params=params, headers=moderator.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
