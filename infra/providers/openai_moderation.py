"""The content check by OpenAI's moderation endpoint, through the openai SDK.

Flagged categories become a severity: the ones that must never go public (sexual content with
minors, self-harm intent or instructions, graphic violence, threats) and any category scored at
or above `severe_score` are severe; any other flagged category is mild. When a local checker is
given, its verdict is merged in, so the operator's configured terms keep applying.

When the endpoint fails, `on_error="raise"` surfaces a ProviderError (a pipeline stage retries
it); `on_error="local"` answers with the local verdict alone, so a request path never turns a
moderation outage into a 500.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import openai
from openai import AsyncOpenAI

from infra.logging import get_logger
from infra.providers.moderation import (
    ContentChecker,
    ContentVerdict,
    LocalContentChecker,
    Severity,
    worst_severity,
)
from infra.providers.openai_client import build_client, provider_error
from infra.settings import Settings

OnError = Literal["raise", "local"]

SEVERE_CATEGORIES = frozenset(
    {
        "sexual/minors",
        "self-harm/intent",
        "self-harm/instructions",
        "violence/graphic",
        "hate/threatening",
        "harassment/threatening",
        "illicit/violent",
    }
)


def _as_dict(value: Any) -> dict[str, Any]:
    """Category maps by their wire names ("self-harm/intent"), whatever the SDK's field names."""
    if value is None:
        return {}
    if hasattr(value, "to_dict"):
        return dict(value.to_dict())
    return dict(value)


def verdict_from(
    categories: dict[str, Any], scores: dict[str, Any], severe_score: float
) -> ContentVerdict:
    """The verdict for one moderation result's category flags and scores."""
    flagged = {name for name, hit in categories.items() if hit}
    high = {
        name
        for name, score in scores.items()
        if isinstance(score, int | float) and score >= severe_score
    }
    if flagged & SEVERE_CATEGORIES or high:
        severity: Severity = "severe"
    elif flagged:
        severity = "mild"
    else:
        return ContentVerdict("none")
    return ContentVerdict(severity, sorted(flagged | high), [])


def merge(first: ContentVerdict, second: ContentVerdict) -> ContentVerdict:
    severity = worst_severity((first.severity, second.severity))
    if severity == "none":
        return ContentVerdict("none")
    categories = sorted({*first.categories, *second.categories})
    matches = list(dict.fromkeys([*first.matches, *second.matches]))
    return ContentVerdict(severity, categories, matches)


class OpenAIContentChecker:
    """A ContentChecker backed by `moderations.create`; errors surface as ProviderError."""

    def __init__(
        self,
        client: AsyncOpenAI,
        *,
        model: str,
        severe_score: float,
        local: ContentChecker | None = None,
        on_error: OnError = "raise",
    ) -> None:
        if on_error == "local" and local is None:
            raise ValueError('on_error="local" needs a local checker')
        self.client = client
        self.model = model
        self.severe_score = severe_score
        self.local = local
        self.on_error = on_error

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        client: AsyncOpenAI | None = None,
        *,
        local: ContentChecker | None = None,
        on_error: OnError = "raise",
    ) -> OpenAIContentChecker:
        """Layered over the local term list (the configured terms) unless `local` is given."""
        return cls(
            client or build_client(settings),
            model=settings.openai_moderation_model,
            severe_score=settings.openai_moderation_severe_score,
            local=local or LocalContentChecker.from_settings(settings),
            on_error=on_error,
        )

    async def check(self, text: str) -> ContentVerdict:
        local = await self.local.check(text) if self.local is not None else ContentVerdict("none")
        if not text.strip():
            return local
        try:
            response = await self.client.moderations.create(input=text, model=self.model)
        except openai.OpenAIError as exc:
            error = provider_error(exc, "content check", code="moderation_failed")
            if self.on_error == "raise":
                raise error from exc
            get_logger(__name__).warning("moderation_fallback_to_local", error=str(error))
            return local
        verdict = ContentVerdict("none")
        for result in response.results:
            found = verdict_from(
                _as_dict(result.categories), _as_dict(result.category_scores), self.severe_score
            )
            verdict = merge(verdict, found)
        return dataclasses.replace(merge(verdict, local), request_id=response.id)
