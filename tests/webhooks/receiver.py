"""A real HTTP webhook receiver for tests and the drill: it checks every signature itself.

Served by uvicorn on loopback; it can fail on purpose (a status, a delay, a redirect), be
stopped and started again on the same port, and keeps what a well-behaved consumer keeps:
the messages it accepted, deduplicated by `webhook-id`, in arrival order.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import socket
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def signature_ok(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The Standard Webhooks check, written here independently of the code under test."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    given = [
        p.split(",", 1)[1] for p in headers["webhook-signature"].split() if p.startswith("v1,")
    ]
    fresh = abs(time.time() - int(headers["webhook-timestamp"])) < 300
    return fresh and any(hmac.compare_digest(expected, g) for g in given)


@dataclass
class Received:
    id: str
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass
class Receiver:
    """`fail_next`: that many requests answer `fail_status`; `delay`: seconds before answering."""

    port: int = field(default_factory=free_port)
    secrets: dict[str, str] = field(default_factory=dict)  # path -> whsec_ secret
    fail_next: int = 0
    fail_status: int = 500
    fail_always: bool = False
    delay: float = 0.0
    redirect_to: str | None = None
    requests: list[Received] = field(default_factory=list)  # every request, repeats too
    accepted: dict[str, Received] = field(default_factory=dict)  # by webhook-id, first wins
    accepted_order: dict[str, list[str]] = field(default_factory=dict)  # path -> ids
    accepted_at: dict[str, float] = field(default_factory=dict)  # by webhook-id, wall clock
    bad_signatures: int = 0
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        path = scope["path"]
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.redirect_to is not None:
            await self._answer(send, 302, [(b"location", self.redirect_to.encode())])
            return
        if "webhook-id" not in headers:  # not a webhook (the redirect target, say)
            self.requests.append(Received("", {}, headers))
            await self._answer(send, 200)
            return
        entry = Received(headers["webhook-id"], json.loads(body), headers)
        self.requests.append(entry)
        if self.fail_always or self.fail_next > 0:
            self.fail_next = max(0, self.fail_next - 1)
            await self._answer(send, self.fail_status)
            return
        secret = self.secrets.get(path)
        if secret is None or not signature_ok(secret, headers, body):
            self.bad_signatures += 1
            await self._answer(send, 401)
            return
        if entry.id not in self.accepted:
            self.accepted[entry.id] = entry
            self.accepted_at[entry.id] = time.time()
            self.accepted_order.setdefault(path, []).append(entry.id)
        await self._answer(send, 204)

    async def _answer(self, send: Any, status: int, headers: list[Any] | None = None) -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers or []})
        await send({"type": "http.response.body", "body": b""})

    async def start(self) -> None:
        config = uvicorn.Config(
            self, host="127.0.0.1", port=self.port, lifespan="off", log_level="error"
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
        self._server, self._task = None, None
