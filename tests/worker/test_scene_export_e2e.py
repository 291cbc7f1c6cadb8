"""Whole-scene export end to end: the API asks, the real worker joins the segments with ffmpeg."""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from domain.scene_exports.models import SceneExport
from domain.scenes.models import Scene, Segment
from tests.factories import Account, Factory
from tests.worker.test_pipeline_e2e import CONTINUATION, submit, wait_for_end
from worker.scene_export import build_scene_export

EXPORT = "/v1/scenes/{}/export.mp4"


async def fetch_export(
    client: httpx.AsyncClient, scene_id: str, timeout: float = 90
) -> tuple[httpx.Response, list[int]]:
    """GET the export until it is no longer 202; the statuses seen on the way."""
    seen: list[int] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        response = await client.get(EXPORT.format(scene_id))
        seen.append(response.status_code)
        if response.status_code != 202:
            return response, seen
        assert int(response.headers["Retry-After"]) >= 1
        body = response.json()
        assert body["status"] == "building" and body["scene_id"] == scene_id
        await asyncio.sleep(0.1)
    raise AssertionError(f"the export of {scene_id} was not made in {timeout}s")


def ffprobe(path: Path) -> dict[str, Any]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json", "-show_chapters", "-show_format"]
        + ["-show_streams", str(path)],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    return json.loads(out)


async def add_segment(
    client: httpx.AsyncClient, account: Account, scene_id: str, text: str
) -> dict:
    job, _ = await wait_for_end(
        client, account, (await submit(client, account, scene_id, text))["id"]
    )
    assert job["status"] == "final_ready", job
    return job["result_data"]


async def segment_rows(app: Any, scene_id: str) -> list[Segment]:
    async with app.state.db.transaction() as session:
        rows = await session.scalars(
            select(Segment)
            .where(Segment.scene_id == uuid.UUID(scene_id))
            .order_by(Segment.sequence)
        )
        return list(rows)


async def exports_of(app: Any, scene_id: str) -> list[SceneExport]:
    async with app.state.db.transaction() as session:
        rows = await session.scalars(
            select(SceneExport).where(SceneExport.scene_id == uuid.UUID(scene_id))
        )
        return list(rows)


