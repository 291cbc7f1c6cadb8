"""A character's voice from its voice anchor: the recording's own pitch chooses the register.

The bible's `referenceAssets.voiceAnchorUrl` names a recording of how the character sounds. It is
fetched safely (`infra.reference_assets`), its first seconds decoded by ffmpeg to 8 kHz mono, and
its median pitch estimated by autocorrelation over the voiced frames. A pitch under
`LOW_BELOW_HZ` gives a low voice, else a high one; the variant is the pitch in semitones. The
voice's key is the recording's hash, so the same recording at two URLs gives the same voice.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import operator
import statistics
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.asset_fetch import FetchLimits
from infra.logging import get_logger
from infra.media import MediaError, run_ffmpeg
from infra.reference_assets import AssetKind, ReferenceAssets, asset_url

log = get_logger("infra.speech.anchor")

# Between the usual speaking pitches of low (about 85-155 Hz) and high (165-255 Hz) voices.
LOW_BELOW_HZ = 150.0
RATE = 8000
SECONDS = 10
_FRAME, _HOP = 400, 200  # 50 ms frames every 25 ms
_LAGS = range(RATE // 400, RATE // 60 + 1)  # 60..400 Hz
_VOICED = 0.5  # normalised autocorrelation a frame's best lag must reach
MAX_FRAMES = 80
# Voices already heard in this process, by the recording's key: every segment of a scene
# names the same anchors, and a recording is measured once.
_HEARD: dict[str, AnchorVoice] = {}
_HEARD_AT_MOST = 256


@dataclass(frozen=True)
class AnchorVoice:
    key: str  # "anchor:" and the recording's hash
    register: str  # "low" | "high", or "any" when no pitch could be heard
    variant: int  # the pitch in semitones above 55 Hz (0 when none was heard)
    pitch_hz: float | None


def _frame_pitch(frame: Sequence[int]) -> float | None:
    energy = sum(map(operator.mul, frame, frame))
    if energy == 0:
        return None
    scores = [sum(map(operator.mul, frame, frame[lag:])) / energy for lag in _LAGS]
    best = max(scores)
    if best < _VOICED:
        return None
    # The shortest lag nearly as good as the best: the period, not a multiple of it.
    lag = next(_LAGS[i] for i, s in enumerate(scores) if s >= 0.9 * best and _is_peak(scores, i))
    return RATE / lag


def _is_peak(scores: Sequence[float], i: int) -> bool:
    before = scores[i - 1] if i > 0 else -math.inf
    after = scores[i + 1] if i + 1 < len(scores) else -math.inf
    return scores[i] >= before and scores[i] >= after


def median_pitch(samples: Sequence[int]) -> float | None:
    """The median pitch in Hz of the loud, voiced frames of 8 kHz mono `samples`, or None."""
    frames = [samples[i : i + _FRAME] for i in range(0, len(samples) - _FRAME + 1, _HOP)]
    if not frames:
        return None
    loudness = [max(map(abs, f)) for f in frames]
    floor = max(loudness) * 0.2
    loud = [f for f, level in zip(frames, loudness, strict=True) if level > floor and level]
    # Autocorrelation in pure Python costs about 2 ms a frame: a median needs no more than an
    # even spread of MAX_FRAMES of them.
    step = max(1, len(loud) // MAX_FRAMES)
    pitches = [p for f in loud[::step] if (p := _frame_pitch(f))]
    return statistics.median(pitches) if pitches else None


def voice_of(content: bytes, pitch: float | None) -> AnchorVoice:
    key = "anchor:" + hashlib.sha256(content).hexdigest()[:32]
    if pitch is None:
        return AnchorVoice(key, "any", 0, None)
    register = "low" if pitch < LOW_BELOW_HZ else "high"
    return AnchorVoice(key, register, max(0, round(12 * math.log2(pitch / 55))), pitch)


async def measure(recording: Path, *, ffmpeg: str = "") -> AnchorVoice:
    """The voice a recording asks for (MediaError when ffmpeg cannot decode it)."""
    content = await asyncio.to_thread(recording.read_bytes)
    heard = _HEARD.get(voice_of(content, None).key)
    if heard is not None:
        return heard
    pcm = recording.with_name(recording.name + ".pcm")
    await run_ffmpeg(
        [
            *("-y", "-nostdin", "-t", str(SECONDS), "-i", str(recording)),
            *("-ac", "1", "-ar", str(RATE), "-f", "s16le", str(pcm)),
        ],
        ffmpeg=ffmpeg,
    )

    def analyse() -> AnchorVoice:
        samples = array("h", pcm.read_bytes())
        pcm.unlink()
        return voice_of(content, median_pitch(samples))

    voice = await asyncio.to_thread(analyse)
    if len(_HEARD) >= _HEARD_AT_MOST:
        _HEARD.clear()
    _HEARD[voice.key] = voice
    return voice


async def anchor_voices(
    bible: Mapping[str, Any],
    present: Sequence[str],
    limits: FetchLimits | None,
    work: Path,
    *,
    ffmpeg: str = "",
) -> dict[str, AnchorVoice]:
    """The voices the anchors of the `present` characters (entity ids) ask for, by anchor URL;
    an anchor that cannot be fetched or decoded is left out (the character keeps its own)."""
    if limits is None:
        return {}
    fetcher = ReferenceAssets(work, limits)
    voices: dict[str, AnchorVoice] = {}
    for character in bible.get("characters") or ():
        if not isinstance(character, Mapping) or character.get("entityId") not in present:
            continue
        url = asset_url(character, AssetKind.VOICE_ANCHOR)
        if url is None or url in voices:
            continue
        recording = await fetcher.local_file(character, AssetKind.VOICE_ANCHOR)
        if recording is None:
            continue
        try:
            voice = voices[url] = await measure(recording, ffmpeg=ffmpeg)
        except MediaError as exc:
            log.warning(
                "voice_anchor_unreadable", entity_id=character.get("entityId"), why=str(exc)
            )
            continue
        log.info(
            "voice_anchor_heard",
            entity_id=character.get("entityId"),
            pitch_hz=voice.pitch_hz and round(voice.pitch_hz),
            register=voice.register,
        )
    return voices
