"""Narration over a finished video (a remote provider's clip): speech mixed in, video copied.

The picture is not re-encoded: ffmpeg copies the video stream and mixes the speech over the
clip's own sound (ducked under the voices) or alone when the clip is silent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from infra.asset_fetch import FetchLimits
from infra.media import SAMPLE_RATE, run_ffmpeg
from infra.speech.anchor import anchor_voices
from infra.speech.engines import SpeechEngine
from infra.speech.timeline import Narration, narrate, webvtt, write_wav
from infra.speech.voices import Cast
from schemas.script import Script

# What narration needs once a provider's clip is in: written at submit, read after download.
SCENE_NAME = "openai.scene.json"
CAPTIONS_NAME = "captions.vtt"


async def voice_over(
    script: Script,
    bible: Mapping[str, Any],
    engine: SpeechEngine,
    video: Path,
    duration: float,
    has_audio: bool,
    work: Path,
    out: tuple[Path, Path],
    *,
    ffmpeg: str,
    asset_limits: FetchLimits | None = None,
) -> Narration:
    """Write `out` = (mp4 with the speech, WebVTT captions) for a clip of `duration` seconds."""
    mp4, captions = out
    await asyncio.to_thread(work.mkdir, parents=True, exist_ok=True)
    new = script.bible_delta.new_characters
    present = [member.entity_id for member in Cast.of(bible, new).appearing(script.shots)]
    anchors = await anchor_voices(bible, present, asset_limits, work, ffmpeg=ffmpeg)
    cast = Cast.of(bible, new, anchors)
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
        ],
        ffmpeg=ffmpeg,
    )
    return narration


async def narrate_clip(
    engine: SpeechEngine,
    clip: Path,
    duration: float,
    has_audio: bool,
    out_dir: Path,
    *,
    ffmpeg: str,
    asset_limits: FetchLimits | None = None,
) -> bool:
    """Voice `clip` in place from the scene kept in `out_dir`; False when none was kept.

    `ffmpeg` is FFMPEG_BINARY (empty: the bundled build, else PATH's)."""
    try:
        scene = json.loads(await asyncio.to_thread((out_dir / SCENE_NAME).read_text))
    except (OSError, ValueError):
        return False  # submitted by a version that kept no scene: the clip stays as it is
    voiced = out_dir / f".partial.voiced.{clip.name}"
    partial_vtt = out_dir / f".partial.{CAPTIONS_NAME}"
    try:
        await voice_over(
            Script.model_validate(scene["script"]),
            scene.get("scene") or {},
            engine,
            clip,
            duration,
            has_audio,
            out_dir / "speech",
            (voiced, partial_vtt),
            ffmpeg=ffmpeg,
            asset_limits=asset_limits,
        )
        os.replace(voiced, clip)
        os.replace(partial_vtt, out_dir / CAPTIONS_NAME)
    finally:
        for leftover in (voiced, partial_vtt):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
    return True
