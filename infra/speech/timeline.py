"""The spoken timeline of a segment: every line placed in its shot, the speech track, captions.

A shot lasts as long as its speech needs: a short lead-in, the narrator reading the action, each
dialogue line in its speaker's voice with a breath between lines, and a tail before the cut.
Shot boundaries fall on frame boundaries, so picture and sound cut together.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from infra.logging import get_logger
from infra.media import frame_counts
from infra.speech.engines import SpeechEngine, speakable
from infra.speech.voices import NARRATOR_VOICE, Cast, Voice
from schemas.script import Script

log = get_logger(__name__)

LEAD_SECONDS = 0.35
GAP_SECONDS = 0.25
TAIL_SECONDS = 0.5
MIN_SHOT_SECONDS = 1.0
# The script's own limit for a shot: speech that would run longer is left out (and logged).
MAX_SHOT_SECONDS = 60.0
# The narrator reads the action up to about this many characters, cut at a sentence end.
NARRATION_MAX_CHARS = 280
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


@dataclass(frozen=True)
class Beat:
    """One spoken line: `speaker` is a character's name, None for the narrator."""

    shot: int
    start: float
    end: float
    speaker: str | None
    text: str
    voice: Voice


@dataclass(frozen=True)
class ShotTiming:
    start: float
    duration: float
    frames: int


@dataclass(frozen=True)
class Narration:
    shots: list[ShotTiming]
    beats: list[Beat]
    duration: float
    frames: int
    sample_rate: int
    pcm: bytes  # the whole speech track, mono 16-bit

    @property
    def dialogue(self) -> list[Beat]:
        return [b for b in self.beats if b.speaker is not None]


