"""Admin operations: system events, dead letters, the daily provider budget, table stats."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import insert, select

from domain.jobs.models import Job
from domain.operations.events import record_system_event
from domain.operations.models import ProviderCall, SystemEvent
from domain.users.models import Role
from tests.api.operations_support import failed_job
from tests.factories import Factory


@pytest.fixture
async def admin(factory: Factory) -> Any:
    return await factory.account(Role.ADMIN)


async def test_events_filter_by_kind_and_time_and_page_by_cursor(
    client: httpx.AsyncClient, app: Any, admin: Any
) -> None:
    kind = f"test.k{uuid.uuid4().hex[:8]}"
    for n in range(5):
        assert await record_system_event(app.state.db, kind, {"n": n})
    await record_system_event(app.state.db, f"{kind}x", {"n": 99})  # another kind

    seen: list[int] = []
    cursor = None
    while True:
        params = {"kind": kind, "limit": "2", **({"cursor": cursor} if cursor else {})}
        response = await client.get("/v1/admin/events", params=params, headers=admin.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        seen += [e["data"]["n"] for e in body["items"]]
        assert all(e["kind"] == kind for e in body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [4, 3, 2, 1, 0]  # newest first, each once

    prefix = await client.get("/v1/admin/events", params={"kind": "test."}, headers=admin.headers)
    assert {e["data"]["n"] for e in prefix.json()["items"]} >= {99, 4}

    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    later = await client.get(
        "/v1/admin/events", params={"kind": kind, "since": future}, headers=admin.headers
    )
    assert later.json()["items"] == []
    earlier = await client.get(
        "/v1/admin/events", params={"kind": kind, "until": future}, headers=admin.headers
    )
    assert len(earlier.json()["items"]) == 5


@pytest.mark.parametrize(
    "params",
    [
        {"kind": "DROP TABLE"},
        {"kind": "job.%"},
        {"kind": "x" * 65},
        {"since": "yesterday"},
        {"since": "2026-01-01T00:00:00"},  # no offset
        {"limit": "0"},
        {"limit": "101"},
        {"cursor": "not-a-cursor"},
        {"cursor": "W1sicyIsIngiXV0"},  # a cursor of the wrong width
    ],
)
async def test_hostile_event_queries_are_problems(
    client: httpx.AsyncClient, admin: Any, params: dict[str, str]
) -> None:
    response = await client.get("/v1/admin/events", params=params, headers=admin.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "params",
    [{"cursor": "%%%"}, {"cursor": "W1sicyIsIngiXV0"}, {"limit": "-1"}, {"discarded": "maybe"}],
)
async def test_hostile_failed_job_queries_are_problems(
    client: httpx.AsyncClient, admin: Any, params: dict[str, str]
) -> None:
    response = await client.get("/v1/admin/failed-jobs", params=params, headers=admin.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_failed_jobs_list_requeue_once_and_discard(
    client: httpx.AsyncClient, app: Any, factory: Factory, admin: Any
) -> None:
    owner = await factory.account()
    scene = await factory.scene(owner)
    outputs = {"script_expansion": {"script": {}}, "continuity_validation": {"violations": 0}}
    job = await failed_job(factory, owner, scene, stage_outputs=outputs)
    other = await failed_job(factory, owner, scene)

    listed = await client.get("/v1/admin/failed-jobs", headers=admin.headers)
    assert listed.status_code == 200
    entries = {e["id"]: e for e in listed.json()["items"]}
    assert entries[job["id"]]["stage"] == "video_generation"  # the first stage not finished
    assert entries[job["id"]]["error_code"] == "provider_unavailable"
    assert entries[job["id"]]["attempts"] == 4
    assert entries[job["id"]]["reason"] == "The provider was out of reach."
    assert entries[other["id"]]["stage"] == "script_expansion"

    first = await client.post(f"/v1/admin/jobs/{job['id']}/requeue", headers=admin.headers)
    assert first.status_code == 202, first.text
    again = await client.post(f"/v1/admin/jobs/{job['id']}/requeue", headers=admin.headers)
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"

    async with app.state.db.transaction() as session:
        row = await session.scalar(select(Job).where(Job.id == uuid.UUID(job["id"])))
        assert row is not None
        # Resumes after the last finished stage, with the finished stages' outputs kept.
        assert (row.status, row.stage) == ("continuity_checked", "video_generation")
        assert set(row.stage_outputs) == set(outputs)
        assert (row.error_code, row.retry_count, row.finished_at) == (None, 0, None)
        events = (
            await session.scalars(
                select(SystemEvent).where(SystemEvent.job_id == uuid.UUID(job["id"]))
            )
        ).all()
    assert [e.kind for e in events] == ["job.requeued"]
    assert events[0].data["failed_stage"] == "video_generation"
    # The queue entry exists once, named for the failure it resumes.
    assert await app.state.queue.exists(f"arq:job:continuation:{job['id']}:rq4")
    listed = await client.get("/v1/admin/failed-jobs", headers=admin.headers)
    assert job["id"] not in {e["id"] for e in listed.json()["items"]}
    cancel = await client.post(f"/v1/jobs/{job['id']}/cancel", headers=owner.headers)
    assert cancel.status_code == 200

    discarded = await client.post(f"/v1/admin/jobs/{other['id']}/discard", headers=admin.headers)
    assert discarded.status_code == 200
    assert discarded.json()["discarded_at"] is not None
    twice = await client.post(f"/v1/admin/jobs/{other['id']}/discard", headers=admin.headers)
    assert twice.json()["discarded_at"] == discarded.json()["discarded_at"]
    requeue = await client.post(f"/v1/admin/jobs/{other['id']}/requeue", headers=admin.headers)
    assert requeue.status_code == 409
    listed = await client.get("/v1/admin/failed-jobs", headers=admin.headers)
    assert other["id"] not in {e["id"] for e in listed.json()["items"]}
    gone = await client.get(
        "/v1/admin/failed-jobs", params={"discarded": "true"}, headers=admin.headers
    )
    assert other["id"] in {e["id"] for e in gone.json()["items"]}
    async with app.state.db.transaction() as session:
        closed = (
            await session.scalars(
                select(SystemEvent).where(SystemEvent.job_id == uuid.UUID(other["id"]))
            )
        ).all()
    # One event, though discarded twice: who closed it and the failure it closed.
    assert [(e.kind, e.data) for e in closed] == [
        ("job.discarded", {"by": admin.id, "error_code": entries[other["id"]]["error_code"]})
    ]


async def test_requeue_and_discard_refuse_what_is_not_a_dead_letter(
    client: httpx.AsyncClient, factory: Factory, admin: Any
) -> None:
    owner = await factory.account()
    scene = await factory.scene(owner)
    live = await factory.job(owner, scene)
    for action in ("requeue", "discard"):
        response = await client.post(f"/v1/admin/jobs/{live['id']}/{action}", headers=admin.headers)
        assert response.status_code == 409, response.text
        missing = await client.post(
            f"/v1/admin/jobs/{uuid.uuid4()}/{action}", headers=admin.headers
        )
        assert missing.status_code == 404
        bad = await client.post(f"/v1/admin/jobs/not-a-uuid/{action}", headers=admin.headers)
        assert bad.status_code == 422
    await client.post(f"/v1/jobs/{live['id']}/cancel", headers=owner.headers)


async def test_a_spent_daily_budget_refuses_continuations_until_midnight(
    client: httpx.AsyncClient, app: Any, factory: Factory
) -> None:
    owner = await factory.account()
    scene = await factory.scene(owner)
    budget = app.state.settings.provider_daily_budget_units
    async with app.state.db.transaction() as session:
        await session.execute(
            insert(ProviderCall).values(
                user_id=uuid.UUID(owner.id),
                provider="local",
                kind="video",
                operation="render",
                outcome="ok",
                duration_ms=10,
                cost_units=budget - 1,
            )
        )
    job = await factory.job(owner, scene)  # one unit left: still accepted
    await client.post(f"/v1/jobs/{job['id']}/cancel", headers=owner.headers)
    async with app.state.db.transaction() as session:
        await session.execute(
            insert(ProviderCall).values(
                user_id=uuid.UUID(owner.id),
                provider="local",
                kind="llm",
                operation="expand",
                outcome="ok",
                duration_ms=10,
                cost_units=1,
            )
        )

    headers = {**owner.headers, "Idempotency-Key": uuid.uuid4().hex}
    refused = await client.post(
        f"/v1/scenes/{scene['id']}/continuations", json={"text": "Again."}, headers=headers
    )

    assert refused.status_code == 429, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert "budget" in refused.json()["detail"]
    now = datetime.now(UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    retry_after = int(refused.headers["Retry-After"])
    assert abs(retry_after - (midnight - now).total_seconds()) <= 5
    async with app.state.db.transaction() as session:
        jobs = await session.scalars(select(Job.id).where(Job.user_id == uuid.UUID(owner.id)))
        assert len(jobs.all()) == 1  # nothing written for the refused one
    # Another user is not affected.
    other = await factory.account()
    await client.post(
        f"/v1/jobs/{(await factory.job(other, scene))['id']}/cancel", headers=other.headers
    )


async def test_stats_cover_tables_partitions_indexes_and_the_queue(
    client: httpx.AsyncClient, app: Any, admin: Any
) -> None:
    settings = app.state.settings
    due = "arq:job:ops-stats-probe"
    await app.state.queue.zadd(
        settings.queue_name, {due: (datetime.now(UTC).timestamp() - 30) * 1000}
    )
    try:
        response = await client.get("/v1/admin/stats", headers=admin.headers)
    finally:
        await app.state.queue.zrem(settings.queue_name, due)

    assert response.status_code == 200, response.text
    body = response.json()
    tables = {t["name"]: t for t in body["tables"]}
    assert {"users", "jobs", "segments", "system_events", "provider_calls"} <= set(tables)
    assert tables["jobs"]["partitioned"] is True
    partitions = [t for t in body["tables"] if t["parent"] == "jobs"]
    assert partitions, "the jobs partitions are listed with their parent"
    assert tables["jobs"]["table_bytes"] == sum(p["table_bytes"] for p in partitions)
    assert tables["users"]["table_bytes"] > 0
    users_indexes = {i["name"]: i for i in tables["users"]["indexes"]}
    assert users_indexes["pk_users"]["unused"] is False  # enforces a constraint
    for name in body["unused_indexes"]:
        table, index = name.split(".", 1)
        assert next(i for i in tables[table]["indexes"] if i["name"] == index)["unused"]
    queue = body["queue"]
    assert queue["name"] == settings.queue_name
    assert queue["depth"] >= 1 and queue["ready"] >= 1
    assert queue["oldest_ready_age_seconds"] >= 29


async def test_metrics_export_the_table_figures(client: httpx.AsyncClient, admin: Any) -> None:
    response = await client.get("/metrics", headers=admin.headers)
    assert response.status_code == 200
    text = response.text
    assert 'storyloom_table_rows{table="users"}' in text
    assert 'storyloom_table_size_bytes{table="jobs"}' in text
    assert 'storyloom_index_unused{index="pk_users",table="users"} 0.0' in text
    assert "storyloom_queue_oldest_ready_age_seconds" in text
    assert 'storyloom_scrape_source_up{source="database"} 1.0' in text


async def test_remote_moderation_during_a_request_is_in_the_ledger(
    settings: Any, factory: Factory, tmp_path: Any
) -> None:
    from api.app import create_app
    from tests.infra.fake_openai import FakeOpenAI, make_sample_media, serve

    started = datetime.now(UTC)
    owner = await factory.account()
    topic = await factory.topic()
    with serve(FakeOpenAI(*make_sample_media(tmp_path))) as fake:
        remote = settings.model_copy(
            update={"openai_api_key": SecretStr("sk-test"), "openai_base_url": fake.url}
        )
        app = create_app(remote)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                body = {"topic_id": topic["id"], "title": "A bell", "prompt": "Who rang it?"}
                response = await client.post("/v1/ideas", json=body, headers=owner.headers)
            assert response.status_code == 201, response.text
            async with app.state.db.transaction() as session:
                calls = (
                    await session.scalars(
                        select(ProviderCall).where(
                            ProviderCall.created_at >= started, ProviderCall.kind == "moderation"
                        )
                    )
                ).all()
        assert calls and len(calls) == len(fake.calls("POST", "/v1/moderations"))
    assert {(c.provider, c.outcome, c.job_id) for c in calls} == {("openai", "ok", None)}


async def test_two_requeues_at_once_resume_the_job_once(
    client: httpx.AsyncClient, app: Any, factory: Factory, admin: Any
) -> None:
    owner = await factory.account()
    job = await failed_job(factory, owner, await factory.scene(owner))
    path = f"/v1/admin/jobs/{job['id']}/requeue"

    responses = await asyncio.gather(*(client.post(path, headers=admin.headers) for _ in range(4)))

    assert sorted(r.status_code for r in responses) == [202, 409, 409, 409]
    async with app.state.db.transaction() as session:
        events = await session.scalars(
            select(SystemEvent).where(SystemEvent.job_id == uuid.UUID(job["id"]))
        )
        assert [e.kind for e in events.all()] == ["job.requeued"]
    await client.post(f"/v1/jobs/{job['id']}/cancel", headers=owner.headers)
