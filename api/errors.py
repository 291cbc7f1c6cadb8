"""RFC 9457 problem details for every error the API can return."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.errors import DomainError
from infra.db import database_unavailable
from infra.logging import get_logger
from schemas.common import Problem

PROBLEM_JSON = "application/problem+json"
log = get_logger("api.errors")

# A route's OpenAPI `responses=`: status -> what FastAPI documents for it.
Responses = dict[int | str, dict[str, Any]]

_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


def problem(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    type_slug: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {
        "type": f"/problems/{type_slug}" if type_slug else "about:blank",
        "title": title or _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def problem_responses(*codes: int, others: Responses | None = None) -> Responses:
    """Every route's `responses=`: a problem-details body for each error status it can answer,
    plus `others` (a success's media type, a redirect, a problem with its own description)."""
    declared: Responses = {code: {"model": Problem} for code in codes}
    return {**declared, **(others or {})}


def throttled(description: str) -> dict[str, Any]:
    """A 429 for `problem_responses(others=...)`: a problem that says when to ask again."""
    retry_after = {"description": "Seconds to wait", "schema": {"type": "integer"}}
    return {"model": Problem, "description": description, "headers": {"Retry-After": retry_after}}


def pointer_from_loc(loc: tuple[Any, ...]) -> str:
    """`("body", "tags", 2)` -> `/tags/2`; query and header locations keep their source."""
    parts = list(loc)
    if parts and parts[0] == "body":
        parts = parts[1:]
    escaped = (str(p).replace("~", "~0").replace("/", "~1") for p in parts)
    return "/" + "/".join(escaped) if parts else ""


async def _domain_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return problem(
        exc.status,
        exc.detail,
        title=exc.title,
        type_slug=exc.type_slug,
        headers=exc.headers or None,
        **exc.extra,
    )


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return problem(400, "The request body is not valid JSON.", type_slug="malformed-json")
    items = [{"pointer": pointer_from_loc(tuple(e["loc"])), "message": e["msg"]} for e in errors]
    return problem(
        422,
        "The request does not match the expected shape.",
        type_slug="validation-error",
        errors=items,
    )


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return problem(exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None))


async def _integrity_error(_: Request, exc: Exception) -> JSONResponse:
    # Services check what they can first; this is the backstop for races they cannot see.
    log.warning("integrity_error", error=str(getattr(exc, "orig", exc))[:300])
    return problem(409, "The change conflicts with the current state.", type_slug="conflict")


async def _stale_data(_: Request, exc: Exception) -> JSONResponse:
    return problem(409, "The resource changed meanwhile; reload and retry.", type_slug="conflict")


async def _dbapi_error(request: Request, exc: Exception) -> JSONResponse:
    if database_unavailable(exc):
        return await _unavailable(request, exc)
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None) or ""
    if sqlstate.startswith("22"):  # data exception: out of range, bad encoding, ...
        return problem(422, "A value is not acceptable.", type_slug="invalid-value")
    return await _unexpected(request, exc)


# Long enough for a failover or a restart to finish, short enough that clients come back soon.
UNAVAILABLE_RETRY_AFTER_SECONDS = 2


async def _unavailable(_: Request, exc: Exception) -> JSONResponse:
    """The database (or another backing service) is out of reach: 503, come back shortly."""
    log.warning("backend_unavailable", error_type=type(exc).__name__, error=str(exc)[:200])
    return problem(
        503,
        "A service we depend on is briefly unavailable; retry shortly.",
        type_slug="unavailable",
        headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER_SECONDS)},
    )


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled_error", error_type=type(exc).__name__)
    return problem(500, "Something went wrong on our side.", type_slug="internal")


_BODY_PROBLEMS = {"400": "Malformed body", "413": "Content too large"}


def _document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Error responses are documented as they are sent: `application/problem+json`, a Problem."""
    has_problem = "Problem" in schema.get("components", {}).get("schemas", {})
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            if "requestBody" in operation and has_problem:
                # Every body can be unparsable (400) or over the size limit (413).
                for code, description in _BODY_PROBLEMS.items():
                    responses.setdefault(
                        code,
                        {
                            "description": description,
                            "content": {"application/json": {"schema": problem_ref}},
                        },
                    )
            for code, response in responses.items():
                content = response.get("content", {})
                if not code.startswith(("4", "5")) or "application/json" not in content:
                    continue
                media = content.pop("application/json")
                ref = media.get("schema", {}).get("$ref", "")
                if ref.endswith("/HTTPValidationError") and has_problem:
                    # Validation errors go through `_validation_error`, never FastAPI's shape.
                    media["schema"] = problem_ref
                content[PROBLEM_JSON] = media
    return schema


def install_error_handlers(app: FastAPI) -> None:
    build_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _document_problems(build_openapi())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(StaleDataError, _stale_data)
    app.add_exception_handler(DBAPIError, _dbapi_error)
    # Connection failures surface unwrapped (a refused connect) or as the pool timing out.
    app.add_exception_handler(ConnectionError, _unavailable)
    app.add_exception_handler(TimeoutError, _unavailable)
    app.add_exception_handler(PoolTimeout, _unavailable)
    # Redis (login throttling, the queue) out of reach: redis-py's own errors, not OSError's.
    app.add_exception_handler(RedisConnectionError, _unavailable)
    app.add_exception_handler(RedisTimeoutError, _unavailable)
    app.add_exception_handler(Exception, _unexpected)
