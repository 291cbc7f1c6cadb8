"""Fault drill: the primary refuses connections for a few seconds, twice, while jobs run.

The API app and a real worker process reach PostgreSQL through a loopback proxy
(tests/worker/tcp_proxy.py) that the test switches off: new connections are refused and live
ones are reset, as when the primary crashes or fails over. The test's own checks bypass the
proxy. Every job must still end exactly once, with one segment each, sequences 1..N without
gaps, and nothing in storage that no segment uses; the API answers 503 meanwhile.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from domain.jobs.models import TERMINAL_STATUSES, Job
from infra.db import Database
from infra.settings import Settings
from tests.factories import Account
from tests.scratch import private_database
from tests.worker.fault_stack import Stack, assert_exactly_once, open_stack
from tests.worker.tcp_proxy import TcpProxy

RECOVERING: dict[str, Any] = {"job_stuck_after_seconds": 1, "recovery_every_seconds": 1}
OUTAGE_SECONDS = 3.0
WORDS = ["one", "two", "three", "four", "five", "six"]
LATE_STAGES = {"video_generation", "upload", "finalization"}


@dataclasses.dataclass
class Drill:
    stack: Stack  # the app, its client and its workers: all through the proxy
    checks: Stack  # the same world read over a direct connection, usable during outages
    proxy: TcpProxy


@pytest.fixture(scope="module")
async def outage_database() -> AsyncIterator[str]:
    async with private_database("outage") as url:
        yield url


@pytest.fixture
def proxy(outage_database: str) -> Iterator[TcpProxy]:
    proxy = TcpProxy.for_url(outage_database).start()
    try:
        yield proxy
    finally:
        proxy.close()


@pytest.fixture
async def drill(
    settings: Settings, outage_database: str, proxy: TcpProxy, tmp_path: Path
) -> AsyncIterator[Drill]:
    async with open_stack(settings, proxy.url(outage_database), tmp_path) as stack:
        direct = Database(stack.derive(database_url=outage_database))
        state = SimpleNamespace(db=direct, storage=stack.app.state.storage)
        try:
            yield Drill(stack, dataclasses.replace(stack, app=SimpleNamespace(state=state)), proxy)
        finally:
            await direct.dispose()


def running(job: Job) -> bool:
    return job.attempt >= 1 and job.status not in TERMINAL_STATUSES


async def jobs_of(checks: Stack, job_ids: list[str]) -> list[Job]:
    return await checks.jobs(job_ids)


async def wait_jobs(
    drill: Drill, job_ids: list[str], done: Callable[[list[Job]], bool], what: str
) -> list[Job]:
    return await drill.checks.wait_jobs(job_ids, done, what, seconds=90)


async def post_continuation(
    client: httpx.AsyncClient, account: Account, scene_id: str, text: str, key: str
) -> httpx.Response:
    return await client.post(
        f"/v1/scenes/{scene_id}/continuations",
        json={"text": text},
        headers={**account.headers, "Idempotency-Key": key},
    )


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert int(response.headers["retry-after"]) >= 1
    body = response.json()
    assert body["status"] == 503 and body["type"] != "about:blank", body


async def assert_api_down(drill: Drill, owner: Account, scene_id: str, key: str) -> None:
    client = drill.stack.client
    assert_unavailable(await client.get(f"/v1/scenes/{scene_id}"))
    assert_unavailable(await client.get(f"/v1/scenes/{scene_id}/segments"))
    assert_unavailable(await client.get("/v1/users/me", headers=owner.headers))
    assert_unavailable(await post_continuation(client, owner, scene_id, "Mara waits.", key))
    ready = await client.get("/readyz")
    assert ready.status_code == 503, ready.text
    assert ready.json()["status"] == "not_ready" and ready.json()["checks"]["primary"] is False
    assert (await client.get("/healthz")).status_code == 200  # the process itself is fine


async def assert_api_back(drill: Drill, scene_id: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15
    while (ready := await drill.stack.client.get("/readyz")).status_code != 200:
        assert loop.time() < deadline, ready.text
        await asyncio.sleep(0.1)
    assert (await drill.stack.client.get(f"/v1/scenes/{scene_id}")).status_code == 200


async def outage(drill: Drill, seconds: float = OUTAGE_SECONDS) -> int:
    """The primary gone for `seconds` (new connections refused, live ones reset), then back."""
    cut = drill.proxy.outage()
    await asyncio.sleep(seconds)
    drill.proxy.heal()
    return cut


async def test_jobs_ride_out_two_primary_outages(drill: Drill) -> None:
    stack, checks = drill.stack, drill.checks
    owner = await stack.factory.account()
    scene_id = (await stack.factory.scene(owner))["id"]
    texts = [f"Mara counts {word} gulls over the water." for word in WORDS]
    contributors = [await stack.factory.account() for _ in texts]
    stack.worker(worker_max_jobs=3, **RECOVERING)

    job_ids = [
        await stack.submit(c, scene_id, t) for c, t in zip(contributors[:4], texts[:4], strict=True)
    ]
    await wait_jobs(
        drill,
        job_ids,
        lambda js: any(running(j) and j.stage in LATE_STAGES for j in js),
        "a job in a late stage",
    )
    # The owner's submission during the outage fails with 503; retried afterwards with the
    # same key it makes exactly one job, whether or not the first attempt reached the primary.
    key = uuid.uuid4().hex
    cut = drill.proxy.outage()
    await assert_api_down(drill, owner, scene_id, key)
    await asyncio.sleep(OUTAGE_SECONDS)
    drill.proxy.heal()
    assert cut >= 1, "the outage should have cut the running jobs' connections"
    await assert_api_back(drill, scene_id)

    retried = await post_continuation(stack.client, owner, scene_id, "Mara waits.", key)
    assert retried.status_code == 202, retried.text
    job_ids.append(str(retried.json()["id"]))
    for contributor, text in zip(contributors[4:], texts[4:], strict=True):
        job_ids.append(await stack.submit(contributor, scene_id, text))

    await wait_jobs(drill, job_ids, lambda js: any(map(running, js[4:])), "a later job running")
    assert await outage(drill) >= 1
    await assert_api_back(drill, scene_id)

    jobs = await wait_jobs(
        drill, job_ids, lambda js: all(j.status in TERMINAL_STATUSES for j in js), "all ended"
    )
    assert [j.status for j in jobs] == ["final_ready"] * len(job_ids), (
        [(j.status, j.error_code, j.message) for j in jobs],
        stack.processes.logs(),
    )
    await assert_exactly_once(drill.checks, scene_id, job_ids)
    assert any(j.attempt >= 2 for j in jobs), "the outages should have interrupted some run"

    await asyncio.sleep(2)  # more recovery ticks: a finished job is never taken up again
    again = await jobs_of(checks, job_ids)
    assert [(j.status, j.attempt, j.result_data) for j in again] == [
        (j.status, j.attempt, j.result_data) for j in jobs
    ]
    await assert_exactly_once(drill.checks, scene_id, job_ids)


async def test_a_run_that_lost_its_connection_stops_and_the_job_ends_once(
    drill: Drill,
) -> None:
    """The run's connection cut under a job that is not touching the database (waiting for its
    render): the run cannot renew its lease, so another may take the job over; the first run
    must stop rather than finish in parallel and clean up after a job that succeeded."""
    stack, checks = drill.stack, drill.checks
    owner = await stack.factory.account()
    scene_id = (await stack.factory.scene(owner))["id"]
    paused = stack.faulty_worker("video_generation", "render_wait", **RECOVERING)
    job_id = await stack.submit(owner, scene_id, "Mara counts the gulls over the water.")
    await checks.wait_paused(job_id, paused)
    assert await outage(drill, seconds=1.5) >= 1

    job = await checks.wait_end(job_id)  # recovery runs it again (that run does not pause)
    assert job.status == "final_ready", (job.error_code, job.message, stack.processes.logs())
    assert job.attempt == 2
    stack.release(job_id)
    await asyncio.sleep(2)  # time for the first run to do harm, if it is still going
    await assert_exactly_once(drill.checks, scene_id, [job_id])
    again = await checks.job(job_id)
    assert (again.status, again.attempt, again.finished_at) == (
        "final_ready",
        2,
        job.finished_at,
    )
