"""One AsyncOpenAI client built from settings, and the mapping of its errors to ProviderError.

The SDK's own retries are switched off (`max_retries=0`): the job pipeline retries a failed stage
with backoff and resumes it, so a second retry loop underneath would only multiply waiting.
The base URL comes from settings alone, so gateways that still speak the protocol (the videos
API in particular) are one `OPENAI_BASE_URL` away.
"""

from __future__ import annotations

import openai
from openai import AsyncOpenAI

from infra.providers.base import ProviderError
from infra.settings import Settings

# Where requests go while OPENAI_BASE_URL is unset.
OPENAI_API_URL = "https://api.openai.com/v1"
# Statuses the SDK itself would retry: request timeout, lock timeout, rate limit, server errors.
_RETRYABLE_STATUSES = frozenset({408, 409, 429})


def build_client(settings: Settings) -> AsyncOpenAI:
    """The client every OpenAI-backed provider uses; refuses to build without an API key."""
    key = settings.openai_key
    if key is None:
        raise ProviderError("OPENAI_API_KEY is not set", code="provider_not_configured")
    return AsyncOpenAI(
        api_key=key,
        # Passed explicitly so the SDK never falls back to reading the environment itself.
        base_url=settings.openai_base_url or OPENAI_API_URL,
        timeout=settings.openai_timeout_seconds,
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
