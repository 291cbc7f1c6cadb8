"""Stage 5: one transaction makes the segment, its media rows, the bible version, counters."""

from __future__ import annotations

import time
import uuid
from typing import Any

from domain.jobs.finalization import Media, Provenance, finalize
from domain.jobs.segment_facts import describe_segment, media_facts
from domain.media import repository as media_repository
from domain.media.models import MediaRole
from domain.media.repository import Reference
from infra.media_urls import MediaUrls
from worker.pipeline import upload
from worker.pipeline.runtime import StageRun


def media_of(out: dict[str, Any]) -> Media:
    """The upload stage's output as the segment's media."""
    refs = [
        Reference(MediaRole.CHUNK, position, sha, float(duration))
        for position, (sha, duration) in enumerate(out["chunks"])
    ]
    refs.append(Reference(MediaRole.VIDEO, 0, out["video"]))
    refs.append(Reference(MediaRole.THUMBNAIL, 0, out["thumbnail"]))
    if out.get("captions"):
        refs.append(Reference(MediaRole.CAPTIONS, 0, out["captions"]))
    keys = out["keys"]
    return Media(
        video_key=keys[out["video"]],
        thumbnail_key=keys[out["thumbnail"]],
        duration=float(out["duration"]),
        refs=refs,
    )


async def run(stage: StageRun) -> dict[str, Any]:
    started = time.perf_counter()
    script_out = stage.outputs["script_expansion"]
    if "chunks" not in stage.outputs["upload"]:  # uploaded before media was content-addressed
        stage.outputs["upload"] = await upload.run(stage)
    media = media_of(stage.outputs["upload"])
    # Touched now, so no sweep takes them before the transaction below references them; one
    # already taken (a run that waited past the grace period) is uploaded again.
    shas = [ref.sha256 for ref in media.refs]
    if len(await media_repository.refresh(stage.channel, shas)) != len(set(shas)):
        stage.outputs["upload"] = await upload.run(stage)
        media = media_of(stage.outputs["upload"])
    video = stage.outputs["video_generation"]
    provenance = Provenance(
        provider=f"{script_out['provider']}+{video['provider']}",
        model=f"{script_out['model']}+{video['model']}",
        prompt_version=script_out["prompt_version"],
        input_hash=script_out["input_hash"],
        stage_durations={
            name: float(out.get("seconds", 0.0)) for name, out in stage.outputs.items()
        },
    )
    urls = MediaUrls(stage.runtime.settings, stage.runtime.storage)
    resolution, file_size = media_facts(video)
    woken: set[uuid.UUID] = set()
    async with stage.channel.transaction(durable=True) as conn:
        result = await finalize(
            conn,
            stage.job,
            stage.script,
            media,
            provenance,
            urls.segment_links,
            started=started,
            woken=woken,
        )
        await describe_segment(conn, uuid.UUID(str(result["segment_id"])), resolution, file_size)
    # In memory only (the segment's write kept the stage's output): the conductor wakes
    # the webhook sender for these endpoints now that the transaction has committed.
    return {"segment_id": result["segment_id"], "sequence": result["sequence"], "webhooks": woken}
