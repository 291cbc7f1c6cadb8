"""A narrated segment: speech first, then one still per speaker turn, moved and encoded by ffmpeg.

The expensive parts are chosen for speed on a small machine: each still is drawn once by
Pillow (larger than the frame) and decoded once by ffmpeg, which loops it and moves a crop
window over it (pans) or lets zoompan scale it (zooms); x264 runs at a fast preset. Sound is
the speech track laid out by infra.speech.timeline, over a quiet chord that a sidechain
compressor ducks whenever someone speaks.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from infra.compose.assets import ReferenceAssets
from infra.compose.frames import (
    OVERSCAN,
    Figure,
    background,
    cover,
    finish,
    lower_third,
    place_figures,
)
from infra.compose.look import colour_of, rgb, scene_look
from infra.media import SAMPLE_RATE, ProgressCallback, run_ffmpeg
from infra.speech.anchor import anchor_voices
from infra.speech.engines import SpeechEngine
from infra.speech.timeline import Beat, Narration, narrate, webvtt, write_wav
from infra.speech.voices import Cast
from schemas.script import Script

MOTIONS = ("pan_right", "zoom_in", "pan_left", "zoom_out", "pan_down")
_MINOR_WORDS = ("dark", "tense", "noir", "somber", "sombre", "melanchol", "grim", "bleak", "sad")
_ROOTS = (110.0, 123.47, 130.81, 146.83, 164.81)


@dataclass(frozen=True)
class ComposeOptions:
    width: int = 1280
    height: int = 720
    fps: int = 24
    keyframe_seconds: int = 2
    preset: str = "ultrafast"
    burn_in_captions: bool = False
    score_volume: float = 0.5
    # False (tests only) leaves the voices out of the mix while they still key the ducking,
    # so the score's level under a line can be measured on its own.
    mix_voice: bool = True
    ffmpeg: str = ""  # FFMPEG_BINARY: empty for the bundled build, else PATH's


@dataclass(frozen=True)
class Span:
    """Frames of one shot showing one still: from a speaker's turn to the next turn."""

    shot: int
    offset: int  # first frame, counted from the shot's start
    frames: int
    still: Path
    caption: Path | None


@dataclass(frozen=True)
class Composed:
    mp4: Path
    thumbnail: Path
    captions: Path
    duration: float
    frames: int
    narration: Narration


def _style_frame(
    bible: Mapping[str, Any], present: set[str], assets: ReferenceAssets
) -> tuple[str, Image.Image] | None:
    """The first readable style frame, of a character in the shot first; with its URL."""
    entries = [c for c in bible.get("characters") or [] if isinstance(c, Mapping)]
    ordered = sorted(entries, key=lambda c: c.get("canonicalName") not in present)
    for entry in ordered:
        refs = entry.get("referenceAssets") or {}
        url = refs.get("styleFrameUrl") if isinstance(refs, Mapping) else None
        image = assets.image(url)
        if image is not None and isinstance(url, str):
            return url, image
    return None


def draw_stills(
    script: Script,
    narration: Narration,
    cast: Cast,
    bible: Mapping[str, Any],
    style: Mapping[str, Any],
    assets: ReferenceAssets,
    options: ComposeOptions,
    work: Path,
) -> tuple[list[Span], Path]:
    """Every still and caption strip as files, the spans showing them, the thumbnail's still."""
    size = (round(options.width * OVERSCAN / 2) * 2, round(options.height * OVERSCAN / 2) * 2)
    setting = bible.get("setting") or {}
    backgrounds: dict[Any, Image.Image] = {}
    spans: list[Span] = []
    thumb: tuple[Path, bool] | None = None
    fps = options.fps
    for index, (shot, timing) in enumerate(zip(script.shots, narration.shots, strict=True)):
        names = [cast.member(n).name for n in shot.characters]
        names += [cast.member(d.character).name for d in shot.dialogue]
        names = list(dict.fromkeys(names))
        look = scene_look(shot.setting, setting, style, shot.action)
        frame = _style_frame(bible, set(names), assets)
        key = ("frame", frame[0], look) if frame is not None else look
        if key not in backgrounds:
            backgrounds[key] = (
                finish(cover(frame[1], size), look) if frame is not None else background(look, size)
            )
        base = backgrounds[key]
        figures = [
            Figure(
                n, colour_of(cast.member(n).voice.key), assets.image(cast.member(n).portrait_url)
            )
            for n in names
        ]
        accent = rgb(look.palette.accent)
        beats: list[Beat | None] = [b for b in narration.beats if b.shot == index] or [None]
        turns = [0] + [
            min(max(round((b.start - timing.start) * fps), 1), timing.frames - 1)
            for b in beats[1:]
            if b is not None
        ]
        stills: dict[str | None, Path] = {}
        for turn, (start, beat) in enumerate(zip(turns, beats, strict=True)):
            end = turns[turn + 1] if turn + 1 < len(turns) else timing.frames
            if end <= start:
                continue
            speaker = beat.speaker if beat is not None else None
            if speaker not in stills:
                still = base.copy()
                place_figures(still, figures, speaker, accent, int(options.width * 0.86))
                path = work / f"still-{index:03d}-{len(stills):02d}.ppm"
                still.save(path)
                stills[speaker] = path
                if thumb is None or (not thumb[1] and speaker is not None):
                    thumb = (path, speaker is not None)
            caption = None
            if options.burn_in_captions and beat is not None and speaker is not None:
                caption = work / f"caption-{index:03d}-{turn:02d}.png"
                lower_third((options.width, options.height), speaker, beat.text, accent).save(
                    caption, compress_level=1
                )
            spans.append(Span(index, start, end - start, stills[speaker], caption))
    assert thumb is not None
    return spans, thumb[0]


