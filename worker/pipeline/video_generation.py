"""Stage 3: the script is rendered; the provider's id is stored before any waiting."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from worker.pipeline.runtime import StageRun

START, END = 30, 75


async def run(stage: StageRun) -> dict[str, Any]:
    renderer = stage.runtime.renderer
    script = stage.script
    style = stage.bible.get("styleGuide", {})
    video_id = await renderer.submit(
        script,
        style,
        stage.work_dir / "render",
        resume_id=stage.job.provider_video_id,
        bible=stage.bible,
    )
    if video_id != stage.job.provider_video_id:
        await stage.save_video_id(video_id)

    async def on_progress(fraction: float) -> None:
        await stage.progress(START + int((END - START) * fraction), "Rendering the video.")

    video = await renderer.wait(video_id, on_progress=on_progress)
    return {
        "video_id": video_id,
        "mp4": str(video.mp4),
        "thumbnail": str(video.thumbnail),
        "captions": str(video.captions) if video.captions is not None else None,
        "duration": video.duration,
        "width": video.width,
        "height": video.height,
        "provider": video.provider,
        "model": video.model,
    }


def still_valid(output: dict[str, Any]) -> bool:
    """A render is reusable only while its files are on this machine's disk."""
    files = [output["mp4"], output["thumbnail"], output.get("captions")]
    return all(Path(f).is_file() for f in files if f is not None)
