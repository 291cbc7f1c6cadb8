"""Faults: a worker SIGKILLed in each stage, Redis losing the queue, failures and retries.

Workers run as real subprocesses (python -m worker.main, or tests.worker.faulty_worker which
pauses a job inside one stage), against PostgreSQL, Redis and ffmpeg; nothing is mocked.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from sqlalchemy import select, update

from domain.jobs.models import TERMINAL_STATUSES, Job
from domain.operations.models import SystemEvent
from domain.scenes.models import Scene, SceneStatus
from infra.media import probe
from infra.settings import Settings
from tests.infra.moto_server import DUMMY_CREDENTIALS
from tests.worker.fault_stack import Stack, needs_redis_server, open_stack
from tests.worker.processes import Child, MotoServer, Processes, RedisServer

TEXT = 'Mara Hart walks down to The Old Docks. "Who rang the bell?" Mara asks the fog.'
STAGE_ORDER = ["script_expansion", "continuity_validation", "video_generation", "upload"]
RECOVERING: dict[str, Any] = {"job_stuck_after_seconds": 1, "recovery_every_seconds": 1}
# Short leases, so a killed run's job is taken over within seconds. The drills
# (test_recovery_drill.py) keep the defaults and measure what a takeover costs with them.
SHORT_LEASE: dict[str, Any] = {"job_lease_seconds": 3, "job_lease_renew_seconds": 0.5}
BUCKET = "storyloom-faults"
# Fail fast while S3 is down: botocore's own retries would only slow the test down.
S3_CLIENT = {**DUMMY_CREDENTIALS, "AWS_MAX_ATTEMPTS": 2, "AWS_RETRY_MODE": "standard"}


async def assert_one_playable_segment(stack: Stack, scene_id: str, job_id: str) -> None:
    """Exactly one segment, made by this job, whose files are all there is in storage."""
    job = await stack.job(job_id)
    claims = await stack.sequences(scene_id)
    assert [(c.sequence, str(c.job_id)) for c in claims] == [(1, job_id)]
    segments = await stack.segments(scene_id)
    assert [s.id for s in segments] == [job.segment_id]
    scene = await stack.scene(scene_id)
    assert (scene.segment_count, scene.bible_version) == (1, 2)
    assert await stack.bible_versions(scene_id) == [1, 2]

    keys = set(await stack.media_keys())
    upload = job.stage_outputs["upload"]
    used = await stack.referenced_keys(scene_id)
    assert used == await stack.assert_segment_objects(job)
    assert keys == used, f"objects no segment uses: {sorted(keys - used)}"

    playlist = await stack.client.get(f"/v1/scenes/{scene_id}/video.m3u8")
    assert playlist.status_code == 200
    uris = [line for line in playlist.text.splitlines() if line and not line.startswith("#")]
    assert len(uris) == upload["hls_segments"]
    for uri in uris:
        media = await stack.client.get(uri)
        assert media.status_code == 200 and media.content, uri
    local = stack.settings.media_dir / upload["keys"][upload["video"]]
    duration = (await probe(str(local))).duration
    assert duration == pytest.approx(segments[0].duration, abs=0.5)
    assert not (stack.settings.work_dir / job_id).exists(), "work directory left behind"


KILL_POINTS = [
    ("script_expansion", "start"),
    ("continuity_validation", "start"),
    ("video_generation", "render_wait"),
    ("upload", "first_upload"),
    ("finalization", "start"),
]


@pytest.mark.parametrize(("stage", "at"), KILL_POINTS, ids=[s for s, _ in KILL_POINTS])
async def test_a_worker_killed_mid_stage_is_resumed_once(stack: Stack, stage: str, at: str) -> None:
    owner = await stack.factory.account()
    scene_id = (await stack.factory.scene(owner))["id"]
    faulty = stack.faulty_worker(stage, at, **SHORT_LEASE)
    job_id = await stack.submit(owner, scene_id, TEXT)
    await stack.wait_job(job_id, lambda j: j.attempt == 1, "picked up")
    # Booting while the job runs: the job's lease must keep it off a live job.
    stack.worker(**RECOVERING, **SHORT_LEASE)
    await stack.wait_paused(job_id, faulty)
    before = await stack.job(job_id)
    faulty.kill()
    assert before.stage == stage and before.status not in TERMINAL_STATUSES
    finished = STAGE_ORDER[: STAGE_ORDER.index(stage)] if stage in STAGE_ORDER else STAGE_ORDER
    assert sorted(before.stage_outputs) == sorted(finished)
    if at == "first_upload":
        assert await stack.media_keys(scene_id), "the kill should leave a partial upload"

    # arq keeps the killed job's in-progress key for the job's timeout: the recovery cron
    # brings the job back once its lease has lapsed.
    job = await stack.wait_end(job_id)
    assert job.status == "final_ready", (job.error_code, job.message, stack.processes.logs())
    assert job.attempt == 2
    for name in finished:  # finished work is reused, not redone
        assert job.stage_outputs[name] == before.stage_outputs[name], name
    if stage == "video_generation":
        assert before.provider_video_id is not None
        assert job.provider_video_id == before.provider_video_id
    await assert_one_playable_segment(stack, scene_id, job_id)

    await asyncio.sleep(1.5)  # more recovery ticks: a finished job is never taken up again
    again = await stack.job(job_id)
    assert (again.status, again.attempt, again.result_data, again.finished_at) == (
        "final_ready",
        2,
        job.result_data,
        job.finished_at,
    )
    assert len(await stack.sequences(scene_id)) == 1


@needs_redis_server
async def test_a_queue_lost_with_redis_is_rebuilt_from_postgres(
    redis_stack: tuple[Stack, RedisServer],
) -> None:
    stack, redis = redis_stack
    owner = await stack.factory.account()
    scene_id = (await stack.factory.scene(owner))["id"]
    job_id = await stack.submit(owner, scene_id, TEXT)
    assert redis.command("DBSIZE") != ":0", "the job should be queued in Redis"
    redis.restart()
    assert redis.command("DBSIZE") == ":0", "a restarted Redis should have lost the queue"
    assert (await stack.job(job_id)).status == "queued"

    stack.worker(**RECOVERING)
    job = await stack.wait_end(job_id)
    assert job.status == "final_ready", (job.error_code, job.message, stack.processes.logs())
    assert job.attempt == 1
    await assert_one_playable_segment(stack, scene_id, job_id)
    async with stack.app.state.db.session() as session:
        requeued = await session.scalars(
            select(SystemEvent.data).where(SystemEvent.kind == "recovery.requeued")
        )
        assert any(job_id in event["jobs"] for event in requeued.all())


async def wait_end_supervised(stack: Stack, job_id: str, worker: Child) -> tuple[Job, Child]:
    """Wait for the job's end, starting a new worker whenever the last one exited.

    That is what a process supervisor does in production; the worker's Redis commands ride
    out a short outage (infra.queue.worker_redis_settings), but on a longer one arq stops
    (after letting its running jobs finish), and the recovery cron does the rest.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while (job := await stack.job(job_id)).status not in TERMINAL_STATUSES:
        assert loop.time() < deadline, f"job {job_id} did not end\n{stack.processes.logs()}"
        if not worker.alive:
            worker = stack.worker(**RECOVERING)
        await asyncio.sleep(0.1)
    return job, worker


