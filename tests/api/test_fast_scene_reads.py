"""Anonymous scene reads on fast paths (api.fast_routes): a scene and its segments page answered
before FastAPI's routing, byte for byte as the full route; anything unusual left to FastAPI."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import Request

from api.routes import ideas, scenes
from tests.factories import Account, Factory


def _request(
    app: Any, scene_id: str, query: str = "", headers: dict[str, str] | None = None
) -> Request:
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/",
            "query_string": query.encode(),
            "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
            "path_params": {"scene_id": scene_id},
            "app": app,
        }
    )


@pytest.fixture
async def written(factory: Factory) -> tuple[Account, dict[str, Any]]:
    owner = await factory.account()
    scene = await factory.scene(owner)
    for n in range(3):
        await factory.contributed_segment(scene, owner, text=f"Line {n}.")
    return owner, scene


async def test_fast_answers_are_the_full_routes(
    app: Any, client: httpx.AsyncClient, written: tuple[Account, dict[str, Any]]
) -> None:
    _, scene = written
    # A UUID without hyphens is valid, but not canonical: FastAPI's full route answers it.
    bare = scene["id"].replace("-", "")
    full = await client.get(f"/v1/scenes/{bare}")
    fast = await scenes._fast_read_scene(_request(app, scene["id"]))
    assert full.status_code == 200 and fast is not None and fast.status_code == 200
    assert fast.body == full.content
    full = await client.get(f"/v1/scenes/{bare}/segments", params={"limit": "2"})
    fast = await scenes._fast_list_segments(_request(app, scene["id"], "limit=2"))
    assert full.status_code == 200 and fast is not None and fast.status_code == 200
    assert fast.body == full.content
    cursor = full.json()["next_cursor"]
    assert cursor is not None
    full = await client.get(f"/v1/scenes/{bare}/segments", params={"cursor": cursor})
    fast = await scenes._fast_list_segments(_request(app, scene["id"], f"cursor={cursor}"))
    assert fast is not None and fast.body == full.content
    assert len(full.json()["items"]) == 1


async def test_a_missing_scene_is_the_same_problem(app: Any, client: httpx.AsyncClient) -> None:
    missing = str(uuid.uuid4())
    for path in (f"/v1/scenes/{missing}", f"/v1/scenes/{missing}/segments"):
        fast = await client.get(path)
        full = await client.get(path.replace(missing, missing.replace("-", "")))
        assert fast.status_code == full.status_code == 404
        assert fast.json()["status"] == full.json()["status"] == 404
        assert fast.json()["title"] == full.json()["title"]


@pytest.mark.parametrize(
    ("scene_id", "query", "authorization"),
    [
        ("{bare}", "", None),
        ("not-a-uuid", "", None),
        ("{id}", "", "{token}"),
        ("{id}", "", "Basic x"),
        ("{id}", "limit=0", None),
        ("{id}", "limit=101", None),
        ("{id}", "limit=020", None),
        ("{id}", "limit=x", None),
        ("{id}", "cursor=" + "a" * 513, None),
    ],
)
async def test_anything_unusual_is_left_to_fastapi(
    app: Any,
    written: tuple[Account, dict[str, Any]],
    scene_id: str,
    query: str,
    authorization: str | None,
) -> None:
    owner, scene = written
    values = {
        "id": scene["id"],
        "bare": scene["id"].replace("-", ""),
        "token": owner.headers["Authorization"],
    }
    headers = {} if authorization is None else {"Authorization": authorization.format(**values)}
    request = _request(app, scene_id.format(**values), query, headers)
    assert await scenes._fast_list_segments(request) is None
    if not query:
        assert await scenes._fast_read_scene(request) is None


@pytest.mark.parametrize("path", ["/v1/scenes", "/v1/ideas"])
async def test_the_fast_lists_are_the_full_routes(
    app: Any, client: httpx.AsyncClient, written: tuple[Account, dict[str, Any]], path: str
) -> None:
    handler = scenes._fast_list_scenes if path == "/v1/scenes" else ideas._fast_list_ideas
    for query in ("limit=2", "sort=popular&limit=3", "topic=no-such-topic"):
        # A parameter the route does not take: the fast path leaves it to FastAPI's route.
        full = await client.get(f"{path}?{query}&unknown=1")
        fast = await handler(_request(app, "", query))
        assert full.status_code == 200 and fast is not None and fast.status_code == 200
        assert fast.body == full.content
    assert len((await client.get(f"{path}?limit=2")).json()["items"]) >= 1


@pytest.mark.parametrize(
    "query",
    ["unknown=1", "topic=", "topic=a_b", "topic=" + "a" * 101, "sort=best", "limit=0", "limit=1e1"],
)
async def test_an_unusual_scene_list_is_left_to_fastapi(app: Any, query: str) -> None:
    assert await scenes._fast_list_scenes(_request(app, "", query)) is None


@pytest.mark.parametrize(
    "query",
    ["unknown=1", "topic=", "category=a_b", "tag=" + "a" * 101, "sort=best", "limit=101"],
)
async def test_an_unusual_idea_list_is_left_to_fastapi(
    app: Any, written: tuple[Account, dict[str, Any]], query: str
) -> None:
    owner, _ = written
    assert await ideas._fast_list_ideas(_request(app, "", query)) is None
    assert await ideas._fast_list_ideas(_request(app, "", "", owner.headers)) is None
