"""Hostile shapes: deeply nested JSON, huge strings and arrays in a bible, odd JSON numbers and
escapes, and hostile values in every query and path parameter of every documented GET.

A refusal is a problem-details 4xx that leaves every table as it was; an accepted bible reads
back exactly as sent. Never a 5xx.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import text

from domain.users.models import Role
from tests.api.hostile import PAYLOADS, PROBLEM
from tests.factories import Account, Factory, minimal_bible, unique

TABLES = ("users", "topics", "categories", "ideas", "scenes", "scene_bibles", "moderation_flags")
LIMIT = 262_144  # MAX_BODY_BYTES in the test settings: every body here fits under it


def deep_array(levels: int = 100_000) -> str:
    return "[" * levels + "]" * levels


def deep_object(levels: int = 40_000) -> str:
    return '{"a":' * levels + "1" + "}" * levels


async def counts(factory: Factory) -> dict[str, int]:
    async with factory.app.state.db.session() as session:
        return {
            t: int(await session.scalar(text(f"SELECT count(*) FROM {t}")) or 0) for t in TABLES
        }


@pytest.fixture(scope="module")
async def world(factory: Factory) -> dict[str, Any]:
    user, admin = await factory.account(), await factory.account(Role.ADMIN)
    topic = await factory.topic(admin)
    idea = await factory.idea(user, topic)
    scene = await factory.scene(user, idea)
    reporter = await factory.account()
    flag = await factory.client.post(
        "/v1/flags",
        json={"target_type": "idea", "target_id": idea["id"], "reason": "spam"},
        headers=reporter.headers,
    )
    return {
        "user": user,
        "admin": admin,
        "targets": {
            "username": user.username,
            "topic": topic["slug"],
            "category": (await factory.category(topic, admin))["slug"],
            "idea_id": idea["id"],
            "scene_id": scene["id"],
            "version": "1",
            "proposal_id": (await factory.proposal(user))["id"],
            "job_id": (await factory.job(user, scene))["id"],
            "flag_id": flag.json()["id"],
        },
    }


def body_routes(w: dict[str, Any]) -> list[tuple[str, str, Account, str]]:
    """(method, path, caller, a JSON body template with `%s` where the hostile value goes)."""
    t, user, admin = w["targets"], w["user"], w["admin"]
    return [
        ("POST", "/v1/auth/login", user, "%s"),
        ("POST", "/v1/auth/login", user, '{"login": %s, "password": "x"}'),
        ("PATCH", "/v1/users/me", user, '{"bio": %s}'),
        ("POST", "/v1/topics", admin, '{"name": "n", "description": %s}'),
        ("POST", "/v1/ideas", user, "%s"),
        ("POST", "/v1/ideas", user, '{"title": "t", "prompt": "p", "tags": %s}'),
        ("POST", f"/v1/ideas/{t['idea_id']}/scenes", user, '{"title": "t", "bible": %s}'),
        ("PUT", f"/v1/scenes/{t['scene_id']}/bible", user, '{"data": %s}'),
        ("POST", "/v1/flags", user, '{"target_type": "idea", "description": %s}'),
        ("POST", f"/v1/scenes/{t['scene_id']}/continuations", user, '{"text": %s}'),
    ]


def headers_for(caller: Account) -> dict[str, str]:
    # If-Match and Idempotency-Key let the bible and continuation routes reach their body.
    return {
        **caller.headers,
        "content-type": "application/json",
        "If-Match": '"1"',
        "Idempotency-Key": unique("k"),
    }


@pytest.mark.parametrize(
    "nested",
    [deep_array(), deep_object(), deep_array(990), deep_object(990), deep_array(400)],
    ids=["100k arrays", "40k objects", "990 arrays", "990 objects", "400 arrays"],
)
async def test_deeply_nested_json_is_refused_cleanly(
    factory: Factory, world: dict[str, Any], nested: str
) -> None:
    wrong = []
    for method, path, caller, template in body_routes(world):
        body = (template % nested).encode()
        assert len(body) < LIMIT
        before = await counts(factory)
        response = await factory.client.request(
            method, path, content=body, headers=headers_for(caller)
        )
        label = f"{method} {path} {template[:30]!r}"
        if response.status_code not in (400, 422) or response.headers["content-type"] != PROBLEM:
            wrong.append(f"{label}: {response.status_code} {response.text[:200]}")
        if await counts(factory) != before:
            wrong.append(f"{label}: refused but changed data")
    assert not wrong, "\n".join(wrong)


def bible_with(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    bible = minimal_bible()
    node: Any = bible
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return bible


HUGE = "\u00e9" * 60_000 + "'; DROP TABLE scenes;--"  # 120 kB of UTF-8 in one string
BIBLES: list[tuple[str, Any]] = [
    ("huge description", bible_with(("characters", 0, "description"), HUGE)),
    ("huge world rule", bible_with(("setting", "worldRules", 0), HUGE)),
    ("huge alias list", bible_with(("characters", 0, "aliases"), ["Mara"] * 30_000)),
    ("huge trait list", bible_with(("characters", 0, "traits"), [HUGE[:50]] * 2_000)),
    (
        "many characters",
        bible_with(("characters",), [dict(minimal_bible()["characters"][0])] * 600),
    ),
    ("huge unknown key", {**minimal_bible(), "x" * 100_000: 1}),
    ("nested world rules", bible_with(("setting", "worldRules"), json.loads(deep_array(50)))),
    ("NUL escape", bible_with(("characters", 0, "description"), "bell\u0000tower")),
    ("lone surrogate", bible_with(("characters", 0, "description"), "bell\ud800tower")),
    ("huge integer", bible_with(("characters", 0, "introducedInSegment"), 10**4000)),
]
RAW_NUMBERS = ["1" * 5000, "1e999999", "NaN", "Infinity", "-0.0e-99999"]


def dumps(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode("utf-8", "surrogatepass")


async def send_bible(
    client: httpx.AsyncClient, user: Account, scene: dict[str, Any], route: str, content: bytes
) -> httpx.Response:
    headers = {**user.headers, "content-type": "application/json"}
    if route == "create":
        body = b'{"title": "Hostile", "description": "d", "bible": ' + content + b"}"
        return await client.post(
            f"/v1/ideas/{scene['idea_id']}/scenes", content=body, headers=headers
        )
    head = (await client.get(f"/v1/scenes/{scene['id']}/bible")).json()
    headers["If-Match"] = f'"{head["version"]}"'
    return await client.put(
        f"/v1/scenes/{scene['id']}/bible", content=b'{"data": ' + content + b"}", headers=headers
    )


@pytest.mark.parametrize("route", ["create", "update"])
async def test_huge_and_odd_bibles_are_refused_cleanly_or_stored_verbatim(
    factory: Factory, route: str
) -> None:
    user = await factory.account()
    scene = await factory.scene(user)
    cases = [(label, dumps(bible)) for label, bible in BIBLES] + [
        (
            f"raw number {n[:12]}",
            dumps(minimal_bible()).replace(
                b'"introducedInSegment": 0', b'"introducedInSegment": ' + n.encode()
            ),
        )
        for n in RAW_NUMBERS
    ]
    wrong = []
    for label, content in cases:
        assert len(content) < LIMIT, label
        before = await counts(factory)
        response = await send_bible(factory.client, user, scene, route, content)
        if response.status_code >= 500 or response.status_code < 200:
            wrong.append(f"{label}: {response.status_code} {response.text[:200]}")
        elif response.status_code >= 400:
            if response.headers["content-type"] != PROBLEM:
                wrong.append(f"{label}: {response.status_code} is not problem details")
            if await counts(factory) != before:
                wrong.append(f"{label}: refused but changed data")
        else:
            scene_id = response.json()["id"] if route == "create" else scene["id"]
            stored = (await factory.client.get(f"/v1/scenes/{scene_id}/bible")).json()["data"]
            sent = json.loads(content)
            sent["version"] = stored["version"]
            if stored != sent:
                wrong.append(f"{label}: stored differently")
    assert not wrong, "\n".join(wrong)


CURSORS = [
    base64.urlsafe_b64encode(b'{"id": "\'; DROP TABLE users;--", "at": "../../etc"}').decode(),
    base64.urlsafe_b64encode(b"\x00\xff" * 40).decode(),
    "A" * 512,
]
QUERY_VALUES = [*PAYLOADS, *CURSORS, "\x00", "-1", "99999999999999999999999", ""]
SKIP = {"/metrics", "/healthz", "/readyz"}


def documented_gets(app: Any) -> list[tuple[str, list[dict[str, Any]]]]:
    return [
        (path, operations["get"].get("parameters", []))
        for path, operations in app.openapi()["paths"].items()
        if "get" in operations and path not in SKIP
    ]


def fill(path: str, targets: dict[str, str], hostile: tuple[str, str] | None = None) -> str:
    for name, value in targets.items():
        if hostile and hostile[0] == name:
            value = quote(hostile[1], safe="")
        path = path.replace("{" + name + "}", value)
    return path


async def test_hostile_values_in_every_query_and_path_parameter(
    factory: Factory, world: dict[str, Any]
) -> None:
    wrong, sent = [], 0
    headers = world["admin"].headers
    for path, parameters in documented_gets(factory.app):
        for parameter in parameters:
            if parameter["in"] not in ("query", "path"):
                continue
            name = parameter["name"]
            for value in QUERY_VALUES:
                if parameter["in"] == "path":
                    if not value:
                        continue
                    url, params = fill(path, world["targets"], (name, value)), {}
                else:
                    url, params = fill(path, world["targets"]), {name: value}
                response = await factory.client.get(url, params=params, headers=headers)
                sent += 1
                status = response.status_code
                if status >= 500 or (status >= 400 and response.headers["content-type"] != PROBLEM):
                    wrong.append(f"GET {path} {name}={value!r}: {status} {response.text[:150]}")
    assert sent > 500
    assert not wrong, "\n".join(wrong)


HEADER_VALUES = [
    *(p for p in PAYLOADS if p.isascii()),
    'W/"1", *',
    '"' * 300,
    "9" * 400,
    "a" * 8000,
]


async def test_hostile_header_values_are_refused_cleanly(
    factory: Factory, world: dict[str, Any]
) -> None:
    """Conditional, consistency, request-id and bearer headers carrying hostile text."""
    t, user = world["targets"], world["user"]
    bible = {"data": minimal_bible()}
    calls = [
        ("PUT", f"/v1/scenes/{t['scene_id']}/bible", "If-Match", bible),
        ("GET", f"/v1/jobs/{t['job_id']}", "If-None-Match", None),
        ("GET", f"/v1/scenes/{t['scene_id']}", "X-Consistency-Token", None),
        ("GET", "/v1/users/me", "X-Request-ID", None),
        ("GET", "/v1/users/me", "Authorization", None),
        ("POST", f"/v1/scenes/{t['scene_id']}/continuations", "Idempotency-Key", {"text": "x"}),
    ]
    wrong = []
    for method, path, header, body in calls:
        for value in HEADER_VALUES:
            before = await counts(factory)
            sent = value if header != "Authorization" else f"Bearer {value}"
            headers = {**user.headers, header: sent}
            response = await factory.client.request(method, path, json=body, headers=headers)
            status = response.status_code
            if status >= 500 or (status >= 400 and response.headers["content-type"] != PROBLEM):
                wrong.append(f"{method} {path} {header}={value[:40]!r}: {status}")
            if status >= 400 and await counts(factory) != before:
                wrong.append(f"{method} {path} {header}={value[:40]!r}: refused but changed data")
    assert not wrong, "\n".join(wrong)