@needs_redis_server
async def test_redis_restarted_while_a_job_renders(redis_stack: tuple[Stack, RedisServer]) -> None:
    stack, redis = redis_stack
    owner = await stack.factory.account()
    scene_id = (await stack.factory.scene(owner))["id"]
    worker = stack.faulty_worker("video_generation", "render_wait", **RECOVERING)
    job_id = await stack.submit(owner, scene_id, TEXT)
    await stack.wait_paused(job_id, worker)
    redis.kill()
    await asyncio.sleep(0.5)  # long enough for the worker's queue polling to find Redis gone
    redis.start()
    stack.release(job_id)

    job, survivor = await wait_end_supervised(stack, job_id, worker)
    assert job.status == "final_ready", (job.error_code, job.message, stack.processes.logs())
    await assert_one_playable_segment(stack, scene_id, job_id)
    # The worker's Redis commands wait out the restart: no supervisor had to start another.
    assert survivor is worker and worker.alive, stack.processes.logs()

    # The queue works again: a second continuation goes through the restarted Redis.
    second = await stack.submit(owner, scene_id, "Mara ties the bell rope. The fog lifts.")
    stack.release(second)  # the surviving worker is the faulty one: no pause this time
    done, survivor = await wait_end_supervised(stack, second, worker)
    assert survivor is worker and worker.alive, stack.processes.logs()
    assert done.status == "final_ready", (done.error_code, done.message, stack.processes.logs())
    assert done.attempt == 1
    assert [c.sequence for c in await stack.sequences(scene_id)] == [1, 2]
    assert (await stack.scene(scene_id)).segment_count == 2


@pytest.fixture
async def s3_stack(
    settings: Settings, fault_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Stack, MotoServer]]:
    """A stack whose media goes to a bucket on a moto server that the test may stop."""
    for name, value in DUMMY_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    processes = Processes(tmp_path / "processes")
    try:
        moto = processes.moto_server()
        make_bucket(moto)
        async with open_stack(
            settings,
            fault_database,
            tmp_path,
            processes=processes,
            s3_bucket=BUCKET,
            s3_endpoint_url=moto.url,
            job_max_retries=6,  # moto may take a few backoff rounds to come back
        ) as opened:
            yield opened, moto
    finally:
        processes.close()


