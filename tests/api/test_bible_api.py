"""The versioned bible: ETags, If-Match locking, races, history, diffs, who may edit."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import jsonpatch
import pytest
from sqlalchemy import select, update

from domain.scenes.models import Scene, SceneBible
from tests.factories import Account, Factory, minimal_bible

PROBLEM = "application/problem+json"


async def new_scene(factory: Factory, owner: Account | None = None) -> tuple[Account, str]:
    owner = owner or await factory.account()
    idea = await factory.idea_row(owner)
    scene = await factory.scene(owner, idea=idea)
    return owner, scene["id"]


def edited(note: str, **changes: Any) -> dict[str, Any]:
    data = minimal_bible()
    data["timeline"]["currentPoint"] = note
    data.update(changes)
    return data


async def put_bible(
    client: httpx.AsyncClient,
    scene_id: str,
    data: Any,
    account: Account | None,
    if_match: str | None = '"1"',
    **body: Any,
) -> httpx.Response:
    headers = dict(account.headers) if account else {}
    if if_match is not None:
        headers["If-Match"] = if_match
    return await client.put(
        f"/v1/scenes/{scene_id}/bible", json={"data": data, **body}, headers=headers
    )


async def set_status(app: Any, scene_id: str, status: str) -> None:
    async with app.state.db.transaction() as session:
        await session.execute(
            update(Scene).where(Scene.id == uuid.UUID(scene_id)).values(status=status)
        )


async def stored_versions(app: Any, scene_id: str) -> list[int]:
    async with app.state.db.session() as session:
        rows = await session.scalars(
            select(SceneBible.version)
            .where(SceneBible.scene_id == uuid.UUID(scene_id))
            .order_by(SceneBible.version)
        )
        return list(rows)


async def test_get_bible_returns_the_head_with_its_etag(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, scene_id = await new_scene(factory)
    response = await client.get(f"/v1/scenes/{scene_id}/bible")
    assert response.status_code == 200
    assert response.headers["etag"] == '"1"'
    body = response.json()
    assert body["version"] == 1
    assert body["data"] == {**minimal_bible(), "version": 1}


@pytest.mark.parametrize("who", ["anonymous", "owner", "other", "moderator", "admin"])
async def test_who_may_put_a_bible(client: httpx.AsyncClient, factory: Factory, who: str) -> None:
    owner, scene_id = await new_scene(factory)
    caller = {
        "anonymous": None,
        "owner": owner,
        "other": await factory.account(),
        "moderator": await factory.account("moderator"),
        "admin": await factory.account("admin"),
    }[who]
    response = await put_bible(client, scene_id, edited("Dusk"), caller, change_note="dusk")
    expected = {"anonymous": 401, "other": 403}.get(who, 200)
    assert response.status_code == expected, response.text
    head = (await client.get(f"/v1/scenes/{scene_id}/bible")).json()
    if expected == 200:
        assert response.headers["etag"] == '"2"'
        assert response.json() == {"version": 2, "data": {**edited("Dusk"), "version": 2}}
        assert head["version"] == 2
        assert (await client.get(f"/v1/scenes/{scene_id}")).json()["bible_version"] == 2
    else:
        assert response.headers["content-type"] == PROBLEM
        assert head["version"] == 1


async def test_put_without_if_match_is_428(client: httpx.AsyncClient, factory: Factory) -> None:
    owner, scene_id = await new_scene(factory)
    for if_match in (None, "", "*"):
        response = await put_bible(client, scene_id, edited("x"), owner, if_match=if_match)
        assert response.status_code == 428, if_match
        assert response.headers["content-type"] == PROBLEM
    assert await stored_versions(factory.app, scene_id) == [1]


@pytest.mark.parametrize("if_match", ['"1"', 'W/"1"', "1", '"7", "1"'])
async def test_if_match_forms(client: httpx.AsyncClient, factory: Factory, if_match: str) -> None:
    owner, scene_id = await new_scene(factory)
    response = await put_bible(client, scene_id, edited("x"), owner, if_match=if_match)
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2


async def test_a_stale_base_gets_412_with_the_patch_to_the_head(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, scene_id = await new_scene(factory)
    base = (await client.get(f"/v1/scenes/{scene_id}/bible")).json()["data"]
    second = edited("Midnight")
    third = edited("Dawn")
    third["plotThreads"][0]["status"] = "active"
    third["characters"][0]["aliases"] = ["Mara", "The Keeper"]
    assert (await put_bible(client, scene_id, second, owner, '"1"')).status_code == 200
    assert (await put_bible(client, scene_id, third, owner, '"2"')).status_code == 200

    stale = await put_bible(client, scene_id, edited("Mine"), owner, '"1"')
    assert stale.status_code == 412
    assert stale.headers["content-type"] == PROBLEM
    assert stale.headers["etag"] == '"3"'
    problem = stale.json()
    assert problem["current_version"] == 3
    assert problem["status"] == 412
    head = (await client.get(f"/v1/scenes/{scene_id}/bible")).json()["data"]
    assert jsonpatch.apply_patch(base, problem["patch"]) == head
    assert await stored_versions(factory.app, scene_id) == [1, 2, 3]

    for unknown in ('"9"', '"abc"'):
        response = await put_bible(client, scene_id, edited("Mine"), owner, unknown)
        assert response.status_code == 412
        assert response.json()["current_version"] == 3
    rebased = await put_bible(client, scene_id, edited("Mine"), owner, '"3"')
    assert rebased.status_code == 200
    assert rebased.json()["version"] == 4


async def test_invalid_data_is_422_with_pointers_into_the_body(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, scene_id = await new_scene(factory)
    data = minimal_bible()
    data["characters"][0]["entityId"] = "not an id!"
    data["styleGuide"]["tone"] = 7
    data["setting"]["worldRules"] = ["fine", "bad\x00rule"]
    response = await put_bible(client, scene_id, data, owner)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    errors = response.json()["errors"]
    assert {"pointer", "message", "rule"} <= set(errors[0])
    assert "/data/setting/worldRules/1" in {e["pointer"] for e in errors}

    data["setting"]["worldRules"] = ["fine"]
    response = await put_bible(client, scene_id, data, owner)
    assert response.status_code == 422
    pointers = {e["pointer"] for e in response.json()["errors"]}
    assert "/data/characters/0/entityId" in pointers
    assert "/data/styleGuide/tone" in pointers
    assert await stored_versions(factory.app, scene_id) == [1]


async def test_control_characters_other_than_nul_are_kept_as_sent(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, scene_id = await new_scene(factory)
    data = minimal_bible()
    odd = "bell\x07 \x1b[31mred\x1b[0m \x0bvtab\x0c\x7f\x85\x9f\r\n\ttower"
    data["characters"][0]["description"] = odd
    data["setting"]["worldRules"] = ["\x01" * 1000]  # at the short-text limit
    data["x-\x1fcustom"] = {"\x02key": odd}
    response = await put_bible(client, scene_id, data, owner)
    assert response.status_code == 200, response.text
    stored = (await client.get(f"/v1/scenes/{scene_id}/bible")).json()["data"]
    assert stored["characters"][0]["description"] == odd
    assert stored["setting"]["worldRules"] == ["\x01" * 1000]
    assert stored["x-\x1fcustom"] == {"\x02key": odd}
    # The size limits still count them.
    data["setting"]["worldRules"] = ["\x01" * 1001]
    too_long = await put_bible(client, scene_id, data, owner, if_match='"2"')
    assert too_long.status_code == 422, too_long.text
    assert "/data/setting/worldRules/0" in {e["pointer"] for e in too_long.json()["errors"]}


@pytest.mark.parametrize(
    "body",
    [
        {"data": ["not", "an", "object"]},
        {"data": "text"},
        {"data": None},
        {},
        {"data": {}, "unexpected": 1},
        {"data": minimal_bible(), "change_note": "a\x00b"},
    ],
)
async def test_malformed_put_bodies_are_problems(
    client: httpx.AsyncClient, factory: Factory, body: dict[str, Any]
) -> None:
    owner, scene_id = await new_scene(factory)
    response = await client.put(
        f"/v1/scenes/{scene_id}/bible", json=body, headers={**owner.headers, "If-Match": '"1"'}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert await stored_versions(factory.app, scene_id) == [1]


async def test_unknown_or_malformed_scene_ids(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.account()
    unknown = uuid.uuid4()
    assert (await put_bible(client, str(unknown), edited("x"), owner)).status_code == 404
    assert (await put_bible(client, "not-a-uuid", edited("x"), owner)).status_code == 422
    for path in ("bible", "bible/versions", "bible/versions/1", "bible/diff?from=1&to=1"):
        response = await client.get(f"/v1/scenes/{unknown}/{path}")
        assert response.status_code == 404, path
        assert response.headers["content-type"] == PROBLEM
        assert (await client.get(f"/v1/scenes/nope/{path}")).status_code == 422


async def test_locked_scenes_are_409_except_for_moderators(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, scene_id = await new_scene(factory)
    await set_status(factory.app, scene_id, "locked")
    response = await put_bible(client, scene_id, edited("x"), owner)
    assert response.status_code == 409
    moderator = await factory.account("moderator")
    assert (await put_bible(client, scene_id, edited("x"), moderator)).status_code == 200


async def test_hidden_and_removed_scenes(client: httpx.AsyncClient, factory: Factory) -> None:
    owner, scene_id = await new_scene(factory)
    moderator = await factory.account("moderator")
    await set_status(factory.app, scene_id, "hidden")
    assert (await put_bible(client, scene_id, edited("x"), owner)).status_code == 404
    assert (
        await client.get(f"/v1/scenes/{scene_id}/bible", headers=owner.headers)
    ).status_code == 404
    assert (
        await client.get(f"/v1/scenes/{scene_id}/bible", headers=moderator.headers)
    ).status_code == 200
    assert (await put_bible(client, scene_id, edited("x"), moderator)).status_code == 200
    await set_status(factory.app, scene_id, "removed")
    assert (await put_bible(client, scene_id, edited("y"), moderator, '"2"')).status_code == 404
    assert (await client.get(f"/v1/scenes/{scene_id}/bible/versions")).status_code == 404


async def _race(
    client: httpx.AsyncClient, scene_id: str, owner: Account, base: int
) -> list[httpx.Response]:
    return list(
        await asyncio.gather(
            *(
                put_bible(client, scene_id, edited(f"writer {i}"), owner, f'"{base}"')
                for i in range(50)
            )
        )
    )


async def test_fifty_concurrent_writers_exactly_one_wins(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, scene_id = await new_scene(factory)
    for round_number, base in enumerate((1, 2), start=1):
        responses = await _race(client, scene_id, owner, base)
        codes = sorted(r.status_code for r in responses)
        assert codes == [200] + [412] * 49, codes
        winner = next(r for r in responses if r.status_code == 200)
        assert winner.json()["version"] == base + 1
        assert all(
            r.json()["current_version"] == base + 1 for r in responses if r.status_code == 412
        )
        assert await stored_versions(factory.app, scene_id) == list(range(1, round_number + 2))
        head = (await client.get(f"/v1/scenes/{scene_id}/bible")).json()
        assert head == winner.json()


async def test_versions_list_fetch_and_diff(client: httpx.AsyncClient, factory: Factory) -> None:
    owner, scene_id = await new_scene(factory)
    datas = {1: {**minimal_bible(), "version": 1}}
    for version in range(2, 6):
        data = edited(f"point {version}")
        data["characters"][0]["traits"] = ["stubborn"] * version
        response = await put_bible(
            client, scene_id, data, owner, f'"{version - 1}"', change_note=f"note {version}"
        )
        assert response.status_code == 200
        datas[version] = response.json()["data"]

    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(f"/v1/scenes/{scene_id}/bible/versions", params=params)).json()
        seen.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [v["version"] for v in seen] == [1, 2, 3, 4, 5]
    assert all("data" not in v for v in seen)
    assert seen[2]["change_note"] == "note 3"
    assert seen[2]["created_by"] == owner.id

    one = await client.get(f"/v1/scenes/{scene_id}/bible/versions/3")
    assert one.status_code == 200
    assert one.headers["etag"] == '"3"'
    assert one.json()["data"] == datas[3]
    assert one.json()["created_by"] == owner.id
    for bad, code in (("6", 404), ("0", 422), ("x", 422), ("99999999999", 422)):
        response = await client.get(f"/v1/scenes/{scene_id}/bible/versions/{bad}")
        assert response.status_code == code, bad

    for start, end in ((1, 5), (5, 2), (3, 3)):
        response = await client.get(
            f"/v1/scenes/{scene_id}/bible/diff", params={"from": start, "to": end}
        )
        assert response.status_code == 200
        body = response.json()
        assert (body["from"], body["to"]) == (start, end)
        assert jsonpatch.apply_patch(datas[start], body["patch"]) == datas[end]
    assert (await client.get(f"/v1/scenes/{scene_id}/bible/diff?from=1&to=6")).status_code == 404
    assert (await client.get(f"/v1/scenes/{scene_id}/bible/diff?from=1")).status_code == 422
    assert (await client.get(f"/v1/scenes/{scene_id}/bible/diff?from=0&to=1")).status_code == 422
