"""One AsyncOpenAI client built from settings, and the mapping of its errors to ProviderError.

The SDK's own retries are switched off (`max_retries=0`): the job pipeline retries a failed stage
with backoff and resumes it, so a second retry loop underneath would only multiply waiting.
The base URL comes from settings alone, so gateways that still speak the protocol (the videos
API in particular) are one `OPENAI_BASE_URL` away.
"""

from __future__ import annotations

from typing import Any

import openai
from openai import AsyncOpenAI

from infra.providers.base import ProviderError

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_TIMEOUT_SECONDS = 60.0
# Statuses the SDK itself would retry: request timeout, lock timeout, rate limit, server errors.
_RETRYABLE_STATUSES = frozenset({408, 409, 429})


def setting(settings: Any, name: str, default: Any) -> Any:
    """A knob that may not exist on older Settings classes yet; `None` means the default."""
    value = getattr(settings, name, None)
    return default if value is None else value


def api_key_of(settings: Any) -> str | None:
    key = getattr(settings, "openai_api_key", None)
    if key is None:
        return None
    value = key.get_secret_value() if hasattr(key, "get_secret_value") else str(key)
    return value or None


def build_client(settings: Any) -> AsyncOpenAI:
    """The client every OpenAI-backed provider uses; refuses to build without an API key."""
    key = api_key_of(settings)
    if key is None:
        raise ProviderError("OPENAI_API_KEY is not set", code="provider_not_configured")
    return AsyncOpenAI(
        api_key=key,
        # Passed explicitly so the SDK never falls back to reading the environment itself.
        base_url=setting(settings, "openai_base_url", None) or DEFAULT_BASE_URL,
        timeout=float(setting(settings, "openai_timeout_seconds", DEFAULT_TIMEOUT_SECONDS)),
        max_retries=0,
    )


def is_retryable(exc: openai.OpenAIError) -> bool:
    if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
        return True
    if isinstance(exc, openai.APIStatusError):
        hint = exc.response.headers.get("x-should-retry")
        if hint in ("true", "false"):
            return hint == "true"
        return exc.status_code in _RETRYABLE_STATUSES or exc.status_code >= 500
    return False


def provider_error(exc: openai.OpenAIError, what: str, *, code: str) -> ProviderError:
    """`what` failed because of `exc`: timeouts, 429 and 5xx retry; the rest will not get better."""
    if isinstance(exc, openai.APITimeoutError):
        detail = "timed out"
    elif isinstance(exc, openai.APIConnectionError):
        detail = f"connection failed: {exc}"
    elif isinstance(exc, openai.APIStatusError):
        detail = f"HTTP {exc.status_code}: {_message(exc)}"
    else:
        detail = str(exc)
    error = ProviderError(f"{what} {detail}", code=code, retryable=is_retryable(exc))
    error.__cause__ = exc
    return error


def _message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])[:500]
    return str(exc.message)[:500]
