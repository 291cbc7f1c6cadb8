"""Scenes: creation from an idea, visibility, lists, segments and the scene playlist."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from domain.ideas.models import Idea
from domain.scenes.models import Scene, Segment
from tests.factories import Account, Factory, minimal_bible, unique
from tests.media_rows import attach_media

PROBLEM = "application/problem+json"


def scene_body(**fields: Any) -> dict[str, Any]:
    return {
        "title": unique("The bell "),
        "description": "Fog rolls over the docks.",
        "bible": minimal_bible(),
        **fields,
    }


async def set_scene(app: Any, scene_id: str, **values: Any) -> None:
    async with app.state.db.transaction() as session:
        await session.execute(update(Scene).where(Scene.id == uuid.UUID(scene_id)).values(**values))


async def scene_count(app: Any, idea_id: str) -> int:
    async with app.state.db.session() as session:
        idea = await session.get(Idea, uuid.UUID(idea_id))
        assert idea is not None
        return idea.scene_count


async def add_segment(app: Any, scene_id: str | uuid.UUID, sequence: int, **fields: Any) -> Segment:
    async with app.state.db.transaction() as session:
        segment = Segment(
            scene_id=uuid.UUID(str(scene_id)),
            sequence=sequence,
            text=f"Segment {sequence}",
            duration=6.0,
            **fields,
        )
        session.add(segment)
        await session.flush()
        await session.refresh(segment)
        return segment


# Creation


async def test_create_a_scene_from_an_idea(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.account()
    idea = await factory.idea_row(owner)
    response = await client.post(
        f"/v1/ideas/{idea['id']}/scenes", json=scene_body(), headers=owner.headers
    )
    assert response.status_code == 201, response.text
    scene = response.json()
    assert response.headers["location"] == f"/v1/scenes/{scene['id']}"
    assert scene["idea_id"] == idea["id"] and scene["user_id"] == owner.id
    assert scene["status"] == "active"
    assert scene["bible_version"] == 1
    assert (scene["segment_count"], scene["contributor_count"], scene["total_duration"]) == (
        0,
        0,
        0,
    )
    assert scene["last_segment_at"] is None
    assert await scene_count(factory.app, idea["id"]) == 1
    fetched = await client.get(response.headers["location"])
    assert fetched.status_code == 200
    assert fetched.json() == scene
    bible = (await client.get(f"/v1/scenes/{scene['id']}/bible")).json()
    assert bible == {"version": 1, "data": {**minimal_bible(), "version": 1}}


@pytest.mark.parametrize(
    ("who", "review_status", "status", "expected"),
    [
        ("anonymous", "approved", "active", 401),
        ("owner", "approved", "active", 201),
        ("other", "approved", "active", 201),
        ("moderator", "approved", "active", 201),
        ("admin", "approved", "active", 201),
        ("owner", "pending", "active", 201),
        ("other", "pending", "active", 404),
        ("other", "rejected", "active", 404),
        ("owner", "approved", "hidden", 404),
        ("owner", "approved", "removed", 404),
        ("moderator", "approved", "removed", 404),
    ],
)
async def test_who_may_create_a_scene_on_which_idea(
    client: httpx.AsyncClient,
    factory: Factory,
    who: str,
    review_status: str,
    status: str,
    expected: int,
) -> None:
    owner = await factory.account()
    idea = await factory.idea_row(owner, review_status=review_status, status=status)
    caller: Account | None = None if who == "anonymous" else owner
    if who in ("other", "moderator", "admin"):
        caller = await factory.account("user" if who == "other" else who)
    response = await client.post(
        f"/v1/ideas/{idea['id']}/scenes",
        json=scene_body(),
        headers=caller.headers if caller else {},
    )
    assert response.status_code == expected, response.text
    assert await scene_count(factory.app, idea["id"]) == (1 if expected == 201 else 0)
    if expected != 201:
        assert response.headers["content-type"] == PROBLEM


async def test_an_invalid_bible_is_422_and_creates_nothing(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.account()
    idea = await factory.idea_row(owner)
    bible = minimal_bible()
    bible["plotThreads"][0]["status"] = "forgotten"
    del bible["setting"]
    response = await client.post(
        f"/v1/ideas/{idea['id']}/scenes", json=scene_body(bible=bible), headers=owner.headers
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    errors = response.json()["errors"]
    pointers = {e["pointer"] for e in errors}
    assert {"/bible/plotThreads/0/status", "/bible"} <= pointers
    assert all(e["rule"] for e in errors)
    assert await scene_count(factory.app, idea["id"]) == 0


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        (scene_body(bible=["not", "an", "object"]), "/bible"),
        (scene_body(bible="text"), "/bible"),
        ({"title": "t", "description": "d"}, "/bible"),
        ({"description": "d", "bible": minimal_bible()}, "/title"),
        (scene_body(title="bad\x00title"), "/title"),
        (scene_body(description="line\x00"), "/description"),
        (scene_body(title="x" * 201), "/title"),
        (scene_body(extra=True), "/extra"),
    ],
)
async def test_bad_scene_bodies_are_problems(
    client: httpx.AsyncClient, factory: Factory, body: dict[str, Any], pointer: str
) -> None:
    owner = await factory.account()
    idea = await factory.idea_row(owner)
    response = await client.post(f"/v1/ideas/{idea['id']}/scenes", json=body, headers=owner.headers)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert pointer in {e["pointer"] for e in response.json()["errors"]}
    assert await scene_count(factory.app, idea["id"]) == 0


async def test_nul_inside_the_bible_and_malformed_ids(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.account()
    idea = await factory.idea_row(owner)
    bible = minimal_bible()
    bible["characters"][0]["description"] = "nul\x00here"
    bible["characters"][0]["traits"] = ["lone \ud800 surrogate"]
    response = await client.post(
        f"/v1/ideas/{idea['id']}/scenes",
        content=json.dumps(scene_body(bible=bible)),  # escapes the surrogate as \ud800
        headers={**owner.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert {e["pointer"] for e in response.json()["errors"]} == {
        "/bible/characters/0/description",
        "/bible/characters/0/traits/0",
    }
    malformed = await client.post("/v1/ideas/123/scenes", json=scene_body(), headers=owner.headers)
    assert malformed.status_code == 422
    unknown = await client.post(
        f"/v1/ideas/{uuid.uuid4()}/scenes", json=scene_body(), headers=owner.headers
    )
    assert unknown.status_code == 404
    not_json = await client.post(
        f"/v1/ideas/{idea['id']}/scenes",
        content=b"{not json",
        headers={**owner.headers, "Content-Type": "application/json"},
    )
    assert not_json.status_code == 400
    assert not_json.headers["content-type"] == PROBLEM
    for path in ("", "/segments", "/playlist.m3u8"):
        assert (await client.get(f"/v1/scenes/not-a-uuid{path}")).status_code == 422
        assert (await client.get(f"/v1/scenes/{uuid.uuid4()}{path}")).status_code == 404


# Reading and visibility


@pytest.mark.parametrize("status", ["hidden", "removed"])
async def test_hidden_and_removed_scenes_exist_only_for_moderators(
    client: httpx.AsyncClient, factory: Factory, status: str
) -> None:
    owner = await factory.account()
    scene = await factory.scene(owner, idea=await factory.idea_row(owner))
    callers = {
        "anonymous": None,
        "owner": owner,
        "other": await factory.account(),
        "moderator": await factory.account("moderator"),
        "admin": await factory.account("admin"),
    }
    for caller in callers.values():
        headers = caller.headers if caller else {}
        assert (await client.get(f"/v1/scenes/{scene['id']}", headers=headers)).status_code == 200
    await set_scene(factory.app, scene["id"], status=status)
    for name, caller in callers.items():
        headers = caller.headers if caller else {}
        expected = 200 if name in ("moderator", "admin") else 404
        for path in ("", "/bible", "/segments"):
            response = await client.get(f"/v1/scenes/{scene['id']}{path}", headers=headers)
            assert response.status_code == expected, (name, path)
        # Only live content plays, whoever asks (a player sends no credentials anyway).
        playlist = await client.get(f"/v1/scenes/{scene['id']}/playlist.m3u8", headers=headers)
        assert playlist.status_code == 404
    listed = await client.get("/v1/scenes", params={"topic": (await topic_of(factory, scene))})
    assert scene["id"] not in {s["id"] for s in listed.json()["items"]}


async def topic_of(factory: Factory, scene: dict[str, Any]) -> str:
    async with factory.app.state.db.session() as session:
        idea = await session.get(Idea, uuid.UUID(scene["idea_id"]))
        assert idea is not None
        return str(idea.topic_id)


# Lists


async def walk(
    client: httpx.AsyncClient, params: dict[str, Any], path: str = "/v1/scenes"
) -> list[str]:
    ids: list[str] = []
    cursor = None
    while True:
        page = await client.get(path, params={**params, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        body = page.json()
        ids.extend(s["id"] for s in body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return ids


async def test_lists_filter_sort_and_paginate(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.account()
    topic = await factory.topic_row()
    other_topic = await factory.topic_row()
    idea = await factory.idea_row(owner, topic)
    scenes = [await factory.scene(owner, idea=idea) for _ in range(7)]
    stranger = await factory.scene(owner, idea=await factory.idea_row(owner, other_topic))
    ids = [s["id"] for s in scenes]
    now = datetime.now(UTC)
    likes = [3, 9, 0, 9, 1, 5, 2]
    for index, scene in enumerate(scenes):
        last = now - timedelta(minutes=index * 7 % 5) if index % 2 else None
        await set_scene(factory.app, scene["id"], like_count=likes[index], last_segment_at=last)
    await set_scene(factory.app, ids[6], status="locked")

    newest_first = list(reversed(ids))
    for key in (topic["id"], topic["slug"]):
        assert await walk(client, {"topic": key, "limit": 3}) == newest_first
        assert await walk(client, {"topic": key, "limit": 100, "sort": "new"}) == newest_first
    popular = await walk(client, {"topic": topic["slug"], "sort": "popular", "limit": 2})
    assert popular == sorted(ids, key=lambda i: (likes[ids.index(i)], uuid.UUID(i)), reverse=True)

    fetched = {
        s["id"]: s
        for s in (
            await client.get("/v1/scenes", params={"topic": topic["id"], "limit": 100})
        ).json()["items"]
    }

    def activity(scene_id: str) -> tuple[datetime, uuid.UUID]:
        scene = fetched[scene_id]
        moment = scene["last_segment_at"] or scene["created_at"]
        return datetime.fromisoformat(moment), uuid.UUID(scene_id)

    active = await walk(client, {"topic": topic["id"], "sort": "active", "limit": 4})
    assert active == sorted(ids, key=activity, reverse=True)
    assert stranger["id"] not in active

    await set_scene(factory.app, ids[3], status="hidden")
    await set_scene(factory.app, ids[4], status="removed")
    remaining = await walk(client, {"topic": topic["id"], "limit": 2})
    assert remaining == [i for i in newest_first if i not in (ids[3], ids[4])]
    assert await walk(client, {"topic": unique("no-such-topic-")}) == []
    everything = await walk(client, {"limit": 100})
    assert stranger["id"] in everything and ids[3] not in everything


async def test_an_ideas_own_scenes_while_the_idea_is_visible(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.account()
    idea = await factory.idea_row(owner)
    scenes = [await factory.scene(owner, idea=idea) for _ in range(3)]
    elsewhere = await factory.scene(owner, idea=await factory.idea_row(owner))
    ids = [s["id"] for s in scenes]
    path = f"/v1/ideas/{idea['id']}/scenes"
    assert await walk(client, {"limit": 2}, path) == list(reversed(ids))
    await set_scene(factory.app, ids[1], status="hidden")
    assert await walk(client, {"sort": "active"}, path) == [ids[2], ids[0]]
    assert elsewhere["id"] in await walk(client, {}, f"/v1/ideas/{elsewhere['idea_id']}/scenes")

    deleted = await client.delete(f"/v1/ideas/{idea['id']}", headers=owner.headers)
    assert deleted.status_code == 204
    for headers in ({}, owner.headers):
        response = await client.get(path, headers=headers)
        assert response.status_code == 404 and response.headers["content-type"] == PROBLEM
    moderator = await factory.account("moderator")
    kept = await client.get(path, headers=moderator.headers)
    assert [s["id"] for s in kept.json()["items"]] == [ids[2], ids[0]]
    assert (await client.get(f"/v1/ideas/{uuid.uuid4()}/scenes")).status_code == 404
    assert (await client.get(path, params={"sort": "best"})).status_code == 422


@pytest.mark.parametrize(
    "params",
    [
        {"sort": "best"},
        {"limit": 0},
        {"limit": 101},
        {"cursor": "garbage!"},
        {"limit": "x"},
        {"topic": "nul\x00"},
    ],
)
async def test_bad_list_parameters(client: httpx.AsyncClient, params: dict[str, Any]) -> None:
    response = await client.get("/v1/scenes", params=params)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM


# Segments


async def test_segments_in_sequence_order_with_media_urls(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.account()
    scene = await factory.scene(owner, idea=await factory.idea_row(owner))
    made = {}
    for sequence in (3, 1, 5, 2, 4):
        made[sequence] = await add_segment(
            factory.app,
            scene["id"],
            sequence,
            user_id=uuid.UUID(owner.id),
            bible_version=1,
            status="hidden" if sequence == 4 else "active",
        )
        if sequence != 2:  # the second has no media rows: no URLs
            await attach_media(factory.app, made[sequence].id, chunks=[2.0], captions=sequence == 1)
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(f"/v1/scenes/{scene['id']}/segments", params=params)).json()
        seen.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [s["sequence"] for s in seen] == [1, 2, 3, 5]
    first = seen[0]
    base = f"{factory.app.state.settings.public_base_url}/v1/segments/{made[1].id}"
    # Stable API URLs (the object URLs behind them are made when they are fetched).
    assert first["hls_playlist_url"] == f"{base}/playlist.m3u8"
    assert first["video_url"] == f"{base}/video.mp4"
    assert first["thumbnail_url"] == f"{base}/thumbnail.jpg"
    assert first["captions_url"] == f"{base}/captions.vtt"
    assert seen[2]["captions_url"] is None and seen[2]["video_url"] is not None
    assert all(seen[1][f] is None for f in ("hls_playlist_url", "video_url", "captions_url"))
    assert first["scene_id"] == scene["id"] and first["user_id"] == owner.id
    assert first["bible_version"] == 1 and first["duration"] == 6.0


async def test_scene_lists_carry_the_first_active_segment_thumbnail_as_cover(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.account()
    topic = await factory.topic()
    bare = await factory.scene(owner, idea=await factory.idea(owner, topic))
    shown = await factory.scene(owner, idea=await factory.idea(owner, topic))
    await add_segment(factory.app, shown["id"], 1)  # no thumbnail yet
    second = await add_segment(
        factory.app, shown["id"], 2, thumbnail_key=f"scenes/{shown['id']}/2/t.jpg"
    )
    await add_segment(factory.app, shown["id"], 3, thumbnail_key=f"scenes/{shown['id']}/3/t.jpg")
    await add_segment(
        factory.app, bare["id"], 1, thumbnail_key="scenes/hidden/t.jpg", status="hidden"
    )
    page = (await client.get("/v1/scenes", params={"topic": topic["id"]})).json()["items"]
    thumbnails = {s["id"]: s["cover_url"] for s in page}
    base = factory.app.state.settings.public_base_url
    assert thumbnails == {
        shown["id"]: f"{base}/v1/segments/{second.id}/thumbnail.jpg",
        bare["id"]: None,
    }
    # Every scene names its whole-scene playlist and export, alike in a list, a read and
    # the answer that made it.
    for made in (bare, shown):
        links = {
            "playlist_url": f"{base}/v1/scenes/{made['id']}/playlist.m3u8",
            "export_url": f"{base}/v1/scenes/{made['id']}/export.mp4",
        }
        read = (await client.get(f"/v1/scenes/{made['id']}")).json()
        listed = next(s for s in page if s["id"] == made["id"])
        for answer in (made, read, listed):
            assert {name: answer[name] for name in links} == links


async def test_segments_name_their_authors(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.account()
    other = await factory.account()
    named = await client.patch(
        "/v1/users/me", json={"display_name": "Ana the Bold"}, headers=other.headers
    )
    assert named.status_code == 200, named.text
    scene = await factory.scene(owner, idea=await factory.idea_row(owner))
    await add_segment(factory.app, scene["id"], 1, user_id=uuid.UUID(owner.id))
    await add_segment(factory.app, scene["id"], 2, user_id=uuid.UUID(other.id))
    await add_segment(factory.app, scene["id"], 3, user_id=uuid.UUID(owner.id))
    await add_segment(factory.app, scene["id"], 4)  # an author gone: no name, no error
    items = (await client.get(f"/v1/scenes/{scene['id']}/segments")).json()["items"]
    assert [(s["author_username"], s["author_display_name"]) for s in items] == [
        (owner.username, None),
        (other.username, "Ana the Bold"),
        (owner.username, None),
        (None, None),
    ]


async def test_the_database_refuses_a_taken_sequence_and_an_unknown_scene(
    factory: Factory,
) -> None:
    owner = await factory.account()
    scene = await factory.scene(owner, idea=await factory.idea_row(owner))
    await add_segment(factory.app, scene["id"], 1)
    with pytest.raises(IntegrityError):
        await add_segment(factory.app, scene["id"], 1)
    with pytest.raises(IntegrityError):
        await add_segment(factory.app, uuid.uuid4(), 1)
    second = await add_segment(factory.app, scene["id"], 2)
    assert second.sequence == 2


# The scene playlist


async def test_the_playlist_plays_every_segment_in_order(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.account()
    scene = await factory.scene(owner, idea=await factory.idea_row(owner))
    keys = {}
    for sequence in (2, 1, 3):
        segment = await add_segment(factory.app, scene["id"], sequence)
        if sequence != 3:  # the third one has no media rows yet: left out
            keys[sequence] = await attach_media(factory.app, segment.id, chunks=[4.0, 2.5])

    master = await client.get(f"/v1/scenes/{scene['id']}/playlist.m3u8")
    assert master.status_code == 200
    assert master.headers["content-type"].startswith("application/vnd.apple.mpegurl")
    assert "#EXT-X-STREAM-INF:BANDWIDTH=" in master.text and "SUBTITLES" not in master.text
    assert [line for line in master.text.splitlines() if not line.startswith("#")] == ["video.m3u8"]
    response = await client.get(f"/v1/scenes/{scene['id']}/video.m3u8")
    lines = response.text.splitlines()
    assert lines[:4] == [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-TARGETDURATION:4",
    ]
    uris = [line for line in lines if not line.startswith("#")]
    base = f"{factory.app.state.settings.public_base_url}/media/"
    assert uris == [base + key for seq in (1, 2) for key in keys[seq]["chunk"]]
    assert [line for line in lines if line.startswith("#EXTINF")] == [
        "#EXTINF:4.000000,",
        "#EXTINF:2.500000,",
    ] * 2
    assert lines.count("#EXT-X-DISCONTINUITY") == 1
    assert lines[-1] == "#EXT-X-ENDLIST"
    for uri in uris:  # the API serves local objects of live segments
        assert (await client.get(uri)).status_code == 200
    assert (await client.get(f"/v1/scenes/{scene['id']}/captions.m3u8")).status_code == 404

    # Nothing playable is not found, never an empty playlist (a zero-length video to ffprobe).
    empty = await factory.scene(owner, idea=await factory.idea_row(owner))
    await add_segment(factory.app, empty["id"], 1)
    for path in ("playlist.m3u8", "video.m3u8", "captions.m3u8"):
        response = await client.get(f"/v1/scenes/{empty['id']}/{path}")
        assert response.status_code == 404
        assert response.headers["content-type"] == PROBLEM


async def test_a_scene_with_some_captions_offers_them_all_along(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.account()
    scene = await factory.scene(owner, idea=await factory.idea_row(owner))
    for sequence in (1, 2):
        segment = await add_segment(factory.app, scene["id"], sequence)
        await attach_media(factory.app, segment.id, chunks=[2.0, 1.5], captions=sequence == 2)
    master = (await client.get(f"/v1/scenes/{scene['id']}/playlist.m3u8")).text
    assert 'TYPE=SUBTITLES,GROUP-ID="subs"' in master and 'SUBTITLES="subs"' in master
    subtitles = (await client.get(f"/v1/scenes/{scene['id']}/captions.m3u8")).text
    entries = [line for line in subtitles.splitlines() if not line.startswith("#")]
    # The first segment has none: a blank file as long as it keeps the second's cues in place.
    assert entries[0].endswith("/v1/captions/blank.vtt")
    assert entries[1].startswith(f"{factory.app.state.settings.public_base_url}/media/objects/")
    assert subtitles.count("#EXTINF:3.500000,") == 2
    blank = await client.get(entries[0])
    assert blank.status_code == 200 and blank.text.startswith("WEBVTT")


async def test_playback_routes_refuse_bad_ids_with_problems(client: httpx.AsyncClient) -> None:
    for path in ("playlist.m3u8", "video.m3u8", "captions.m3u8", "video.mp4", "captions.vtt"):
        malformed = await client.get(f"/v1/segments/not-a-uuid/{path}")
        assert malformed.status_code == 422 and malformed.headers["content-type"] == PROBLEM
        unknown = await client.get(f"/v1/segments/{uuid.uuid4()}/{path}")
        assert unknown.status_code == 404 and unknown.headers["content-type"] == PROBLEM
    for path in ("video.m3u8", "captions.m3u8"):
        assert (await client.get(f"/v1/scenes/{uuid.uuid4()}/{path}")).status_code == 404
    # CORS preflight from a player on another origin (MEDIA_CORS_ORIGINS defaults to any).
    preflight = await client.options(
        f"/v1/segments/{uuid.uuid4()}/video.m3u8",
        headers={"Origin": "https://player.example", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    # The rest of the API keeps the same-origin rule.
    other = await client.get("/v1/scenes", headers={"Origin": "https://player.example"})
    assert "access-control-allow-origin" not in other.headers
