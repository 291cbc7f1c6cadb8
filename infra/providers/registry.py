"""Which provider serves each seam: OpenAI when `OPENAI_API_KEY` is set, else the built-in ones.

Imports are lazy so a deployment without a key never loads the SDK. Each call builds a fresh
provider; callers keep it for the life of a worker or app. Pass one `client` to several calls
to share its connection pool.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from infra.providers.base import ScriptExpander, VideoRenderer
from infra.providers.moderation import ContentChecker, LocalContentChecker
from infra.settings import Settings

if TYPE_CHECKING:
    from openai import AsyncOpenAI

    from infra.providers.openai_continuity import OpenAIContinuityReviewer
    from infra.providers.openai_moderation import OnError


def uses_openai(settings: Settings) -> bool:
    return settings.openai_key is not None


def openai_client(settings: Settings) -> AsyncOpenAI:
    from infra.providers.openai_client import build_client

    return build_client(settings)


def script_expander(settings: Settings, *, client: AsyncOpenAI | None = None) -> ScriptExpander:
    if not uses_openai(settings):
        from infra.providers.local_script import LocalScriptExpander

        return LocalScriptExpander()
    from infra.providers.openai_script import OpenAIScriptExpander

    return OpenAIScriptExpander.from_settings(settings, client or openai_client(settings))


def video_renderer(settings: Settings, *, client: AsyncOpenAI | None = None) -> VideoRenderer:
    if not uses_openai(settings):
        from infra.providers.local_video import LocalVideoRenderer

        return LocalVideoRenderer.from_settings(settings)
    from infra.providers.openai_video import OpenAIVideoRenderer

    return OpenAIVideoRenderer.from_settings(settings, client or openai_client(settings))


def content_checker(
    settings: Settings, *, client: AsyncOpenAI | None = None, on_error: OnError = "raise"
) -> ContentChecker:
    """The OpenAI check layered over the local term list (the configured terms keep applying),
    or, without `OPENAI_API_KEY`, the local list alone.

    `on_error="raise"` suits pipeline stages (a retryable ProviderError retries the stage);
    request paths want `"local"`, which falls back to the term list during an outage.
    """
    local = LocalContentChecker.from_settings(settings)
    if not uses_openai(settings):
        return local
    from infra.providers.openai_moderation import OpenAIContentChecker

    return OpenAIContentChecker.from_settings(
        settings, client or openai_client(settings), local=local, on_error=on_error
    )


def continuity_reviewer(
    settings: Settings, *, client: AsyncOpenAI | None = None
) -> OpenAIContinuityReviewer | None:
    """The model's second opinion on unsure continuity findings when `OPENAI_API_KEY` is set;
    None without a key, and the built-in rules decide alone."""
    if not uses_openai(settings):
        return None
    from infra.providers.openai_continuity import OpenAIContinuityReviewer

    model = settings.openai_continuity_model or settings.openai_script_model
    return OpenAIContinuityReviewer(client or openai_client(settings), model=model)
