"""X-Request-ID follows a continuation from the API into a real worker process's JSON logs."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from infra.settings import Settings
from tests.factories import Account
from tests.scratch import private_database
from tests.worker.fault_stack import Stack, open_stack
from tests.worker.processes import Child

TEXT = 'Mara Hart walks down to The Old Docks. "Who rang the bell?" Mara asks the fog.'


@pytest.fixture
async def stack(settings: Settings, tmp_path: Path) -> AsyncIterator[Stack]:
    # A private database: the worker's recovery cron must not pick up other modules' jobs.
    async with private_database("request_id") as url, open_stack(settings, url, tmp_path) as s:
        yield s


async def submit(stack: Stack, owner: Account, scene_id: str, request_id: str) -> str:
    response = await stack.client.post(
        f"/v1/scenes/{scene_id}/continuations",
        json={"text": TEXT},
        headers={
            **owner.headers,
            "Idempotency-Key": uuid.uuid4().hex,
            "X-Request-ID": request_id,
        },
    )
    assert response.status_code == 202, response.text
    assert response.headers["x-request-id"] == request_id
    return str(response.json()["id"])


def json_lines(worker: Child) -> list[dict[str, Any]]:
    lines = []
    for raw in worker.log_path.read_text(errors="replace").splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            continue  # arq's own lines come through the standard logging module, not JSON
        if isinstance(line, dict):
            lines.append(line)
    return lines


async def lines_of(worker: Child, job_id: str, until: str) -> list[dict[str, Any]]:
    """The worker's JSON lines about `job_id`, once the `until` event was written."""
    for _ in range(200):
        found = [line for line in json_lines(worker) if line.get("job_id") == job_id]
        if any(line.get("event") == until for line in found):
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {until} line for {job_id}:\n{worker.log_tail()}")


async def test_the_request_id_is_on_every_worker_line_of_its_job(stack: Stack) -> None:
    owner = await stack.factory.account()
    first, second = (f"trace-{uuid.uuid4().hex[:12]}" for _ in range(2))
    # Two jobs that run side by side in one worker: each keeps its own request id.
    jobs = {
        await submit(stack, owner, (await stack.factory.scene(owner))["id"], rid): rid
        for rid in (first, second)
    }
    worker = stack.worker(log_json=True, worker_max_jobs=4)

    for job_id, request_id in jobs.items():
        job = await stack.wait_end(job_id, seconds=120)
        assert job.status == "final_ready", job.error_message
        assert job.request_id == request_id
        lines = await lines_of(worker, job_id, until="job_run_finished")
        events = [line["event"] for line in lines]
        assert {"job_run_started", "job_final_ready", "job_run_finished"} <= set(events), events
        assert {line.get("request_id") for line in lines} == {request_id}, lines
        finished = next(line for line in lines if line["event"] == "job_run_finished")
        assert finished["outcome"] == "final_ready" and finished["seconds"] > 0
    # Nothing of one job's request leaks onto lines about nothing in particular.
    loose = [line for line in json_lines(worker) if "job_id" not in line]
    assert not {line.get("request_id") for line in loose} & {first, second}
