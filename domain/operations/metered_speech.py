"""The speech seam behind the provider ledger: every line spoken is a recorded call.

A paid line (a remote voice) has a work key (the job, the voice and the text) and its audio is
kept in object storage under a digest of that key before the call is recorded, so a render
resumed after a crash reads the line back instead of paying for it again.
"""

from __future__ import annotations

import hashlib
from typing import Any

from domain.operations.metered import Ledger, job_work_key, provider_name
from domain.operations.models import ProviderKind
from infra.logging import get_logger
from infra.providers.base import ProviderError
from infra.speech.engines import SpeechEngine, SpeechError, SpokenLine
from infra.speech.voices import Voice
from infra.storage import ObjectNotFound, Storage

log = get_logger("domain.operations.metered_speech")
# A remote voice is paid per line; the built-in one costs nothing but is recorded all the same.
REMOTE_SPEECH_COST_UNITS = 1
AUDIO_PREFIX = "ledger/speech"


def audio_key(work: str) -> str:
    """Where a paid line's audio is kept: a digest, never the text itself."""
    return f"{AUDIO_PREFIX}/{hashlib.sha256(work.encode()).hexdigest()}.pcm"


class LedgeredSpeech:
    """A speech engine whose every line spoken is a provider call in the ledger."""

    def __init__(self, inner: SpeechEngine, ledger: Ledger, storage: Storage) -> None:
        self.inner, self.ledger, self.storage = inner, ledger, storage
        self.provider = provider_name(inner)
        self.name, self.sample_rate = inner.name, inner.sample_rate

    def voice_name(self, voice: Voice) -> str:
        return self.inner.voice_name(voice)

    async def speak(self, text: str, voice: Voice) -> bytes:
        paid = self.provider != "local"
        key = (
            job_work_key("speak", f"{self.voice_name(voice)}|{self.sample_rate}|{text}")
            if paid
            else None
        )
        if key is not None and (kept := await self._kept(key)) is not None:
            return kept
        line = await self.ledger.timed(
            lambda: self._spoken(text, voice, key),
            provider=self.provider,
            kind=ProviderKind.SPEECH,
            operation="speak",
            work_key=key,
            describe=lambda out: (
                out.request_id,
                REMOTE_SPEECH_COST_UNITS if paid else 0,
                {"audio_key": audio_key(key), "bytes": len(out.pcm)} if key else None,
            ),
        )
        return line.pcm

    async def _kept(self, key: str) -> bytes | None:
        done = await self.ledger.replay(key)
        if done is None:
            return None
        try:
            pcm = await self.storage.read_bytes(done["audio_key"])
        except ObjectNotFound:  # the audio was lost: the line is spoken again
            return None
        log.info("provider_call_replayed", operation="speak", work_key=key)
        return pcm

    async def _spoken(self, text: str, voice: Voice, key: str | None) -> SpokenLine:
        # An engine that knows its request ids (the OpenAI one) says them through `spoken`.
        spoken = getattr(self.inner, "spoken", None)
        if spoken is not None:
            line: SpokenLine = await spoken(text, voice)
        else:
            line = SpokenLine(await self.inner.speak(text, voice))
        if key is not None:  # kept before the ledger row says it is done
            await self.storage.put_bytes(audio_key(key), line.pcm)
        return line


def meter_speech(renderer: Any, ledger: Ledger, storage: Storage) -> None:
    """Put the renderer's speech engine, if it has one, behind the ledger."""
    if getattr(renderer, "speech", None) is not None:  # the OpenAI renderer's voice
        renderer.speech = LedgeredSpeech(renderer.speech, ledger, storage)
    elif hasattr(renderer, "_engine"):  # the built-in renderer makes Flite on first use
        try:
            engine = renderer.engine
        except (ProviderError, SpeechError):  # no Flite here: the render reports it when it speaks
            return
        renderer._engine = LedgeredSpeech(engine, ledger, storage)
