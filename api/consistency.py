"""Read-your-writes without cookies: consistency tokens and a user's recent write position.

A request whose unit of work committed changes gets `X-Consistency-Token: <LSN>` back (the
primary's WAL position right after the commit). A request that sends the token back reads
from a replica only once that replica has replayed past it, else from the primary. For an
authenticated caller the position is also kept in Redis for a short while, so their own
follow-up reads see their writes even when the client drops the header.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request

from infra.db import Database
from infra.logging import get_logger
from infra.replicas import ALWAYS_PRIMARY, describe, format_lsn, parse_lsn
from infra.security import InvalidToken
from infra.settings import Settings

HEADER = "X-Consistency-Token"
_HEADER_NAME = HEADER.lower().encode()
_STATE_KEY = "consistency_token"
_USER_KEY = "consistency_user"
log = get_logger("api.consistency")

# Keeps the highest position (fixed-width hex compares as text) and restarts the TTL.
_REMEMBER = """
local current = redis.call('GET', KEYS[1])
if (not current) or current < ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
else
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 1
"""


def _user_key(settings: Settings, user_id: uuid.UUID) -> str:
    return f"{settings.queue_name}:last-write-lsn:{user_id}"


def _bearer_user(request: Request) -> uuid.UUID | None:
    """The caller named by a valid bearer token, for routing only (auth is the deps' job)."""
    if _USER_KEY in request.scope.get("state", {}):
        return request.scope["state"][_USER_KEY]
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    user_id = None
    if scheme.lower() == "bearer" and token:
        try:
            user_id = request.app.state.access_tokens.decode(token.strip()).user_id
        except InvalidToken:
            user_id = None
    request.scope.setdefault("state", {})[_USER_KEY] = user_id
    return user_id


def presented_token(request: Request) -> int | None:
    """The LSN in the request's consistency header; a malformed one is ignored."""
    value = request.headers.get(HEADER)
    if not value:
        return None
    try:
        return parse_lsn(value)
    except ValueError:
        return None


async def required_lsn(request: Request, db: Database) -> int | None:
    """The WAL position this read must see: the presented token, the caller's last write."""
    if not db.has_replicas:
        return None
    needed = presented_token(request)
    user_id = _bearer_user(request)
    if user_id is not None:
        settings: Settings = request.app.state.settings
        try:
            stored = await request.app.state.queue.get(_user_key(settings, user_id))
        except Exception as exc:  # noqa: BLE001 - without Redis we cannot know: be safe
            log.warning("last_write_lookup_failed", error=describe(exc))
            return ALWAYS_PRIMARY
        if stored:
            remembered = int(stored, 16)
            needed = remembered if needed is None else max(needed, remembered)
    return needed


async def remember_write(request: Request, db: Database) -> None:
    """After a commit: the token for the response, and the caller's last write position.

    Best effort: the commit has happened, so a failure here is logged, never raised.
    """
    try:
        lsn = await db.write_lsn()
    except Exception as exc:  # noqa: BLE001 - the write stands; only the token is lost
        log.warning("write_lsn_unavailable", error=describe(exc))
        return
    request.scope.setdefault("state", {})[_STATE_KEY] = format_lsn(lsn)
    user_id = _bearer_user(request)
    if user_id is None:
        return
    settings: Settings = request.app.state.settings
    try:
        queue: Any = request.app.state.queue
        await queue.eval(
            _REMEMBER,
            1,
            _user_key(settings, user_id),
            f"{lsn:016x}",
            settings.read_your_writes_ttl_seconds,
        )
    except Exception as exc:  # noqa: BLE001 - the header still carries the token
        log.warning("last_write_store_failed", error=describe(exc))


def token_header(state: dict[str, Any]) -> tuple[bytes, bytes] | None:
    """The response header for the token the unit of work set in the request's state.

    The unit of work commits after the handler returned, once the response is already built
    but before it is sent, so a dependency cannot set the header itself: the outermost
    middleware (api.middleware.RequestMiddleware) adds it as the response starts.
    """
    token = state.get(_STATE_KEY)
    return (_HEADER_NAME, token.encode()) if token else None
