"""Locking a scene with continuations in flight, through the real worker: they finish and add
their segments, or they are cancelled, as the owner chose; a deleted scene's jobs never land.

The jobs are submitted before the worker starts, so they are in flight (queued) at the lock
whatever the machine's speed; finalization decides on the lock the same way at any stage.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from infra.settings import Settings
from tests.factories import Account, Factory
from tests.worker.running import stop
from tests.worker.test_pipeline_e2e import CONTINUATION, submit, wait_for_end
from worker.main import worker_options
from worker.refill import RefillingWorker

Start = Callable[[], Awaitable[None]]


@pytest.fixture
async def start_worker(settings: Settings) -> AsyncIterator[Start]:
    """Starts a real worker when the test says so; stopped when the test ends."""
    running: list[tuple[RefillingWorker, asyncio.Task[None]]] = []

    async def start() -> None:
        options = worker_options(settings)
        options["poll_delay"] = 0.05
        worker = RefillingWorker(**options, handle_signals=False)
        running.append((worker, asyncio.create_task(worker.async_run())))

    yield start
    for worker, task in running:
        await stop(worker, task)


async def _scene(client: httpx.AsyncClient, factory: Factory) -> tuple[Account, str]:
    owner = await factory.account()
    return owner, (await factory.scene(owner))["id"]


async def test_jobs_in_flight_finish_on_a_locked_scene_or_are_cancelled(
    client: httpx.AsyncClient, factory: Factory, start_worker: Start, settings: Settings
) -> None:
    owner, finishing = await _scene(client, factory)
    _, cancelling = await _scene(client, factory)
    other = await factory.account()
    kept = await submit(client, owner, finishing, CONTINUATION)
    dropped = await submit(client, other, cancelling, CONTINUATION)
    owner_of_cancelling = (await client.get(f"/v1/scenes/{cancelling}")).json()["user_id"]
    assert owner_of_cancelling != owner.id

    lock = await client.patch(
        f"/v1/scenes/{finishing}", json={"status": "locked"}, headers=owner.headers
    )
    assert lock.status_code == 200, lock.text
    moderator = await factory.account("moderator")
    cancel = await client.patch(
        f"/v1/scenes/{cancelling}",
        json={"status": "locked", "cancel_in_flight": True},
        headers=moderator.headers,
    )
    assert cancel.status_code == 200, cancel.text
    late = await client.post(
        f"/v1/scenes/{finishing}/continuations",
        json={"text": CONTINUATION},
        headers={**owner.headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert late.status_code == 409, late.text

    await start_worker()
    finished, _ = await wait_for_end(client, owner, kept["id"])
    cancelled, _ = await wait_for_end(client, other, dropped["id"])

    assert finished["status"] == "final_ready", finished
    scene = (await client.get(f"/v1/scenes/{finishing}")).json()
    assert (scene["status"], scene["segment_count"], scene["bible_version"]) == ("locked", 1, 2)
    # The design's resolution and file_size, recorded with the segment.
    segment = (await client.get(f"/v1/scenes/{finishing}/segments")).json()["items"][0]
    assert segment["resolution"] == f"{settings.video_width}x{settings.video_height}"
    assert segment["file_size"] > 1000
    assert cancelled["status"] == "cancelled", cancelled
    assert cancelled["message"] == "Cancelled: the scene was locked."
    untouched = (await client.get(f"/v1/scenes/{cancelling}")).json()
    assert (untouched["segment_count"], untouched["bible_version"]) == (0, 1)


async def test_a_job_of_a_deleted_scene_never_lands(
    client: httpx.AsyncClient, factory: Factory, start_worker: Start
) -> None:
    owner, scene_id = await _scene(client, factory)
    job = await submit(client, owner, scene_id, CONTINUATION)
    deleted = await client.delete(f"/v1/scenes/{scene_id}", headers=owner.headers)
    assert deleted.status_code == 204

    await start_worker()
    ended, _ = await wait_for_end(client, owner, job["id"])

    assert ended["status"] == "cancelled", ended
    moderator = await factory.account("moderator")
    seen = (await client.get(f"/v1/scenes/{scene_id}", headers=moderator.headers)).json()
    assert seen["segment_count"] == 0
