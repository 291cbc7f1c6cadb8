"""ffmpeg work: render title cards into an H.264/AAC MP4, package it as HLS, probe files.

The commands are built with ffmpeg-python (it escapes filter arguments at both levels) and run
as asyncio subprocesses, so the event loop stays free and `-progress pipe:1` can be read line by
line for the progress callback. Text never goes into the filter graph itself: every string is
written to a temp file and drawn with `textfile=` and `expansion=none`, so quotes, colons,
percent signs and backslashes in a script cannot break (or inject into) the graph.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import shutil
import subprocess
import tempfile
import textwrap
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import ffmpeg

ProgressCallback = Callable[[float], Awaitable[None] | None]

SAMPLE_RATE = 48_000
_STDERR_TAIL = 4000
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
)


class MediaError(RuntimeError):
    """ffmpeg or ffprobe failed; `stderr` keeps the tail of what it said."""

    def __init__(self, message: str, stderr: str = "") -> None:
        super().__init__(f"{message}: {stderr.strip()[-500:]}" if stderr else message)
        self.stderr = stderr


@dataclass(frozen=True)
class MediaInfo:
    duration: float
    width: int | None
    height: int | None
    video_codec: str | None
    audio_codec: str | None
    video_profile: str | None = None
    frame_rate: float | None = None


@dataclass(frozen=True)
class HlsPackage:
    playlist: Path
    segments: list[Path]


@dataclass(frozen=True)
class Caption:
    """A subtitle shown from `start` to `end` seconds, relative to its card."""

    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Card:
    """One shot drawn as a full-frame colour card."""

    duration: float
    background: str  # "#rrggbb"
    title: str = ""
    subtitle: str = ""
    body: str = ""
    captions: Sequence[Caption] = ()
    tone_hz: float = 220.0


@dataclass(frozen=True)
class CardStyle:
    width: int = 1280
    height: int = 720
    fps: int = 24
    keyframe_seconds: int = 2
    text_color: str = "#f2efe6"
    accent_color: str = "#f0a35e"
    caption_color: str = "#ffffff"
    tone_volume: float = 0.02
    font: str | None = None
    bold_font: str | None = None


@dataclass(frozen=True)
class RenderResult:
    mp4: Path
    thumbnail: Path
    duration: float
    frames: int
    args: list[str] = field(default_factory=list)


@lru_cache
def ffmpeg_executable(configured: str = "") -> str:
    """The ffmpeg to run: `configured` (FFMPEG_BINARY), else imageio-ffmpeg's static build,
    else PATH's.

    The static build starts in about 10 ms where a distribution's dynamically linked ffmpeg
    takes 70 ms or more (it loads some 200 libraries), and packaging a short segment as HLS
    runs ffmpeg once per job, so the start-up is most of that stage's cost.
    """
    if configured:
        return configured
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError):
        return "ffmpeg"


@lru_cache
def find_font(bold: bool = False) -> str:
    """A TrueType font file for drawtext: fontconfig first, then the usual DejaVu paths."""
    pattern = "DejaVu Sans:bold" if bold else "DejaVu Sans"
    if shutil.which("fc-match"):
        found = subprocess.run(
            ["fc-match", "-f", "%{file}", pattern], capture_output=True, text=True, check=False
        ).stdout.strip()
        if found and Path(found).is_file():
            return found
    for candidate in _FONT_CANDIDATES:
        path = Path(candidate.replace("Sans.ttf", "Sans-Bold.ttf") if bold else candidate)
        if path.is_file():
            return str(path)
    raise MediaError(
        "no font for drawtext: install one with `apt-get install -y fonts-dejavu-core`"
    )


def frame_counts(durations: Sequence[float], fps: int) -> list[int]:
    """Frames per card from cumulative rounding, so the total drifts by at most half a frame."""
    counts, done, elapsed = [], 0, 0.0
    for duration in durations:
        elapsed += duration
        boundary = max(done + 1, round(elapsed * fps))
        counts.append(boundary - done)
        done = boundary
    return counts


def clean_text(text: str) -> str:
    return _CONTROL.sub(" ", text.replace("\r\n", "\n")).strip()


def wrap(text: str, columns: int, max_lines: int) -> str:
    lines: list[str] = []
    for paragraph in clean_text(text).split("\n"):
        lines.extend(textwrap.wrap(paragraph, columns) or [""])
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: max(columns - 1, 1)].rstrip() + "…"
    return "\n".join(lines).strip("\n")


def _color(hex_color: str) -> str:
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", hex_color):
        raise ValueError(f"not a #rrggbb colour: {hex_color!r}")
    return "0x" + hex_color[1:]


class _TextFiles:
    """Text for drawtext, one temp file per string, in a directory with a safe path."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="storyloom-text-"))
        self._count = 0

    def write(self, text: str) -> str:
        self._count += 1
        path = self.dir / f"t{self._count:04d}.txt"
        path.write_text(text, encoding="utf-8")
        return str(path)

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def _card_video(index: int, card: Card, frames: int, style: CardStyle, texts: _TextFiles) -> Any:
    w, h, fps = style.width, style.height, style.fps
    # Named instances (color@cardN) keep identical cards apart: ffmpeg-python merges equal nodes.
    # d=(frames-0.5)/fps makes the colour source emit exactly `frames` frames.
    source = ffmpeg.input(
        f"color@card{index}=c={_color(card.background)}:s={w}x{h}:r={fps}"
        f":d={(frames - 0.5) / fps:.6f}",
        f="lavfi",
    ).video
    font = style.font or find_font()
    bold = style.bold_font or find_font(bold=True)

    def columns_for(size: int) -> int:
        # DejaVu Sans averages about 0.55 em a character; 0.6 leaves room for wide glyphs.
        return max(int(w * 0.84 / (size * 0.6)), 8)

    def draw(stream: Any, text: str, **options: Any) -> Any:
        if not text:
            return stream
        return stream.drawtext(textfile=texts.write(text), expansion="none", **options)

    title_size, sub_size, body_size, cap_size = (
        max(int(h * k), 10) for k in (0.075, 0.04, 0.045, 0.05)
    )
    stream = draw(
        source,
        wrap(card.title, columns_for(title_size), 1),
        fontfile=bold,
        fontsize=title_size,
        fontcolor=style.accent_color,
        x="(w-text_w)/2",
        y=int(h * 0.08),
    )
    stream = draw(
        stream,
        wrap(card.subtitle, columns_for(sub_size), 1),
        fontfile=font,
        fontsize=sub_size,
        fontcolor=style.text_color,
        x="(w-text_w)/2",
        y=int(h * 0.08) + int(title_size * 1.5),
    )
    body_lines = max(int(h * 0.36 / (body_size * 1.3)), 1)
    stream = draw(
        stream,
        wrap(card.body, columns_for(body_size), body_lines),
        fontfile=font,
        fontsize=body_size,
        fontcolor=style.text_color,
        line_spacing=int(body_size * 0.3),
        x=int(w * 0.08),
        y=int(h * 0.30),
    )
    for caption in card.captions:
        stream = draw(
            stream,
            wrap(caption.text, columns_for(cap_size), 2),
            fontfile=font,
            fontsize=cap_size,
            fontcolor=style.caption_color,
            box=1,
            boxcolor="black@0.55",
            boxborderw=max(int(h * 0.012), 2),
            line_spacing=int(cap_size * 0.2),
            x="(w-text_w)/2",
            y=f"h-text_h-{int(h * 0.08)}",
            enable=f"between(t,{caption.start:.3f},{caption.end:.3f})",
        )
    seconds = frames / fps
    if seconds >= 1.0:
        stream = stream.filter("fade", t="in", st=0, d=0.2).filter(
            "fade", t="out", st=f"{seconds - 0.2:.3f}", d=0.2
        )
    return stream.filter("format", "yuv420p")


