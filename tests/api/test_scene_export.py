"""GET /v1/scenes/{id}/export.mp4 without a worker: statuses, the queue, hostile ids, covers."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select, update

from domain.scene_exports.models import SceneExport
from domain.scene_exports.service import BUILD_SCENE_EXPORT, retry_delay
from domain.scenes.models import Segment
from infra.settings import Settings
from tests.factories import Factory

EXPORT = "/v1/scenes/{}/export.mp4"
PROBLEM = "application/problem+json"


async def _queued_builds(app: Any, export_id: uuid.UUID) -> list[str]:
    queue = app.state.queue
    ids = await queue.zrange(app.state.settings.queue_name, 0, -1)
    return [i.decode() for i in ids if i.decode().startswith(f"scene-export:{export_id}:")]


async def _unqueue(app: Any, job_ids: list[str]) -> None:
    """No worker runs here: take the build off the shared queue so no other suite meets it."""
    queue = app.state.queue
    for job_id in job_ids:
        await queue.zrem(app.state.settings.queue_name, job_id)
        await queue.delete(f"arq:job:{job_id}")


@pytest.mark.parametrize(
    "scene_id", ["not-a-uuid", "1" * 37, "..%2F..%2Fetc%2Fpasswd", "%00", "12345678-1234"]
)
async def test_a_malformed_scene_id_is_a_422_problem(
    client: httpx.AsyncClient, scene_id: str
) -> None:
    response = await client.get(EXPORT.format(scene_id))
    assert response.status_code in (404, 422), response.text
    assert response.headers["content-type"] == PROBLEM
    if response.status_code == 422:
        assert response.json()["status"] == 422


async def test_an_unknown_or_empty_scene_is_a_404(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    unknown = await client.get(EXPORT.format(uuid.uuid4()))
    assert unknown.status_code == 404 and unknown.headers["content-type"] == PROBLEM
    scene = await factory.scene(await factory.account())
    empty = await client.get(EXPORT.format(scene["id"]))
    assert empty.status_code == 404 and "no segments" in empty.json()["detail"]


async def test_the_first_request_queues_one_build_and_later_ones_wait(
    client: httpx.AsyncClient, factory: Factory, app: Any, settings: Settings
) -> None:
    scene = await factory.scene(await factory.account())
    async with app.state.db.transaction() as session:
        session.add(Segment(scene_id=uuid.UUID(scene["id"]), sequence=1, text="Mara waits."))

    answers = [await client.get(EXPORT.format(scene["id"])) for _ in range(3)]

    for answer in answers:
        assert answer.status_code == 202, answer.text
        assert answer.headers["Retry-After"] == str(settings.scene_export_poll_seconds)
        body = answer.json()
        assert body["status"] == "building" and body["scene_id"] == scene["id"]
        assert body["retry_after"] == settings.scene_export_poll_seconds
    async with app.state.db.transaction() as session:
        (export,) = await session.scalars(
            select(SceneExport).where(SceneExport.scene_id == uuid.UUID(scene["id"]))
        )
    assert (export.status, export.attempts, export.storage_key) == ("building", 1, None)
    queued = await _queued_builds(app, export.id)
    assert queued == [f"scene-export:{export.id}:1"]
    job = await app.state.queue.get(f"arq:job:{queued[0]}")
    assert BUILD_SCENE_EXPORT.encode() in job
    await _unqueue(app, queued)


async def test_a_ready_export_is_served_and_a_changed_scene_is_not(
    client: httpx.AsyncClient, factory: Factory, app: Any
) -> None:
    scene = await factory.scene(await factory.account())
    await factory.exported_segment(scene)

    ready = await client.get(EXPORT.format(scene["id"]))

    assert ready.status_code == 200, ready.text
    assert ready.headers["content-type"] == "video/mp4"
    assert ready.content == b"mp4!"
    assert ready.headers["content-disposition"].startswith("attachment;")
    assert f"scene-{scene['id']}.mp4" in ready.headers["content-disposition"]

    # A segment added since: that export is of another state of the scene.
    async with app.state.db.transaction() as session:
        session.add(Segment(scene_id=uuid.UUID(scene["id"]), sequence=2, text="Later."))
    stale = await client.get(EXPORT.format(scene["id"]))
    assert stale.status_code == 202
    async with app.state.db.transaction() as session:
        rows = list(
            await session.scalars(
                select(SceneExport).where(SceneExport.scene_id == uuid.UUID(scene["id"]))
            )
        )
    assert sorted(r.status for r in rows) == ["building", "ready"]
    for row in rows:
        await _unqueue(app, await _queued_builds(app, row.id))


async def test_a_ready_export_whose_file_is_lost_is_built_again(
    client: httpx.AsyncClient, factory: Factory, app: Any
) -> None:
    scene = await factory.scene(await factory.account())
    key = await factory.exported_segment(scene)
    await app.state.storage.delete(key)

    answer = await client.get(EXPORT.format(scene["id"]))

    assert answer.status_code == 202, answer.text
    async with app.state.db.transaction() as session:
        (export,) = await session.scalars(
            select(SceneExport).where(SceneExport.scene_id == uuid.UUID(scene["id"]))
        )
    assert (export.status, export.attempts, export.storage_key) == ("building", 2, None)
    queued = await _queued_builds(app, export.id)
    assert queued == [f"scene-export:{export.id}:2"]
    await _unqueue(app, queued)


def test_failed_builds_back_off_doubling_up_to_an_hour(settings: Settings) -> None:
    base = settings.scene_export_retry_seconds
    assert [retry_delay(settings, n) for n in (1, 2, 3)] == [base, 2 * base, 4 * base]
    assert retry_delay(settings, 40) == 3600


def test_the_route_is_documented(app: Any) -> None:
    operation = app.openapi()["paths"]["/v1/scenes/{scene_id}/export.mp4"]["get"]
    responses = operation["responses"]
    assert "video/mp4" in responses["200"]["content"]
    assert "ExportPending" in str(responses["202"])
    assert {"307", "404", "422", "503"} <= set(responses)


async def test_covers_come_from_the_first_active_segment(
    client: httpx.AsyncClient, factory: Factory, app: Any
) -> None:
    owner = await factory.account()
    scene = await factory.scene(owner)
    assert scene["cover_url"] is None
    scene_id = uuid.UUID(scene["id"])
    segments = [
        Segment(
            scene_id=scene_id,
            sequence=sequence,
            text="Shot.",
            thumbnail_key=f"scenes/{scene_id}/segments/{sequence}/thumbnail.jpg",
        )
        for sequence in (1, 2)
    ]
    async with app.state.db.transaction() as session:
        session.add_all(segments)
    base = app.state.settings.public_base_url
    detail = (await client.get(f"/v1/scenes/{scene_id}")).json()
    assert detail["cover_url"] == f"{base}/v1/segments/{segments[0].id}/thumbnail.jpg"

    # The first one hidden: the next active segment's thumbnail is the cover.
    async with app.state.db.transaction() as session:
        await session.execute(
            update(Segment)
            .where(Segment.scene_id == scene_id, Segment.sequence == 1)
            .values(status="hidden")
        )
    listed = (await client.get(f"/v1/users/{owner.username}/scenes")).json()["items"]
    assert listed[0]["cover_url"] == f"{base}/v1/segments/{segments[1].id}/thumbnail.jpg"


async def test_a_page_of_scenes_reads_its_covers_in_one_statement(
    client: httpx.AsyncClient, factory: Factory, app: Any
) -> None:
    owner = await factory.account()
    for _ in range(2):
        scene = await factory.scene(owner)
        async with app.state.db.transaction() as session:
            session.add(
                Segment(
                    scene_id=uuid.UUID(scene["id"]),
                    sequence=1,
                    text="Shot.",
                    thumbnail_key=f"scenes/{scene['id']}/segments/x/thumbnail.jpg",
                )
            )
    sent: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    engine = app.state.db.primary.sync_engine
    statements = []
    for limit in (1, 2):
        sent.clear()
        event.listen(engine, "before_cursor_execute", record)
        try:
            page = await client.get(f"/v1/users/{owner.username}/scenes", params={"limit": limit})
        finally:
            event.remove(engine, "before_cursor_execute", record)
        assert all(item["cover_url"] for item in page.json()["items"])
        assert len(page.json()["items"]) == limit
        assert sum("cover_key" in s for s in sent) == 1, sent
        statements.append(len(sent))
    assert statements[0] == statements[1], "more scenes on the page, more statements"
