"""Feeds: sort=trending on scenes and ideas (from the stats cron's scores), sort=active on ideas,
and views that a refresh loop cannot inflate."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text, update

from domain.engagement import stats
from domain.engagement.models import EngagementHourly, TrendingScore
from domain.engagement.trending import Counts, HourStats, hour_start, score_hours
from domain.ideas.models import Idea
from domain.scenes.models import Scene
from infra.settings import Settings
from tests.factories import Factory, client_from

PROBLEM = "application/problem+json"


async def walk(
    client: httpx.AsyncClient,
    path: str,
    params: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> list[str]:
    ids: list[str] = []
    cursor = None
    while True:
        page = await client.get(
            path, params={**params, **({"cursor": cursor} if cursor else {})}, headers=headers
        )
        assert page.status_code == 200, page.text
        body = page.json()
        ids.extend(item["id"] for item in body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return ids


async def views(app: Any, scene_id: str, n: int) -> None:
    """`n` distinct anonymous viewers (one client address each)."""
    for _ in range(n):
        raw = uuid.uuid4().bytes
        async with client_from(app, f"10.{raw[0]}.{raw[1]}.{raw[2]}") as viewer:
            response = await viewer.post(f"/v1/scenes/{scene_id}/views")
        assert response.json()["counted"] is True


async def refresh(app: Any, settings: Settings) -> stats.StatsRun:
    async with app.state.db.transaction() as session:
        return await stats.refresh(
            session, stats.rule_from(settings), rollup_hours=settings.engagement_rollup_hours
        )


async def scores(app: Any, ids: list[str]) -> dict[str, float]:
    async with app.state.db.session() as session:
        rows = await session.execute(
            select(TrendingScore.target_id, TrendingScore.score).where(
                TrendingScore.target_id.in_([uuid.UUID(i) for i in ids])
            )
        )
        return {str(target): score for target, score in rows}


async def set_row(app: Any, model: Any, row_id: str, **values: Any) -> None:
    async with app.state.db.transaction() as session:
        await session.execute(update(model).where(model.id == uuid.UUID(row_id)).values(**values))


# Scenes


async def test_trending_scenes_follow_the_scores_and_look_like_any_other_list(
    app: Any, client: httpx.AsyncClient, factory: Factory, settings: Settings
) -> None:
    owner = await factory.account()
    topic = await factory.topic_row()
    idea = await factory.idea_row(owner, topic)
    scenes = [await factory.scene(owner, idea=idea) for _ in range(4)]
    ids = [s["id"] for s in scenes]
    for scene_id, n in zip(ids, (3, 6, 1, 0), strict=True):
        await views(app, scene_id, n)
    await refresh(app, settings)

    found = await scores(app, ids)
    assert set(found) == {ids[0], ids[1], ids[2]}  # no engagement, not trending
    expected = [ids[1], ids[0], ids[2]]
    assert sorted(found, key=lambda i: (found[i], uuid.UUID(i)), reverse=True) == expected
    for limit in (1, 2, 100):
        params = {"topic": topic["slug"], "sort": "trending", "limit": limit}
        assert await walk(client, "/v1/scenes", params) == expected

    trending = await client.get("/v1/scenes", params={"topic": topic["id"], "sort": "trending"})
    newest = await client.get("/v1/scenes", params={"topic": topic["id"], "sort": "new"})
    by_id = {s["id"]: s for s in newest.json()["items"]}
    for item in trending.json()["items"]:
        assert item == by_id[item["id"]]

    # Hidden at once, without waiting for the next run.
    await set_row(app, Scene, ids[1], status="hidden")
    params = {"topic": topic["id"], "sort": "trending"}
    assert await walk(client, "/v1/scenes", params) == [ids[0], ids[2]]


async def test_scenes_sort_active_reads_the_activity_index(app: Any) -> None:
    async with app.state.db.transaction() as session:
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = (
            await session.execute(
                text(
                    "EXPLAIN SELECT id FROM scenes ORDER BY "
                    "coalesce(last_segment_at, created_at) DESC, id DESC LIMIT 21"
                )
            )
        ).scalars()
        assert "ix_scenes_activity" in "\n".join(plan)


# Ideas


async def test_trending_ideas_add_up_their_scenes_and_respect_visibility(
    app: Any, client: httpx.AsyncClient, factory: Factory, settings: Settings
) -> None:
    owner, fan, other = await factory.account(), await factory.account(), await factory.account()
    topic = await factory.topic_row()
    busy, liked, quiet = [await factory.idea_row(owner, topic) for _ in range(3)]
    pending = await factory.idea_row(owner, topic, review_status="pending")
    await views(app, (await factory.scene(owner, idea=busy))["id"], 5)
    assert (await client.put(f"/v1/ideas/{liked['id']}/like", headers=fan.headers)).is_success
    await views(app, (await factory.scene(owner, idea=pending))["id"], 9)
    await refresh(app, settings)

    params = {"topic": topic["slug"], "sort": "trending", "limit": 1}
    assert await walk(client, "/v1/ideas", params, other.headers) == [busy["id"], liked["id"]]
    assert await walk(client, "/v1/ideas", params, owner.headers) == [
        pending["id"],
        busy["id"],
        liked["id"],
    ]
    assert quiet["id"] not in await walk(client, "/v1/ideas", params)

    await set_row(app, Idea, busy["id"], status="hidden")
    assert await walk(client, "/v1/ideas", params) == [liked["id"]]


async def test_ideas_sort_active_follows_their_scenes(
    app: Any, client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.account()
    topic = await factory.topic_row()
    first, second, third = [await factory.idea_row(owner, topic) for _ in range(3)]
    params = {"topic": topic["id"], "sort": "active", "limit": 2}

    async def order() -> list[str]:
        return await walk(client, "/v1/ideas", params)

    assert await order() == [third["id"], second["id"], first["id"]]
    scene_on_first = await factory.scene(owner, idea=first)
    assert await order() == [first["id"], third["id"], second["id"]]
    await factory.scene(owner, idea=second)
    assert await order() == [second["id"], first["id"], third["id"]]
    # A new segment on the first idea's scene (what finalization writes).
    await set_row(app, Scene, scene_on_first["id"], last_segment_at=text("now()"))
    assert await order() == [first["id"], second["id"], third["id"]]
    # Activity only moves forward: an older timestamp does not reorder.
    await set_row(
        app, Scene, scene_on_first["id"], last_segment_at=text("now() - interval '1 day'")
    )
    assert await order() == [first["id"], second["id"], third["id"]]


# Bad input


@pytest.mark.parametrize("path", ["/v1/scenes", "/v1/ideas"])
async def test_a_cursor_from_another_sort_is_refused(
    client: httpx.AsyncClient, factory: Factory, path: str
) -> None:
    owner = await factory.account()
    topic = await factory.topic_row()
    idea = await factory.idea_row(owner, topic)
    for _ in range(3):
        await factory.scene(owner, idea=idea)
        await factory.idea_row(owner, topic)
    cursors = {}
    for sort in ("new", "popular", "active"):
        response = await client.get(path, params={"topic": topic["id"], "sort": sort, "limit": 1})
        cursors[sort] = response.json()["next_cursor"]
        assert cursors[sort] is not None
    for sort in ("new", "popular", "active"):
        response = await client.get(path, params={"sort": "trending", "cursor": cursors[sort]})
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == PROBLEM
    response = await client.get(path, params={"sort": "hot"})
    assert response.status_code == 422


# Views


async def test_a_refresh_loop_counts_one_view_and_moves_trending_by_one_view(
    app: Any, client: httpx.AsyncClient, factory: Factory, settings: Settings
) -> None:
    owner, viewer = await factory.account(), await factory.account()
    looped, once = await factory.scene(owner), await factory.scene(owner)
    url = f"/v1/scenes/{looped['id']}/views"
    # One address reloading, even with a new User-Agent every time, is one viewer.
    results = [
        (await client.post(url, headers={"user-agent": f"Mozilla/5.0 (reload {i})"})).json()
        for i in range(40)
    ]
    assert [r["counted"] for r in results] == [True] + [False] * 39
    assert results[-1]["view_count"] == 1
    # A signed-in viewer is one viewer whatever browser they reload from.
    signed_in = [
        (await client.post(url, headers={**viewer.headers, "user-agent": f"UA {i}"})).json()
        for i in range(10)
    ]
    assert sum(r["counted"] for r in signed_in) == 1
    assert signed_in[-1]["view_count"] == 2
    await views(app, once["id"], 2)

    run = await refresh(app, settings)

    async with app.state.db.session() as session:
        row = await session.get(
            EngagementHourly, ("scene", uuid.UUID(looped["id"]), hour_start(run.now))
        )
    assert row is not None and (row.likes, row.views, row.segments) == (0, 2, 0)
    found = await scores(app, [looped["id"], once["id"]])
    assert found[looped["id"]] == found[once["id"]]
    two_views = [HourStats(hour_start(run.now), Counts(views=2))]
    assert found[looped["id"]] == score_hours(stats.rule_from(settings), run.now, two_views)
