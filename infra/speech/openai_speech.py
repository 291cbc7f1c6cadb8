"""Speech through the SDK's `audio.speech` at the configured base URL (OPENAI_BASE_URL).

Raw PCM (24 kHz, mono, 16-bit: the API's `pcm` format) needs no decoding before the lines are
laid out. Each line is one request; infra.speech.timeline keeps the answers on disk, so a
resumed render pays for no line twice.
"""

from __future__ import annotations

from typing import Any, cast

import openai
from openai import AsyncOpenAI

from infra.providers.openai_client import provider_error
from infra.speech.engines import SpokenLine, speakable
from infra.speech.voices import Voice

MAX_INPUT_CHARS = 4096
_HIGH = ("coral", "nova", "shimmer", "sage")
_LOW = ("onyx", "echo", "ash", "ballad")
_NARRATOR = "fable"


class OpenAISpeechEngine:
    name = "openai"
    sample_rate = 24_000

    def __init__(self, client: AsyncOpenAI, *, model: str) -> None:
        self.client, self.model = client, model

    def voice_of(self, voice: Voice) -> str:
        if voice.is_narrator:
            return _NARRATOR
        table = {"high": _HIGH, "low": _LOW}.get(voice.register, _HIGH + _LOW)
        return table[voice.pick(len(table), "voice")]

    def voice_name(self, voice: Voice) -> str:
        return f"openai:{self.model}:{self.voice_of(voice)}"

    async def speak(self, text: str, voice: Voice) -> bytes:
        return (await self.spoken(text, voice)).pcm

    async def spoken(self, text: str, voice: Voice) -> SpokenLine:
        """The line's PCM with the request's id (the `x-request-id` header) for the ledger."""
        line = speakable(text)[:MAX_INPUT_CHARS]
        if not line:
            return SpokenLine(b"")
        try:
            async with self.client.audio.speech.with_streaming_response.create(
                model=self.model,
                voice=cast(Any, self.voice_of(voice)),
                input=line,
                response_format="pcm",
            ) as response:
                pcm = await response.read()
                request_id = response.request_id
        except openai.OpenAIError as exc:
            raise provider_error(exc, "speech", code="speech_failed") from exc
        return SpokenLine(pcm[: len(pcm) // 2 * 2], request_id)
