"""The engagement stats cron: hourly buckets from likes, views and segments, trending scores,
idempotent and safe to overlap, and run by a real worker at start-up."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

from arq.worker import Worker
from sqlalchemy import func, insert, select, text

from domain.engagement import stats
from domain.engagement.models import EngagementHourly, Like, SceneView, TrendingScore
from domain.engagement.trending import HOUR, Counts, HourStats, hour_start, score_hours
from domain.scenes.models import Segment
from infra.settings import Settings
from tests.factories import Account, Factory, client_from, unique
from worker.main import worker_options

Rows = dict[tuple[str, datetime], tuple[int, int, int]]


async def db_now(app: Any) -> datetime:
    async with app.state.db.session() as session:
        return await session.scalar(select(func.now()))


async def refresh(app: Any, settings: Settings, **options: Any) -> stats.StatsRun:
    async with app.state.db.transaction() as session:
        return await stats.refresh(
            session,
            stats.rule_from(settings),
            rollup_hours=options.pop("rollup_hours", settings.engagement_rollup_hours),
            **options,
        )


async def buckets(app: Any, *targets: str) -> Rows:
    async with app.state.db.session() as session:
        rows = await session.execute(
            select(EngagementHourly).where(
                EngagementHourly.target_id.in_([uuid.UUID(t) for t in targets])
            )
        )
        return {(str(r.target_id), r.hour): (r.likes, r.views, r.segments) for r in rows.scalars()}


async def trending(app: Any, target: str) -> TrendingScore | None:
    async with app.state.db.session() as session:
        return await session.scalar(
            select(TrendingScore).where(TrendingScore.target_id == uuid.UUID(target))
        )


async def fans(factory: Factory, n: int) -> list[Account]:
    return list(await asyncio.gather(*(factory.account() for _ in range(n))))


async def backdate(app: Any, scene_id: str, idea_id: str, when: datetime, users: list[str]) -> None:
    """Likes on the scene and the idea, and views of the scene, as if made at `when`."""
    async with app.state.db.transaction() as session:
        for user in users:
            for kind, target in (("scene", scene_id), ("idea", idea_id)):
                await session.execute(
                    insert(Like).values(
                        user_id=uuid.UUID(user),
                        target_type=kind,
                        target_id=uuid.UUID(target),
                        created_at=when,
                    )
                )
            await session.execute(
                insert(SceneView).values(
                    scene_id=uuid.UUID(scene_id),
                    viewer_key=unique("k"),
                    window_start=when,
                    created_at=when,
                )
            )


async def add_segment(app: Any, scene_id: str, sequence: int, user: str) -> None:
    async with app.state.db.transaction() as session:
        session.add(
            Segment(
                scene_id=uuid.UUID(scene_id),
                sequence=sequence,
                text=f"Segment {sequence}",
                user_id=uuid.UUID(user),
            )
        )


async def test_a_run_counts_likes_views_and_segments_per_hour(
    app: Any, client: Any, factory: Factory, settings: Settings
) -> None:
    owner = await factory.account()
    scene = await factory.scene(owner)
    idea_id = scene["idea_id"]
    likers = await fans(factory, 3)
    for fan in likers:
        assert (await client.put(f"/v1/scenes/{scene['id']}/like", headers=fan.headers)).is_success
    assert (await client.put(f"/v1/ideas/{idea_id}/like", headers=likers[0].headers)).is_success
    for address in ("192.0.2.1", "192.0.2.2", "192.0.2.1", "192.0.2.1"):  # repeats not counted
        async with client_from(app, address) as viewer:
            await viewer.post(f"/v1/scenes/{scene['id']}/views")
    await add_segment(app, scene["id"], 1, owner.id)
    await add_segment(app, scene["id"], 2, owner.id)

    run = await refresh(app, settings)
    hour = hour_start(run.now)

    assert await buckets(app, scene["id"], idea_id) == {
        (scene["id"], hour): (3, 2, 2),
        (idea_id, hour): (4, 2, 2),  # its own like, and everything on its scene
    }
    for target, expected in ((scene["id"], (3, 2, 2)), (idea_id, (4, 2, 2))):
        stored = await trending(app, target)
        assert stored is not None
        want = score_hours(stats.rule_from(settings), run.now, [HourStats(hour, Counts(*expected))])
        assert stored.score == want > 0


async def test_runs_are_idempotent_and_can_overlap(
    app: Any, factory: Factory, settings: Settings
) -> None:
    owner = await factory.account()
    scene = await factory.scene(owner)
    now = await db_now(app)
    users = [a.id for a in await fans(factory, 4)]
    await backdate(app, scene["id"], scene["idea_id"], now - 30 * HOUR, users[:2])
    await backdate(app, scene["id"], scene["idea_id"], now - 2 * HOUR, users[2:])

    await refresh(app, settings, rollup_hours=48)
    first = await buckets(app, scene["id"], scene["idea_id"])
    score = await trending(app, scene["id"])
    # Two workers at once: the advisory lock queues them; neither fails, nothing doubles.
    await asyncio.gather(*(refresh(app, settings, rollup_hours=48) for _ in range(3)))

    assert await buckets(app, scene["id"], scene["idea_id"]) == first
    assert len(first) == 4
    again = await trending(app, scene["id"])
    assert score is not None and again is not None
    assert again.score == score.score
    assert again.computed_at >= score.computed_at


async def test_baseline_activity_lowers_the_score_and_quiet_targets_drop_out(
    app: Any, factory: Factory, settings: Settings
) -> None:
    owner = await factory.account()
    spiking, usual, quiet = [await factory.scene(owner) for _ in range(3)]
    now = await db_now(app)
    users = [a.id for a in await fans(factory, 6)]
    for scene in (spiking, usual):
        await backdate(app, scene["id"], scene["idea_id"], now - HOUR, users[:3])
    await backdate(app, usual["id"], usual["idea_id"], now - 40 * HOUR, users[3:])
    await backdate(app, quiet["id"], quiet["idea_id"], now - 40 * HOUR, users)

    await refresh(app, settings, rollup_hours=48)

    spike, steady = await trending(app, spiking["id"]), await trending(app, usual["id"])
    assert spike is not None and steady is not None
    assert spike.score > steady.score
    assert await trending(app, quiet["id"]) is None  # its buckets are kept, it is not trending
    assert len(await buckets(app, quiet["id"])) == 1

    # The spiking scene's likes are taken back and its views deleted: nothing recent is left.
    async with app.state.db.transaction() as session:
        await session.execute(
            text("DELETE FROM likes WHERE target_id = :id"), {"id": uuid.UUID(spiking["id"])}
        )
        await session.execute(
            text("DELETE FROM scene_views WHERE scene_id = :id"), {"id": uuid.UUID(spiking["id"])}
        )
    await refresh(app, settings)
    assert await trending(app, spiking["id"]) is None
    assert await buckets(app, spiking["id"]) == {}


async def test_buckets_past_the_baseline_horizon_are_forgotten(
    app: Any, factory: Factory, settings: Settings
) -> None:
    owner = await factory.account()
    scene = await factory.scene(owner)
    now = await db_now(app)
    old = hour_start(now) - settings.trending_baseline_days * 24 * HOUR
    async with app.state.db.transaction() as session:
        session.add(
            EngagementHourly(target_type="scene", target_id=uuid.UUID(scene["id"]), hour=old)
        )
    await refresh(app, settings)
    assert await buckets(app, scene["id"]) == {}


async def test_a_clock_that_ran_ahead_does_not_stop_the_recount(
    app: Any, factory: Factory, settings: Settings
) -> None:
    owner, fan = await factory.account(), await factory.account()
    scene = await factory.scene(owner)
    now = await db_now(app)
    async with app.state.db.transaction() as session:
        session.add(
            EngagementHourly(
                target_type="scene",
                target_id=uuid.UUID(scene["id"]),
                hour=hour_start(now) + timedelta(days=3),
                views=1,
            )
        )
    await backdate(app, scene["id"], scene["idea_id"], now, [fan.id])
    run = await refresh(app, settings)
    assert run.recounted_from <= hour_start(now)
    assert (scene["id"], hour_start(now)) in await buckets(app, scene["id"])
    async with app.state.db.transaction() as session:
        await session.execute(
            text("DELETE FROM engagement_hourly WHERE hour > now() + interval '1 day'")
        )


async def test_the_worker_runs_it_at_start_up(
    app: Any, client: Any, factory: Factory, settings: Settings
) -> None:
    owner = await factory.account()
    scene = await factory.scene(owner)
    assert (await client.put(f"/v1/scenes/{scene['id']}/like", headers=owner.headers)).is_success
    boot = settings.model_copy(
        update={"queue_name": f"{settings.queue_name}:stats:{uuid.uuid4().hex}"}
    )
    worker = Worker(**worker_options(boot), burst=True, handle_signals=False)
    try:
        await worker.run_check()
    finally:
        await worker.close()
    stored = await trending(app, scene["id"])
    assert stored is not None and stored.score > 0
