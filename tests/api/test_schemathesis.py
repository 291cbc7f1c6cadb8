"""schemathesis against the app's own /openapi.json: no 5xx, and every response as documented.

Every operation is called with generated data (valid and invalid) as a plain user and as a
moderator (and as an admin when both are refused), in process through schemathesis' ASGI
transport; about half the generated path ids are pointed at real rows, so cases get past the
404. `make test` runs a few examples per operation; `STORYLOOM_FUZZ_EXAMPLES=200` (make fuzz)
runs a larger search.

The app under test is a second instance built from the same test settings: schemathesis drives
ASGI apps on its own event loop (and starts their lifespan there), so it cannot share the
session's app, whose database pool belongs to the test loop. Both use the same database.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from domain.users.models import Role
from infra.settings import Settings
from tests.api.authz_table import create_flag
from tests.factories import Factory

# `make test`: a few generated cases per operation. `make fuzz` (STORYLOOM_FUZZ_EXAMPLES=N): N
# cases plus schemathesis' coverage phase (boundary and invalid values for every field), which
# alone sends about 40 requests per operation and is too slow for every run.
FUZZ = "STORYLOOM_FUZZ_EXAMPLES" in os.environ
EXAMPLES = int(os.environ.get("STORYLOOM_FUZZ_EXAMPLES", "5"))
PHASES = tuple(Phase) if FUZZ else (Phase.reuse, Phase.generate, Phase.shrink)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _documented_schema() -> dict[str, Any]:
    """The OpenAPI document, read at collection time so every operation becomes a test."""
    from api.app import create_app

    spec_only = Settings(STORYLOOM_ENV="test", LOG_LEVEL="WARNING", LOG_JSON=False)
    return create_app(spec_only).openapi()


DOCUMENT = _documented_schema()
schema = schemathesis.openapi.from_dict(DOCUMENT)


@pytest.fixture(scope="module")
def fuzz_app(settings: Settings) -> Iterator[Any]:
    from api.app import create_app

    application = create_app(settings)
    assert application.openapi() == DOCUMENT, "the documented schema depends on settings"
    # The same document served by the app itself, as a client would read it.
    served = schemathesis.openapi.from_asgi("/openapi.json", application)
    assert served.raw_schema == DOCUMENT
    yield application
    asgi.shutdown_lifespans()


@pytest.fixture(scope="module")
async def fuzz_world(factory: Factory) -> AsyncIterator[dict[str, Any]]:
    """Callers, and real targets owned by the user, so cases reach past the 404 of a random id."""
    user = await factory.account()
    moderator = await factory.account(Role.MODERATOR)
    admin = await factory.account(Role.ADMIN)
    bystander = await factory.account()
    topic = await factory.topic(admin)
    category = await factory.category(topic, admin)
    idea = await factory.idea(user, topic, category_id=category["id"])
    scene = await factory.scene(user, idea)
    # DELETE /v1/users/me erases its caller: each call gets an account of its own, while any last.
    disposable = [(await factory.account()).headers for _ in range(12)]
    # A moderator's generated decision may ban the flagged content's author: not the user.
    flag = await create_flag(factory, user, await factory.idea(bystander, topic))
    yield {
        "callers": {"user": user.headers, "moderator": moderator.headers},
        "admin": admin.headers,
        "disposable": disposable,
        "targets": {
            "topic_id": topic["id"],
            "topic": topic["slug"],
            "category": category["slug"],
            "idea_id": idea["id"],
            "scene_id": scene["id"],
            "segment_id": (await factory.contributed_segment(scene, user))["id"],
            "job_id": (await factory.job(user, scene))["id"],
            "proposal_id": (await factory.proposal(user))["id"],
            "flag_id": flag["id"],
            "username": user.username,
        },
    }
    # Leave no generated continuation in flight for the suites that share the queue.
    listed = await factory.client.get("/v1/users/me/jobs?limit=100", headers=user.headers)
    for job in listed.json()["items"] if listed.status_code == 200 else []:
        await factory.client.post(f"/v1/jobs/{job['id']}/cancel", headers=user.headers)


def _aim(case: schemathesis.Case, targets: dict[str, str]) -> None:
    """Point about half the generated path ids at real targets (decided by the value, so a
    failure replays the same way); malformed ids stay, to keep reaching validation."""
    for name, value in list((case.path_parameters or {}).items()):
        real = targets.get(name)
        if real is None or hashlib.sha256(str(value).encode()).digest()[0] % 2:
            continue
        if name.endswith("_id"):
            try:
                uuid.UUID(str(value))
            except ValueError:
                continue
        case.path_parameters[name] = real


@schema.parametrize()
@hypothesis_settings(
    max_examples=EXAMPLES,
    phases=PHASES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_every_operation_holds_under_generated_input(
    case: schemathesis.Case, fuzz_app: Any, fuzz_world: dict[str, Any]
) -> None:
    _aim(case, fuzz_world["targets"])
    if (case.method, case.path) == ("DELETE", "/v1/users/me"):
        spare = fuzz_world["disposable"]
        headers = spare.pop() if len(spare) > 1 else spare[0]  # the last: already erased, 401
        case.call_and_validate(app=fuzz_app, headers=headers, checks=CHECKS)
        return
    statuses = [
        case.call_and_validate(app=fuzz_app, headers=headers, checks=CHECKS).status_code
        for headers in fuzz_world["callers"].values()
    ]
    if statuses == [403, 403]:
        # Admin-only operations: reach past the role check too.
        case.call_and_validate(app=fuzz_app, headers=fuzz_world["admin"], checks=CHECKS)


def test_error_responses_are_documented_as_problem_details() -> None:
    """Every documented error is `application/problem+json` with the Problem schema; every body
    may be malformed (400) or too large (413); every parameter may be invalid (422)."""
    documented = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    wrong = []
    for path, operations in DOCUMENT["paths"].items():
        for method, operation in operations.items():
            label = f"{method.upper()} {path}"
            responses = operation["responses"]
            for code, response in responses.items():
                content = response.get("content")
                if code.startswith(("4", "5")) and content is not None and content != documented:
                    wrong.append(f"{label} {code}: {content}")
            needed = {"400", "413", "422"} if "requestBody" in operation else set()
            if operation.get("parameters"):
                needed.add("422")
            if missing := needed - set(responses):
                wrong.append(f"{label} does not document {sorted(missing)}")
    assert not wrong, "\n".join(wrong)
