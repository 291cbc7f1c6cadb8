"""Stage 4: HLS packaging by stream copy, then upload of playlist, segments, MP4 and thumbnail.

Keys are derived from the job id, so an upload that runs again overwrites its own objects and
never leaves a second copy behind.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from worker.pipeline.runtime import StageRun

HLS_SEGMENT_SECONDS = 2
START, END = 75, 90


async def run(stage: StageRun) -> dict[str, Any]:
    video = stage.outputs["video_generation"]
    prefix = stage.media_prefix
    storage = stage.runtime.storage
    mp4, thumbnail = Path(video["mp4"]), Path(video["thumbnail"])
    files = [(f"{prefix}video.mp4", mp4), (f"{prefix}thumbnail.jpg", thumbnail)]
    # Local storage: the playlist and its segments are packaged straight into their place,
    # after the MP4 and thumbnail, so the playlist is still the last object to appear.
    in_place = storage.writable_dir(prefix)
    if in_place is not None:
        await storage.put_files(files)
    package = await stage.runtime.packager.package(
        mp4, in_place or stage.work_dir / "hls", HLS_SEGMENT_SECONDS
    )
    if in_place is None:
        files = [(f"{prefix}{p.name}", p) for p in package.segments] + files
        files.append((f"{prefix}index.m3u8", package.playlist))  # last: the rest is there

        async def stored(done: int) -> None:
            await stage.progress(
                START + (END - START) * done // len(files), "Uploading the segment."
            )

        await storage.put_files(files, stored)
    return {
        "prefix": prefix,
        "playlist_key": f"{prefix}index.m3u8",
        "video_key": f"{prefix}video.mp4",
        "thumbnail_key": f"{prefix}thumbnail.jpg",
        "duration": video["duration"],
        "hls_segments": len(package.segments),
    }
