"""Every cursor-paged list answers a hostile cursor with a 422 problem-details, never a 500.

For each list (and each sort order that changes its keys): garbage, a cursor of another
width, a cursor of the right width with the wrong types, a real cursor of another list, and
cursors of the right types with values PostgreSQL cannot take (out of range, NUL bytes).
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from domain.pagination import encode_cursor
from domain.users.models import Role
from tests.api.authz_table import webhook_body
from tests.api.hostile import PROBLEM
from tests.factories import Account, Factory

_ID = "5d2c1a8e-3f4b-4c6d-9e0f-1a2b3c4d5e6f"
# One right-typed value per cursor code, and values that are not (or that PostgreSQL cannot
# take: out of range, unreachable in UTC, a NUL byte).
_GOOD: dict[str, list[Any]] = {
    "d": ["d", "2026-01-01T00:00:00+00:00"],
    "u": ["u", _ID],
    "i": ["i", 3],
    "f": ["f", 0.5],
    "s": ["s", "idea"],
}
_BAD: dict[str, list[Any]] = {
    "d": ["2026-01-01T00:00:00", "0001-01-01T00:00:00+14:00", "yesterday", 5],
    "u": ["00000000-0000-0000-0000-00000000000g", 5],
    "i": [2**63, -(2**63) - 1, 1e400, "3", 2.5],
    "f": ["x", [1]],
    "s": ["idea\x00", 5],
}
# The first key of a cursor another list really hands out (popular, or newest first).
_FOREIGN: dict[str, Any] = {"iu": 7, "du": datetime(2026, 1, 1, tzinfo=UTC)}
# For each code, a code of another type.
_OTHER = {"d": "i", "u": "s", "i": "d", "f": "u", "s": "f"}


def _raw(parts: Any) -> str:
    encoded = json.dumps(parts, separators=(",", ":"), allow_nan=True).encode()
    return base64.urlsafe_b64encode(encoded).decode().rstrip("=")


@dataclass(frozen=True)
class PagedList:
    label: str
    path: str
    keys: str  # the cursor codes of its sort key, in order
    who: str = "anonymous"
    params: tuple[tuple[str, str], ...] = ()


def _sorts(label: str, path: str) -> list[PagedList]:
    keys = {"new": "du", "popular": "iu", "active": "du", "trending": "fu"}
    return [PagedList(f"{label}-{s}", path, k, params=(("sort", s),)) for s, k in keys.items()]


LISTS = [
    *_sorts("ideas", "/v1/ideas"),
    *_sorts("scenes", "/v1/scenes"),
    *(
        PagedList(f"search-{t}", "/v1/search", "fu", params=(("q", "fog"), ("type", t)))
        for t in ("idea", "scene", "user")
    ),
    PagedList("my-jobs", "/v1/users/me/jobs", "du", "user"),
    PagedList("flags", "/v1/moderation/flags", "fsu", "moderator"),
    PagedList(
        "flags-closed", "/v1/moderation/flags", "fsu", "moderator", (("status", "resolved"),)
    ),
    PagedList("actions", "/v1/moderation/actions", "du", "moderator"),
    *(
        PagedList(f"deleted-{t}", "/v1/moderation/deleted", "du", "moderator", (("type", t),))
        for t in ("scene", "idea")
    ),
    PagedList("notifications", "/v1/notifications", "du", "user"),
    PagedList("events", "/v1/admin/events", "di", "admin"),
    PagedList("failed-jobs", "/v1/admin/failed-jobs", "du", "admin"),
    PagedList("bible-versions", "/v1/scenes/{scene}/bible/versions", "i"),
    PagedList("segments", "/v1/scenes/{scene}/segments", "i"),
    PagedList("topics", "/v1/topics", "iu"),
    PagedList("proposals", "/v1/topic-proposals", "du", "moderator"),
    PagedList("profile-scenes", "/v1/users/{username}/scenes", "du"),
    PagedList("profile-segments", "/v1/users/{username}/segments", "du"),
    PagedList("webhooks", "/v1/webhooks", "du", "user"),
    PagedList("deliveries", "/v1/webhooks/{webhook}/deliveries", "i", "user"),
]


def hostile_cursors(keys: str) -> dict[str, str]:
    width = len(keys)
    foreign = "iu" if keys != "iu" else "du"
    cursors = {
        "not-base64": "%%%not a cursor%%%",
        "not-json": base64.urlsafe_b64encode(b"not json").decode().rstrip("="),
        "not-a-list": _raw({"d": 1}),
        "not-pairs": _raw([1] * width),
        "unknown-code": _raw([["x", 1]] * width),
        "wider": _raw([_GOOD[c] for c in keys] + [_GOOD["u"]]),
        "narrower": _raw([_GOOD[c] for c in keys][:-1] or [[]]),
        "wrong-types": _raw([[_OTHER[c], _GOOD[_OTHER[c]][1]] for c in keys]),
        "bools": _raw([["b", True]] * width),
        "another-list": encode_cursor([_FOREIGN[foreign], uuid.UUID(_ID)]),
    }
    for index, code in enumerate(keys):
        for number, value in enumerate(_BAD[code]):
            parts = [_GOOD[c] for c in keys]
            parts[index] = [code, value]
            cursors[f"unusable-{index}-{code}{number}"] = _raw(parts)
    return cursors


@dataclass
class World:
    factory: Factory
    accounts: dict[str, Account]
    scene: dict[str, Any]

    async def get(self, paged: PagedList, cursor: str) -> httpx.Response:
        account = self.accounts.get(paged.who)
        headers = account.headers if account else {}
        fill = {"scene": self.scene["id"], "username": self.accounts["user"].username}
        if "{webhook}" in paged.path:
            # Endpoints at public addresses do not outlive a test (tests/api/conftest.py).
            hook = await self.factory.client.post(
                "/v1/webhooks", json=webhook_body(), headers=headers
            )
            assert hook.status_code == 201, hook.text
            fill["webhook"] = hook.json()["id"]
        return await self.factory.client.get(
            paged.path.format(**fill), params=[*paged.params, ("cursor", cursor)], headers=headers
        )


@pytest.fixture(scope="module")
async def world(factory: Factory) -> World:
    user, admin = await factory.account(), await factory.account(Role.ADMIN)
    scene = await factory.scene(user, await factory.idea(user, await factory.topic(admin)))
    moderator = await factory.account(Role.MODERATOR)
    accounts = {"user": user, "admin": admin, "moderator": moderator}
    return World(factory, accounts, scene)


CASES = [
    pytest.param(paged, name, cursor, id=f"{paged.label}-{name}")
    for paged in LISTS
    for name, cursor in hostile_cursors(paged.keys).items()
]


@pytest.mark.parametrize(("paged", "name", "cursor"), CASES)
async def test_a_hostile_cursor_is_a_422_problem(
    world: World, paged: PagedList, name: str, cursor: str
) -> None:
    response = await world.get(paged, cursor)
    assert response.status_code == 422, (name, response.text)
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["errors"][0]["pointer"] == "/cursor", response.text


@pytest.mark.parametrize("paged", [pytest.param(p, id=p.label) for p in LISTS])
async def test_a_well_formed_cursor_is_served(world: World, paged: PagedList) -> None:
    """The hostile cursors fail for being hostile: a right-typed one is taken (guards the test)."""
    response = await world.get(paged, _raw([_GOOD[c] for c in paged.keys]))
    assert response.status_code == 200, response.text
