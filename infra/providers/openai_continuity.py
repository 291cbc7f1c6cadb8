"""A second opinion on a continuity finding the rules are unsure of, from an OpenAI chat model.

Asked only for the findings the built-in rules mark unsure (a bare name that may only be a
thought, a pronoun with two possible actors); the answer is a strict structured output:
verdict, entity, reason and the quoted words. Without `OPENAI_API_KEY` there is no reviewer
and the rules decide alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import openai
from openai import AsyncOpenAI

from infra.providers.base import ProviderError
from infra.providers.openai_client import provider_error

SCHEMA_NAME = "storyloom_continuity_opinion"
PROMPT_VERSION = "openai-continuity-v1"
OPINION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "verdict": {"type": "string", "enum": ["violation", "consistent"]},
        "entity": {"type": "string"},
        "reason": {"type": "string"},
        "quoted_span": {"type": "string"},
    },
    "required": ["verdict", "entity", "reason", "quoted_span"],
    "additionalProperties": False,
}
_INSTRUCTIONS = """\
You check a continuation of a shared story against its story bible. The bible entry below is
closed: an inactive character (dead or gone) must not speak, act or appear in the present; a
resolved or abandoned plot thread must not start again; nothing may happen before the current
point. Being remembered, mourned, named in someone else's words or in the past is fine.
Judge only the marked sentence, in the context of the text. Answer with the JSON object the
response format describes: verdict, the entity id, a one-sentence reason, and the exact words
of the text that decide it."""


@dataclass(frozen=True)
class Question:
    """One unsure finding: the whole text, its sentence, and the bible entry at stake."""

    text: str
    sentence: str
    entity: str
    entity_name: str
    rule: str
    rules_say: str


@dataclass(frozen=True)
class Opinion:
    verdict: Literal["violation", "consistent"]
    entity: str
    reason: str
    quoted_span: str
    # The provider's id of the answer (its completion id), for the ledger; not part of the opinion.
    request_id: str | None = field(default=None, compare=False)


class ContinuityReviewer(Protocol):
    async def review(self, question: Question) -> Opinion: ...

    async def aclose(self) -> None: ...


class OpenAIContinuityReviewer:
    """A ContinuityReviewer backed by `chat.completions` with a strict JSON-schema output."""

    def __init__(self, client: AsyncOpenAI, *, model: str) -> None:
        self.client = client
        self.model = model

    async def aclose(self) -> None:
        await self.client.close()

    async def review(self, question: Question) -> Opinion:
        user = (
            f"Bible entry: {question.entity} ({question.entity_name}), rule {question.rule}.\n"
            f"The rules say: {question.rules_say}\n"
            f"Marked sentence: {question.sentence}\n\nWhole text:\n{question.text}"
        )
        try:
            completion = await self.client.chat.completions.create(
                model=self.model,
                messages=[
                    {"role": "system", "content": _INSTRUCTIONS},
                    {"role": "user", "content": user},
                ],
                response_format={
                    "type": "json_schema",
                    "json_schema": {"name": SCHEMA_NAME, "strict": True, "schema": OPINION_SCHEMA},
                },
                max_completion_tokens=300,
            )
        except openai.OpenAIError as exc:
            raise provider_error(exc, "continuity review", code="continuity_review_failed") from exc
        choice = completion.choices[0] if completion.choices else None
        content = choice.message.content if choice is not None else None
        try:
            data = json.loads(content or "")
            verdict = data["verdict"]
            if verdict not in ("violation", "consistent"):
                raise ValueError(verdict)
            return Opinion(
                verdict,
                str(data["entity"]),
                str(data["reason"]),
                str(data["quoted_span"]),
                request_id=completion.id,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ProviderError(
                f"the continuity opinion is not the expected JSON: {exc}", code="script_invalid"
            ) from exc
