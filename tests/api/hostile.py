"""Shared by the hostile-input tests: the payloads, and the world they are aimed at."""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import text

from tests.factories import Account, Factory

PAYLOADS = (
    "'; DROP TABLE users;--",
    "1' OR '1'='1' --",
    "Robert'); DELETE FROM ideas WHERE ('a'='a",
    'x"; SELECT pg_sleep(5); --',
    "../../etc/passwd",
    "..%2f..%2f..%2fetc%2fpasswd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "\\..\\..\\windows\\win.ini",
    "%00../../etc/passwd",
    "\u2025/\u2025/etc/passwd",  # two-dot leaders
    "\uff0e\uff0e\uff0f\uff0e\uff0e\uff0fetc\uff0fpasswd",  # fullwidth dots and slashes
    "\u0430dmin\u200b",  # Cyrillic a, zero-width space
    "\uff24\uff32\uff2f\uff30 \uff34\uff21\uff22\uff2c\uff25 users\uff1b--",  # fullwidth DROP
    "\u202etxt.exe",  # right-to-left override
    "{{7*7}} ${7*7} <script>alert(1)</script>",
)
ASCII_PAYLOADS = tuple(p for p in PAYLOADS if p.isascii())
PROBLEM = "application/problem+json"
Target = dict[str, Any]


@dataclass
class World:
    client: httpx.AsyncClient
    factory: Factory
    user: Account
    bystander: Account
    moderator: Account
    admin: Account
    topic: dict[str, Any]
    idea: dict[str, Any]
    scene: dict[str, Any]

    async def count(self, table: str) -> int:
        async with self.factory.app.state.db.session() as session:
            return int(await session.scalar(text(f"SELECT count(*) FROM {table}")) or 0)

    async def column(self, table: str, column: str, row_id: str) -> Any:
        async with self.factory.app.state.db.session() as session:
            sql = text(f"SELECT {column} FROM {table} WHERE id = :id")
            return await session.scalar(sql, {"id": uuid.UUID(row_id)})

    async def get(self, path: str, who: Account, field: str | None = None) -> Any:
        response = await self.client.get(path, headers=who.headers)
        assert response.status_code == 200, (path, response.text)
        return response.json() if field is None else response.json()[field]


def body_with(template: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of `template` with `value` at the slash-separated `path`."""
    body = copy.deepcopy(template)
    *parents, last = path.split("/")
    node: Any = body
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[int(last) if isinstance(node, list) else last] = value
    return body


def at(document: Any, path: str) -> Any:
    for part in path.split("/"):
        document = document[int(part)] if isinstance(document, list) else document[part]
    return document
