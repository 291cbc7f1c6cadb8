"""Public profiles: counts, a contributor's scenes and segments, only what anyone may see."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from domain.scenes.models import Scene, Segment
from tests.factories import Account, Factory
from tests.media_rows import attach_media

PROBLEM = "application/problem+json"


async def walk(client: httpx.AsyncClient, path: str, limit: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        page = await client.get(path, params=params)
        assert page.status_code == 200, page.text
        items.extend(page.json()["items"])
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items


async def add_segment(app: Any, scene_id: str, sequence: int, user: Account, **fields: Any) -> str:
    async with app.state.db.transaction() as session:
        segment = Segment(
            scene_id=uuid.UUID(scene_id),
            sequence=sequence,
            text=f"Segment {sequence}",
            user_id=uuid.UUID(user.id),
            **fields,
        )
        session.add(segment)
        await session.flush()
    await attach_media(app, segment.id, chunks=[2.0])
    return str(segment.id)


async def set_scene(app: Any, scene_id: str, **values: Any) -> None:
    async with app.state.db.transaction() as session:
        await session.execute(update(Scene).where(Scene.id == uuid.UUID(scene_id)).values(**values))


async def test_a_profile_lists_and_counts_only_visible_contributions(
    app: Any, client: httpx.AsyncClient, factory: Factory
) -> None:
    writer, friend = await factory.account(), await factory.account()
    topic = await factory.topic_row()
    ideas = [await factory.idea_row(writer, topic) for _ in range(2)]
    await factory.idea_row(writer, topic, review_status="pending")
    await factory.idea_row(writer, topic, status="hidden")
    scenes = [await factory.scene(writer, idea=ideas[0]) for _ in range(4)]
    await set_scene(app, scenes[1]["id"], status="locked")
    await set_scene(app, scenes[3]["id"], status="hidden")
    theirs = await factory.scene(friend, idea=ideas[1])

    shown = [
        await add_segment(app, scenes[0]["id"], 1, writer),
        await add_segment(app, theirs["id"], 1, writer),  # a contribution to someone's scene
        await add_segment(app, scenes[1]["id"], 1, writer),
        await add_segment(app, scenes[0]["id"], 2, writer),
    ]
    await add_segment(app, scenes[0]["id"], 3, writer, status="hidden")
    await add_segment(app, scenes[3]["id"], 1, writer)  # in a hidden scene
    await add_segment(app, scenes[0]["id"], 4, friend)

    profile = await client.get(f"/v1/users/{writer.username}")
    assert profile.status_code == 200
    body = profile.json()
    assert (body["username"], body["idea_count"], body["scene_count"], body["segment_count"]) == (
        writer.username,
        2,
        3,
        4,
    )
    assert "email" not in body

    listed = await walk(client, f"/v1/users/{writer.username}/scenes", limit=2)
    assert [s["id"] for s in listed] == [scenes[2]["id"], scenes[1]["id"], scenes[0]["id"]]
    one = await client.get(f"/v1/scenes/{scenes[0]['id']}")
    assert listed[-1] == one.json()

    segments = await walk(client, f"/v1/users/{writer.username}/segments", limit=3)
    assert [s["id"] for s in segments] == list(reversed(shown))
    assert {s["user_id"] for s in segments} == {writer.id}
    assert segments[-1]["hls_playlist_url"].endswith(f"/v1/segments/{shown[0]}/playlist.m3u8")
    assert segments[-1]["scene_id"] == scenes[0]["id"]

    # The username is case-insensitive, as everywhere.
    upper = await client.get(f"/v1/users/{writer.username.upper()}/scenes")
    assert [s["id"] for s in upper.json()["items"]] == [s["id"] for s in listed]


async def test_a_new_contributor_has_empty_lists(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    newcomer = await factory.account()
    body = (await client.get(f"/v1/users/{newcomer.username}")).json()
    assert (body["idea_count"], body["scene_count"], body["segment_count"]) == (0, 0, 0)
    for kind in ("scenes", "segments"):
        page = await client.get(f"/v1/users/{newcomer.username}/{kind}")
        assert page.json() == {"items": [], "next_cursor": None}


@pytest.mark.parametrize("path", ["", "/scenes", "/segments"])
async def test_banned_and_unknown_users_have_no_profile(
    client: httpx.AsyncClient, factory: Factory, path: str
) -> None:
    banned = await factory.account(banned=True)
    # "me" is too short to be anyone's username; /v1/users/me itself is the caller's account.
    for username in (banned.username, "nobody_at_all", *(["me"] if path else [])):
        response = await client.get(f"/v1/users/{username}{path}")
        assert response.status_code == 404, (username, response.text)
        assert response.headers["content-type"] == PROBLEM


@pytest.mark.parametrize("kind", ["scenes", "segments"])
@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 101},
        {"cursor": "garbage!"},
        # A well-formed cursor of another list: (like_count, id).
        {"cursor": "W1siaSIsM10sWyJ1IiwiMDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAwIl1d"},
    ],
)
async def test_bad_list_parameters_are_problems(
    client: httpx.AsyncClient, factory: Factory, kind: str, params: dict[str, Any]
) -> None:
    user = await factory.account()
    response = await client.get(f"/v1/users/{user.username}/{kind}", params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
