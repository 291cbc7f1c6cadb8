"""Script expansion by an OpenAI chat model, with the Script model as a strict JSON-schema output.

The schema sent is derived from `schemas.script.Script` and reduced to the subset strict
structured outputs accept: every property required, `additionalProperties` false, no
`default`, no string-length keywords. Pydantic still validates the
answer against the full model, so a reply that breaks a dropped limit is refused here, not
downstream.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from typing import Any

import openai
from openai import AsyncOpenAI
from pydantic import ValidationError

from infra.providers.base import ExpandedScript, ExpansionContext, ProviderError
from infra.providers.openai_client import provider_error
from infra.settings import Settings
from schemas.bible import CLOSED_THREAD_STATUSES, consequences_of, is_active
from schemas.script import Script

PROVIDER = "openai"
PROMPT_VERSION = "openai-script-v3"
SCHEMA_NAME = "storyloom_script"
# Keywords strict structured outputs reject; pydantic enforces them after the fact.
_UNSUPPORTED_KEYWORDS = ("default", "minLength", "maxLength", "title")
_RECENT_SCRIPT_CHARS = 1500
_CLOSED_THREADS = CLOSED_THREAD_STATUSES
_RECENT_EVENTS = 5


def strict_schema(model: type[Script] = Script) -> dict[str, Any]:
    """`model`'s JSON schema made acceptable to strict structured outputs."""
    return _strict(copy.deepcopy(model.model_json_schema()))


def _strict(node: Any) -> Any:
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    # Only schema nodes get here (property maps are walked below), so a property *named*
    # "title" is safe.
    for keyword in _UNSUPPORTED_KEYWORDS:
        node.pop(keyword, None)
    if "$ref" in node:
        return {"$ref": node["$ref"]}  # strict mode wants a bare reference
    properties = node.get("properties")
    if isinstance(properties, dict):
        # Optional fields become required: each has a natural empty value ([] or "") or
        # already admits null, and strict mode has no other way to say "optional".
        node["properties"] = {name: _strict(schema) for name, schema in properties.items()}
        node["required"] = list(properties)
        node["additionalProperties"] = False
    for key in ("items", "anyOf", "$defs"):
        if key in node:
            value = node[key]
            node[key] = (
                {name: _strict(sub) for name, sub in value.items()}
                if key == "$defs"
                else _strict(value)
            )
    return node


def _drop_nulls(value: Any) -> Any:
    """Nulls stand for "not given" under strict mode; dropping them lets model defaults apply."""
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(item) for item in value]
    return value


SCRIPT_SCHEMA: dict[str, Any] = strict_schema()

_INSTRUCTIONS = """\
You are the script writer of Storyloom, a collaborative story told in short video segments.
Turn the contributor's continuation into a shot list for the next segment, and record what it
changes in the story bible. Answer only with the JSON object the response format describes.

Rules:
- Keep to the contributor's text: do not add events it does not imply.
- Every name in a shot's characters or dialogue must be an ACTIVE character of the bible (by
  canonical name or alias) or a character you declare in bible_delta.new_characters.
- Inactive characters neither appear nor speak. One who is only remembered, mourned, named in
  someone else's line or owns a thing ("Elias's coat") is not in a shot's characters.
- Resolved or abandoned threads do not start again, and nothing happens before the current
  point. New characters get an entityId of the form
  char_ followed by lowercase letters and digits (char_ada2), and names no existing character
  uses.
- thread_changes may only name the open plot threads listed below, by id; a thread's status is
  active, resolved or abandoned.
- Settings are bible locations where possible. Durations are in seconds (0 < d <= 60).
- Dialogue lines are spoken words only; stage directions go into the action."""


def build_system_prompt(context: ExpansionContext) -> str:
    """The instructions plus what the story bible, the summary and recent segments establish."""
    bible = context.bible
    parts = [_INSTRUCTIONS, "", "## Story bible", *_bible_lines(bible)]
    if context.summary:
        parts += ["", "## The story so far", context.summary.strip()]
    if context.recent_scripts:
        parts += ["", "## Most recent segments (oldest first)"]
        parts += [_compact_script(s) for s in context.recent_scripts]
    parts += ["", f"This is segment {context.segment_number}."]
    if context.target_duration:
        parts.append(f"Aim for about {context.target_duration:g} seconds in total.")
    return "\n".join(parts)


def _bible_lines(bible: Mapping[str, Any]) -> list[str]:
    return [
        *_character_lines(bible.get("characters") or ()),
        *_setting_lines(bible.get("setting") or {}),
        *_timeline_lines(bible.get("timeline") or {}),
        *_thread_lines(bible.get("plotThreads") or ()),
        *_style_lines(bible.get("styleGuide") or {}),
    ]


def _character_lines(characters: Iterable[Mapping[str, Any]]) -> list[str]:
    lines = ["Characters:"]
    for character in characters:
        aliases = ", ".join(character.get("aliases") or ()) or "none"
        state = "active" if is_active(character) else "INACTIVE"
        entry = f"- {character.get('canonicalName')} (id {character.get('entityId')}, {state}; "
        entry += f"aliases: {aliases})"
        if character.get("description"):
            entry += f": {_clip(character['description'], 300)}"
        lines.append(entry)
    return lines


