"""End to end: a continuation goes through the real worker, Redis, PostgreSQL and ffmpeg."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

import httpx
import pytest
from sqlalchemy import text

from domain.media.sweeper import sweep
from infra.media import probe
from tests.factories import Account, Factory, minimal_bible

CONTINUATION = (
    "Mara Hart walks down to The Old Docks as the fog rolls in. "
    '"Who rang the bell?" Mara asks the empty pier. '
    "Nobody answers, but the rope on the bell is still swinging."
)
TERMINAL = {"final_ready", "failed", "cancelled"}


async def submit(client: httpx.AsyncClient, account: Account, scene_id: str, text: str) -> dict:
    response = await client.post(
        f"/v1/scenes/{scene_id}/continuations",
        json={"text": text},
        headers={**account.headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert response.status_code == 202, response.text
    return response.json()


async def wait_for_end(
    client: httpx.AsyncClient, account: Account, job_id: str, timeout: float = 120
) -> tuple[dict, list[int]]:
    seen: list[int] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        job = (await client.get(f"/v1/jobs/{job_id}", headers=account.headers)).json()
        seen.append(job["progress"])
        if job["status"] in TERMINAL:
            return job, seen
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} did not end in {timeout}s: {job}")


@pytest.mark.usefixtures("worker")
async def test_a_continuation_becomes_a_streaming_segment(
    client: httpx.AsyncClient, factory: Factory, http_base: str
) -> None:
    owner = await factory.account()
    scene = await factory.scene(owner)
    job, progress = await wait_for_end(
        client, owner, (await submit(client, owner, scene["id"], CONTINUATION))["id"]
    )
    assert job["status"] == "final_ready", job
    assert job["stage"] == "completed" and job["progress"] == 100
    assert progress == sorted(progress), "progress went backwards"
    result = job["result_data"]
    assert result["sequence"] == 1 and result["bible_version"] == 2
    assert set(result) >= {
        "segment_id",
        "hls_playlist_url",
        "video_url",
        "thumbnail_url",
        "duration",
    }

    segments = (await client.get(f"/v1/scenes/{scene['id']}/segments")).json()["items"]
    assert [s["sequence"] for s in segments] == [1]
    detail = (await client.get(f"/v1/scenes/{scene['id']}")).json()
    assert detail["segment_count"] == 1 and detail["bible_version"] == 2
    assert detail["contributor_count"] == 1
    assert detail["total_duration"] == pytest.approx(result["duration"])

    bible = (await client.get(f"/v1/scenes/{scene['id']}/bible")).json()
    assert bible["version"] == 2
    assert any(e["segmentNumber"] == 1 for e in bible["data"]["timeline"]["majorEvents"])

    playlist_url = http_base + result["hls_playlist_url"].removeprefix(http_base)
    assert (await probe(playlist_url)).duration == pytest.approx(result["duration"], abs=0.5)
    scene_playlist = f"{http_base}/v1/scenes/{scene['id']}/playlist.m3u8"
    assert (await probe(scene_playlist)).duration == pytest.approx(result["duration"], abs=0.5)


@pytest.mark.usefixtures("worker")
async def test_two_segments_play_one_after_the_other(
    client: httpx.AsyncClient, factory: Factory, http_base: str
) -> None:
    owner = await factory.account()
    other = await factory.account()
    scene = await factory.scene(owner)
    first, _ = await wait_for_end(
        client, owner, (await submit(client, owner, scene["id"], CONTINUATION))["id"]
    )
    second, _ = await wait_for_end(
        client,
        other,
        (await submit(client, other, scene["id"], "Mara ties the bell rope. The fog lifts."))["id"],
    )
    assert (first["status"], second["status"]) == ("final_ready", "final_ready")
    assert second["result_data"]["sequence"] == 2
    detail = (await client.get(f"/v1/scenes/{scene['id']}")).json()
    assert detail["contributor_count"] == 2 and detail["bible_version"] == 3
    total = first["result_data"]["duration"] + second["result_data"]["duration"]
    playlist = await client.get(f"/v1/scenes/{scene['id']}/video.m3u8")
    assert "#EXT-X-DISCONTINUITY" in playlist.text
    scene_playlist = f"{http_base}/v1/scenes/{scene['id']}/playlist.m3u8"
    assert (await probe(scene_playlist)).duration == pytest.approx(total, abs=1.0)


@pytest.mark.usefixtures("worker")
async def test_an_inactive_character_acting_fails_before_any_video(
    client: httpx.AsyncClient, factory: Factory, app
) -> None:  # noqa: ANN001
    owner = await factory.account()
    bible = minimal_bible()
    bible["characters"].append(
        {
            "entityId": "char_tom",
            "canonicalName": "Old Tom",
            "aliases": ["Tom"],
            "description": "Drowned last winter.",
            "introducedInSegment": 0,
            "isActive": False,
        }
    )
    scene = await factory.scene(owner, bible=bible)
    text = 'Old Tom climbs out of the water. "I never left," Old Tom says.'
    job, _ = await wait_for_end(
        client, owner, (await submit(client, owner, scene["id"], text))["id"]
    )
    assert job["status"] == "failed" and job["error_code"] == "continuity_violation"
    assert job["result_data"]["violations"], job
    assert job["retryable"] is False
    assert (await client.get(f"/v1/scenes/{scene['id']}/segments")).json()["items"] == []
    assert await app.state.storage.list(f"scenes/{scene['id']}/") == []


@pytest.mark.usefixtures("worker")
async def test_cancel_leaves_no_segment_and_no_files(
    client: httpx.AsyncClient, factory: Factory, app
) -> None:  # noqa: ANN001
    owner = await factory.account()
    scene = await factory.scene(owner)
    # Storage is the session's: other tests' objects (some with no row, which no sweep
    # removes) are there already and are not this job's.
    before = set(await app.state.storage.list("objects/"))
    job = await submit(client, owner, scene["id"], CONTINUATION)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while loop.time() < deadline:  # cancel once the render is under way
        state = (await client.get(f"/v1/jobs/{job['id']}", headers=owner.headers)).json()
        if state["stage"] in {"video_generation", "upload"} or state["status"] in TERMINAL:
            break
        await asyncio.sleep(0.02)
    cancel = await client.post(f"/v1/jobs/{job['id']}/cancel", headers=owner.headers)
    if cancel.status_code == 409:
        pytest.skip("the job finished before it could be cancelled on this machine")
    assert cancel.json()["status"] == "cancelled"
    # The run stops at the next boundary; an upload in progress finishes first.
    stopped_at = await wait_run_over(app, job["id"])
    final = (await client.get(f"/v1/jobs/{job['id']}", headers=owner.headers)).json()
    assert final["status"] == "cancelled"
    assert (await client.get(f"/v1/scenes/{scene['id']}/segments")).json()["items"] == []
    assert (await client.get(f"/v1/scenes/{scene['id']}")).json()["segment_count"] == 0
    # Whatever it uploaded is referenced by nothing: the sweeper takes it after the grace.
    async with app.state.db.session() as session:
        outputs = await session.scalar(
            text("SELECT stage_outputs FROM jobs WHERE id = :id"), {"id": uuid.UUID(job["id"])}
        )
    uploaded = list((outputs or {}).get("upload", {}).get("keys", {}).values())
    assert not set(uploaded) & await referenced_keys(app)
    await sweep(app.state.db, app.state.storage, 0)
    new = set(await app.state.storage.list("objects/")) - before
    # Left may be only what segments use, or what another job in the queue stored since the
    # cancelled run ended (it can store nothing more).
    assert not new - await referenced_keys(app) - await touched_since(app, stopped_at)


async def wait_run_over(app, job_id: str, seconds: float = 60) -> datetime:  # noqa: ANN001
    """Wait until no run holds the job's lease; returns the database's time then."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        async with app.state.db.autocommit() as conn:
            held = await conn.scalar(
                text("SELECT 1 FROM job_leases WHERE job_id = :id AND expires_at > now()"),
                {"id": uuid.UUID(job_id)},
            )
            if not held:
                return await conn.scalar(text("SELECT clock_timestamp()"))
        assert loop.time() < deadline, f"the run of job {job_id} did not stop"
        await asyncio.sleep(0.05)


