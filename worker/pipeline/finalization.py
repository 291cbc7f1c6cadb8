"""Stage 5: one transaction makes the segment, the new bible version and the counters."""

from __future__ import annotations

import time
import uuid
from typing import Any

from domain.jobs.finalization import Media, Provenance, finalize
from worker.pipeline.runtime import StageRun


async def run(stage: StageRun) -> dict[str, Any]:
    started = time.perf_counter()
    script_out = stage.outputs["script_expansion"]
    upload = stage.outputs["upload"]
    video = stage.outputs["video_generation"]
    media = Media(
        playlist_key=upload["playlist_key"],
        video_key=upload["video_key"],
        thumbnail_key=upload["thumbnail_key"],
        duration=float(upload["duration"]),
    )
    provenance = Provenance(
        provider=f"{script_out['provider']}+{video['provider']}",
        model=f"{script_out['model']}+{video['model']}",
        prompt_version=script_out["prompt_version"],
        input_hash=script_out["input_hash"],
        stage_durations={
            name: float(out.get("seconds", 0.0)) for name, out in stage.outputs.items()
        },
    )
    woken: set[uuid.UUID] = set()
    async with stage.channel.transaction(durable=True) as conn:
        result = await finalize(
            conn,
            stage.job,
            stage.script,
            media,
            provenance,
            stage.runtime.storage.url,
            started=started,
            woken=woken,
        )
    # In memory only (the segment's write kept the stage's output): the conductor wakes
    # the webhook sender for these endpoints now that the transaction has committed.
    return {"segment_id": result["segment_id"], "sequence": result["sequence"], "webhooks": woken}
