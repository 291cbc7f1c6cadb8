"""Likes on ideas and scenes, and deduplicated scene views: exact counters under concurrency."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from domain.engagement import service as engagement
from domain.engagement.models import Like, SceneView
from domain.ideas.models import Idea
from domain.scenes.models import Scene
from domain.topics.models import Topic
from domain.users.models import Role
from tests.factories import Account, Factory, client_from, unique

PROBLEM = "application/problem+json"


async def make_idea(app: Any, owner: Account, **values: Any) -> str:
    """An idea (and its topic) straight through the ORM, so these tests stand alone."""
    async with app.state.db.transaction() as session:
        topic = Topic(name=unique("Topic "), slug=unique("t"))
        session.add(topic)
        await session.flush()
        idea = Idea(
            user_id=uuid.UUID(owner.id),
            topic_id=topic.id,
            title=unique("Idea "),
            prompt="A bell rings under the sea.",
            review_status=values.pop("review_status", "approved"),
            **values,
        )
        session.add(idea)
        await session.flush()
        return str(idea.id)


async def make_scene(app: Any, owner: Account, **values: Any) -> str:
    idea_id = await make_idea(app, owner)
    async with app.state.db.transaction() as session:
        scene = Scene(
            idea_id=uuid.UUID(idea_id),
            user_id=uuid.UUID(owner.id),
            title=unique("Scene "),
            description="Fog over the docks.",
            **values,
        )
        session.add(scene)
        await session.flush()
        return str(scene.id)


async def stored_counts(app: Any, target_type: str, target_id: str) -> tuple[int, int]:
    """(the counter column, the number of like rows) for a target."""
    model = Idea if target_type == "idea" else Scene
    key = uuid.UUID(target_id)
    async with app.state.db.session() as session:
        counter = await session.scalar(select(model.like_count).where(model.id == key))
        rows = await session.scalar(
            select(func.count()).where(Like.target_type == target_type, Like.target_id == key)
        )
    return int(counter or 0), int(rows or 0)


async def view_rows(app: Any, scene_id: str) -> list[SceneView]:
    async with app.state.db.session() as session:
        stmt = select(SceneView).where(SceneView.scene_id == uuid.UUID(scene_id))
        return list((await session.scalars(stmt)).all())


async def scene_view_count(app: Any, scene_id: str) -> int:
    async with app.state.db.session() as session:
        stmt = select(Scene.view_count).where(Scene.id == uuid.UUID(scene_id))
        return int(await session.scalar(stmt) or 0)


async def many_accounts(factory: Factory, n: int) -> list[Account]:
    return list(await asyncio.gather(*(factory.account() for _ in range(n))))


# Likes


@pytest.mark.parametrize("kind", ["idea", "scene"])
async def test_like_and_unlike_are_idempotent(
    app: Any, client: httpx.AsyncClient, factory: Factory, kind: str
) -> None:
    owner, fan = await factory.account(), await factory.account()
    target = await (make_idea if kind == "idea" else make_scene)(app, owner)
    url = f"/v1/{kind}s/{target}/like"
    steps = [("PUT", True, 1), ("PUT", True, 1), ("DELETE", False, 0), ("DELETE", False, 0)]
    for method, liked, count in steps:
        response = await client.request(method, url, headers=fan.headers)
        assert response.status_code == 200, response.text
        assert response.json() == {"liked": liked, "like_count": count}
        assert await stored_counts(app, kind, target) == (count, count)


@pytest.mark.parametrize("kind", ["idea", "scene"])
async def test_likes_need_a_signed_in_user_and_every_role_may_like(
    app: Any, client: httpx.AsyncClient, factory: Factory, kind: str
) -> None:
    owner = await factory.account()
    target = await (make_idea if kind == "idea" else make_scene)(app, owner)
    url = f"/v1/{kind}s/{target}/like"
    for method in ("PUT", "DELETE"):
        response = await client.request(method, url)
        assert response.status_code == 401
        assert response.headers["content-type"] == PROBLEM
    banned = await factory.account(banned=True)
    assert (await client.put(url, headers=banned.headers)).status_code == 403
    for account in (
        owner,
        await factory.account(Role.MODERATOR),
        await factory.account(Role.ADMIN),
    ):
        assert (await client.put(url, headers=account.headers)).status_code == 200
    assert await stored_counts(app, kind, target) == (3, 3)


@pytest.mark.parametrize(
    ("values", "owner_may_like"),
    [
        ({"review_status": "pending"}, True),
        ({"review_status": "rejected"}, True),
        ({"status": "hidden"}, False),
        ({"status": "removed"}, False),
    ],
)
async def test_only_visible_ideas_can_be_liked(
    app: Any,
    client: httpx.AsyncClient,
    factory: Factory,
    values: dict[str, Any],
    owner_may_like: bool,
) -> None:
    owner, other = await factory.account(), await factory.account()
    moderator = await factory.account(Role.MODERATOR)
    idea = await make_idea(app, owner, **values)
    url = f"/v1/ideas/{idea}/like"
    for account in (other, moderator):
        assert (await client.put(url, headers=account.headers)).status_code == 404
    assert (await client.put(url, headers=owner.headers)).status_code == (
        200 if owner_may_like else 404
    )
    assert await stored_counts(app, "idea", idea) == (int(owner_may_like), int(owner_may_like))


@pytest.mark.parametrize("status", ["locked", "hidden", "removed"])
async def test_only_active_scenes_can_be_liked_or_viewed(
    app: Any, client: httpx.AsyncClient, factory: Factory, status: str
) -> None:
    owner = await factory.account()
    scene = await make_scene(app, owner, status=status)
    assert (await client.put(f"/v1/scenes/{scene}/like", headers=owner.headers)).status_code == 404
    assert (await client.post(f"/v1/scenes/{scene}/views")).status_code == 404
    assert await stored_counts(app, "scene", scene) == (0, 0)
    assert await view_rows(app, scene) == []


async def test_unknown_and_malformed_targets(client: httpx.AsyncClient, factory: Factory) -> None:
    user = await factory.account()
    for kind in ("ideas", "scenes"):
        for method in ("PUT", "DELETE"):
            unknown = await client.request(
                method, f"/v1/{kind}/{uuid.uuid4()}/like", headers=user.headers
            )
            malformed = await client.request(method, f"/v1/{kind}/nope/like", headers=user.headers)
            assert unknown.status_code == 404
            assert malformed.status_code == 422
            assert malformed.headers["content-type"] == PROBLEM
    assert (await client.post(f"/v1/scenes/{uuid.uuid4()}/views")).status_code == 404
    assert (await client.post("/v1/scenes/12/views")).status_code == 422


@pytest.mark.parametrize("kind", ["idea", "scene"])
async def test_like_count_is_exact_under_concurrent_distinct_users(
    app: Any, client: httpx.AsyncClient, factory: Factory, kind: str
) -> None:
    owner = await factory.account()
    target = await (make_idea if kind == "idea" else make_scene)(app, owner)
    url = f"/v1/{kind}s/{target}/like"
    fans = await many_accounts(factory, 30)
    # Every fan likes twice at once: 60 racing inserts, 30 distinct likes.
    responses = await asyncio.gather(*(client.put(url, headers=fan.headers) for fan in fans + fans))
    assert all(r.status_code == 200 for r in responses)
    assert await stored_counts(app, kind, target) == (30, 30)
    # Half take the like back while the other half like again.
    responses = await asyncio.gather(
        *(
            client.request("DELETE" if i % 2 else "PUT", url, headers=fan.headers)
            for i, fan in enumerate(fans)
        )
    )
    assert all(r.status_code == 200 for r in responses)
    assert await stored_counts(app, kind, target) == (15, 15)


@pytest.mark.parametrize("kind", ["idea", "scene"])
async def test_like_count_is_exact_when_one_user_races_itself(
    app: Any, client: httpx.AsyncClient, factory: Factory, kind: str
) -> None:
    owner, fan, steady = await factory.account(), await factory.account(), await factory.account()
    target = await (make_idea if kind == "idea" else make_scene)(app, owner)
    url = f"/v1/{kind}s/{target}/like"
    await client.put(url, headers=steady.headers)
    responses = await asyncio.gather(
        *(client.request("PUT" if i % 2 else "DELETE", url, headers=fan.headers) for i in range(30))
    )
    assert all(r.status_code == 200 for r in responses)
    counter, rows = await stored_counts(app, kind, target)
    assert counter == rows
    assert rows in (1, 2)  # the steady fan, plus the racer if a PUT happened to land last
    final = await client.delete(url, headers=fan.headers)
    assert final.json() == {"liked": False, "like_count": 1}
    assert await stored_counts(app, kind, target) == (1, 1)


# Views


async def test_a_view_counts_once_per_viewer_per_window(
    app: Any, client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, viewer = await factory.account(), await factory.account()
    scene = await make_scene(app, owner)
    url = f"/v1/scenes/{scene}/views"
    firefox, curl = {"user-agent": "Firefox/1.0"}, {"user-agent": "curl/8"}
    other_address = client_from(app, "198.51.100.20")
    expected = [
        (client, firefox, True, 1),
        (client, firefox, False, 1),
        (client, curl, False, 1),  # the same address with another browser: the same viewer
        (other_address, curl, True, 2),
        (client, {**firefox, **viewer.headers}, True, 3),
        (other_address, {**curl, **viewer.headers}, False, 3),  # signed in: one viewer anywhere
    ]
    async with other_address:
        for sender, headers, counted, count in expected:
            response = await sender.post(url, headers=headers)
            assert response.status_code == 200, response.text
            assert response.json() == {"counted": counted, "view_count": count}
    rows = await view_rows(app, scene)
    assert len(rows) == 3 == await scene_view_count(app, scene)
    anonymous = [r for r in rows if r.viewer_id is None]
    assert len(anonymous) == 2
    for row in anonymous:
        assert len(row.viewer_key) == 64 and "127.0.0.1" not in row.viewer_key
    assert [r.viewer_key for r in rows if r.viewer_id is not None] == [viewer.id]


async def test_the_next_window_counts_again(
    app: Any, client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.account()
    scene = await make_scene(app, owner)
    now = datetime.now(UTC)
    results = []
    for moment in (now, now, now + engagement.VIEW_WINDOW):
        async with app.state.db.transaction() as session:
            results.append(
                await engagement.record_view(
                    session,
                    uuid.UUID(scene),
                    viewer=None,
                    secret="s" * 32,
                    address="203.0.113.9",
                    now=moment,
                )
            )
    assert [(r.counted, r.view_count) for r in results] == [(True, 1), (False, 1), (True, 2)]
    rows = await view_rows(app, scene)
    assert len({r.window_start for r in rows}) == 2
    assert all(r.window_start.minute in (0, 30) and r.window_start.second == 0 for r in rows)


def test_anonymous_viewer_keys_are_salted_per_day() -> None:
    day = datetime(2026, 1, 1, 12, tzinfo=UTC)
    key = engagement.anonymous_viewer_key("secret" * 6, "198.51.100.7", day)
    same_day = engagement.anonymous_viewer_key("secret" * 6, "198.51.100.7", day.replace(hour=23))
    next_day = engagement.anonymous_viewer_key("secret" * 6, "198.51.100.7", day.replace(day=2))
    other_secret = engagement.anonymous_viewer_key("other" * 7, "198.51.100.7", day)
    assert key == same_day
    assert len({key, next_day, other_secret}) == 3


async def test_concurrent_views_from_one_viewer_count_once(
    app: Any, client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.account()
    scene = await make_scene(app, owner)
    responses = await asyncio.gather(
        *(
            client.post(f"/v1/scenes/{scene}/views", headers={"user-agent": "same"})
            for _ in range(20)
        )
    )
    assert all(r.status_code == 200 for r in responses)
    assert sum(r.json()["counted"] for r in responses) == 1
    assert await scene_view_count(app, scene) == 1 == len(await view_rows(app, scene))


async def test_views_and_likes_leave_other_counters_alone(
    app: Any, client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.account()
    scene = await make_scene(app, owner)
    async with app.state.db.transaction() as session:
        await session.execute(
            update(Scene).where(Scene.id == uuid.UUID(scene)).values(segment_count=4)
        )
    await client.post(f"/v1/scenes/{scene}/views")
    await client.put(f"/v1/scenes/{scene}/like", headers=owner.headers)
    async with app.state.db.session() as session:
        stored = await session.get(Scene, uuid.UUID(scene))
        assert stored is not None
        assert (stored.segment_count, stored.like_count, stored.view_count) == (4, 1, 1)
