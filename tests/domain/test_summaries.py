"""Scene summaries keep a long scene's job context bounded."""

from __future__ import annotations

import uuid

import httpx

from domain.ids import new_time_id
from domain.jobs.models import Job
from domain.scenes.models import Scene, Segment
from domain.scenes.summaries import compose, scenes_needing_summary, summarise_scene
from tests.factories import Factory


async def add_segments(app, scene_id: str, count: int) -> None:  # noqa: ANN001
    async with app.state.db.transaction() as session:
        scene = await session.get(Scene, uuid.UUID(scene_id))
        for n in range(1, count + 1):
            segment_id, created = new_time_id()
            script = {"bible_delta": {"events": [{"event": f"Event number {n} happens."}]}}
            session.add(
                Segment(
                    id=segment_id,
                    created_at=created,
                    scene_id=scene.id,
                    sequence=n,
                    text=f"Text {n}. More.",
                    script=script,
                    duration=2.0,
                )
            )
        scene.segment_count = count


async def test_long_scenes_are_summarised_and_the_summary_reaches_job_context(
    app,
    client: httpx.AsyncClient,
    factory: Factory,  # noqa: ANN001
) -> None:
    owner = await factory.account()
    scene = await factory.scene(owner)
    await add_segments(app, scene["id"], 30)
    async with app.state.db.session() as session:
        due = await scenes_needing_summary(session, threshold=20, keep_recent=5, limit=10_000)
    assert uuid.UUID(scene["id"]) in due

    async with app.state.db.transaction() as session:
        first = await summarise_scene(session, uuid.UUID(scene["id"]), keep_recent=5)
    assert first is not None
    assert (first.from_sequence, first.to_sequence) == (1, 25)
    assert "1. Event number 1 happens." in first.summary
    assert "25. Event number 25 happens." in first.summary
    assert "Event number 26" not in first.summary
    async with app.state.db.transaction() as session:
        again = await summarise_scene(session, uuid.UUID(scene["id"]), keep_recent=5)
    assert again is None  # nothing new to fold in

    response = await client.post(
        f"/v1/scenes/{scene['id']}/continuations",
        json={"text": "The tide turns."},
        headers={**owner.headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    job = response.json()
    async with app.state.db.session() as session:
        from datetime import datetime

        row = await session.get(
            Job, (uuid.UUID(job["id"]), datetime.fromisoformat(job["created_at"]))
        )
    assert row.context_data["summary_to_sequence"] == 25
    assert row.context_data["summary"] == first.summary
    assert [s["sequence"] for s in row.context_data["recent_scripts"]] == [28, 29, 30]


def test_compose_folds_and_bounds() -> None:
    text = compose("1. Old.", [(2, "New.")])
    assert text == "1. Old.\n2. New."
    long = compose(None, [(n, "x" * 100) for n in range(100)])
    assert len(long) <= 4000 and long.endswith("x")
