"""The hot reads that mix a session with driver reads hold one pooled connection at a time:
on a pool of one connection (and no overflow) they still answer at once. A route that held
its session's connection while waiting for another would wait out the pool's timeout, and
under load every connection would be held by a request waiting for one more."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from infra.settings import Settings
from tests.api.test_scenes import add_segment
from tests.factories import Factory


@pytest.fixture
async def one_connection(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    from api.app import create_app

    app: Any = create_app(settings.model_copy(update={"db_pool_size": 1, "db_max_overflow": 0}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://storyloom.test") as c:
            yield c


async def test_the_segments_page_answers_on_a_pool_of_one_connection(
    factory: Factory, one_connection: httpx.AsyncClient
) -> None:
    owner = await factory.account()
    scene = await factory.scene(owner, await factory.idea(owner, await factory.topic()))
    await add_segment(factory.app, scene["id"], 1)

    for path in (f"/v1/scenes/{scene['id']}/segments", f"/v1/scenes/{scene['id']}", "/v1/ideas"):
        response = await asyncio.wait_for(one_connection.get(path), timeout=10)
        assert response.status_code == 200, (path, response.text)
    items = (await one_connection.get(f"/v1/scenes/{scene['id']}/segments")).json()["items"]
    assert [s["sequence"] for s in items] == [1]
