"""Stage 4: HLS packaging by stream copy, then upload of playlist, segments, MP4 and thumbnail.

Keys are derived from the job id, so an upload that runs again overwrites its own objects and
never leaves a second copy behind.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from infra.media import package_hls
from worker.pipeline.runtime import StageRun

HLS_SEGMENT_SECONDS = 2
START, END = 75, 90


async def run(stage: StageRun) -> dict[str, Any]:
    video = stage.outputs["video_generation"]
    package = await package_hls(Path(video["mp4"]), stage.work_dir / "hls", HLS_SEGMENT_SECONDS)
    prefix = stage.media_prefix
    files = [(f"{prefix}{p.name}", p) for p in package.segments]
    files += [
        (f"{prefix}video.mp4", Path(video["mp4"])),
        (f"{prefix}thumbnail.jpg", Path(video["thumbnail"])),
        (f"{prefix}index.m3u8", package.playlist),  # last: its presence means the rest is there
    ]

    async def stored(done: int) -> None:
        await stage.progress(START + (END - START) * done // len(files), "Uploading the segment.")

    await stage.runtime.storage.put_files(files, stored)
    return {
        "prefix": prefix,
        "playlist_key": f"{prefix}index.m3u8",
        "video_key": f"{prefix}video.mp4",
        "thumbnail_key": f"{prefix}thumbnail.jpg",
        "duration": video["duration"],
        "hls_segments": len(package.segments),
    }
