"""Moderation: who may call what, filing flags, and the scored queue grouped by target."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from domain.moderation.models import ModerationFlag
from domain.moderation.scoring import SEVERITY, standing
from domain.users.models import Role
from tests.factories import Account, Factory

PROBLEM = "application/problem+json"
NIL = "00000000-0000-0000-0000-000000000000"


# Helpers shared with test_moderation_decisions


async def file_flag(
    client: httpx.AsyncClient,
    reporter: Account,
    target_type: str,
    target_id: str,
    reason: str = "spam",
    description: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"target_type": target_type, "target_id": target_id, "reason": reason}
    if description is not None:
        body["description"] = description
    response = await client.post("/v1/flags", json=body, headers=reporter.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def walk_queue(
    client: httpx.AsyncClient, moderator: Account, **params: Any
) -> tuple[list[dict[str, Any]], int]:
    """Every item of the queue view, page by page; and how many pages it took."""
    items: list[dict[str, Any]] = []
    cursor, pages = None, 0
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get("/v1/moderation/flags", params=query, headers=moderator.headers)
        assert response.status_code == 200, response.text
        page = response.json()
        items.extend(page["items"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            return items, pages


def find(items: list[dict[str, Any]], target_id: str) -> dict[str, Any]:
    matching = [i for i in items if i["target_id"] == target_id]
    assert len(matching) == 1, f"{target_id} appears {len(matching)} times"
    return matching[0]


@pytest.fixture
async def moderator(factory: Factory) -> Account:
    return await factory.account(Role.MODERATOR)


@pytest.fixture
async def reporter(factory: Factory) -> Account:
    return await factory.account()


# Roles


MODERATOR_ROUTES = [
    ("GET", "/v1/moderation/flags", None),
    ("GET", "/v1/moderation/actions", None),
    ("POST", f"/v1/moderation/flags/{NIL}/claim", None),
    ("POST", f"/v1/moderation/flags/{NIL}/resolve", {"action_taken": "none"}),
    ("POST", f"/v1/moderation/flags/{NIL}/dismiss", {}),
    ("POST", "/v1/moderation/flags/bulk-resolve", {"flag_ids": [NIL], "action_taken": "none"}),
    ("POST", "/v1/moderation/flags/bulk-dismiss", {"flag_ids": [NIL]}),
]


@pytest.mark.parametrize(("method", "path", "body"), MODERATOR_ROUTES)
async def test_moderator_routes_refuse_strangers_and_users(
    client: httpx.AsyncClient, reporter: Account, method: str, path: str, body: Any
) -> None:
    anonymous = await client.request(method, path, json=body)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == PROBLEM
    as_user = await client.request(method, path, json=body, headers=reporter.headers)
    assert as_user.status_code == 403
    assert as_user.headers["content-type"] == PROBLEM


@pytest.mark.parametrize("role", [Role.MODERATOR, Role.ADMIN])
@pytest.mark.parametrize(("method", "path", "body"), MODERATOR_ROUTES)
async def test_moderators_and_admins_pass(
    client: httpx.AsyncClient, factory: Factory, role: Role, method: str, path: str, body: Any
) -> None:
    staff = await factory.account(role)
    response = await client.request(method, path, json=body, headers=staff.headers)
    # Lists answer; actions on an unknown flag are 404; bulk reports it as not found.
    expected = 404 if NIL in path else 200
    assert response.status_code == expected, response.text
    if path.startswith("/v1/moderation/flags/bulk"):
        assert response.json() == {"results": [], "not_found": [NIL]}


async def test_filing_a_flag_needs_an_active_account(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    target = await factory.account()
    body = {"target_type": "user", "target_id": target.id, "reason": "spam"}
    assert (await client.post("/v1/flags", json=body)).status_code == 401
    banned = await factory.account(banned=True)
    assert (await client.post("/v1/flags", json=body, headers=banned.headers)).status_code == 403


# Filing flags


async def test_flag_is_created_with_location_and_readable_by_its_reporter(
    client: httpx.AsyncClient, factory: Factory, reporter: Account, moderator: Account
) -> None:
    author = await factory.account()
    idea = await factory.idea_row(author)
    response = await client.post(
        "/v1/flags",
        json={
            "target_type": "idea",
            "target_id": idea["id"],
            "reason": "harassment",
            "description": "  Names a real person.  ",
        },
        headers=reporter.headers,
    )
    assert response.status_code == 201, response.text
    flag = response.json()
    assert response.headers["location"] == f"/v1/moderation/flags/{flag['id']}"
    assert flag["status"] == "pending" and flag["reporter_id"] == reporter.id
    assert flag["description"] == "Names a real person."
    assert flag["score"] is None  # reporters do not see the priority

    own = await client.get(response.headers["location"], headers=reporter.headers)
    assert own.status_code == 200 and own.json()["id"] == flag["id"]
    staff = await client.get(response.headers["location"], headers=moderator.headers)
    assert staff.json()["score"] == SEVERITY["harassment"]
    other = await client.get(response.headers["location"], headers=author.headers)
    assert other.status_code == 404


async def test_second_open_flag_is_409_naming_the_first(
    client: httpx.AsyncClient, factory: Factory, reporter: Account, moderator: Account
) -> None:
    idea = await factory.idea_row(await factory.account())
    first = await file_flag(client, reporter, "idea", idea["id"])
    again = await client.post(
        "/v1/flags",
        json={"target_type": "idea", "target_id": idea["id"], "reason": "hate"},
        headers=reporter.headers,
    )
    assert again.status_code == 409
    assert again.headers["content-type"] == PROBLEM
    assert again.json()["flag_id"] == first["id"]

    # Once decided, the reporter may flag the same target again.
    decided = await client.post(
        f"/v1/moderation/flags/{first['id']}/resolve",
        json={"action_taken": "none"},
        headers=moderator.headers,
    )
    assert decided.status_code == 200, decided.text
    await file_flag(client, reporter, "idea", idea["id"], "hate")


async def test_flag_targets_must_exist_and_be_visible(
    client: httpx.AsyncClient, factory: Factory, reporter: Account
) -> None:
    author = await factory.account()
    hidden_idea = await factory.idea_row(author, status="hidden")
    unreviewed = await factory.idea_row(author, review_status="pending")
    banned = await factory.account(banned=True)
    inactive_topic = await factory.topic_row(is_active=False)
    for target_type, target_id in [
        ("idea", str(uuid.uuid4())),
        ("idea", hidden_idea["id"]),
        ("idea", unreviewed["id"]),
        ("scene", str(uuid.uuid4())),
        ("segment", str(uuid.uuid4())),
        ("user", banned.id),
        ("topic", inactive_topic["id"]),
    ]:
        response = await client.post(
            "/v1/flags",
            json={"target_type": target_type, "target_id": target_id, "reason": "spam"},
            headers=reporter.headers,
        )
        assert response.status_code == 404, (target_type, response.text)
        assert response.headers["content-type"] == PROBLEM
    # Each kind of visible target can be flagged.
    scene = await factory.scene(author, idea=await factory.idea_row(author))
    topic = await factory.topic_row()
    for target_type, target_id in [
        ("scene", scene["id"]),
        ("user", author.id),
        ("topic", topic["id"]),
    ]:
        await file_flag(client, reporter, target_type, target_id)


async def test_bad_flag_bodies_are_422(
    client: httpx.AsyncClient, factory: Factory, reporter: Account
) -> None:
    idea = await factory.idea_row(await factory.account())
    good = {"target_type": "idea", "target_id": idea["id"], "reason": "spam"}
    for body in [
        {**good, "target_type": "comment"},
        {**good, "reason": "boring"},
        {**good, "target_id": "not-a-uuid"},
        {**good, "description": "nul \x00 inside"},
        {**good, "description": "x" * 2001},
        {**good, "extra": 1},
        {"target_type": "idea", "target_id": idea["id"]},
    ]:
        response = await client.post("/v1/flags", json=body, headers=reporter.headers)
        assert response.status_code == 422, body
        assert response.json()["errors"]
    myself = await client.post(
        "/v1/flags",
        json={"target_type": "user", "target_id": reporter.id, "reason": "spam"},
        headers=reporter.headers,
    )
    assert myself.status_code == 422
    assert myself.json()["errors"][0]["pointer"] == "/target_id"
    async with factory.app.state.db.session() as session:
        mine = await session.scalars(
            select(ModerationFlag).where(ModerationFlag.reporter_id == uuid.UUID(reporter.id))
        )
        assert list(mine) == []


# The queue


async def test_queue_groups_flags_by_target(
    client: httpx.AsyncClient, factory: Factory, moderator: Account
) -> None:
    author = await factory.account()
    idea = await factory.idea_row(author)
    reporters = [await factory.account() for _ in range(3)]
    reasons = ["spam", "hate", "spam"]
    filed = [
        await file_flag(client, r, "idea", idea["id"], reason, f"note {i}")
        for i, (r, reason) in enumerate(zip(reporters, reasons, strict=True))
    ]
    items, _ = await walk_queue(client, moderator, target_type="idea", limit=100)
    item = find(items, idea["id"])
    assert item["target_type"] == "idea" and item["status"] == "pending"
    assert item["target_summary"].startswith("Idea ")
    assert item["target_status"] == "active"
    assert item["flag_count"] == 3 and item["reporter_count"] == 3
    assert item["automatic_count"] == 0
    assert item["reasons"] == ["hate", "spam"]  # most severe first
    assert item["score"] == pytest.approx(SEVERITY["hate"] + 2 * SEVERITY["spam"])
    assert item["claimed_by"] is None and item["claim_expires_at"] is None
    assert [f["id"] for f in item["flags"]] == [f["id"] for f in reversed(filed)]
    assert {f["reporter_id"] for f in item["flags"]} == {r.id for r in reporters}
    assert item["flags"][0]["description"] == "note 2"


async def _trusted(
    client: httpx.AsyncClient, factory: Factory, moderator: Account, upheld: bool
) -> Account:
    """A reporter with two earlier flags, both upheld (hidden) or both dismissed."""
    reporter = await factory.account()
    author = await factory.account()
    for _ in range(2):
        idea = await factory.idea_row(author)
        flag = await file_flag(client, reporter, "idea", idea["id"])
        path = "resolve" if upheld else "dismiss"
        body = {"action_taken": "hide"} if upheld else {}
        response = await client.post(
            f"/v1/moderation/flags/{flag['id']}/{path}", json=body, headers=moderator.headers
        )
        assert response.status_code == 200, response.text
    return reporter


async def test_queue_orders_by_reporters_severity_and_standing(
    client: httpx.AsyncClient, factory: Factory, moderator: Account
) -> None:
    author = await factory.account()
    topic = await factory.topic_row()
    ideas = {name: await factory.idea_row(author, topic) for name in "ABCDE"}
    trusted = await _trusted(client, factory, moderator, upheld=True)
    doubted = await _trusted(client, factory, moderator, upheld=False)
    for _ in range(3):
        await file_flag(client, await factory.account(), "idea", ideas["A"]["id"], "spam")
    await file_flag(client, await factory.account(), "idea", ideas["B"]["id"], "spam")
    await file_flag(client, await factory.account(), "idea", ideas["C"]["id"], "hate")
    await file_flag(client, trusted, "idea", ideas["D"]["id"], "spam")
    await file_flag(client, doubted, "idea", ideas["E"]["id"], "spam")

    items, _ = await walk_queue(client, moderator, target_type="idea", limit=100)
    mine = {i["target_id"]: i for i in items if i["target_id"] in {v["id"] for v in ideas.values()}}
    order = [name for i in items for name, v in ideas.items() if v["id"] == i["target_id"]]
    assert order == ["C", "A", "D", "B", "E"]
    assert mine[ideas["D"]["id"]]["score"] == pytest.approx(standing(2, 0))
    assert mine[ideas["E"]["id"]]["score"] == pytest.approx(standing(0, 2))


async def test_an_upheld_flag_rescores_the_reporters_other_open_flags(
    client: httpx.AsyncClient, factory: Factory, moderator: Account, reporter: Account
) -> None:
    author = await factory.account()
    waiting = await factory.idea_row(author)
    decided = await factory.idea_row(author)
    pending = await file_flag(client, reporter, "idea", waiting["id"], "spam")
    upheld = await file_flag(client, reporter, "idea", decided["id"], "spam")
    response = await client.post(
        f"/v1/moderation/flags/{upheld['id']}/resolve",
        json={"action_taken": "remove"},
        headers=moderator.headers,
    )
    assert response.status_code == 200
    flag = await client.get(f"/v1/moderation/flags/{pending['id']}", headers=moderator.headers)
    assert flag.json()["score"] == pytest.approx(standing(1, 0) * SEVERITY["spam"])


async def test_queue_filters_by_type_reason_and_status(
    client: httpx.AsyncClient, factory: Factory, moderator: Account, reporter: Account
) -> None:
    author = await factory.account()
    idea = await factory.idea_row(author)
    scene = await factory.scene(author, idea=await factory.idea_row(author))
    await file_flag(client, reporter, "idea", idea["id"], "copyright")
    scene_flag = await file_flag(client, reporter, "scene", scene["id"], "misinformation")
    await file_flag(client, await factory.account(), "scene", scene["id"], "spam")

    scenes, _ = await walk_queue(client, moderator, target_type="scene", limit=100)
    assert all(i["target_type"] == "scene" for i in scenes)
    assert find(scenes, scene["id"])["flag_count"] == 2
    assert idea["id"] not in {i["target_id"] for i in scenes}

    # The reason filter keeps the target whole: its other flags still count.
    by_reason, _ = await walk_queue(client, moderator, reason="misinformation", limit=100)
    assert find(by_reason, scene["id"])["flag_count"] == 2
    assert all("misinformation" in i["reasons"] for i in by_reason)
    assert idea["id"] not in {i["target_id"] for i in by_reason}

    claimed = await client.post(
        f"/v1/moderation/flags/{scene_flag['id']}/claim", headers=moderator.headers
    )
    assert claimed.status_code == 200
    reviewing, _ = await walk_queue(client, moderator, status="reviewing", limit=100)
    item = find(reviewing, scene["id"])
    assert item["status"] == "reviewing" and item["claimed_by"] == moderator.id
    pending, _ = await walk_queue(client, moderator, status="pending", limit=100)
    assert scene["id"] not in {i["target_id"] for i in pending}

    await client.post(
        f"/v1/moderation/flags/{scene_flag['id']}/dismiss", json={}, headers=moderator.headers
    )
    dismissed, _ = await walk_queue(client, moderator, status="dismissed", limit=100)
    assert find(dismissed, scene["id"])["flag_count"] == 2
    reviewing, _ = await walk_queue(client, moderator, status="reviewing", limit=100)
    assert scene["id"] not in {i["target_id"] for i in reviewing}


async def test_queue_pages_give_every_target_once_in_priority_order(
    client: httpx.AsyncClient, factory: Factory, moderator: Account
) -> None:
    author = await factory.account()
    topic = await factory.topic_row()
    reporters = [await factory.account() for _ in range(3)]
    ideas = [await factory.idea_row(author, topic) for _ in range(7)]
    # Ties on purpose: several targets share a score, so the id breaks them.
    for n, idea in enumerate(ideas):
        for reporter in reporters[: 1 + n % 3]:
            await file_flag(client, reporter, "idea", idea["id"], "off_topic")

    whole, _ = await walk_queue(client, moderator, limit=100)
    paged, pages = await walk_queue(client, moderator, limit=2)
    assert [(i["target_type"], i["target_id"]) for i in paged] == [
        (i["target_type"], i["target_id"]) for i in whole
    ]
    assert pages == max(1, -(-len(whole) // 2))
    keys = [(i["score"], i["target_type"], i["target_id"]) for i in paged]
    assert keys == sorted(keys, reverse=True)
    assert len(set(keys)) == len(keys)
    assert {i["id"] for i in ideas} <= {i["target_id"] for i in paged}


async def test_queue_rejects_bad_queries(client: httpx.AsyncClient, moderator: Account) -> None:
    bad: list[dict[str, Any]] = [
        {"status": "open"},
        {"target_type": "comment"},
        {"reason": "boring"},
        {"limit": 0},
        {"limit": 101},
        {"cursor": "%%%"},
        {"cursor": "W1sicyIsIngiXV0"},  # a well-formed cursor of the wrong width
    ]
    for params in bad:
        response = await client.get(
            "/v1/moderation/flags", params=params, headers=moderator.headers
        )
        assert response.status_code == 422, params
        assert response.headers["content-type"] == PROBLEM
