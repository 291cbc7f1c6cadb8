"""The design's columns on the wire (migration 0008): topics icon_url, is_curated and
scene_count; ideas view_count; scenes topic_id; jobs type; segments resolution and file_size."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from domain.scenes.models import Segment
from domain.users.models import Role
from tests.factories import Factory, client_from, unique

ICON = "https://cdn.example.com/icons/bell.svg"


async def test_an_admin_sets_a_topics_icon_and_curation(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.account(Role.ADMIN)
    topic = await factory.topic(admin, icon_url=ICON)
    assert (topic["icon_url"], topic["is_curated"], topic["scene_count"]) == (ICON, True, 0)

    changed = await client.patch(
        f"/v1/topics/{topic['id']}", json={"is_curated": False}, headers=admin.headers
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["icon_url"], changed.json()["is_curated"]) == (ICON, False)
    cleared = await client.patch(
        f"/v1/topics/{topic['id']}", json={"icon_url": None}, headers=admin.headers
    )
    assert cleared.json()["icon_url"] is None


HOSTILE_ICONS: list[Any] = [
    "http://cdn.example.com/bell.svg",
    "javascript:alert(1)",
    "data:image/svg+xml;base64,PHN2Zz4=",
    "//cdn.example.com/bell.svg",
    "https://user:pass@cdn.example.com/bell.svg",
    "https://",
    "https://cdn.example.com/" + "a" * 500,
    "https://cdn.example.com/bell.svg\nX-Header: 1",
    "https://cdn.example.com/\x00.svg",
    "https://cdn.example.com/a bell.svg",
    7,
    ["https://cdn.example.com/bell.svg"],
]


@pytest.mark.parametrize("icon", HOSTILE_ICONS, ids=[repr(i)[:30] for i in HOSTILE_ICONS])
async def test_hostile_icons_are_refused_and_change_nothing(
    client: httpx.AsyncClient, factory: Factory, icon: Any
) -> None:
    admin = await factory.account(Role.ADMIN)
    topic = await factory.topic(admin, icon_url=ICON)

    created = await client.post(
        "/v1/topics", json={"name": unique("Topic "), "icon_url": icon}, headers=admin.headers
    )
    patched = await client.patch(
        f"/v1/topics/{topic['id']}", json={"icon_url": icon}, headers=admin.headers
    )

    for response in (created, patched):
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
    assert (await client.get(f"/v1/topics/{topic['slug']}")).json()["icon_url"] == ICON


@pytest.mark.parametrize("value", [None, "yes", 1])
async def test_is_curated_is_a_strict_boolean(
    client: httpx.AsyncClient, factory: Factory, value: Any
) -> None:
    admin = await factory.account(Role.ADMIN)
    topic = await factory.topic(admin)
    response = await client.patch(
        f"/v1/topics/{topic['id']}", json={"is_curated": value}, headers=admin.headers
    )
    assert response.status_code == 422, response.text
    assert (await client.get(f"/v1/topics/{topic['slug']}")).json()["is_curated"] is True


async def test_a_topic_promoted_from_a_proposal_is_not_curated(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, moderator = await factory.account(), await factory.account(Role.MODERATOR)
    proposal = await factory.proposal(owner)
    approved = await client.post(
        f"/v1/topic-proposals/{proposal['id']}/approve",
        json={"promote": True},
        headers=moderator.headers,
    )
    topic_id = approved.json()["promoted_to_topic_id"]
    promoted = (await client.get(f"/v1/topics/{topic_id}")).json()
    assert promoted["id"] == topic_id and promoted["is_curated"] is False


async def test_scenes_carry_their_ideas_topic_and_count_on_it(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.account()
    topic = await factory.topic()
    idea = await factory.idea(owner, topic)
    scenes = [await factory.scene(owner, idea) for _ in range(2)]

    assert {s["topic_id"] for s in scenes} == {topic["id"]}
    assert (await client.get(f"/v1/topics/{topic['slug']}")).json()["scene_count"] == 2
    for ref in (topic["id"], topic["slug"]):
        listed = (await client.get("/v1/scenes", params={"topic": ref})).json()["items"]
        assert {s["id"] for s in listed} == {s["id"] for s in scenes}


async def test_an_ideas_views_are_its_scenes_counted_views(app: Any, factory: Factory) -> None:
    owner = await factory.account()
    idea = await factory.idea(owner)
    first, second = await factory.scene(owner, idea), await factory.scene(owner, idea)

    for address, scene in (("203.0.113.1", first), ("203.0.113.2", first), ("203.0.113.1", second)):
        async with client_from(app, address) as viewer:
            assert (await viewer.post(f"/v1/scenes/{scene['id']}/views")).json()["counted"]
    async with client_from(app, "203.0.113.1") as viewer:  # the same window: not counted again
        assert not (await viewer.post(f"/v1/scenes/{first['id']}/views")).json()["counted"]
        body = (await viewer.get(f"/v1/ideas/{idea['id']}")).json()

    assert body["view_count"] == 3


async def test_jobs_say_their_type(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.account()
    scene = await factory.scene(owner)
    job = await factory.job(owner, scene)
    try:
        assert job["type"] == "continuation"
        polled = (await client.get(f"/v1/jobs/{job['id']}", headers=owner.headers)).json()
        assert polled["type"] == "continuation"
    finally:
        await client.post(f"/v1/jobs/{job['id']}/cancel", headers=owner.headers)


async def test_segments_show_resolution_and_size_when_known(
    app: Any, client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.account()
    scene = await factory.scene(owner)
    segment = await factory.contributed_segment(scene, owner)
    listed = (await client.get(f"/v1/scenes/{scene['id']}/segments")).json()["items"]
    assert (listed[0]["resolution"], listed[0]["file_size"]) == (None, None)
    async with app.state.db.transaction() as session:
        await session.execute(
            update(Segment)
            .where(Segment.id == uuid.UUID(segment["id"]))
            .values(resolution="1280x720", file_size=123_456)
        )

    listed = (await client.get(f"/v1/scenes/{scene['id']}/segments")).json()["items"]

    assert (listed[0]["resolution"], listed[0]["file_size"]) == ("1280x720", 123_456)
