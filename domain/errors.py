"""The domain's error hierarchy. Each error knows its HTTP status; the domain imports no HTTP."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status: int = 400
    title: str = "Bad request"
    type_slug: str = "bad-request"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra
        self.headers: dict[str, str] = {}


class NotFound(DomainError):
    status, title, type_slug = 404, "Not found", "not-found"


class Unauthorized(DomainError):
    status, title, type_slug = 401, "Not authenticated", "unauthorized"


class Forbidden(DomainError):
    status, title, type_slug = 403, "Forbidden", "forbidden"


class Conflict(DomainError):
    status, title, type_slug = 409, "Conflict", "conflict"


class InvalidInput(DomainError):
    """Input that is well-formed but breaks a rule; `errors` carries `{pointer, message}` items."""

    status, title, type_slug = 422, "Unprocessable content", "validation-error"

    def __init__(self, detail: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail, errors=errors or [])


class PreconditionFailed(DomainError):
    status, title, type_slug = 412, "Precondition failed", "precondition-failed"


class PreconditionRequired(DomainError):
    status, title, type_slug = 428, "Precondition required", "precondition-required"


class TooManyRequests(DomainError):
    status, title, type_slug = 429, "Too many requests", "too-many-requests"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, retry_after=retry_after)
        self.headers = {"Retry-After": str(retry_after)}


class BadGateway(DomainError):
    """A service we depend on (an OpenID provider, say) failed or answered nonsense."""

    status, title, type_slug = 502, "Bad gateway", "bad-gateway"


class ServiceUnavailable(DomainError):
    """Something the request needs cannot be had now; `Retry-After` says when to ask again."""

    status, title, type_slug = 503, "Service unavailable", "unavailable"

    def __init__(self, detail: str, retry_after: int, type_slug: str | None = None) -> None:
        super().__init__(detail, retry_after=retry_after)
        if type_slug:
            self.type_slug = type_slug
        self.headers = {"Retry-After": str(retry_after)}