def _setting_lines(setting_: Mapping[str, Any]) -> list[str]:
    lines = [
        f"Primary location: {setting_.get('primaryLocation', 'unknown')}",
        f"Time period: {setting_.get('timePeriod', 'unknown')}",
    ]
    for location in setting_.get("locations") or ():
        description = (
            f": {_clip(location['description'], 200)}" if location.get("description") else ""
        )
        lines.append(f"- location {location.get('name')}{description}")
    lines += [f"- world rule: {rule}" for rule in setting_.get("worldRules") or ()]
    return lines


def _timeline_lines(timeline: Mapping[str, Any]) -> list[str]:
    lines = []
    if timeline.get("currentPoint"):
        lines.append(f"Current point: {timeline['currentPoint']}")
    events = list(timeline.get("majorEvents") or ())[-_RECENT_EVENTS:]
    if events:
        lines.append("Latest major events:")
    for event in events:
        # consequences: the design's string or our list, both read the same.
        after = "; ".join(consequences_of(event))
        at = f"segment {event['segmentNumber']}" if "segmentNumber" in event else "undated"
        entry = f"- {at}: {_clip(event.get('event', ''), 300)}"
        lines.append(entry + (f" (consequences: {_clip(after, 300)})" if after else ""))
    return lines


def _thread_lines(threads: Iterable[Mapping[str, Any]]) -> list[str]:
    open_threads = [t for t in threads if t.get("status") not in _CLOSED_THREADS]
    lines = ["Open plot threads:" if open_threads else "Open plot threads: none"]
    lines += [
        f"- {t.get('id')} [{t.get('status')}]: {_clip(t.get('description', ''), 300)}"
        for t in open_threads
    ]
    return lines


def _style_lines(style: Mapping[str, Any]) -> list[str]:
    if not style:
        return []
    return ["Style guide: " + "; ".join(f"{k}: {v}" for k, v in style.items() if v)]


def _compact_script(script: Mapping[str, Any]) -> str:
    shots = script.get("shots") or ()
    text = " / ".join(
        f"[{shot.get('setting')}] {', '.join(shot.get('characters') or ())}: {shot.get('action')}"
        for shot in shots
        if isinstance(shot, Mapping)
    )
    title = script.get("title") or "untitled"
    return f"- {title}: {_clip(text, _RECENT_SCRIPT_CHARS)}"


def _clip(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _errors(exc: ValidationError) -> str:
    shown: Iterable[str] = (
        f"{'/'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]
    )
    return "; ".join(shown)


class OpenAIScriptExpander:
    """A ScriptExpander backed by `chat.completions` with a strict JSON-schema response format."""

    provider = PROVIDER
    prompt_version = PROMPT_VERSION

    def __init__(
        self,
        client: AsyncOpenAI,
        *,
        model: str,
        max_tokens: int,
    ) -> None:
        self.client = client
        self.model = model
        self.max_tokens = max_tokens

    @classmethod
    def from_settings(cls, settings: Settings, client: AsyncOpenAI) -> OpenAIScriptExpander:
        return cls(
            client,
            model=settings.openai_script_model,
            max_tokens=settings.openai_script_max_tokens,
        )

    async def expand(self, text: str, context: ExpansionContext) -> ExpandedScript:
        try:
            completion = await self.client.chat.completions.create(
                model=self.model,
                messages=[
                    {"role": "system", "content": build_system_prompt(context)},
                    {"role": "user", "content": text},
                ],
                response_format={
                    "type": "json_schema",
                    "json_schema": {"name": SCHEMA_NAME, "strict": True, "schema": SCRIPT_SCHEMA},
                },
                max_completion_tokens=self.max_tokens,
            )
        except openai.OpenAIError as exc:
            raise provider_error(exc, "script expansion", code="script_expansion_failed") from exc
        if not completion.choices:
            raise ProviderError("script expansion returned no choices", code="script_invalid")
        choice = completion.choices[0]
        if choice.message.refusal:
            raise ProviderError(
                f"the model refused: {_clip(choice.message.refusal, 300)}", code="script_refused"
            )
        if choice.finish_reason == "length":
            raise ProviderError(
                "the script was cut off at the token limit", code="script_truncated"
            )
        if choice.finish_reason == "content_filter":
            raise ProviderError(
                "the script was withheld by a content filter", code="script_refused"
            )
        script = self._parse(choice.message.content)
        return ExpandedScript(
            script=script,
            provider=PROVIDER,
            model=completion.model or self.model,
            prompt_version=PROMPT_VERSION,
            request_id=completion.id,
        )

    @staticmethod
    def _parse(content: str | None) -> Script:
        if not content:
            raise ProviderError("the model returned no script", code="script_invalid")
        try:
            data = json.loads(content)
        except ValueError as exc:
            raise ProviderError(f"the script is not JSON: {exc}", code="script_invalid") from exc
        try:
            return Script.model_validate(_drop_nulls(data))
        except ValidationError as exc:
            raise ProviderError(
                f"the script does not fit the schema: {_errors(exc)}", code="script_invalid"
            ) from exc
