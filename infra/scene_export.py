"""One MP4 from many: segment MP4s joined by stream copy, with a chapter per segment.

The concat demuxer joins the files without decoding them (`-c copy`: no second encode, so the
export costs a file copy, not a render); an ffmetadata file gives the chapters. Each file's
`duration` is written into the concat list from ffprobe, so the next file starts exactly where
its chapter does. File names in both lists are ours (`part_000.mp4`), never user text; chapter
titles are user text and are escaped for ffmetadata.

Stream copy needs every part in one format. A scene whose segments differ (rendered before and
after a renderer change, or by different providers) would join into a file players choke on, so
then, and only then, every part is first encoded to the first one's size and rate.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ffmpeg

from infra.media import SAMPLE_RATE, MediaError, probe, run_ffmpeg

TITLE_WORDS = 6
TITLE_CHARS = 60
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_FFMETADATA_SPECIAL = re.compile(r"([=;#\\])")


@dataclass(frozen=True)
class Part:
    """One segment's MP4 and the text its chapter is named after."""

    path: Path
    text: str = ""


@dataclass(frozen=True)
class Chapter:
    title: str
    start: float
    end: float


@dataclass(frozen=True)
class Assembled:
    mp4: Path
    duration: float
    size_bytes: int
    chapters: list[Chapter]
    args: list[str] = field(default_factory=list)
    # The encodes that brought mismatched parts to one format (empty when all matched).
    conform_args: list[list[str]] = field(default_factory=list)


_VIDEO_FIELDS = ("codec_name", "profile", "width", "height", "pix_fmt", "r_frame_rate")
_AUDIO_FIELDS = ("codec_name", "profile", "sample_rate", "channels")


@dataclass(frozen=True)
class Format:
    """What must match for parts to be joined by stream copy."""

    video: tuple[Any, ...]
    audio: tuple[Any, ...] | None
    width: int
    height: int
    frame_rate: str


async def stream_format(path: Path) -> Format:
    try:
        data = await asyncio.to_thread(ffmpeg.probe, str(path))
    except ffmpeg.Error as exc:
        raise MediaError(f"ffprobe failed on {path.name}", (exc.stderr or b"").decode()) from exc
    streams = data.get("streams", [])
    video = next((s for s in streams if s.get("codec_type") == "video"), None)
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    if video is None:
        raise MediaError(f"{path.name} has no video stream")
    return Format(
        video=tuple(video.get(k) for k in _VIDEO_FIELDS),
        audio=tuple(audio.get(k) for k in _AUDIO_FIELDS) if audio else None,
        width=int(video["width"]),
        height=int(video["height"]),
        frame_rate=str(video.get("r_frame_rate") or "24/1"),
    )


def conform_args(source: Path, target: Path, like: Format, has_audio: bool) -> list[str]:
    """Encode `source` to `like`'s size and frame rate, H.264/AAC stereo (silence if it has no
    audio), letterboxed rather than stretched."""
    w, h = like.width, like.height
    video = (
        f"scale={w}:{h}:force_original_aspect_ratio=decrease,"
        f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2,setsar=1,fps={like.frame_rate}"
    )
    args = ["-y", "-nostdin", "-i", str(source)]
    if not has_audio:
        args += ["-f", "lavfi", "-i", f"anullsrc=r={SAMPLE_RATE}:cl=stereo"]
    args += ["-map", "0:v:0", "-map", "0:a:0" if has_audio else "1:a:0", "-vf", video]
    args += ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"]
    args += ["-c:a", "aac", "-b:a", "96k", "-ar", str(SAMPLE_RATE), "-ac", "2"]
    args += ["-shortest", "-movflags", "+faststart", str(target)]
    return args


def chapter_title(number: int, text: str) -> str:
    """`"3. The first words of the text…"`, or `"Segment 3"` for a segment without text."""
    words = _CONTROL.sub(" ", text).split()
    if not words:
        return f"Segment {number}"
    head = " ".join(words[:TITLE_WORDS])
    if len(head) > TITLE_CHARS:
        head = head[:TITLE_CHARS].rstrip()
    more = len(words) > TITLE_WORDS or len(head) < len(" ".join(words[:TITLE_WORDS]))
    return f"{number}. {head}{'…' if more else ''}"


