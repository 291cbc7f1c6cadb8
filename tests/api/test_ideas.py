"""Ideas: creation with the content check, visibility by role, edits, soft delete, lists."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from domain.ideas.models import Idea
from domain.topics.models import Category, Topic
from domain.users.models import Role
from tests.factories import Account, Factory, unique

PROBLEM = "application/problem+json"


@dataclass
class Place:
    id: str
    slug: str
    categories: list[dict[str, str]] = field(default_factory=list)


async def make_topic(app: Any, *, active: bool = True, categories: int = 1) -> Place:
    """A topic with categories, straight through the ORM so these tests stand alone."""
    async with app.state.db.transaction() as session:
        topic = Topic(name=unique("Topic "), slug=unique("t"), is_active=active)
        session.add(topic)
        await session.flush()
        cats = [
            Category(topic_id=topic.id, name=unique("Cat "), slug=unique("c"))
            for _ in range(categories)
        ]
        session.add_all(cats)
        await session.flush()
        return Place(str(topic.id), topic.slug, [{"id": str(c.id), "slug": c.slug} for c in cats])


def idea_body(place: Place, **fields: Any) -> dict[str, Any]:
    return {
        "topic_id": place.id,
        "title": unique("The keeper "),
        "prompt": "A keeper finds a letter in a bottle that names her as the thief.",
        "tags": ["mystery"],
        **fields,
    }


async def post_idea(
    client: httpx.AsyncClient, owner: Account, place: Place, **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        "/v1/ideas", json=idea_body(place, **fields), headers=owner.headers
    )
    assert response.status_code == 201, response.text
    return response.json()


async def set_idea(app: Any, idea_id: str, **values: Any) -> None:
    async with app.state.db.transaction() as session:
        await session.execute(update(Idea).where(Idea.id == uuid.UUID(idea_id)).values(**values))


async def ideas_by(app: Any, user_id: str) -> int:
    async with app.state.db.session() as session:
        stmt = select(func.count()).where(Idea.user_id == uuid.UUID(user_id))
        return int(await session.scalar(stmt) or 0)


async def list_ids(
    client: httpx.AsyncClient, headers: dict[str, str] | None = None, **params: Any
) -> list[str]:
    response = await client.get("/v1/ideas", params={"limit": 100, **params}, headers=headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


@pytest.fixture
async def cast(factory: Factory) -> dict[str, Account]:
    return {
        "owner": await factory.account(),
        "other": await factory.account(),
        "moderator": await factory.account(Role.MODERATOR),
        "admin": await factory.account(Role.ADMIN),
    }


# Creation


async def test_create_returns_the_idea_with_location(
    app: Any, client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.account()
    place = await make_topic(app)
    body = idea_body(
        place, category_id=place.categories[0]["id"], tags=[" Sci  Fi ", "sci fi", "MYSTERY"]
    )
    response = await client.post("/v1/ideas", json=body, headers=owner.headers)
    assert response.status_code == 201, response.text
    idea = response.json()
    assert response.headers["location"] == f"/v1/ideas/{idea['id']}"
    assert idea["user_id"] == owner.id and idea["topic_id"] == place.id
    assert idea["category_id"] == place.categories[0]["id"]
    assert idea["tags"] == ["sci fi", "mystery"]
    assert (idea["status"], idea["review_status"]) == ("active", "approved")
    assert (idea["like_count"], idea["scene_count"]) == (0, 0)
    assert idea["created_at"] and idea["updated_at"]
    fetched = await client.get(response.headers["location"])
    assert fetched.status_code == 200 and fetched.json() == idea


async def test_create_needs_a_signed_in_active_user(
    app: Any, client: httpx.AsyncClient, factory: Factory
) -> None:
    place = await make_topic(app)
    anonymous = await client.post("/v1/ideas", json=idea_body(place))
    banned = await factory.account(banned=True)
    suspended = await client.post("/v1/ideas", json=idea_body(place), headers=banned.headers)
    assert anonymous.status_code == 401
    assert suspended.status_code == 403
    assert anonymous.headers["content-type"] == PROBLEM
    assert await ideas_by(app, banned.id) == 0


@pytest.mark.parametrize("role", [Role.USER, Role.MODERATOR, Role.ADMIN])
async def test_every_role_can_post(
    app: Any, client: httpx.AsyncClient, factory: Factory, role: Role
) -> None:
    account = await factory.account(role)
    idea = await post_idea(client, account, await make_topic(app))
    assert idea["user_id"] == account.id


async def test_topic_must_exist_and_be_active(
    app: Any, client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.account()
    closed = await make_topic(app, active=False)
    for topic_id in (closed.id, str(uuid.uuid4())):
        body = idea_body(closed, topic_id=topic_id)
        response = await client.post("/v1/ideas", json=body, headers=owner.headers)
        assert response.status_code == 422
        assert response.headers["content-type"] == PROBLEM
        assert [e["pointer"] for e in response.json()["errors"]] == ["/topic_id"]
    assert await ideas_by(app, owner.id) == 0


async def test_category_must_belong_to_the_topic(
    app: Any, client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.account()
    place, elsewhere = await make_topic(app), await make_topic(app)
    for category_id in (elsewhere.categories[0]["id"], str(uuid.uuid4())):
        body = idea_body(place, category_id=category_id)
        response = await client.post("/v1/ideas", json=body, headers=owner.headers)
        assert response.status_code == 422
        assert [e["pointer"] for e in response.json()["errors"]] == ["/category_id"]
    assert await ideas_by(app, owner.id) == 0


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"title": None}, "/title"),
        ({"prompt": 42}, "/prompt"),
        ({"title": "x" * 201}, "/title"),
        ({"title": "   "}, "/title"),
        ({"title": "two\nlines"}, "/title"),
        ({"prompt": "nul \x00 inside"}, "/prompt"),
        ({"prompt": "p" * 20_001}, "/prompt"),
        ({"tags": [f"tag{i}" for i in range(21)]}, "/tags"),
        ({"tags": ["ok", "Not/Allowed"]}, "/tags/1"),
        ({"tags": ["-leading-dash"]}, "/tags/0"),
        ({"tags": ["t" * 41]}, "/tags/0"),
        ({"tags": [""]}, "/tags/0"),
        ({"tags": [7]}, "/tags/0"),
        ({"tags": "mystery"}, "/tags"),
        ({"topic_id": "not-a-uuid"}, "/topic_id"),
        ({"category_id": 12}, "/category_id"),
        ({"surprise": True}, "/surprise"),
    ],
)
async def test_bad_input_is_a_problem_and_creates_nothing(
    app: Any, client: httpx.AsyncClient, factory: Factory, change: dict[str, Any], pointer: str
) -> None:
    owner = await factory.account()
    body = idea_body(await make_topic(app), **change)
    response = await client.post("/v1/ideas", json=body, headers=owner.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert pointer in [e["pointer"] for e in response.json()["errors"]]
    assert await ideas_by(app, owner.id) == 0


async def test_missing_fields_and_broken_json(
    app: Any, client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.account()
    missing = await client.post("/v1/ideas", json={}, headers=owner.headers)
    broken = await client.post(
        "/v1/ideas",
        content=b'{"title": ',
        headers={**owner.headers, "content-type": "application/json"},
    )
    not_object = await client.post("/v1/ideas", json=["a"], headers=owner.headers)
    assert missing.status_code == 422
    assert {e["pointer"] for e in missing.json()["errors"]} == {"/topic_id", "/title", "/prompt"}
    assert broken.status_code == 400 and broken.headers["content-type"] == PROBLEM
    assert not_object.status_code == 422
    assert await ideas_by(app, owner.id) == 0


async def test_twenty_distinct_tags_are_fine_after_deduplication(
    app: Any, client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.account()
    tags = [f"tag {i}" for i in range(20)] + ["TAG 0", " tag 1 "]
    idea = await post_idea(client, owner, await make_topic(app), tags=tags)
    assert idea["tags"] == [f"tag {i}" for i in range(20)]


# The content check and visibility


async def test_text_that_fails_the_check_waits_for_review(
    app: Any, client: httpx.AsyncClient, cast: dict[str, Account]
) -> None:
    place = await make_topic(app)
    mild = await post_idea(client, cast["owner"], place, title="What the shit")
    severe = await post_idea(client, cast["owner"], place, prompt="Then she says: kill yourself.")
    assert mild["review_status"] == severe["review_status"] == "pending"
    for idea in (mild, severe):
        url = f"/v1/ideas/{idea['id']}"
        assert (await client.get(url)).status_code == 404
        assert (await client.get(url, headers=cast["other"].headers)).status_code == 404
        for who in ("owner", "moderator", "admin"):
            assert (await client.get(url, headers=cast[who].headers)).status_code == 200
    assert set(await list_ids(client, cast["owner"].headers, topic=place.id)) == {
        mild["id"],
        severe["id"],
    }
    assert await list_ids(client, cast["other"].headers, topic=place.id) == []
    assert await list_ids(client, topic=place.id) == []


async def test_configured_terms_hold_an_idea(
    app: Any, client: httpx.AsyncClient, factory: Factory
) -> None:
    from infra.providers.moderation import LocalContentChecker, parse_terms

    owner = await factory.account()
    place = await make_topic(app)
    previous = getattr(app.state, "content_checker", None)
    app.state.content_checker = LocalContentChecker(parse_terms("zorblax:severe"))
    try:
        held = await post_idea(client, owner, place, prompt="The Zorblax returns.")
        passed = await post_idea(client, owner, place, prompt="What the shit")
    finally:
        app.state.content_checker = previous
    assert held["review_status"] == "pending"
    assert passed["review_status"] == "approved"


@pytest.mark.parametrize(
    ("status", "review", "visible_to"),
    [
        ("active", "approved", {"anonymous", "owner", "other", "moderator", "admin"}),
        ("active", "rejected", {"owner", "moderator", "admin"}),
        ("hidden", "approved", {"owner", "moderator", "admin"}),
        ("removed", "approved", {"moderator", "admin"}),
    ],
)
async def test_who_sees_an_idea(
    app: Any,
    client: httpx.AsyncClient,
    cast: dict[str, Account],
    status: str,
    review: str,
    visible_to: set[str],
) -> None:
    place = await make_topic(app)
    idea = await post_idea(client, cast["owner"], place)
    await set_idea(app, idea["id"], status=status, review_status=review)
    for who in ("anonymous", "owner", "other", "moderator", "admin"):
        headers = cast[who].headers if who in cast else None
        response = await client.get(f"/v1/ideas/{idea['id']}", headers=headers)
        assert response.status_code == (200 if who in visible_to else 404), who
        listed = idea["id"] in await list_ids(client, headers, topic=place.id)
        # Moderators review hidden work through the moderation queue, not the public list.
        public = (status, review) == ("active", "approved")
        assert listed == (public or (who == "owner" and status != "removed")), who


async def test_unknown_and_malformed_ids(
    client: httpx.AsyncClient, cast: dict[str, Account]
) -> None:
    headers = cast["owner"].headers
    unknown = f"/v1/ideas/{uuid.uuid4()}"
    assert (await client.get(unknown)).status_code == 404
    assert (await client.patch(unknown, json={"title": "x"}, headers=headers)).status_code == 404
    assert (await client.delete(unknown, headers=headers)).status_code == 404
    for method in ("GET", "PATCH", "DELETE"):
        response = await client.request(method, "/v1/ideas/not-a-uuid", json={}, headers=headers)
        assert response.status_code == 422, method
        assert response.headers["content-type"] == PROBLEM


# Edits and removal


async def test_only_the_author_may_edit(
    app: Any, client: httpx.AsyncClient, cast: dict[str, Account]
) -> None:
    idea = await post_idea(client, cast["owner"], await make_topic(app))
    url = f"/v1/ideas/{idea['id']}"
    assert (await client.patch(url, json={"title": "Mine now"})).status_code == 401
    for who in ("other", "moderator", "admin"):
        response = await client.patch(url, json={"title": "Mine now"}, headers=cast[who].headers)
        assert response.status_code == 403, who
        assert response.headers["content-type"] == PROBLEM
    response = await client.patch(
        url, json={"title": "  Still mine  "}, headers=cast["owner"].headers
    )
    assert response.status_code == 200
    assert response.json()["title"] == "Still mine"
    assert response.json()["prompt"] == idea["prompt"]


async def test_an_invisible_idea_is_404_for_a_stranger(
    app: Any, client: httpx.AsyncClient, cast: dict[str, Account]
) -> None:
    idea = await post_idea(client, cast["owner"], await make_topic(app), title="Oh shit")
    url = f"/v1/ideas/{idea['id']}"
    assert (
        await client.patch(url, json={"title": "x"}, headers=cast["other"].headers)
    ).status_code == 404
    assert (await client.delete(url, headers=cast["other"].headers)).status_code == 404


async def test_editing_text_reruns_the_check(
    app: Any, client: httpx.AsyncClient, cast: dict[str, Account]
) -> None:
    idea = await post_idea(client, cast["owner"], await make_topic(app))
    url, headers = f"/v1/ideas/{idea['id']}", cast["owner"].headers
    dirty = await client.patch(url, json={"prompt": "Fuuuck the tide."}, headers=headers)
    assert dirty.json()["review_status"] == "pending"
    assert (await client.get(url)).status_code == 404
    clean = await client.patch(url, json={"prompt": "The tide turns."}, headers=headers)
    assert clean.json()["review_status"] == "approved"
    tagged = await client.patch(url, json={"tags": ["bullshit"]}, headers=headers)
    assert tagged.json()["review_status"] == "pending"
    await set_idea(app, idea["id"], review_status="rejected")
    still = await client.patch(url, json={"tags": ["calm"]}, headers=headers)
    assert still.json()["review_status"] == "rejected"


async def test_editing_the_category(
    app: Any, client: httpx.AsyncClient, cast: dict[str, Account]
) -> None:
    place, elsewhere = await make_topic(app, categories=2), await make_topic(app)
    idea = await post_idea(client, cast["owner"], place, category_id=place.categories[0]["id"])
    url, headers = f"/v1/ideas/{idea['id']}", cast["owner"].headers
    moved = await client.patch(
        url, json={"category_id": place.categories[1]["id"]}, headers=headers
    )
    assert moved.status_code == 200 and moved.json()["category_id"] == place.categories[1]["id"]
    foreign = await client.patch(
        url, json={"category_id": elsewhere.categories[0]["id"]}, headers=headers
    )
    assert foreign.status_code == 422
    assert [e["pointer"] for e in foreign.json()["errors"]] == ["/category_id"]
    cleared = await client.patch(url, json={"category_id": None}, headers=headers)
    assert cleared.status_code == 200 and cleared.json()["category_id"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"title": None},
        {"tags": None},
        {"prompt": "a\x00b"},
        {"title": "t" * 201},
        {"tags": [f"t{i}" for i in range(21)]},
        {"topic_id": str(uuid.uuid4())},
        {"status": "active"},
        {"like_count": 99},
    ],
)
async def test_bad_edits_change_nothing(
    app: Any, client: httpx.AsyncClient, cast: dict[str, Account], body: dict[str, Any]
) -> None:
    idea = await post_idea(client, cast["owner"], await make_topic(app))
    url = f"/v1/ideas/{idea['id']}"
    response = await client.patch(url, json=body, headers=cast["owner"].headers)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert (await client.get(url)).json() == idea


async def test_delete_is_soft_by_its_author_or_a_moderator(
    app: Any, client: httpx.AsyncClient, cast: dict[str, Account]
) -> None:
    place = await make_topic(app)
    idea = await post_idea(client, cast["owner"], place)
    url = f"/v1/ideas/{idea['id']}"
    assert (await client.delete(url)).status_code == 401
    assert (await client.delete(url, headers=cast["other"].headers)).status_code == 403
    response = await client.delete(url, headers=cast["owner"].headers)
    assert response.status_code == 204 and response.content == b""
    assert (await client.get(url, headers=cast["owner"].headers)).status_code == 404
    assert await list_ids(client, cast["owner"].headers, topic=place.id) == []
    for who in ("owner", "moderator"):  # gone: deleting again finds nothing
        assert (await client.delete(url, headers=cast[who].headers)).status_code == 404, who
    kept = await client.get(url, headers=cast["moderator"].headers)
    assert kept.status_code == 200 and kept.json()["status"] == "removed"

    # A moderator deletes someone else's idea the same way; it comes back by restore.
    other = await post_idea(client, cast["owner"], place)
    url = f"/v1/ideas/{other['id']}"
    assert (await client.delete(url, headers=cast["moderator"].headers)).status_code == 204
    assert await list_ids(client, topic=place.id) == []
    restored = await client.post(f"{url}/restore", headers=cast["moderator"].headers)
    assert restored.status_code == 200, restored.text
    assert await list_ids(client, topic=place.id) == [other["id"]]


# Lists


async def test_filters_by_topic_and_category_id_or_slug_and_tag(
    app: Any, client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.account()
    place, other_place = await make_topic(app, categories=2), await make_topic(app)
    first, second = place.categories
    a = await post_idea(client, owner, place, category_id=first["id"], tags=["sea", "fog"])
    b = await post_idea(client, owner, place, category_id=second["id"], tags=["fog"])
    c = await post_idea(client, owner, place, tags=["sea"])
    d = await post_idea(client, owner, other_place, tags=["sea"])
    for topic in (place.id, place.slug, place.slug.upper()):
        assert set(await list_ids(client, topic=topic)) == {a["id"], b["id"], c["id"]}
    assert await list_ids(client, topic=other_place.slug) == [d["id"]]
    for category in (first["id"], first["slug"]):
        assert await list_ids(client, topic=place.slug, category=category) == [a["id"]]
    assert await list_ids(client, category=second["slug"]) == [b["id"]]
    assert set(await list_ids(client, topic=place.id, tag="sea")) == {a["id"], c["id"]}
    assert set(await list_ids(client, topic=place.id, tag=" FOG ")) == {a["id"], b["id"]}
    assert await list_ids(client, topic=place.id, category=first["id"], tag="fog") == [a["id"]]
    assert await list_ids(client, topic="no-such-topic") == []
    assert await list_ids(client, topic=str(uuid.uuid4())) == []
    assert await list_ids(client, topic=place.id, category="no-such-category") == []


async def test_sorting_new_and_popular(
    app: Any, client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.account()
    fans = [await factory.account() for _ in range(2)]
    place = await make_topic(app)
    ideas = [await post_idea(client, owner, place) for _ in range(3)]
    oldest, middle, newest = (i["id"] for i in ideas)
    for fan in fans:
        assert (
            await client.put(f"/v1/ideas/{oldest}/like", headers=fan.headers)
        ).status_code == 200
    await client.put(f"/v1/ideas/{middle}/like", headers=fans[0].headers)
    assert await list_ids(client, topic=place.id) == [newest, middle, oldest]
    assert await list_ids(client, topic=place.id, sort="new") == [newest, middle, oldest]
    assert await list_ids(client, topic=place.id, sort="popular") == [oldest, middle, newest]
    popular = await client.get("/v1/ideas", params={"topic": place.id, "sort": "popular"})
    assert [i["like_count"] for i in popular.json()["items"]] == [2, 1, 0]


@pytest.mark.parametrize("sort", ["new", "popular"])
async def test_pagination_walks_every_item_exactly_once(
    app: Any, client: httpx.AsyncClient, factory: Factory, sort: str
) -> None:
    owner = await factory.account()
    place = await make_topic(app)
    created = [await post_idea(client, owner, place) for _ in range(7)]
    # Ties on like_count make the id tie-breaker matter.
    for n, idea in enumerate(created):
        await set_idea(app, idea["id"], like_count=n % 3)
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params: dict[str, str | int] = {"topic": place.slug, "sort": sort, "limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/v1/ideas", params=params)).json()
        assert len(page["items"]) <= 3
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(i["id"] for i in created)
    assert len(seen) == len(set(seen)) == 7


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 101},
        {"limit": "many"},
        {"sort": "oldest"},
        {"cursor": "!!not-a-cursor!!"},
        {"topic": "bad slug!"},
        {"category": "x" * 101},
        {"tag": "not/a/tag"},
        {"tag": "nul\x00"},
    ],
)
async def test_bad_list_queries_are_problems(
    client: httpx.AsyncClient, params: dict[str, Any]
) -> None:
    response = await client.get("/v1/ideas", params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM


async def test_a_cursor_from_another_sort_is_refused(
    app: Any, client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.account()
    place = await make_topic(app)
    for _ in range(2):
        await post_idea(client, owner, place)
    page = (await client.get("/v1/ideas", params={"topic": place.id, "limit": 1})).json()
    assert page["next_cursor"]
    other = await client.get(
        "/v1/ideas", params={"topic": place.id, "sort": "popular", "cursor": page["next_cursor"]}
    )
    assert other.status_code == 422
    assert other.headers["content-type"] == PROBLEM