def _card_audio(index: int, card: Card, frames: int, style: CardStyle) -> Any:
    samples = frames * SAMPLE_RATE // style.fps
    seconds = samples / SAMPLE_RATE
    audio = (
        ffmpeg.input(
            f"sine@tone{index}=f={card.tone_hz:.1f}:r={SAMPLE_RATE}:d={seconds + 0.1:.6f}",
            f="lavfi",
        )
        .audio.filter("atrim", end_sample=samples)
        .filter("volume", style.tone_volume)
    )
    fade = min(0.05, seconds / 4)
    return audio.filter("afade", t="in", d=fade).filter(
        "afade", t="out", st=f"{seconds - fade:.4f}", d=fade
    )


def build_render(
    cards: Sequence[Card], style: CardStyle, mp4: Path, thumbnail: Path, texts: _TextFiles
) -> tuple[list[str], int]:
    """The ffmpeg arguments of one encode for all cards, and the total frame count."""
    if not cards:
        raise ValueError("nothing to render")
    counts = frame_counts([c.duration for c in cards], style.fps)
    parts: list[Any] = []
    thumb: Any = None
    for index, (card, frames) in enumerate(zip(cards, counts, strict=True)):
        video = _card_video(index, card, frames, style, texts)
        if index == 0:
            # The thumbnail comes from the same graph: no second decode of the MP4.
            split = video.split()
            video = split[0]
            # Early (past the fade-in, first caption showing): ffmpeg reports no progress at
            # all until this output has its frame.
            pick = min(frames - 1, round(style.fps * 0.6))
            thumb = split[1].trim(start_frame=pick, end_frame=pick + 1)
        parts.extend([video, _card_audio(index, card, frames, style)])
    joined = ffmpeg.concat(*parts, v=1, a=1).node
    gop = style.fps * style.keyframe_seconds
    movie = ffmpeg.output(
        joined[0],
        joined[1],
        str(mp4),
        vcodec="libx264",
        preset="veryfast",
        pix_fmt="yuv420p",
        r=style.fps,
        g=gop,
        keyint_min=gop,
        sc_threshold=0,
        force_key_frames=f"expr:gte(t,n_forced*{style.keyframe_seconds})",
        acodec="aac",
        audio_bitrate="96k",
        ar=SAMPLE_RATE,
        ac=2,
        movflags="+faststart",
        f="mp4",
    )
    still = ffmpeg.output(thumb, str(thumbnail), vframes=1, f="image2", **{"q:v": 3})
    args = ffmpeg.merge_outputs(movie, still).global_args("-nostdin").get_args()
    return ["-y", *args], sum(counts)