def _escape(value: str) -> str:
    return _FFMETADATA_SPECIAL.sub(r"\\\1", _CONTROL.sub(" ", value))


def ffmetadata(chapters: Sequence[Chapter]) -> str:
    """An ffmetadata document with one `[CHAPTER]` per chapter, times in milliseconds."""
    lines = [";FFMETADATA1"]
    for chapter in chapters:
        lines += [
            "[CHAPTER]",
            "TIMEBASE=1/1000",
            f"START={round(chapter.start * 1000)}",
            f"END={round(chapter.end * 1000)}",
            f"title={_escape(chapter.title)}",
        ]
    return "\n".join(lines) + "\n"


def concat_list(names: Sequence[str], durations: Sequence[float]) -> str:
    lines = ["ffconcat version 1.0"]
    for name, duration in zip(names, durations, strict=True):
        lines += [f"file '{name}'", f"duration {duration:.6f}"]
    return "\n".join(lines) + "\n"


def concat_args(concat: Path, metadata: Path, output: Path) -> list[str]:
    """The ffmpeg arguments: every stream copied, chapters from `metadata`, moov first."""
    return [
        "-y",
        "-nostdin",
        "-f",
        "concat",
        "-i",
        str(concat),
        "-f",
        "ffmetadata",
        "-i",
        str(metadata),
        "-map",
        "0:v",
        "-map",
        "0:a?",
        "-map_metadata",
        "1",
        "-map_chapters",
        "1",
        "-c",
        "copy",
        "-movflags",
        "+faststart",
        str(output),
    ]


async def assemble(parts: Sequence[Part], work_dir: Path, *, ffmpeg: str = "") -> Assembled:
    """Join `parts` in order into `work_dir/scene.mp4`; their files are linked in as our names.

    `ffmpeg` is FFMPEG_BINARY (empty: the bundled build, else PATH's)."""
    if not parts:
        raise MediaError("nothing to export")
    names = [f"part_{index:03d}.mp4" for index in range(len(parts))]
    for name, part in zip(names, parts, strict=True):
        target = work_dir / name
        if part.path != target:
            await asyncio.to_thread(_link_or_copy, part.path, target)
    formats = [await stream_format(work_dir / name) for name in names]
    conformed: list[list[str]] = []
    if len(set(formats)) > 1:
        for name, form in zip(names, formats, strict=True):
            encoded = work_dir / f"conformed_{name}"
            args = conform_args(work_dir / name, encoded, formats[0], form.audio is not None)
            await run_ffmpeg(args, ffmpeg=ffmpeg)
            await asyncio.to_thread(encoded.replace, work_dir / name)
            conformed.append(args)
    infos = [await probe(work_dir / name) for name in names]
    durations = [info.duration for info in infos]
    if any(d <= 0 for d in durations):
        raise MediaError("a segment's video has no duration")
    chapters, start = [], 0.0
    for number, (part, duration) in enumerate(zip(parts, durations, strict=True), start=1):
        chapters.append(Chapter(chapter_title(number, part.text), start, start + duration))
        start += duration
    concat, metadata, output = (
        work_dir / "parts.ffconcat",
        work_dir / "chapters.ffmeta",
        work_dir / "scene.mp4",
    )
    concat.write_text(concat_list(names, durations), encoding="utf-8")
    metadata.write_text(ffmetadata(chapters), encoding="utf-8")
    args = concat_args(concat, metadata, output)
    await run_ffmpeg(args, ffmpeg=ffmpeg)
    result = await probe(output)
    size = output.stat().st_size
    return Assembled(output, result.duration, size, chapters, args, conformed)


def _link_or_copy(source: Path, target: Path) -> None:
    target.unlink(missing_ok=True)
    try:
        target.hardlink_to(source)
    except OSError:
        target.write_bytes(source.read_bytes())