def make_bucket(moto: MotoServer) -> None:
    boto3.client("s3", endpoint_url=moto.url).create_bucket(Bucket=BUCKET)


async def test_an_s3_outage_in_upload_is_retried_without_rendering_again(
    s3_stack: tuple[Stack, MotoServer],
) -> None:
    stack, moto = s3_stack
    owner = await stack.factory.account()
    scene_id = (await stack.factory.scene(owner))["id"]
    worker = stack.faulty_worker("upload", env=S3_CLIENT)
    job_id = await stack.submit(owner, scene_id, TEXT)
    await stack.wait_paused(job_id, worker)
    before = await stack.job(job_id)
    moto.stop()
    stack.release(job_id)

    retrying = await stack.wait_job(job_id, lambda j: j.retry_count >= 1, "a retry")
    assert retrying.status not in TERMINAL_STATUSES and retrying.retryable
    assert "Retrying" in (retrying.message or ""), retrying.message
    moto.start()  # the same endpoint, empty: the bucket comes back, the objects do not
    make_bucket(moto)

    job = await stack.wait_end(job_id)
    assert job.status == "final_ready", (job.error_code, job.message, stack.processes.logs())
    assert job.retry_count >= 1 and job.attempt == 1 + job.retry_count
    for name in ("script_expansion", "continuity_validation", "video_generation"):
        assert job.stage_outputs[name] == before.stage_outputs[name], f"{name} was redone"
    assert job.provider_video_id == before.provider_video_id

    keys = set(await stack.media_keys())
    assert keys == await stack.referenced_keys(scene_id) == await stack.assert_segment_objects(job)
    assert [c.sequence for c in await stack.sequences(scene_id)] == [1]


async def test_exhausted_retries_fail_the_job_and_leave_no_files(
    settings: Settings, fault_database: str, tmp_path: Path
) -> None:
    async with open_stack(settings, fault_database, tmp_path, job_max_retries=1) as stack:
        owner = await stack.factory.account()
        scene_id = (await stack.factory.scene(owner))["id"]
        worker = stack.faulty_worker("upload")
        job_id = await stack.submit(owner, scene_id, TEXT)
        await stack.wait_paused(job_id, worker)
        # A file where the objects' directory must go: every upload attempt fails (a real
        # OS error, whoever runs the test).
        stack.settings.media_dir.mkdir(parents=True, exist_ok=True)
        (stack.settings.media_dir / "objects").write_text("in the way")
        stack.release(job_id)

        job = await stack.wait_end(job_id)
        assert job.status == "failed", (job.status, job.message, stack.processes.logs())
        assert (job.stage, job.error_code, job.retryable) == ("error", "internal_error", True)
        assert (job.retry_count, job.max_retries, job.attempt) == (1, 1, 2)
        assert job.segment_id is None and await stack.sequences(scene_id) == []
        assert (await stack.scene(scene_id)).segment_count == 0
        assert await stack.media_keys(scene_id) == []
        assert not (stack.settings.work_dir / job_id).exists()


async def test_a_non_retryable_failure_ends_at_once_and_removes_the_upload(stack: Stack) -> None:
    owner = await stack.factory.account()
    scene_id = (await stack.factory.scene(owner))["id"]
    worker = stack.faulty_worker("finalization")
    job_id = await stack.submit(owner, scene_id, TEXT)
    await stack.wait_paused(job_id, worker)
    assert await stack.media_keys(scene_id), "the upload should be in storage by now"
    async with stack.app.state.db.transaction() as session:
        await session.execute(
            update(Scene).where(Scene.id == uuid.UUID(scene_id)).values(status=SceneStatus.LOCKED)
        )
    stack.release(job_id)

    job = await stack.wait_end(job_id)
    assert job.status == "failed", (job.status, job.message, stack.processes.logs())
    assert (job.error_code, job.retryable, job.retry_count, job.attempt) == (
        "scene_closed",
        False,
        0,
        1,
    )
    assert job.segment_id is None and await stack.sequences(scene_id) == []
    assert await stack.bible_versions(scene_id) == [1]
    # Its upload is referenced by nothing: the sweeper takes it (here with no grace).
    assert await stack.referenced_keys(scene_id) == set()
    await stack.sweep_now()
    uploaded = set(job.stage_outputs["upload"]["keys"].values())
    left = set(await stack.media_keys())
    assert uploaded and left <= await stack.referenced_keys()  # only what segments use stays
    assert not (stack.settings.work_dir / job_id).exists()
