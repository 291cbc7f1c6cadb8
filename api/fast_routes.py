"""Fast paths: the polled reads answered before FastAPI's routing and dependency solving.

An endpoint marked with `fast_path(handler)` is first offered to `handler` by `FastPaths`, a
pure-ASGI layer inside our middleware: for a request its route matches, the handler answers
the ordinary case (well-formed, signed in) from the request alone, and returns None for
anything else, which goes on to FastAPI as usual: validation errors and missing or bad tokens
are FastAPI's own answers byte for byte. What the handler raises is rendered by the app's
exception handlers, as it would be from the endpoint. The OpenAPI document is still built
from the endpoint's signature. For the job poll
FastAPI's per-request work (routing, exception and exit-stack layers, solving the dependency
tree, validating path and headers) cost more CPU than everything else of ours together.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

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


class FastPaths:
    """Pure ASGI: offers a request to the fast handler of the route it matches, if any.

    Only the given routers' marked GET routes are looked at; they must come first among the
    app's routes (api.app.ROUTERS), so a match here is the route FastAPI would pick.
    """

    def __init__(self, app: ASGIApp, routers: Iterable[APIRouter]) -> None:
        self.app = app
        # Each route with the literal start of its path: a path without it cannot match, and
        # is not put to the route's regex (most requests would try several).
        self.routes = [
            (route.path.partition("{")[0], route, handler)
            for router in routers
            for route in router.routes
            if isinstance(route, APIRoute)
            and (handler := getattr(route.endpoint, _MARK, None)) is not None
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            path = scope["path"].removeprefix(scope.get("root_path", ""))  # as routes see it
            for start, route, handler in self.routes:
                if not path.startswith(start):
                    continue
                match, child = route.matches(scope)
                if match is Match.FULL:
                    scope["route"] = route  # the metrics' label, as the router sets it
                    response = await self._answer(handler, {**scope, **child}, receive, send)
                    if response is not None:
                        await response(scope, receive, send)
                        return
                    break
        await self.app(scope, receive, send)

    @staticmethod
    async def _answer(
        handler: FastHandler, scope: Scope, receive: Receive, send: Send
    ) -> Response | None:
        request = Request(scope, receive, send)
        try:
            return await handler(request)
        except Exception as exc:
            render = _handler_for(request.app.exception_handlers, exc)
            if render is None:
                raise
            return await render(request, exc)


def _handler_for(handlers: dict[Any, Any], exc: Exception) -> Any:
    """The app's handler for `exc`, looked up as Starlette's ExceptionMiddleware does.

    The catch-all (Exception, 500) is the server error middleware's, outside us: an exception
    only it would handle is raised on to it, as from the route.
    """
    for klass in type(exc).__mro__:
        if klass is Exception:
            return None
        if klass in handlers:
            return handlers[klass]
    return None


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