async def render_cards(
    cards: Sequence[Card],
    mp4: Path,
    thumbnail: Path,
    style: CardStyle | None = None,
    on_progress: ProgressCallback | None = None,
    *,
    ffmpeg: str = "",
) -> RenderResult:
    """Encode `cards` into `mp4` (H.264/AAC, keyframes every `keyframe_seconds`) and a JPEG.

    `ffmpeg`, here and below, is FFMPEG_BINARY: empty for the bundled build or PATH's."""
    style = style or CardStyle()
    texts = _TextFiles()
    try:
        args, frames = build_render(cards, style, mp4, thumbnail, texts)
        total = frames / style.fps
        await run_ffmpeg(args, ffmpeg=ffmpeg, expected_seconds=total, on_progress=on_progress)
    finally:
        texts.close()
    return RenderResult(mp4, thumbnail, total, frames, args)


def hls_args(mp4: Path, out_dir: Path, segment_seconds: int = 2) -> list[str]:
    stream = ffmpeg.input(str(mp4)).output(
        str(out_dir / "index.m3u8"),
        c="copy",
        f="hls",
        hls_time=segment_seconds,
        hls_playlist_type="vod",
        hls_list_size=0,
        hls_flags="independent_segments",
        hls_segment_filename=str(out_dir / "seg_%03d.ts"),
    )
    return ["-y", *stream.global_args("-nostdin").get_args()]


