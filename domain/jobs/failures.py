"""Typed job failures: each carries the error_code the API shows and whether a retry may help."""

from __future__ import annotations

from typing import Any


class JobFailure(Exception):
    code = "internal_error"
    retryable = False

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class ContinuityViolation(JobFailure):
    code = "continuity_violation"


class BibleConflict(JobFailure):
    code = "bible_conflict"


class ContentPolicy(JobFailure):
    code = "content_policy"


class ProviderUnavailable(JobFailure):
    """A provider timed out, rate-limited us or answered 5xx: worth another try."""

    code = "provider_unavailable"
    retryable = True


class ProviderRejected(JobFailure):
    """A provider refused the request itself: retrying the same input will not help."""

    code = "provider_rejected"


class DatabaseUnavailable(JobFailure):
    """The database was out of reach mid-stage (restart, failover): the stage runs again."""

    code = "database_unavailable"
    retryable = True


class MediaFailure(JobFailure):
    code = "media_error"
    retryable = True


class SceneClosed(JobFailure):
    code = "scene_closed"
