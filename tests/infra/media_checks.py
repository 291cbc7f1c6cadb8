"""What a viewer would get, read back with ffmpeg: loudness of a stretch, a frame, WebVTT cues."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageChops, ImageStat

from infra.media import ffmpeg_executable

_CUE = re.compile(
    r"^(\d\d):(\d\d):(\d\d)\.(\d{3}) --> (\d\d):(\d\d):(\d\d)\.(\d{3})\n<v ([^>]*)>(.*)</v>$",
    re.M,
)


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    speaker: str
    text: str


def cues(vtt: str) -> list[Cue]:
    assert vtt.startswith("WEBVTT\n")
    found = []
    for m in _CUE.finditer(vtt):
        h1, m1, s1, ms1, h2, m2, s2, ms2 = (int(g) for g in m.groups()[:8])
        found.append(
            Cue(
                h1 * 3600 + m1 * 60 + s1 + ms1 / 1000,
                h2 * 3600 + m2 * 60 + s2 + ms2 / 1000,
                m.group(9),
                m.group(10),
            )
        )
    return found


def mean_volume(media: Path, start: float, end: float) -> float:
    """Mean loudness in dB of the audio between `start` and `end` seconds (volumedetect)."""
    said = subprocess.run(
        [ffmpeg_executable(), "-hide_banner", "-nostats", "-ss", f"{start:.3f}"]
        + ["-t", f"{end - start:.3f}", "-i", str(media), "-vn"]
        + ["-af", "volumedetect", "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    match = re.search(r"mean_volume: (-?[\d.]+|-inf) dB", said)
    assert match, said
    return float("-inf") if match.group(1) == "-inf" else float(match.group(1))


def frame_at(media: Path, seconds: float, target: Path) -> Image.Image:
    subprocess.run(
        [ffmpeg_executable(), "-hide_banner", "-loglevel", "error", "-y"]
        + ["-ss", f"{seconds:.3f}", "-i", str(media), "-frames:v", "1", str(target)],
        check=True,
    )
    with Image.open(target) as image:
        return image.convert("RGB")


def difference(
    a: Image.Image, b: Image.Image, box: tuple[int, int, int, int] | None = None
) -> float:
    """Mean absolute pixel difference (0..255) over `box`, or the whole frame."""
    if box is not None:
        a, b = a.crop(box), b.crop(box)
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3
