"""Every route, called by every kind of caller, answers with the status the table expects.

The table is tests/api/authz_table.py. The routes come from the app's OpenAPI document (the
reliable list: FastAPI wraps included routers), so a new route without a row fails here.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from domain.scenes.models import Scene, SceneStatus
from domain.users.models import Role
from tests.api.authz_table import ROLES, ROWS, Row, World, create_flag
from tests.api.test_scenes import add_segment
from tests.factories import Factory
from tests.media_rows import attach_media

NOT_ROUTES = ("/docs", "/openapi.json", "/redoc", "/media/")
METHODS = {"get", "put", "post", "patch", "delete", "head", "options"}


def template_key(method: str, path: str) -> tuple[str, str]:
    """Parameter names do not matter: `/v1/x/{flag_id}` and `/v1/x/{id}` are one route."""
    return method.upper(), re.sub(r"\{[^}]*\}", "{}", path)


def served_routes(app: Any) -> dict[tuple[str, str], tuple[str, dict[str, Any]]]:
    """Every (method, path template) the app documents, with its OpenAPI operation."""
    routes = {}
    for path, operations in app.openapi()["paths"].items():
        if path.startswith(NOT_ROUTES):
            continue
        for method, operation in operations.items():
            if method in METHODS:
                routes[template_key(method, path)] = (f"{method.upper()} {path}", operation)
    return routes


def test_every_route_has_a_row(app: Any) -> None:
    served = served_routes(app)
    covered = {template_key(row.method, row.path) for row in ROWS}
    missing = sorted(label for key, (label, _) in served.items() if key not in covered)
    assert not missing, (
        "new route without an entry in tests/api/authz_table.py (add a Row with the expected "
        f"status for {', '.join(ROLES)}): {missing}"
    )
    stale = [
        row.label
        for row in ROWS
        if not row.planned and template_key(row.method, row.path) not in served
    ]
    assert not stale, f"rows for routes the app does not serve (mark planned or drop): {stale}"


def test_the_table_is_well_formed() -> None:
    labels = [row.label for row in ROWS]
    assert len(labels) == len(set(labels)), "two rows share a method, path and case"
    for row in ROWS:
        assert set(row.expected()) == set(ROLES)


async def _hide(app: Any, scene_id: str) -> None:
    async with app.state.db.transaction() as session:
        await session.execute(
            update(Scene)
            .where(Scene.id == uuid.UUID(scene_id))
            .values(status=SceneStatus.HIDDEN.value)
        )


@pytest.fixture(scope="module")
async def world(app: Any, client: httpx.AsyncClient, factory: Factory) -> AsyncIterator[World]:
    accounts = {
        "owner": await factory.account(),
        "other": await factory.account(),
        "moderator": await factory.account(Role.MODERATOR),
        "admin": await factory.account(Role.ADMIN),
        "banned": await factory.account(banned=True),
    }
    owner, admin = accounts["owner"], accounts["admin"]
    topic = await factory.topic(admin)
    category = await factory.category(topic, admin)
    idea = await factory.idea(owner, topic, category_id=category["id"])
    assert idea["review_status"] == "approved", idea
    pending_idea = await factory.idea_row(owner, topic, review_status="pending")
    scene = await factory.scene(owner, idea)
    hidden_scene = await factory.scene(owner, idea)
    await _hide(app, hidden_scene["id"])
    done_job = await factory.job(owner, scene)
    cancelled = await client.post(f"/v1/jobs/{done_job['id']}/cancel", headers=owner.headers)
    assert cancelled.status_code == 200, cancelled.text
    built = World(
        factory=factory,
        client=client,
        accounts=accounts,
        topic=topic,
        category=category,
        idea=idea,
        pending_idea=pending_idea,
        scene=scene,
        hidden_scene=hidden_scene,
        proposal=await factory.proposal(owner),
        job=await factory.job(owner, scene),
        done_job=cancelled.json(),
    )
    flagged = await factory.idea(accounts["other"], topic)
    built.flag = await create_flag(factory, owner, flagged)
    built.played_scene = await factory.scene(owner, idea)
    segment = await add_segment(app, built.played_scene["id"], 1)
    await attach_media(app, segment.id, chunks=[2.0], captions=True)
    built.segment = {"id": str(segment.id)}
    yield built
    # Leave nothing in flight for the worker suites that share the queue.
    await client.post(f"/v1/jobs/{built.job['id']}/cancel", headers=owner.headers)


async def _call(client: httpx.AsyncClient, world: World, row: Row, role: str) -> httpx.Response:
    call = await row.build(world, role)
    caller = world.caller(role)
    headers = {**(caller.headers if caller else {}), **call.headers}
    response = await client.request(
        row.method,
        call.path,
        json=call.json,
        data=call.data,
        params=call.params,
        headers=headers,
    )
    if call.cleanup is not None:
        await call.cleanup(response)
    return response


@pytest.mark.parametrize("row", ROWS, ids=[row.label for row in ROWS])
async def test_route_answers_each_role_as_the_table_says(
    app: Any, client: httpx.AsyncClient, world: World, row: Row
) -> None:
    served = served_routes(app).get(template_key(row.method, row.path))
    if served is None:
        assert row.planned, f"{row.label} is not served (see test_every_route_has_a_row)"
        pytest.skip(f"planned: {row.label} is not served yet; checked once it is")
    documented = set(served[1]["responses"])
    wrong, undocumented = [], []
    for role, expected in row.expected().items():
        response = await _call(client, world, row, role)
        status = response.status_code
        if status != expected:
            wrong.append(f"{role}: expected {expected}, got {status} {response.text[:300]}")
        if str(status) not in documented:
            undocumented.append(f"{role}: {status}")
        if status >= 400:
            assert response.headers["content-type"] == "application/problem+json", (
                f"{row.label} as {role}: an error without problem details"
            )
    assert not wrong, f"{row.label}:\n  " + "\n  ".join(wrong)
    assert not undocumented, (
        f"{row.label} answers statuses its OpenAPI `responses` does not list: {undocumented} "
        f"(documented: {sorted(documented)})"
    )
