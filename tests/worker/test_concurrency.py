"""Twenty contributors continue one scene at once: every continuation lands, none is lost.

All jobs are written against bible version 1 before the worker finishes any, so all but the
first are rebased at finalization; the scene row lock must hand out sequences 1..20.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from infra.settings import Settings
from tests.factories import minimal_bible
from tests.scratch import private_database
from tests.worker.fault_stack import Stack, open_stack

CONTRIBUTORS = 20
WORDS = [
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
    "eighteen", "nineteen", "twenty",
]  # fmt: skip


@pytest.fixture(scope="module")
async def concurrency_database() -> AsyncIterator[str]:
    async with private_database("concurrency") as url:
        yield url


@pytest.fixture
async def stack(
    settings: Settings, concurrency_database: str, tmp_path: Path
) -> AsyncIterator[Stack]:
    async with open_stack(settings, concurrency_database, tmp_path) as opened:
        yield opened


async def test_twenty_concurrent_continuations_get_sequences_one_to_twenty(stack: Stack) -> None:
    owner = await stack.factory.account()
    scene_id = (await stack.factory.scene(owner))["id"]
    contributors = [await stack.factory.account() for _ in range(CONTRIBUTORS)]
    texts = [f"Mara counts {word} gulls over the water." for word in WORDS]
    job_ids = await asyncio.gather(
        *(stack.submit(c, scene_id, text) for c, text in zip(contributors, texts, strict=True))
    )
    stack.worker(worker_max_jobs=4)

    jobs = [await stack.wait_end(job_id, seconds=150) for job_id in job_ids]
    failed = [(j.status, j.error_code, j.message) for j in jobs if j.status != "final_ready"]
    assert not failed, (failed, stack.processes.logs())
    assert {j.bible_version for j in jobs} == {1}, "every job should start from version 1"
    assert sorted(int((j.result_data or {})["sequence"]) for j in jobs) == list(
        range(1, CONTRIBUTORS + 1)
    )

    claims = await stack.sequences(scene_id)
    assert [c.sequence for c in claims] == list(range(1, CONTRIBUTORS + 1))
    assert sorted(str(c.job_id) for c in claims) == sorted(job_ids)
    segments = await stack.segments(scene_id)
    assert [s.sequence for s in segments] == list(range(1, CONTRIBUTORS + 1))
    assert {s.id for s in segments} == {j.segment_id for j in jobs}
    assert len({s.user_id for s in segments}) == CONTRIBUTORS

    scene = await stack.scene(scene_id)
    assert scene.segment_count == CONTRIBUTORS
    assert scene.bible_version == CONTRIBUTORS + 1
    assert scene.contributor_count == CONTRIBUTORS
    assert float(scene.total_duration) == pytest.approx(sum(float(s.duration) for s in segments))
    assert await stack.bible_versions(scene_id) == list(range(1, CONTRIBUTORS + 2))

    bible = (await stack.client.get(f"/v1/scenes/{scene_id}/bible")).json()
    assert bible["version"] == CONTRIBUTORS + 1
    events = bible["data"]["timeline"]["majorEvents"]
    assert sorted(e["segmentNumber"] for e in events) == list(range(1, CONTRIBUTORS + 1))
    detail = (await stack.client.get(f"/v1/scenes/{scene_id}")).json()
    assert (detail["segment_count"], detail["contributor_count"]) == (CONTRIBUTORS, CONTRIBUTORS)


async def test_a_bible_edited_while_the_job_runs_is_rebased_not_overwritten(stack: Stack) -> None:
    owner = await stack.factory.account()
    scene_id = (await stack.factory.scene(owner))["id"]
    worker = stack.faulty_worker("finalization")
    job_id = await stack.submit(owner, scene_id, "Mara climbs the bell tower as the tide turns.")
    await stack.wait_paused(job_id, worker)
    edit = minimal_bible()
    edit["timeline"]["currentPoint"] = "The owner's own note"
    edit["setting"]["locations"].append({"name": "The Lighthouse", "description": "Dark."})
    put = await stack.client.put(
        f"/v1/scenes/{scene_id}/bible",
        json={"data": edit},
        headers={**owner.headers, "If-Match": '"1"'},
    )
    assert put.status_code == 200, put.text
    stack.release(job_id)

    job = await stack.wait_end(job_id)
    assert job.status == "final_ready", (job.error_code, job.result_data, stack.processes.logs())
    bible = (await stack.client.get(f"/v1/scenes/{scene_id}/bible")).json()
    assert bible["version"] == 3
    delta = job.stage_outputs["script_expansion"]["script"]["bible_delta"]
    assert bible["data"]["timeline"]["currentPoint"] == delta["current_point"]
    assert "The Lighthouse" in {loc["name"] for loc in bible["data"]["setting"]["locations"]}
    assert [e["segmentNumber"] for e in bible["data"]["timeline"]["majorEvents"]] == [1]
