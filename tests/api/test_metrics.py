"""GET /metrics: who may scrape, HTTP figures by route template, and the scrape-time figures."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import redis.asyncio as aioredis
from arq.worker import Worker
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from api.app import create_app
from domain.users.models import Role
from infra.settings import Settings
from tests.factories import Account, Factory
from tests.worker.processes import free_port
from worker.main import worker_options

TEXT = 'Mara Hart walks down to The Old Docks. "Who rang the bell?" Mara asks the fog.'
METRICS_TOKEN = "scraper-" + "s3cret" * 4
Samples = list[tuple[str, dict[str, str], float]]


def samples(exposition: str) -> Samples:
    return [
        (s.name, dict(s.labels), s.value)
        for family in text_string_to_metric_families(exposition)
        for s in family.samples
    ]


def value(found: Samples, name: str, **labels: str) -> float | None:
    for sample_name, sample_labels, sample_value in found:
        if sample_name == name and all(sample_labels.get(k) == v for k, v in labels.items()):
            return sample_value
    return None


@asynccontextmanager
async def private_app(settings: Settings, **changes: Any) -> AsyncIterator[Any]:
    """A second app (and client) of the same database, with some settings changed."""
    app = create_app(settings.model_copy(update=changes))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://metrics.test") as c:
            app.state.test_client = c
            yield app


async def scrape(client: httpx.AsyncClient, headers: dict[str, str]) -> Samples:
    response = await client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


async def test_only_operators_may_scrape(client: httpx.AsyncClient, factory: Factory) -> None:
    assert (await client.get("/metrics")).status_code == 401
    junk = {"Authorization": "Bearer not-a-token"}
    assert (await client.get("/metrics", headers=junk)).status_code == 401
    for role in (Role.USER, Role.MODERATOR):
        account = await factory.account(role)
        response = await client.get("/metrics", headers=account.headers)
        assert response.status_code == 403
        assert response.headers["content-type"].startswith("application/problem+json")
    admin = await factory.account(Role.ADMIN)
    assert (await client.get("/metrics", headers=admin.headers)).status_code == 200
    # Without METRICS_TOKEN configured, no bearer string other than an admin's JWT works.
    token = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    assert (await client.get("/metrics", headers=token)).status_code == 401


async def test_the_metrics_token_lets_a_scraper_in(settings: Settings, factory: Factory) -> None:
    async with private_app(settings, metrics_token=SecretStr(METRICS_TOKEN)) as app:
        c: httpx.AsyncClient = app.state.test_client
        await scrape(c, {"Authorization": f"Bearer {METRICS_TOKEN}"})
        wrong = {"Authorization": f"Bearer {METRICS_TOKEN}x"}
        assert (await c.get("/metrics", headers=wrong)).status_code == 401
        user = await factory.account()
        assert (await c.get("/metrics", headers=user.headers)).status_code == 403
        admin = await factory.account(Role.ADMIN)
        await scrape(c, admin.headers)


async def test_requests_are_counted_by_route_template(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.account()
    admin = await factory.account(Role.ADMIN)
    scene = await factory.scene(owner)
    job = await factory.job(owner, scene)
    before = await scrape(client, admin.headers)
    route = {"method": "GET", "route": "/v1/jobs/{job_id}"}
    ok_before = value(
        before, "storyloom_http_request_duration_seconds_count", **route, status="2xx"
    )
    missing_before = value(
        before, "storyloom_http_request_duration_seconds_count", **route, status="4xx"
    )

    for _ in range(3):
        assert (await client.get(f"/v1/jobs/{job['id']}", headers=owner.headers)).status_code == 200
    strangers = [uuid.uuid4() for _ in range(4)]
    for job_id in strangers:
        response = await client.get(f"/v1/jobs/{job_id}", headers=owner.headers)
        assert response.status_code == 404
    assert (await client.get(f"/no/such/path/{uuid.uuid4()}")).status_code == 404
    for made_up in ("BREW", "WHEN"):
        assert (await client.request(made_up, f"/v1/jobs/{job['id']}")).status_code == 405

    after = await scrape(client, admin.headers)
    name = "storyloom_http_request_duration_seconds_count"
    assert value(after, name, **route, status="2xx") == (ok_before or 0) + 3
    assert value(after, name, **route, status="4xx") == (missing_before or 0) + 4
    assert (value(after, name, method="GET", route="unmatched", status="4xx") or 0) >= 1
    assert value(after, "storyloom_http_request_duration_seconds_bucket", **route, le="+Inf")
    assert (value(after, name, method="other", route=route["route"], status="4xx") or 0) >= 2
    assert not {"BREW", "WHEN"} & {labels.get("method") for _, labels, _ in after}
    # The raw path never becomes a label: no id of any request shows up in the exposition.
    labels = {v for _, sample_labels, _ in after for v in sample_labels.values()}
    assert not {job["id"], *map(str, strangers)} & {part for v in labels for part in v.split("/")}
    assert value(after, "process_resident_memory_bytes") is not None


async def test_openmetrics_when_the_scraper_asks(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.account(Role.ADMIN)
    headers = {**admin.headers, "Accept": "application/openmetrics-text; version=1.0.0"}
    response = await client.get("/metrics", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.rstrip().endswith("# EOF")


async def _until_final(client: httpx.AsyncClient, owner: Account, job_id: str) -> dict:
    for _ in range(1200):
        job = (await client.get(f"/v1/jobs/{job_id}", headers=owner.headers)).json()
        if job["status"] in {"final_ready", "failed", "cancelled"}:
            return job
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish: {job}")


async def test_a_scrape_reports_jobs_stages_queue_and_partitions(
    settings: Settings, client: httpx.AsyncClient, factory: Factory
) -> None:
    # A queue of its own, and a worker without crons, so only this test's job is rendered.
    private = {"queue_name": f"{settings.queue_name}:metrics:{uuid.uuid4().hex[:6]}"}
    async with private_app(settings, **private) as app:
        c: httpx.AsyncClient = app.state.test_client
        pipeline = Factory(app, c)
        owner = await pipeline.account()
        admin = await pipeline.account(Role.ADMIN)
        options = worker_options(app.state.settings)
        options.update(cron_jobs=[], poll_delay=0.05)
        worker = Worker(**options, handle_signals=False)  # type: ignore[arg-type]
        task = asyncio.create_task(worker.async_run())
        try:
            done = await pipeline.job(owner, await pipeline.scene(owner), TEXT)
            job = await _until_final(c, owner, done["id"])
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await worker.close()
        assert job["status"] == "final_ready", job
        # Queued and never run: the worker is gone, so it stays in the queue and unfinished.
        await pipeline.job(owner, await pipeline.scene(owner), TEXT)
        found = await scrape(c, admin.headers)

    def at_least(expected: float, name: str, **labels: str) -> None:
        got = value(found, name, **labels)
        assert got is not None and got >= expected, (name, labels, got)

    at_least(1, "storyloom_jobs_finished_24h", status="final_ready", stage="completed")
    at_least(1, "storyloom_jobs_unfinished", status="queued", stage="pending")
    at_least(0, "storyloom_jobs_unfinished_oldest_update_age_seconds")
    for stage in ("script_expansion", "continuity_validation", "video_generation", "upload"):
        at_least(1, "storyloom_job_stage_runs_24h", stage=stage)
        at_least(0, "storyloom_job_stage_duration_seconds", stage=stage, quantile="0.5")
    at_least(
        0.01, "storyloom_job_stage_duration_seconds", stage="video_generation", quantile="0.99"
    )
    at_least(0.01, "storyloom_job_end_to_end_seconds", quantile="0.5")
    at_least(1, "storyloom_queue_depth")
    at_least(1, "storyloom_queue_ready")
    at_least(settings.partition_months_ahead, "storyloom_partition_months_ahead", table="jobs")
    at_least(settings.partition_months_ahead, "storyloom_partition_months_ahead", table="segments")
    at_least(1e9, "storyloom_partition_horizon_timestamp_seconds", table="jobs")
    assert value(found, "storyloom_partition_default_has_rows", table="jobs") == 0
    assert value(found, "storyloom_scrape_source_up", source="database") == 1
    assert value(found, "storyloom_scrape_source_up", source="redis") == 1


async def test_a_source_that_does_not_answer_is_reported_not_fatal(
    settings: Settings, factory: Factory
) -> None:
    async with private_app(settings) as app:
        admin = await factory.account(Role.ADMIN)
        working = app.state.queue
        # A real client of a port where nothing listens: Redis is "down" for this app.
        app.state.queue = aioredis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")
        try:
            found = await scrape(app.state.test_client, admin.headers)
        finally:
            await app.state.queue.aclose()
            app.state.queue = working
    assert value(found, "storyloom_scrape_source_up", source="redis") == 0
    assert value(found, "storyloom_scrape_source_up", source="database") == 1
    assert value(found, "storyloom_queue_depth") is None
    assert value(found, "storyloom_partition_months_ahead", table="jobs") is not None
