"""Speech engines: text and a voice in, mono 16-bit PCM out.

The built-in engine is Flite (Debian's `flite`): CMU's clustergen voices (slt, rms, awb) and a
diphone voice (kal16), all shipped inside the package, no download at run time, and some
50 times faster than real time on one core. Why Flite over espeak-ng and Festival: README,
"Continuations and the pipeline", Providers.
"""

from __future__ import annotations

import asyncio
import io
import re
import shutil
import tempfile
import wave
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol, runtime_checkable

from infra.speech.voices import Voice

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
# Speech engines read letters and punctuation; pictographs and symbols only make noise.
_UNSPEAKABLE = re.compile(r"[^\w\s.,;:!?'\"()\-–—…%&/]+")


class SpeechError(RuntimeError):
    """The engine could not speak a line; the message says why."""


def speakable(text: str) -> str:
    """One line of plain text an engine reads aloud as written."""
    return " ".join(_UNSPEAKABLE.sub(" ", _CONTROL.sub(" ", text)).split())


@runtime_checkable
class SpeechEngine(Protocol):
    name: str
    sample_rate: int

    def voice_name(self, voice: Voice) -> str:
        """The engine's own name for `voice`, with its settings: part of the cache key."""
        ...

    async def speak(self, text: str, voice: Voice) -> bytes:
        """Mono signed 16-bit little-endian PCM at `sample_rate`."""
        ...


@dataclass(frozen=True)
class SpokenLine:
    """A line's PCM and the provider's id of the request that spoke it (None: no provider id)."""

    pcm: bytes
    request_id: str | None = None


def pcm_of_wav(data: bytes, rate: int) -> bytes:
    """The samples of a mono 16-bit WAV at `rate`; anything else is an error."""
    try:
        with wave.open(io.BytesIO(data)) as wav:
            if (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) != (1, 2, rate):
                raise SpeechError(
                    f"expected mono 16-bit {rate} Hz, got {wav.getnchannels()} channels, "
                    f"{wav.getsampwidth() * 8}-bit, {wav.getframerate()} Hz"
                )
            return wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as exc:
        raise SpeechError(f"not a WAV file: {exc}") from exc


@dataclass(frozen=True)
class FliteVoice:
    name: str
    f0_mean: int  # the voice's own mean pitch in Hz, which shifts multiply
    # Clustergen voices take a relative `f0_shift`; the diphone voice an absolute target mean.
    relative: bool = True


# Registers: "high" voices for characters described as she/her, "low" for he/him. rms is
# the narrator's alone: Flite's rms ignores pitch settings, so no character could be told
# apart from a narrator on it.
_FLITE_HIGH = (FliteVoice("slt", 170),)
_FLITE_LOW = (FliteVoice("awb", 125), FliteVoice("kal16", 100, relative=False))
_PITCH_SHIFTS = (0.86, 0.93, 1.0, 1.08, 1.16)
_PACES = (0.95, 1.0, 1.06)
_NARRATOR = FliteVoice("rms", 105)


@lru_cache
def flite_binary() -> str | None:
    return shutil.which("flite")


class FliteEngine:
    """Debian's Flite, one process per line (it starts in a few milliseconds)."""

    name = "flite"
    sample_rate = 16_000

    def __init__(self, binary: str | None = None) -> None:
        found = binary or flite_binary()
        if found is None:
            raise SpeechError("flite is not installed: `apt-get install -y flite` (make run does)")
        self.binary = found

    def settings(self, voice: Voice) -> tuple[FliteVoice, float, float]:
        """The Flite voice, its pitch (a factor, or Hz for a diphone voice) and its pace."""
        if voice.is_narrator:
            return _NARRATOR, 1.0, 1.06
        table = {"high": _FLITE_HIGH, "low": _FLITE_LOW}.get(
            voice.register, _FLITE_HIGH + _FLITE_LOW
        )
        base = table[voice.pick(len(table), "voice")]
        shift = _PITCH_SHIFTS[voice.pick(len(_PITCH_SHIFTS), "pitch")]
        pitch = shift if base.relative else round(base.f0_mean * shift)
        return base, pitch, _PACES[voice.pick(len(_PACES), "pace")]

    def voice_name(self, voice: Voice) -> str:
        base, pitch, pace = self.settings(voice)
        return f"flite:{base.name}:pitch={pitch:g}:pace={pace:g}"

    async def speak(self, text: str, voice: Voice) -> bytes:
        line = speakable(text)
        if not line:
            return b""
        base, pitch, pace = self.settings(voice)
        tone = f"f0_shift={pitch:g}" if base.relative else f"int_f0_target_mean={pitch:g}"
        with tempfile.TemporaryDirectory(prefix="storyloom-flite-") as tmp:
            source, target = Path(tmp) / "line.txt", Path(tmp) / "line.wav"
            source.write_text(line + "\n", encoding="utf-8")
            process = await asyncio.create_subprocess_exec(
                self.binary,
                "-voice",
                base.name,
                "--setf",
                tone,
                "--setf",
                f"duration_stretch={pace:g}",
                "-f",
                str(source),
                "-o",
                str(target),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
            try:
                _, stderr = await process.communicate()
            except BaseException:
                if process.returncode is None:
                    process.kill()
                    await process.wait()
                raise
            if process.returncode != 0 or not target.is_file():
                said = stderr.decode(errors="replace")[-300:]
                raise SpeechError(f"flite exited with {process.returncode}: {said}")
            return pcm_of_wav(target.read_bytes(), self.sample_rate)