def _clear_segments(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob("seg_*.ts"):
        stale.unlink()


async def package_hls(
    mp4: Path, out_dir: Path, segment_seconds: int = 2, *, ffmpeg: str = ""
) -> HlsPackage:
    """Cut `mp4` into a VOD playlist of MPEG-TS segments by stream copy (no second encode)."""
    await asyncio.to_thread(_clear_segments, out_dir)
    await run_ffmpeg(hls_args(mp4, out_dir, segment_seconds), ffmpeg=ffmpeg)
    playlist = out_dir / "index.m3u8"
    lines = playlist.read_text().splitlines()
    segments = [out_dir / line for line in lines if line and not line.startswith("#")]
    return HlsPackage(playlist, segments)


async def probe(path: Path | str) -> MediaInfo:
    """Duration, size and codecs of a media file (or an HTTP URL), read by ffprobe."""
    try:
        data = await asyncio.to_thread(ffmpeg.probe, str(path))
    except ffmpeg.Error as exc:
        stderr = (exc.stderr or b"").decode(errors="replace")
        raise MediaError(f"ffprobe failed on {path}", stderr) from exc
    streams = data.get("streams", [])
    video: dict[str, Any] = next((s for s in streams if s.get("codec_type") == "video"), {})
    audio: dict[str, Any] = next((s for s in streams if s.get("codec_type") == "audio"), {})
    rate = video.get("avg_frame_rate") or "0/1"
    num, _, den = rate.partition("/")
    return MediaInfo(
        duration=float(data.get("format", {}).get("duration") or 0.0),
        width=video.get("width"),
        height=video.get("height"),
        video_codec=video.get("codec_name"),
        audio_codec=audio.get("codec_name"),
        video_profile=video.get("profile"),
        frame_rate=float(num) / float(den) if den and float(den) else None,
    )


async def run_ffmpeg(
    args: Sequence[str],
    *,
    ffmpeg: str,
    expected_seconds: float | None = None,
    on_progress: ProgressCallback | None = None,
) -> None:
    """Run ffmpeg (`ffmpeg`: FFMPEG_BINARY, or empty), feeding `on_progress` 0..1 from
    `-progress pipe:1`; kill it if cancelled."""
    process = await asyncio.create_subprocess_exec(
        ffmpeg_executable(ffmpeg),
        "-hide_banner",
        "-loglevel",
        "error",
        "-nostats",
        "-progress",
        "pipe:1",
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stderr_task = asyncio.ensure_future(process.stderr.read())  # type: ignore[union-attr]
    reported = 0.0
    try:
        async for raw in process.stdout:  # type: ignore[union-attr]
            key, _, value = raw.decode(errors="replace").strip().partition("=")
            if key != "out_time_us" or not expected_seconds or on_progress is None:
                continue
            try:
                fraction = min(max(int(value) / 1e6 / expected_seconds, 0.0), 0.99)
            except ValueError:
                continue
            if fraction > reported:
                reported = fraction
                await notify_progress(on_progress, fraction)
        code = await process.wait()
        stderr = (await stderr_task).decode(errors="replace")[-_STDERR_TAIL:]
    except BaseException:
        if process.returncode is None:
            process.kill()
            await process.wait()
        stderr_task.cancel()
        raise
    if code != 0:
        raise MediaError(f"ffmpeg exited with {code}", stderr)
    if on_progress is not None:
        await notify_progress(on_progress, 1.0)


async def notify_progress(callback: ProgressCallback, fraction: float) -> None:
    result = callback(fraction)
    if inspect.isawaitable(result):
        await result
