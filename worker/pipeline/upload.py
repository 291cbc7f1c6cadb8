"""Stage 4: HLS packaging by stream copy, then the upload of chunks, MP4, thumbnail, captions.

Objects are content-addressed (domain/media/store.py): an upload that runs again stores the
same keys and never leaves a second copy; what it records here becomes the segment's media
rows at finalization, and the playlists are made from those rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from domain.media.store import store_files
from infra.packaging import chunk_durations, start_pts, timed_captions
from worker.pipeline.runtime import StageRun

HLS_SEGMENT_SECONDS = 2
START, END = 75, 90


async def run(stage: StageRun) -> dict[str, Any]:
    video = stage.outputs["video_generation"]
    storage = stage.runtime.storage
    mp4, thumbnail = Path(video["mp4"]), Path(video["thumbnail"])
    package = await stage.runtime.packager.package(mp4, stage.work_dir / "hls", HLS_SEGMENT_SECONDS)
    durations = chunk_durations(package.playlist)
    files = [*package.segments, mp4, thumbnail]
    if video.get("captions"):
        mpegts = await start_pts(package.segments[0])
        files.append(
            timed_captions(Path(video["captions"]), stage.work_dir / "captions.vtt", mpegts)
        )

    async def stored(done: int) -> None:
        await stage.progress(START + (END - START) * done // len(files), "Uploading the segment.")

    rows = await store_files(stage.channel, storage, files, on_stored=stored)
    chunks = rows[: len(package.segments)]
    video_row, thumbnail_row = rows[len(chunks)], rows[len(chunks) + 1]
    captions_row = rows[len(chunks) + 2] if len(rows) > len(chunks) + 2 else None
    return {
        "chunks": [[row.sha256, d] for row, d in zip(chunks, durations, strict=True)],
        "video": video_row.sha256,
        "thumbnail": thumbnail_row.sha256,
        "captions": captions_row.sha256 if captions_row else None,
        "keys": {row.sha256: row.key for row in rows},
        "duration": video["duration"],
        "hls_segments": len(chunks),
    }
