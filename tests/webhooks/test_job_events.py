"""Job events from the real pipeline: ready, failed and cancelled jobs reach inboxes, webhooks."""

from __future__ import annotations

import httpx
import pytest

from tests.factories import Factory, minimal_bible
from tests.webhooks.receiver import Receiver
from tests.webhooks.test_delivery import register, until
from tests.worker.test_pipeline_e2e import CONTINUATION, submit, wait_for_end


@pytest.mark.usefixtures("hook_worker")
async def test_a_finished_continuation_tells_its_author_and_the_scenes_owner(
    hook_client: httpx.AsyncClient, hook_factory: Factory, receiver: Receiver
) -> None:
    owner, writer = await hook_factory.account(), await hook_factory.account()
    scene = await hook_factory.scene(owner)
    _, writer_path = await register(hook_client, receiver, writer, ["job.final_ready"])
    _, owner_path = await register(hook_client, receiver, owner, ["scene.continued"])
    job, _ = await wait_for_end(
        hook_client, writer, (await submit(hook_client, writer, scene["id"], CONTINUATION))["id"]
    )
    assert job["status"] == "final_ready", job
    segment_id = job["result_data"]["segment_id"]
    await until(
        lambda: (
            len(receiver.accepted_order.get(writer_path, [])) == 1
            and len(receiver.accepted_order.get(owner_path, [])) == 1
        ),
        what="both webhooks",
    )
    ready = receiver.accepted[receiver.accepted_order[writer_path][0]].body
    assert ready["type"] == "job.final_ready"
    assert ready["data"]["job_id"] == job["id"] and ready["data"]["segment_id"] == segment_id
    continued = receiver.accepted[receiver.accepted_order[owner_path][0]].body
    assert continued["type"] == "scene.continued"
    assert continued["data"]["by_user_id"] == writer.id
    assert continued["data"]["scene_id"] == scene["id"] and continued["data"]["sequence"] == 1
    writer_inbox = (await hook_client.get("/v1/notifications", headers=writer.headers)).json()
    assert [n["type"] for n in writer_inbox["items"]] == ["job.final_ready"]
    owner_inbox = (await hook_client.get("/v1/notifications", headers=owner.headers)).json()
    assert [n["type"] for n in owner_inbox["items"]] == ["scene.continued"]
    assert receiver.bad_signatures == 0


@pytest.mark.usefixtures("hook_worker")
async def test_a_failed_continuation_tells_its_author(
    hook_client: httpx.AsyncClient, hook_factory: Factory, receiver: Receiver
) -> None:
    owner = await hook_factory.account()
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
    scene = await hook_factory.scene(owner, bible=bible)
    _, path = await register(hook_client, receiver, owner, ["job.failed", "scene.continued"])
    text = 'Old Tom climbs out of the water. "I never left," Old Tom says.'
    job, _ = await wait_for_end(
        hook_client, owner, (await submit(hook_client, owner, scene["id"], text))["id"]
    )
    assert job["status"] == "failed", job
    await until(lambda: len(receiver.accepted_order.get(path, [])) == 1, what="job.failed")
    failed = receiver.accepted[receiver.accepted_order[path][0]].body
    assert failed["type"] == "job.failed"
    assert failed["data"]["error_code"] == "continuity_violation"
    items = (await hook_client.get("/v1/notifications", headers=owner.headers)).json()["items"]
    assert [n["type"] for n in items] == ["job.failed"]


@pytest.mark.usefixtures("hook_worker")
async def test_a_cancelled_job_reaches_webhooks_but_not_the_inbox(
    hook_client: httpx.AsyncClient, hook_factory: Factory, receiver: Receiver
) -> None:
    owner = await hook_factory.account()
    scene = await hook_factory.scene(owner)
    _, path = await register(hook_client, receiver, owner, ["job.cancelled"])
    job = await hook_factory.job(owner, scene)
    response = await hook_client.post(f"/v1/jobs/{job['id']}/cancel", headers=owner.headers)
    assert response.status_code == 200, response.text
    await until(lambda: len(receiver.accepted_order.get(path, [])) == 1, what="job.cancelled")
    body = receiver.accepted[receiver.accepted_order[path][0]].body
    assert body["type"] == "job.cancelled" and body["data"]["job_id"] == job["id"]
    items = (await hook_client.get("/v1/notifications", headers=owner.headers)).json()["items"]
    assert items == []
