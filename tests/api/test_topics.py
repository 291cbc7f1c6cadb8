"""Topics, categories and topic proposals: roles, slugs, pagination, the proposal lifecycle."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

import httpx
import pytest

from domain.users.models import Role
from tests.factories import Account, Factory, unique

PROBLEM_JSON = "application/problem+json"
SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["status"] == status
    return body


def pointers(response: httpx.Response) -> set[str]:
    return {e["pointer"] for e in assert_problem(response, 422)["errors"]}


@pytest.fixture(scope="module")
async def admin(factory: Factory) -> Account:
    return await factory.account(Role.ADMIN)


@pytest.fixture(scope="module")
async def moderator(factory: Factory) -> Account:
    return await factory.account(Role.MODERATOR)


@pytest.fixture(scope="module")
async def user(factory: Factory) -> Account:
    return await factory.account(Role.USER)


async def propose(client: httpx.AsyncClient, author: Account, **fields: Any) -> dict[str, Any]:
    body = {"name": unique("Proposal "), "description": "Stories set on night trains.", **fields}
    response = await client.post("/v1/topic-proposals", json=body, headers=author.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def walk(
    client: httpx.AsyncClient,
    path: str,
    limit: int,
    headers: dict[str, str] | None = None,
    **query: str,
) -> list[dict]:
    items: list[dict] = []
    cursor: str | None = None
    for _ in range(1000):
        params: dict[str, Any] = {"limit": limit, **query}
        if cursor:
            params["cursor"] = cursor
        response = await client.get(path, params=params, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= limit
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("pagination never ended")


def protected_routes(topic_id: str, proposal_id: str) -> list[tuple[str, str, dict | None]]:
    return [
        ("POST", "/v1/topics", {"name": unique("T ")}),
        ("PATCH", f"/v1/topics/{topic_id}", {"description": "changed"}),
        ("POST", f"/v1/topics/{topic_id}/categories", {"name": unique("C ")}),
        ("GET", "/v1/topic-proposals", None),
        ("POST", f"/v1/topic-proposals/{proposal_id}/approve", {"promote": False}),
        ("POST", f"/v1/topic-proposals/{proposal_id}/reject", {"reason": "Off topic."}),
    ]


# Roles


async def test_anonymous_callers_get_401_on_every_protected_route(
    client: httpx.AsyncClient, factory: Factory, admin: Account, user: Account
) -> None:
    topic = await factory.topic(admin)
    proposal = await propose(client, user)
    routes = protected_routes(topic["id"], proposal["id"])
    routes += [
        ("POST", "/v1/topic-proposals", {"name": "Trains", "description": "On rails."}),
        ("GET", f"/v1/topic-proposals/{proposal['id']}", None),
    ]
    for method, path, body in routes:
        response = await client.request(method, path, json=body)
        assert_problem(response, 401)
    after = await client.get(f"/v1/topic-proposals/{proposal['id']}", headers=user.headers)
    assert after.json()["status"] == "pending"


async def test_users_get_403_and_moderators_only_reach_proposal_routes(
    client: httpx.AsyncClient, factory: Factory, admin: Account, moderator: Account, user: Account
) -> None:
    topic = await factory.topic(admin)
    proposal = await propose(client, user)
    for method, path, body in protected_routes(topic["id"], proposal["id"]):
        assert_problem(await client.request(method, path, json=body, headers=user.headers), 403)
    for method, path, body in protected_routes(topic["id"], proposal["id"])[:3]:
        response = await client.request(method, path, json=body, headers=moderator.headers)
        assert_problem(response, 403)
    listed = await client.get("/v1/topic-proposals", headers=moderator.headers)
    assert listed.status_code == 200
    unchanged = await client.get(f"/v1/topics/{topic['slug']}")
    assert unchanged.json()["description"] is None
    assert unchanged.json()["categories"] == []


async def test_a_banned_user_cannot_propose(client: httpx.AsyncClient, factory: Factory) -> None:
    banned = await factory.account(banned=True)
    response = await client.post(
        "/v1/topic-proposals",
        json={"name": "Trains", "description": "On rails."},
        headers=banned.headers,
    )
    assert_problem(response, 403)


async def test_anyone_reads_topics(client: httpx.AsyncClient, factory: Factory) -> None:
    topic = await factory.topic()
    listed = await walk(client, "/v1/topics", 100)
    assert topic["id"] in {t["id"] for t in listed}
    one = await client.get(f"/v1/topics/{topic['slug']}")
    assert one.status_code == 200
    assert set(one.json()) >= {
        "id", "name", "slug", "description", "display_order", "is_active",
        "created_at", "updated_at", "categories",
    }  # fmt: skip


# Topics and slugs


async def test_admin_creates_a_topic_with_a_derived_slug(
    client: httpx.AsyncClient, admin: Account
) -> None:
    tag = uuid.uuid4().hex[:8]
    response = await client.post(
        "/v1/topics",
        json={
            "name": f"Crème Brûlée & Straße {tag}",
            "description": "Kitchens.",
            "display_order": 3,
        },
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    topic = response.json()
    assert topic["slug"] == f"creme-brulee-and-strasse-{tag}"
    assert topic["name"] == f"Crème Brûlée & Straße {tag}"
    assert topic["display_order"] == 3 and topic["is_active"] is True
    assert response.headers["location"] == f"/v1/topics/{topic['slug']}"
    fetched = await client.get(response.headers["location"])
    assert fetched.json()["id"] == topic["id"]


async def test_a_name_without_latin_letters_still_gets_a_valid_slug(
    client: httpx.AsyncClient, admin: Account
) -> None:
    for _ in range(2):
        response = await client.post("/v1/topics", json={"name": "物語"}, headers=admin.headers)
        assert response.status_code == 201, response.text
        assert SLUG.match(response.json()["slug"])
        assert response.json()["slug"].startswith("topic")


async def test_derived_slugs_are_suffixed_and_explicit_ones_conflict(
    client: httpx.AsyncClient, admin: Account
) -> None:
    name = unique("Night Trains ")
    base = name.lower().replace(" ", "-")
    slugs = []
    for _ in range(3):
        response = await client.post("/v1/topics", json={"name": name}, headers=admin.headers)
        assert response.status_code == 201, response.text
        slugs.append(response.json()["slug"])
    assert slugs == [base, f"{base}-2", f"{base}-3"]
    taken = await client.post(
        "/v1/topics", json={"name": "Other", "slug": f"{base}-2"}, headers=admin.headers
    )
    assert assert_problem(taken, 409)["field"] == "slug"
    explicit = await client.post(
        "/v1/topics", json={"name": name, "slug": f"{base}-x"}, headers=admin.headers
    )
    assert explicit.status_code == 201 and explicit.json()["slug"] == f"{base}-x"


async def test_a_long_name_gets_a_slug_within_the_limit(
    client: httpx.AsyncClient, admin: Account
) -> None:
    # "ß" becomes "ss", so the derived slug outgrows the 100-character limit.
    name = unique("x") + " " + "ß" * 88
    first = (await client.post("/v1/topics", json={"name": name}, headers=admin.headers)).json()
    second = (await client.post("/v1/topics", json={"name": name}, headers=admin.headers)).json()
    for slug in (first["slug"], second["slug"]):
        assert len(slug) <= 100 and SLUG.match(slug)
    assert second["slug"].endswith("-2") and first["slug"] != second["slug"]


async def test_patch_changes_fields_and_keeps_the_slug_on_rename(
    client: httpx.AsyncClient, factory: Factory, admin: Account
) -> None:
    topic = await factory.topic(admin, description="Before")
    response = await client.patch(
        f"/v1/topics/{topic['id']}",
        json={"name": "Renamed", "description": None, "display_order": 7},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["name"] == "Renamed" and changed["slug"] == topic["slug"]
    assert changed["description"] is None and changed["display_order"] == 7
    assert changed["updated_at"] > topic["updated_at"]
    new_slug = unique("moved-")
    moved = await client.patch(
        f"/v1/topics/{topic['id']}", json={"slug": new_slug}, headers=admin.headers
    )
    assert moved.json()["slug"] == new_slug
    assert (await client.get(f"/v1/topics/{new_slug}")).json()["id"] == topic["id"]
    assert_problem(await client.get(f"/v1/topics/{topic['slug']}"), 404)
    same = await client.patch(
        f"/v1/topics/{topic['id']}", json={"slug": new_slug}, headers=admin.headers
    )
    assert same.status_code == 200


async def test_patch_refuses_a_taken_slug_and_nulls(
    client: httpx.AsyncClient, factory: Factory, admin: Account
) -> None:
    one, two = await factory.topic(admin), await factory.topic(admin)
    taken = await client.patch(
        f"/v1/topics/{two['id']}", json={"slug": one["slug"]}, headers=admin.headers
    )
    assert_problem(taken, 409)
    for field in ("name", "slug", "display_order", "is_active"):
        response = await client.patch(
            f"/v1/topics/{two['id']}", json={field: None}, headers=admin.headers
        )
        assert pointers(response) == {f"/{field}"}
    unchanged = (await client.get(f"/v1/topics/{two['slug']}")).json()
    assert unchanged["name"] == two["name"] and unchanged["slug"] == two["slug"]


async def test_an_inactive_topic_is_hidden_except_from_admins(
    client: httpx.AsyncClient, factory: Factory, admin: Account, moderator: Account, user: Account
) -> None:
    topic = await factory.topic(admin)
    response = await client.patch(
        f"/v1/topics/{topic['id']}", json={"is_active": False}, headers=admin.headers
    )
    assert response.json()["is_active"] is False
    assert topic["id"] not in {t["id"] for t in await walk(client, "/v1/topics", 100)}
    for headers in ({}, user.headers, moderator.headers):
        assert_problem(await client.get(f"/v1/topics/{topic['slug']}", headers=headers), 404)
    seen = await client.get(f"/v1/topics/{topic['slug']}", headers=admin.headers)
    assert seen.status_code == 200 and seen.json()["is_active"] is False
    await client.patch(f"/v1/topics/{topic['id']}", json={"is_active": True}, headers=admin.headers)
    assert (await client.get(f"/v1/topics/{topic['slug']}")).status_code == 200


async def test_a_topic_can_be_read_by_id(client: httpx.AsyncClient, factory: Factory) -> None:
    topic = await factory.topic()
    response = await client.get(f"/v1/topics/{topic['id']}")
    assert response.status_code == 200 and response.json()["slug"] == topic["slug"]
    assert_problem(await client.get(f"/v1/topics/{uuid.uuid4()}"), 404)
    assert_problem(await client.get("/v1/topics/no-such-topic-at-all"), 404)
    assert_problem(await client.get("/v1/topics/Bad%00Slug"), 404)


async def test_pagination_walks_every_active_topic_once_in_order(
    client: httpx.AsyncClient, factory: Factory, admin: Account
) -> None:
    created = [await factory.topic(admin, display_order=order) for order in (5, -2, 5, 0, 9, 5)]
    small = await walk(client, "/v1/topics", 2)
    large = await walk(client, "/v1/topics", 100)
    ids = [t["id"] for t in small]
    assert ids == [t["id"] for t in large]
    assert len(ids) == len(set(ids))
    assert {t["id"] for t in created} <= set(ids)
    keys = [(t["display_order"], t["id"]) for t in small]
    assert keys == sorted(keys)
    assert all(t["is_active"] for t in small)


async def test_list_limits_and_cursors_are_validated(client: httpx.AsyncClient) -> None:
    for params in ({"limit": 0}, {"limit": 101}, {"limit": "many"}, {"cursor": "not-a-cursor"}):
        assert_problem(await client.get("/v1/topics", params=params), 422)
    default = await client.get("/v1/topics")
    assert default.status_code == 200 and len(default.json()["items"]) <= 20


# Categories


async def test_admin_adds_categories_shown_with_the_topic(
    client: httpx.AsyncClient, factory: Factory, admin: Account
) -> None:
    topic = await factory.topic(admin)
    response = await client.post(
        f"/v1/topics/{topic['id']}/categories",
        json={"name": "Cosy Mysteries", "description": "Tea and murder."},
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    category = response.json()
    assert category["slug"] == "cosy-mysteries" and category["topic_id"] == topic["id"]
    assert category["is_active"] is True
    location = response.headers["location"]
    assert location == f"/v1/topics/{topic['slug']}/categories/cosy-mysteries"
    assert (await client.get(location)).json()["id"] == category["id"]
    detail = (await client.get(f"/v1/topics/{topic['slug']}")).json()
    assert [c["id"] for c in detail["categories"]] == [category["id"]]
    missing = await client.get(f"/v1/topics/{topic['slug']}/categories/nothing-here")
    assert_problem(missing, 404)


async def test_category_slugs_are_unique_per_topic_but_reusable_across_topics(
    client: httpx.AsyncClient, factory: Factory, admin: Account
) -> None:
    first, second = await factory.topic(admin), await factory.topic(admin)

    async def add(topic: dict, **body: Any) -> httpx.Response:
        return await client.post(
            f"/v1/topics/{topic['id']}/categories", json=body, headers=admin.headers
        )

    assert (await add(first, name="Ghosts")).json()["slug"] == "ghosts"
    assert (await add(first, name="Ghosts!")).json()["slug"] == "ghosts-2"
    assert_problem(await add(first, name="Spirits", slug="ghosts"), 409)
    assert (await add(second, name="Spirits", slug="ghosts")).json()["slug"] == "ghosts"
    detail = (await client.get(f"/v1/topics/{first['slug']}")).json()
    assert sorted(c["slug"] for c in detail["categories"]) == ["ghosts", "ghosts-2"]


async def test_categories_of_an_unknown_topic(client: httpx.AsyncClient, admin: Account) -> None:
    response = await client.post(
        f"/v1/topics/{uuid.uuid4()}/categories", json={"name": "X"}, headers=admin.headers
    )
    assert_problem(response, 404)
    malformed = await client.post(
        "/v1/topics/not-a-uuid/categories", json={"name": "X"}, headers=admin.headers
    )
    assert pointers(malformed) == {"/path/topic_id"}


# Bad input


async def test_bad_topic_input_is_a_problem_and_changes_nothing(
    client: httpx.AsyncClient, factory: Factory, admin: Account
) -> None:
    before = {t["id"] for t in await walk(client, "/v1/topics", 100)}
    cases: list[tuple[dict[str, Any], set[str]]] = [
        ({}, {"/name"}),
        ({"name": 123}, {"/name"}),
        ({"name": "   "}, {"/name"}),
        ({"name": "x" * 101}, {"/name"}),
        ({"name": "Nul\x00Byte"}, {"/name"}),
        ({"name": "Two\nLines"}, {"/name"}),
        ({"name": "Fine", "slug": "Not A Slug"}, {"/slug"}),
        ({"name": "Fine", "slug": "trailing-"}, {"/slug"}),
        ({"name": "Fine", "display_order": "first"}, {"/display_order"}),
        ({"name": "Fine", "display_order": True}, {"/display_order"}),
        ({"name": "Fine", "display_order": 10**12}, {"/display_order"}),
        ({"name": "Fine", "description": "bad\x00"}, {"/description"}),
        ({"name": "Fine", "colour": "red"}, {"/colour"}),
    ]
    for body, expected in cases:
        response = await client.post("/v1/topics", json=body, headers=admin.headers)
        assert pointers(response) == expected, (body, response.text)
    not_json = await client.post(
        "/v1/topics",
        content=b"{not json",
        headers={**admin.headers, "content-type": "application/json"},
    )
    assert_problem(not_json, 400)
    assert {t["id"] for t in await walk(client, "/v1/topics", 100)} == before

    topic = await factory.topic(admin)
    for body in ({"name": 5}, {"is_active": "yes"}, {"slug": "UPPER"}, {"id": topic["id"]}):
        response = await client.patch(f"/v1/topics/{topic['id']}", json=body, headers=admin.headers)
        assert_problem(response, 422)
    unknown = await client.patch(
        f"/v1/topics/{uuid.uuid4()}", json={"name": "Ghost"}, headers=admin.headers
    )
    assert_problem(unknown, 404)
    malformed = await client.patch(
        "/v1/topics/12345", json={"name": "Ghost"}, headers=admin.headers
    )
    assert pointers(malformed) == {"/path/topic_id"}
    category = await client.post(
        f"/v1/topics/{topic['id']}/categories", json={"name": "A\x00B"}, headers=admin.headers
    )
    assert pointers(category) == {"/name"}


async def test_concurrent_creates_get_distinct_slugs(
    client: httpx.AsyncClient, admin: Account
) -> None:
    name = unique("Racing ")
    creates = await asyncio.gather(
        *(client.post("/v1/topics", json={"name": name}, headers=admin.headers) for _ in range(3))
    )
    assert [r.status_code for r in creates] == [201, 201, 201]
    base = name.lower().replace(" ", "-")
    assert sorted(r.json()["slug"] for r in creates) == [base, f"{base}-2", f"{base}-3"]