def _motion(kind: str, span: Span, shot_frames: int, options: ComposeOptions) -> str:
    w, h, fps = options.width, options.height, options.fps
    sw, sh = round(w * OVERSCAN / 2) * 2, round(h * OVERSCAN / 2) * 2
    progress = f"(n+{span.offset})/{max(shot_frames - 1, 1)}"
    if kind.startswith("zoom"):
        start, end = (1.0, OVERSCAN - 0.01) if kind == "zoom_in" else (OVERSCAN - 0.01, 1.0)
        zoom = f"{start}+({end - start:.4f})*(in+{span.offset})/{max(shot_frames - 1, 1)}"
        return (
            f"zoompan=z='{zoom}':x='iw/2-iw/zoom/2':y='ih/2-ih/zoom/2'"
            f":d=1:s={w}x{h}:fps={fps},setpts=N"
        )
    mx, my = sw - w, sh - h
    x, y = {
        "pan_right": (f"{mx}*{progress}", f"{my // 2}"),
        "pan_left": (f"{mx}*(1-{progress})", f"{my // 2}"),
        "pan_down": (f"{mx // 2}", f"{my}*{progress}"),
    }[kind]
    return f"crop={w}:{h}:x='{x}':y='{y}',setpts=N"


def _chord(style: Mapping[str, Any], seed: int) -> list[float]:
    words = " ".join(str(style.get(k) or "") for k in ("tone", "genre", "visualStyle")).lower()
    root = _ROOTS[seed % len(_ROOTS)]
    third = 1.189 if any(w in words for w in _MINOR_WORDS) else 1.26
    return [root, root * third, root * 1.498, root * 2]