async def touched_since(app, moment: datetime) -> set[str]:  # noqa: ANN001
    async with app.state.db.session() as session:
        rows = await session.execute(
            text("SELECT key FROM media_objects WHERE touched_at >= :at"), {"at": moment}
        )
        return set(rows.scalars())


async def referenced_keys(app) -> set[str]:  # noqa: ANN001
    async with app.state.db.session() as session:
        rows = await session.execute(
            text(
                "SELECT o.key FROM media_objects o"
                " WHERE EXISTS (SELECT 1 FROM segment_media m WHERE m.object_sha256 = o.sha256)"
            )
        )
        return set(rows.scalars())


@pytest.mark.usefixtures("worker")
async def test_content_policy_severe_stops_mild_flags(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.account()
    moderator = await factory.account("moderator")
    scene = await factory.scene(owner)
    severe, _ = await wait_for_end(
        client,
        owner,
        (await submit(client, owner, scene["id"], "Mara shouts: kill yourself."))["id"],
    )
    assert severe["status"] == "failed" and severe["error_code"] == "content_policy"
    mild, _ = await wait_for_end(
        client,
        owner,
        (await submit(client, owner, scene["id"], "Mara mutters: shit, this fog."))["id"],
    )
    assert mild["status"] == "final_ready", mild
    queue = await client.get(
        "/v1/moderation/flags",
        params={"status": "pending", "target_type": "scene"},
        headers=moderator.headers,
    )
    targets = {item["target_id"] for item in queue.json()["items"]}
    assert scene["id"] in targets
