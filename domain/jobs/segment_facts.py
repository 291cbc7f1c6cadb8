"""The design's segment `resolution` and `file_size`, recorded beside finalization.

Its statement (domain.media.repository.describe_segment) runs on its own in finalization's
transaction right after it, so the segment-writing statement (shared with the storage work)
stays as it is. Null stays null when a rerun no longer has the rendered file (its work
directory is gone).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from domain.media.repository import describe_segment

# worker/pipeline/finalization.py imports describe_segment from here; its statement is media's.
__all__ = ["describe_segment", "media_facts"]


def media_facts(video: dict[str, Any]) -> tuple[str | None, int | None]:
    """(`WIDTHxHEIGHT`, bytes of the MP4) from the video stage's output; None where unknown."""
    width, height = video.get("width"), video.get("height")
    resolution = f"{width}x{height}" if width and height else None
    mp4 = Path(str(video.get("mp4") or ""))
    try:
        size = mp4.stat().st_size if video.get("mp4") and mp4.is_file() else None
    except OSError:
        size = None
    return resolution, size
