"""Routes with a fast path: the polled reads answered without FastAPI's dependency solving.

A route of `FastPathRoute` whose endpoint is marked with `fast_path(handler)` first asks the
handler; the handler answers the ordinary request (well-formed, signed in) from the request
alone, and returns None for anything else, which the route then hands to the endpoint
through FastAPI as usual. Validation errors, missing or bad tokens and the like are thus
FastAPI's own answers, byte for byte, and the OpenAPI document is built from the endpoint's
signature as before. For the job poll, FastAPI's per-request work (solving the dependency
tree, a Request per dependency, validating the path and headers) cost more CPU than the rest.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi.routing import APIRoute

from infra.security import AccessClaims, InvalidToken, VerifiedTokens

FastHandler = Callable[[Request], Awaitable[Response | None]]
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])
_MARK = "__fast_path__"
# The canonical spelling only: other spellings take FastAPI's path, which judges them.
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def fast_path(handler: FastHandler) -> Callable[[Endpoint], Endpoint]:
    """Mark an endpoint: its route asks `handler` first (see the module's docstring)."""

    def mark(endpoint: Endpoint) -> Endpoint:
        setattr(endpoint, _MARK, handler)
        return endpoint

    return mark


class FastPathRoute(APIRoute):
    """An APIRoute that asks its endpoint's fast handler first, when it has one."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        full = super().get_route_handler()
        fast: FastHandler | None = getattr(self.endpoint, _MARK, None)
        if fast is None:
            return full

        async def handler(request: Request) -> Response:
            response = await fast(request)
            return response if response is not None else await full(request)

        return handler


def path_uuid(request: Request, name: str) -> uuid.UUID | None:
    """The path parameter as a UUID when spelled canonically, else None (FastAPI judges)."""
    value = request.path_params.get(name)
    if not isinstance(value, str) or _UUID.match(value) is None:
        return None
    return uuid.UUID(value)


def bearer_claims(request: Request) -> AccessClaims | None:
    """The verified claims of a well-formed bearer token, else None (the dependency judges)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()  # as OAuth2PasswordBearer reads it
    if scheme.lower() != "bearer" or not token:
        return None
    tokens: VerifiedTokens = request.app.state.access_tokens
    try:
        return tokens.decode(token)
    except InvalidToken:
        return None
