"""An app and a worker that may send webhooks to loopback, with retries in fractions of a second."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from arq.worker import Worker
from sqlalchemy import delete

from domain.webhooks.models import WebhookEndpoint
from infra.settings import Settings
from tests.factories import Factory
from tests.webhooks.receiver import Receiver
from tests.worker.running import stop
from worker.main import worker_options
from worker.refill import RefillingWorker

FAST = {
    "webhook_allow_private_targets": True,
    "webhook_timeout_seconds": 1.0,
    "webhook_retry_base_seconds": 0.1,
    "webhook_retry_max_interval_seconds": 0.4,
    "webhook_retry_window_seconds": 60.0,
    "webhook_disable_after_seconds": 3600.0,
    "webhook_sweep_every_seconds": 1,
}


def hook_settings(settings: Settings, **changes: Any) -> Settings:
    return settings.model_copy(update={**FAST, **changes})


@pytest.fixture(scope="session")
async def hook_app(settings: Settings) -> AsyncIterator[Any]:
    from api.app import create_app

    application = create_app(hook_settings(settings))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
async def hook_client(hook_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=hook_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://storyloom.test") as c:
        yield c


@pytest.fixture(scope="session")
def hook_factory(hook_app: Any, hook_client: httpx.AsyncClient) -> Factory:
    return Factory(hook_app, hook_client)


async def start_worker(settings: Settings) -> tuple[Worker, asyncio.Task[None]]:
    options = worker_options(settings)
    options["poll_delay"] = 0.05
    running = RefillingWorker(**options, handle_signals=False)
    return running, asyncio.create_task(running.async_run())


@pytest.fixture(autouse=True)
async def no_endpoint_outlives_its_test(hook_app: Any) -> AsyncIterator[None]:
    """Endpoints (and their deliveries) go with their test: a receiver it stopped would leave
    retries due, and any later worker's sweep (a burst worker's too) would chase them."""
    yield
    async with hook_app.state.db.transaction() as session:
        await session.execute(delete(WebhookEndpoint))


@pytest.fixture
async def hook_worker(settings: Settings) -> AsyncIterator[Worker]:
    running, task = await start_worker(hook_settings(settings))
    try:
        yield running
    finally:
        await stop(running, task)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = Receiver()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
