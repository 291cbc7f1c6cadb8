"""Stand-in MP4s for tests of what is done to a render (packaging, joining, storing).

Encoded like the built-in renderer's output (H.264/AAC, a keyframe every `keyframe_seconds`)
from a colour and a tone, so a test picks the exact length, size and look it needs.
"""

from __future__ import annotations

from pathlib import Path

from infra.media import SAMPLE_RATE, run_ffmpeg


async def sample_mp4(
    mp4: Path,
    seconds: float,
    *,
    size: tuple[int, int] = (320, 180),
    fps: int = 12,
    keyframe_seconds: int = 2,
    colour: str = "#223344",
    tone_hz: float = 220.0,
    ffmpeg: str = "",
) -> Path:
    w, h = size
    gop = fps * keyframe_seconds
    await run_ffmpeg(
        ["-y", "-nostdin"]
        + ["-f", "lavfi", "-i", f"color=c=0x{colour[1:]}:s={w}x{h}:r={fps}:d={seconds:.6f}"]
        + ["-f", "lavfi", "-i", f"sine=f={tone_hz:.1f}:r={SAMPLE_RATE}:d={seconds:.6f}"]
        + ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-r", str(fps)]
        + ["-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0"]
        + ["-force_key_frames", f"expr:gte(t,n_forced*{keyframe_seconds})"]
        + ["-c:a", "aac", "-b:a", "96k", "-ar", str(SAMPLE_RATE), "-ac", "2"]
        + ["-movflags", "+faststart", "-f", "mp4", str(mp4)],
        ffmpeg=ffmpeg,
    )
    return mp4