def build_args(
    spans: list[Span],
    narration: Narration,
    speech_wav: Path,
    chord: list[float],
    seed: int,
    options: ComposeOptions,
    mp4: Path,
) -> list[str]:
    """One ffmpeg run: each span's still moved and cut together, speech over a ducked chord."""
    fps = options.fps
    inputs: list[str] = []
    graph: list[str] = []
    labels: list[str] = []
    shot_frames = [t.frames for t in narration.shots]
    for number, span in enumerate(spans):
        inputs += ["-i", str(span.still)]
        kind = MOTIONS[(seed + span.shot) % len(MOTIONS)]
        chain = (
            f"[{len(inputs) // 2 - 1}:v]format=yuv420p,loop=loop={span.frames - 1}:size=1:start=0,"
            f"settb=1/{fps},setpts=N,{_motion(kind, span, shot_frames[span.shot], options)}"
        )
        if span.caption is not None:
            graph.append(f"{chain}[m{number}]")
            inputs += ["-i", str(span.caption)]
            chain = (
                f"[m{number}][{len(inputs) // 2 - 1}:v]overlay=x=0:y=H-h:format=auto,format=yuv420p"
            )
        graph.append(f"{chain},settb=1/{fps},setsar=1[v{number}]")
        labels.append(f"[v{number}]")
    graph.append(f"{''.join(labels)}concat=n={len(labels)}:v=1:a=0[vout]")
    inputs += ["-i", str(speech_wav)]
    seconds = f"{narration.duration:.6f}"
    tones = [
        f"sine=frequency={f:.2f}:sample_rate={SAMPLE_RATE}:duration={seconds}[t{i}]"
        for i, f in enumerate(chord)
    ]
    graph += tones
    voice = "[voice]" if options.mix_voice else "[muted]"
    graph += [
        f"{''.join(f'[t{i}]' for i in range(len(chord)))}amix=inputs={len(chord)},"
        f"tremolo=f=0.15:d=0.5,lowpass=f=900,volume={options.score_volume:.4f}[score]",
        # Flite speaks some 5 dB under broadcast level; the limiter keeps louder voices whole.
        f"[{len(inputs) // 2 - 1}:a]aresample={SAMPLE_RATE},volume=1.6,"
        "alimiter=limit=0.9:level=0,asplit=2[voice][key]",
        "[score][key]sidechaincompress=threshold=0.005:ratio=12:attack=10:release=400[ducked]",
        *([] if options.mix_voice else ["[voice]volume=0[muted]"]),
        f"[ducked]{voice}amix=inputs=2:normalize=0:duration=first,"
        f"atrim=end={seconds},aformat=channel_layouts=stereo[aout]",
    ]
    gop = fps * options.keyframe_seconds
    return [
        "-y",
        "-nostdin",
        *inputs,
        "-filter_complex",
        ";".join(graph),
        "-map",
        "[vout]",
        "-map",
        "[aout]",
        "-c:v",
        "libx264",
        "-preset",
        options.preset,
        "-pix_fmt",
        "yuv420p",
        "-r",
        str(fps),
        "-g",
        str(gop),
        "-keyint_min",
        str(gop),
        "-sc_threshold",
        "0",
        "-force_key_frames",
        f"expr:gte(t,n_forced*{options.keyframe_seconds})",
        "-c:a",
        "aac",
        "-b:a",
        "96k",
        "-ar",
        str(SAMPLE_RATE),
        "-ac",
        "2",
        "-movflags",
        "+faststart",
        "-f",
        "mp4",
        str(mp4),
    ]


def _remove_stills(work: Path) -> None:
    for leftover in work.glob("still-*.ppm"):
        os.unlink(leftover)


def _thumbnail(still: Path, target: Path, options: ComposeOptions) -> None:
    with Image.open(still) as image:
        w, h = options.width, options.height
        left, top = (image.width - w) // 2, (image.height - h) // 2
        image.crop((left, top, left + w, top + h)).save(target, "JPEG", quality=85)


async def compose(
    script: Script,
    bible: Mapping[str, Any],
    style: Mapping[str, Any],
    engine: SpeechEngine,
    assets: ReferenceAssets,
    options: ComposeOptions,
    work: Path,
    out: tuple[Path, Path, Path],
    on_progress: ProgressCallback | None = None,
) -> Composed:
    """Render `script` into `out` = (mp4, thumbnail jpeg, captions vtt), using `work` for parts."""
    mp4, thumbnail, captions = out
    await asyncio.to_thread(work.mkdir, parents=True, exist_ok=True)
    new = script.bible_delta.new_characters
    present = [member.entity_id for member in Cast.of(bible, new).appearing(script.shots)]
    anchors = await anchor_voices(bible, present, assets.limits, work, ffmpeg=options.ffmpeg)
    cast = Cast.of(bible, new, anchors)
    assets = await assets.fetching(bible, present, work)
    narration = await narrate(script, cast, engine, options.fps, cache_dir=work / "speech")
    speech_wav = work / "speech.wav"

    def prepare() -> tuple[list[Span], Path]:
        write_wav(speech_wav, narration.pcm, narration.sample_rate)
        captions.write_text(webvtt(narration), encoding="utf-8")
        spans, still = draw_stills(script, narration, cast, bible, style, assets, options, work)
        _thumbnail(still, thumbnail, options)
        return spans, still

    spans, _ = await asyncio.to_thread(prepare)
    look = scene_look(script.shots[0].setting, bible.get("setting") or {}, style)
    args = build_args(
        spans, narration, speech_wav, _chord(style, look.seed), look.seed, options, mp4
    )
    await run_ffmpeg(
        args,
        ffmpeg=options.ffmpeg,
        expected_seconds=narration.duration,
        on_progress=on_progress,
    )
    await asyncio.to_thread(_remove_stills, work)
    return Composed(mp4, thumbnail, captions, narration.duration, narration.frames, narration)
