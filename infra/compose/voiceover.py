"""Narration over a finished video (a remote provider's clip): speech mixed in, video copied.

The picture is not re-encoded: ffmpeg copies the video stream and mixes the speech over the
clip's own sound (ducked under the voices) or alone when the clip is silent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from infra.media import SAMPLE_RATE, run_ffmpeg
from infra.speech.engines import SpeechEngine
from infra.speech.timeline import Narration, narrate, webvtt, write_wav
from infra.speech.voices import Cast
from schemas.script import Script


async def voice_over(
    script: Script,
    bible: Mapping[str, Any],
    engine: SpeechEngine,
    video: Path,
    duration: float,
    has_audio: bool,
    work: Path,
    out: tuple[Path, Path],
) -> Narration:
    """Write `out` = (mp4 with the speech, WebVTT captions) for a clip of `duration` seconds."""
    mp4, captions = out
    await asyncio.to_thread(work.mkdir, parents=True, exist_ok=True)
    cast = Cast.of(bible, script.bible_delta.new_characters)
    narration = await narrate(
        script, cast, engine, 24, cache_dir=work / "speech", fit_seconds=duration
    )
    speech = work / "speech.wav"

    def prepare() -> None:
        write_wav(speech, narration.pcm, narration.sample_rate)
        captions.write_text(webvtt(narration), encoding="utf-8")

    await asyncio.to_thread(prepare)
    voice = f"[1:a]aresample={SAMPLE_RATE},aformat=channel_layouts=stereo"
    if has_audio:
        graph = (
            f"{voice},asplit=2[voice][key];"
            f"[0:a]aresample={SAMPLE_RATE},aformat=channel_layouts=stereo[bed];"
            "[bed][key]sidechaincompress=threshold=0.005:ratio=12:attack=10:release=400[ducked];"
            "[ducked][voice]amix=inputs=2:normalize=0:duration=first[aout]"
        )
    else:
        graph = f"{voice},apad,atrim=end={duration:.6f}[aout]"
    await run_ffmpeg(
        [
            "-y",
            "-nostdin",
            *("-i", str(video), "-i", str(speech)),
            *("-filter_complex", graph, "-map", "0:v:0", "-map", "[aout]"),
            *("-c:v", "copy", "-c:a", "aac", "-b:a", "96k", "-ar", str(SAMPLE_RATE)),
            *("-movflags", "+faststart", "-f", "mp4", str(mp4)),
        ]
    )
    return narration