async def check_export(
    app: Any, response: httpx.Response, segments: list[Segment], tmp_path: Path
) -> dict[str, Any]:
    """The MP4 a user downloads: one chapter per segment, each as long as its segment."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "video/mp4"
    path = tmp_path / f"{uuid.uuid4().hex}.mp4"
    path.write_bytes(response.content)
    info = ffprobe(path)
    storage = app.state.storage
    durations = []
    source_streams = None
    for segment in segments:
        probed = ffprobe(storage.path(segment.video_key))
        durations.append(float(probed["format"]["duration"]))
        source_streams = source_streams or probed["streams"]
    chapters = info["chapters"]
    assert len(chapters) == len(segments)
    start = 0.0
    for number, (chapter, segment, duration) in enumerate(
        zip(chapters, segments, durations, strict=True), start=1
    ):
        assert chapter["tags"]["title"].startswith(f"{number}. {segment.text.split()[0]}")
        assert float(chapter["start_time"]) == pytest.approx(start, abs=0.002)
        assert float(chapter["end_time"]) == pytest.approx(start + duration, abs=0.002)
        start += duration
    assert float(info["format"]["duration"]) == pytest.approx(sum(durations), abs=0.15)
    for kind in ("video", "audio"):
        ours = next(s for s in info["streams"] if s["codec_type"] == kind)
        theirs = next(s for s in source_streams or [] if s["codec_type"] == kind)
        for key in ("codec_name", "profile", "width", "height", "sample_rate"):
            assert ours.get(key) == theirs.get(key), (kind, key)
    return info


@pytest.mark.usefixtures("worker")
async def test_a_scene_exports_as_one_mp4_that_follows_the_scene(
    client: httpx.AsyncClient, factory: Factory, app: Any, tmp_path: Path
) -> None:
    owner = await factory.account()
    moderator = await factory.account("moderator")
    scene = await factory.scene(owner)
    scene_id = scene["id"]
    assert (await client.get(EXPORT.format(scene_id))).status_code == 404  # nothing to export
    assert scene["cover_url"] is None

    first = await add_segment(client, owner, scene_id, CONTINUATION)
    await add_segment(client, owner, scene_id, "Mara ties the bell rope. The fog lifts.")

    # The cover is the first segment's thumbnail, in the scene, the list and the profile.
    detail = (await client.get(f"/v1/scenes/{scene_id}")).json()
    assert detail["cover_url"] == first["thumbnail_url"]
    listed = (await client.get("/v1/scenes", params={"sort": "active", "limit": 100})).json()
    assert (
        next(s for s in listed["items"] if s["id"] == scene_id)["cover_url"]
        == (first["thumbnail_url"])
    )
    mine = (await client.get(f"/v1/users/{owner.username}/scenes")).json()["items"]
    assert mine[0]["cover_url"] == first["thumbnail_url"]

    response, seen = await fetch_export(client, scene_id)
    assert seen[0] == 202, "the first request starts the build"
    two = await segment_rows(app, scene_id)
    await check_export(app, response, two, tmp_path)
    ranged = await client.get(EXPORT.format(scene_id), headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206 and len(ranged.content) == 100
    assert ranged.content == response.content[:100]
    (built,) = await exports_of(app, scene_id)
    assert (built.status, built.attempts, built.size_bytes) == ("ready", 1, len(response.content))
    old_key = built.storage_key
    assert old_key is not None and await app.state.storage.exists(old_key)
    assert old_key.startswith("objects/")  # content-addressed (domain/media/store.py)

    # A new segment: a new fingerprint, a new build; the old export is gone (its MP4 is no
    # export's any more: the sweeper's, tests/domain/test_media_sweeper.py).
    await add_segment(client, owner, scene_id, "A gull lands on the bell. It rings once.")
    response, seen = await fetch_export(client, scene_id)
    assert seen[0] == 202
    three = await segment_rows(app, scene_id)
    await check_export(app, response, three, tmp_path)
    (rebuilt,) = await exports_of(app, scene_id)
    assert rebuilt.fingerprint != built.fingerprint
    assert rebuilt.storage_key != old_key
    async with app.state.db.session() as session:
        named = await session.scalar(
            select(SceneExport.id).where(SceneExport.storage_key == old_key)
        )
    assert named is None

    # Hiding the middle segment (a moderator's decision) takes it out of the export.
    flag = await client.post(
        "/v1/flags",
        json={"target_type": "segment", "target_id": str(three[1].id), "reason": "spam"},
        headers=owner.headers,
    )
    assert flag.status_code == 201, flag.text
    resolved = await client.post(
        f"/v1/moderation/flags/{flag.json()['id']}/resolve",
        json={"action_taken": "hide", "notes": "Off topic."},
        headers=moderator.headers,
    )
    assert resolved.status_code == 200, resolved.text
    response, seen = await fetch_export(client, scene_id)
    assert seen[0] == 202
    await check_export(app, response, [three[0], three[2]], tmp_path)

    # A hidden scene has no export for the public.
    async with app.state.db.transaction() as session:
        await session.execute(
            update(Scene).where(Scene.id == uuid.UUID(scene_id)).values(status="hidden")
        )
    hidden = await client.get(EXPORT.format(scene_id))
    assert hidden.status_code == 404
    assert hidden.headers["content-type"] == "application/problem+json"


@pytest.mark.usefixtures("worker")
async def test_concurrent_requests_start_one_build(
    client: httpx.AsyncClient, factory: Factory, app: Any
) -> None:
    owner = await factory.account()
    scene = await factory.scene(owner)
    await add_segment(client, owner, scene["id"], CONTINUATION)

    answers = await asyncio.gather(*(client.get(EXPORT.format(scene["id"])) for _ in range(12)))

    assert {a.status_code for a in answers} <= {200, 202}
    assert any(a.status_code == 202 for a in answers)
    (export,) = await exports_of(app, scene["id"])
    assert export.attempts == 1, "one build, started once"
    response, _ = await fetch_export(client, scene["id"])
    assert response.status_code == 200
    (export,) = await exports_of(app, scene["id"])
    assert (export.status, export.attempts) == ("ready", 1)


@pytest.mark.usefixtures("worker")
async def test_a_failed_build_is_reported_then_retried_and_a_dead_one_is_taken_over(
    client: httpx.AsyncClient, factory: Factory, app: Any
) -> None:
    owner = await factory.account()
    scene = await factory.scene(owner)
    await add_segment(client, owner, scene["id"], CONTINUATION)
    (segment,) = await segment_rows(app, scene["id"])
    storage = app.state.storage
    video = storage.path(segment.video_key)
    kept = video.read_bytes()
    video.unlink()  # the build cannot read the segment's video

    response, seen = await fetch_export(client, scene["id"])
    assert seen[0] == 202
    assert response.status_code == 503, response.text
    problem = response.json()
    assert problem["type"] == "/problems/export-failed"
    assert 1 <= int(response.headers["Retry-After"]) <= 30
    (failed,) = await exports_of(app, scene["id"])
    assert failed.status == "failed" and "ObjectNotFound" in (failed.error or "")
    # Within the back-off it stays reported, and nothing is started again.
    assert (await client.get(EXPORT.format(scene["id"]))).status_code == 503
    assert (await exports_of(app, scene["id"]))[0].attempts == 1

    # The back-off passes (moved into the past), the video is back: the next request retries.
    video.write_bytes(kept)
    async with app.state.db.transaction() as session:
        await session.execute(
            update(SceneExport)
            .where(SceneExport.id == failed.id)
            .values(finished_at=SceneExport.finished_at - _seconds(120))
        )
    response, seen = await fetch_export(client, scene["id"])
    assert seen[0] == 202 and response.status_code == 200
    (ready,) = await exports_of(app, scene["id"])
    assert (ready.status, ready.attempts, ready.error) == ("ready", 2, None)

    # A build that died (its worker killed: still "building" past the timeout) is taken over.
    async with app.state.db.transaction() as session:
        await session.execute(
            update(SceneExport)
            .where(SceneExport.id == ready.id)
            .values(status="building", started_at=SceneExport.started_at - _seconds(3600))
        )
    response, seen = await fetch_export(client, scene["id"])
    assert seen[0] == 202 and response.status_code == 200
    (again,) = await exports_of(app, scene["id"])
    assert (again.status, again.attempts) == ("ready", 3)

    # The dead attempt's job, should it run after all, changes nothing.
    runtime = SimpleNamespace(db=app.state.db, storage=storage, settings=app.state.settings)
    async with app.state.db.transaction() as session:
        await session.execute(
            update(SceneExport).where(SceneExport.id == again.id).values(status="building")
        )
    assert await build_scene_export({"runtime": runtime}, str(again.id), 2) == "superseded"
    async with app.state.db.transaction() as session:
        await session.execute(
            update(SceneExport).where(SceneExport.id == again.id).values(status="ready")
        )
    assert (await exports_of(app, scene["id"]))[0].attempts == 3


def _seconds(n: int) -> timedelta:
    return timedelta(seconds=n)
