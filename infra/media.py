"""ffmpeg work: run it with progress, package an MP4 as HLS, probe files; fonts and frames.

Commands run as asyncio subprocesses, so the event loop stays free and `-progress pipe:1` can
be read line by line for the progress callback. The built-in renderer (infra/compose) draws its
pictures and text with Pillow and hands ffmpeg only files and numbers.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import shutil
import subprocess
import textwrap
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
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
    """A TrueType font file (Pillow's): fontconfig first, then the usual DejaVu paths."""
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
        "no font to draw text with: install one with `apt-get install -y fonts-dejavu-core`"
    )


def frame_counts(durations: Sequence[float], fps: int) -> list[int]:
    """Frames per shot from cumulative rounding, so the total drifts by at most half a frame."""
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