def narration_text(action: str, limit: int = NARRATION_MAX_CHARS) -> str:
    """The action as the narrator reads it: whole sentences up to about `limit` characters."""
    text = " ".join(action.split())
    if len(text) <= limit:
        return text
    kept = ""
    for sentence in _SENTENCE_END.split(text):
        if kept and len(kept) + 1 + len(sentence) > limit:
            break
        kept = f"{kept} {sentence}".strip()
    return kept if len(kept) <= limit else kept[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class _Line:
    shot: int
    speaker: str | None
    text: str
    voice: Voice


def lines_of(script: Script, cast: Cast, *, narrator: bool = True) -> list[_Line]:
    lines: list[_Line] = []
    for index, shot in enumerate(script.shots):
        action = narration_text(shot.action)
        if narrator and speakable(action):
            lines.append(_Line(index, None, action, NARRATOR_VOICE))
        for said in shot.dialogue:
            text = " ".join(said.line.split())
            if speakable(text):
                name = cast.member(said.character).name
                lines.append(_Line(index, name, text, cast.voice(said.character)))
    return lines


class SpeechCache:
    """Lines kept on disk by engine, voice and text: a resumed render speaks nothing twice."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory

    def path(self, engine: SpeechEngine, line: _Line) -> Path | None:
        if self.directory is None:
            return None
        key = f"{engine.voice_name(line.voice)}|{engine.sample_rate}|{line.text}"
        return self.directory / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".pcm")

    async def speak(self, engine: SpeechEngine, line: _Line, limit: asyncio.Semaphore) -> bytes:
        path = self.path(engine, line)
        if path is not None and path.is_file():
            return await asyncio.to_thread(path.read_bytes)
        async with limit:
            pcm = await engine.speak(line.text, line.voice)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f".{path.name}.partial")
            partial.write_bytes(pcm)
            partial.replace(path)
        return pcm


async def narrate(
    script: Script,
    cast: Cast,
    engine: SpeechEngine,
    fps: int,
    *,
    cache_dir: Path | None = None,
    concurrency: int = 2,
    fit_seconds: float | None = None,
) -> Narration:
    """Speak every line and lay the shots out around the speech.

    `fit_seconds` is for a picture that already exists (a provider's clip, which shows the
    action itself, so only the dialogue is spoken): the shots keep their script proportions
    over that length and the lines go where they fit; a line that would end past the picture
    is left out, so speech and captions never outlast it.
    """
    lines = lines_of(script, cast, narrator=fit_seconds is None)
    limit, cache = asyncio.Semaphore(concurrency), SpeechCache(cache_dir)
    clips = await asyncio.gather(*(cache.speak(engine, line, limit) for line in lines))
    rate = engine.sample_rate
    seconds = [len(pcm) / 2 / rate for pcm in clips]
    by_shot: list[list[int]] = [[] for _ in script.shots]
    for index, line in enumerate(lines):
        by_shot[line.shot].append(index)
    if fit_seconds is None:
        by_shot = [_within(shot, seconds) for shot in by_shot]

    if fit_seconds is None:
        wanted = []
        for index, shot in enumerate(script.shots):
            spoken = [seconds[i] for i in by_shot[index]]
            if spoken:
                need = LEAD_SECONDS + sum(spoken) + GAP_SECONDS * (len(spoken) - 1)
                wanted.append(max(need + TAIL_SECONDS, MIN_SHOT_SECONDS))
            else:
                wanted.append(max(shot.duration, MIN_SHOT_SECONDS))
    else:
        total = script.duration
        wanted = [fit_seconds * shot.duration / total for shot in script.shots]
    counts = frame_counts(wanted, fps)
    frames = sum(counts)
    duration = frames / fps if fit_seconds is None else fit_seconds

    shots: list[ShotTiming] = []
    placed: list[tuple[Beat, bytes]] = []
    start_frame, at = 0, 0.0
    for index, count in enumerate(counts):
        shot_start, shot_seconds = start_frame / fps, count / fps
        shots.append(ShotTiming(shot_start, shot_seconds, count))
        # A fitted clip's line may run past its shot: the next shot's lines wait for it.
        at = max(shot_start + LEAD_SECONDS, at)
        for i in by_shot[index]:
            end = at + seconds[i]
            if fit_seconds is not None and end > duration - 0.05:
                break
            beat = Beat(index, at, end, lines[i].speaker, lines[i].text, lines[i].voice)
            placed.append((beat, clips[i]))
            at = end + GAP_SECONDS
        start_frame += count

    beats = [beat for beat, _ in placed]
    return Narration(shots, beats, duration, frames, rate, mix(placed, rate, duration))


def _within(indices: list[int], seconds: Sequence[float]) -> list[int]:
    """The lines of a shot that fit in MAX_SHOT_SECONDS, in order; the rest are dropped."""
    kept: list[int] = []
    used = LEAD_SECONDS + TAIL_SECONDS
    for i in indices:
        need = seconds[i] + (GAP_SECONDS if kept else 0.0)
        if used + need > MAX_SHOT_SECONDS:
            log.warning("line_too_long_for_shot", seconds=round(seconds[i], 1))
            continue
        kept.append(i)
        used += need
    return kept


def mix(placed: Sequence[tuple[Beat, bytes]], rate: int, duration: float) -> bytes:
    """One track of silence with each placed line pasted in at its start."""
    track = bytearray(int(round(duration * rate)) * 2)
    for beat, pcm in placed:
        at = int(round(beat.start * rate)) * 2
        pcm = pcm[: max(len(track) - at, 0)]
        track[at : at + len(pcm)] = pcm
    return bytes(track)


def write_wav(path: Path, pcm: bytes, rate: int) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm)


def _timestamp(seconds: float) -> str:
    millis = int(round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def _escape(text: str) -> str:
    return " ".join(text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").split())


def webvtt(narration: Narration) -> str:
    """WebVTT cues of the dialogue, each with its speaker as the cue's voice."""
    cues = ["WEBVTT", ""]
    for number, beat in enumerate(narration.dialogue, 1):
        end = min(beat.end, narration.duration)
        cues += [
            str(number),
            f"{_timestamp(beat.start)} --> {_timestamp(end)}",
            f"<v {_escape(beat.speaker or '')}>{_escape(beat.text)}</v>",
            "",
        ]
    return "\n".join(cues)
