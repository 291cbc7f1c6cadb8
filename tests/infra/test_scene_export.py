"""Joining segment MP4s into one with chapters, against the real ffmpeg and ffprobe."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from infra.scene_export import (
    Chapter,
    Part,
    assemble,
    chapter_title,
    concat_list,
    ffmetadata,
)
from tests.infra.sample_media import sample_mp4

AWKWARD = 'Mara says: "a=b; #1 \\ ok"\nand then\x00 more words here'


def ffprobe_json(path: Path, *args: str) -> dict[str, Any]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json", *args, str(path)],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    return json.loads(out)


def video_packets(path: Path) -> bytes:
    """The video stream's packets as stored (no decoding), in Annex B form."""
    return subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v", "-c", "copy"]
        + ["-f", "h264", "-bsf:v", "h264_mp4toannexb", "pipe:1"],
        capture_output=True,
        check=True,
    ).stdout


@pytest.fixture(scope="module")
async def parts(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("parts")
    made = []
    for index, (seconds, colour) in enumerate(
        [(1.5, "#12343a"), (2.25, "#2a1a10"), (1.0, "#333333")]
    ):
        mp4 = folder / f"in_{index}.mp4"
        await sample_mp4(mp4, seconds, colour=colour)
        made.append(mp4)
    return made


def test_chapter_titles_take_the_first_words() -> None:
    assert chapter_title(1, "Mara walks down to the old docks at dawn.") == (
        "1. Mara walks down to the old…"
    )
    assert chapter_title(2, "Fog.") == "2. Fog."
    assert chapter_title(3, "  \n ") == "Segment 3"
    assert chapter_title(4, "x" * 200).endswith("…") and len(chapter_title(4, "x" * 200)) < 70


def test_ffmetadata_escapes_what_would_break_it() -> None:
    text = ffmetadata([Chapter(chapter_title(1, AWKWARD), 0.0, 1.5)])
    title = next(line for line in text.splitlines() if line.startswith("title="))
    assert title == 'title=1. Mara says: "a\\=b\\; \\#1 \\\\ ok"…'
    assert "\x00" not in text and text.count("\n") == 6
    assert concat_list(["part_000.mp4"], [1.5]) == (
        "ffconcat version 1.0\nfile 'part_000.mp4'\nduration 1.500000\n"
    )


async def test_parts_joined_by_stream_copy_with_a_chapter_each(
    parts: list[Path], tmp_path: Path
) -> None:
    texts = ["Mara walks down to the old docks at dawn.", AWKWARD, ""]
    result = await assemble([Part(p, t) for p, t in zip(parts, texts, strict=True)], tmp_path)

    # Nothing was encoded: every stream is copied, no codec is named.
    assert result.conform_args == []
    args = result.args
    assert args[args.index("-c") + 1] == "copy"
    assert not any(
        a.startswith(("-c:", "-codec", "-vcodec", "-acodec", "-vf", "-af", "-filter")) for a in args
    )
    assert "+faststart" in args

    durations = [float(ffprobe_json(p, "-show_format")["format"]["duration"]) for p in parts]
    info = ffprobe_json(result.mp4, "-show_chapters", "-show_streams", "-show_format")
    chapters = info["chapters"]
    assert [c["tags"]["title"] for c in chapters] == [
        "1. Mara walks down to the old…",
        '2. Mara says: "a=b; #1 \\ ok"…',
        "Segment 3",
    ]
    start = 0.0
    for chapter, duration in zip(chapters, durations, strict=True):
        assert float(chapter["start_time"]) == pytest.approx(start, abs=0.002)
        assert float(chapter["end_time"]) == pytest.approx(start + duration, abs=0.002)
        start += duration
    assert float(info["format"]["duration"]) == pytest.approx(sum(durations), abs=0.1)
    assert result.duration == pytest.approx(sum(durations), abs=0.1)

    source = ffprobe_json(parts[0], "-show_streams")["streams"]
    for kind in ("video", "audio"):
        ours = next(s for s in info["streams"] if s["codec_type"] == kind)
        theirs = next(s for s in source if s["codec_type"] == kind)
        for key in ("codec_name", "profile", "width", "height", "sample_rate"):
            assert ours.get(key) == theirs.get(key), (kind, key)

    # The bytes of each part's video are in the export unchanged: the three joined streams
    # are exactly the parts' streams one after the other.
    joined = video_packets(result.mp4)
    pieces = b"".join(video_packets(p) for p in parts)
    assert len(joined) > 1000
    assert hashlib.sha256(joined).digest() == hashlib.sha256(pieces).digest()

    # moov before mdat: a player can start before the download ends.
    head = result.mp4.read_bytes()[:4096]
    assert head.find(b"moov") != -1 and (
        head.find(b"mdat") == -1 or head.find(b"moov") < head.find(b"mdat")
    )
    assert result.size_bytes == result.mp4.stat().st_size


def decode_errors(path: Path) -> str:
    """What ffmpeg complains about when it decodes every frame of `path`."""
    return subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        check=True,
        text=True,
    ).stderr


def without_audio(source: Path, target: Path) -> Path:
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(source), "-an", "-c", "copy", str(target)],
        check=True,
    )
    return target


async def test_parts_of_different_formats_are_first_brought_to_one(
    parts: list[Path], tmp_path: Path
) -> None:
    larger = tmp_path / "larger.mp4"
    await sample_mp4(larger, 1.25, size=(426, 240), fps=24, colour="#553322")
    silent = without_audio(parts[1], tmp_path / "silent.mp4")
    sources = [parts[0], larger, silent]
    lengths = [float(ffprobe_json(p, "-show_format")["format"]["duration"]) for p in sources]

    result = await assemble([Part(p, f"Part {i}") for i, p in enumerate(sources)], tmp_path)

    assert len(result.conform_args) == 3, "all parts encoded alike, so their headers agree"
    assert any("anullsrc" in a for a in result.conform_args[2]), "silence for the silent part"
    info = ffprobe_json(result.mp4, "-show_chapters", "-show_streams", "-show_format")
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    assert (video["width"], video["height"], video["r_frame_rate"]) == (320, 180, "12/1")
    media = [s["codec_type"] for s in info["streams"] if s["codec_type"] != "data"]
    assert media == ["video", "audio"]  # data: the MP4's chapter track
    assert len(info["chapters"]) == 3
    assert float(info["format"]["duration"]) == pytest.approx(sum(lengths), abs=0.25)
    assert decode_errors(result.mp4) == ""
