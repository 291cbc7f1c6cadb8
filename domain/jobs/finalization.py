"""Finalization: the one transaction that turns a finished job into the scene's next segment.

It locks the job and the scene row, takes the next sequence, writes the segment and the new
bible version (rebased by a three-way merge when the head moved meanwhile) and the counters.
Running it twice for one job changes nothing the second time.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.bible.delta import apply_delta
from domain.bible.merge import merge_bibles
from domain.bible.script_check import check_script
from domain.bible.validation import validate_bible
from domain.ids import new_time_id
from domain.jobs import repository
from domain.jobs.failures import BibleConflict, ContinuityViolation, SceneClosed
from domain.jobs.models import Job, JobStage, JobStatus
from domain.scenes.models import Scene, SceneBible, SceneStatus, Segment, SegmentSequence
from schemas.script import Script


class JobNoLongerOpen(Exception):
    """The job was cancelled (or ended) before it could be finalized."""


@dataclass(frozen=True)
class Media:
    playlist_key: str
    video_key: str
    thumbnail_key: str
    duration: float


@dataclass(frozen=True)
class Provenance:
    provider: str
    model: str
    prompt_version: str
    input_hash: str
    stage_durations: dict[str, float]


def rebase_bible(
    base: dict[str, Any], ours: dict[str, Any], head: dict[str, Any], script: Script, sequence: int
) -> dict[str, Any]:
    """Our change re-applied on a head that moved on; real conflicts fail the job."""
    if script.bible_delta.current_point is not None:
        # The segment goes after everything the head holds, so the story stands where it
        # leaves it: its currentPoint supersedes the head's instead of conflicting with it.
        base = {**base, "timeline": {**base["timeline"], "currentPoint": None}}
        head = {**head, "timeline": {**head["timeline"], "currentPoint": None}}
    merged = merge_bibles(base, ours, head)
    if merged.conflicts or merged.merged is None:
        raise BibleConflict(
            "The scene's bible changed in a way that conflicts with this continuation.",
            {"conflicts": [c.as_dict() for c in merged.conflicts]},
        )
    violations = check_script(script, head) + validate_bible(merged.merged, segment_count=sequence)
    if violations:
        raise ContinuityViolation(
            "After rebasing on the newer bible the continuation breaks continuity.",
            {"violations": [v.as_dict() for v in violations]},
        )
    return merged.merged


async def finalize(
    session: AsyncSession,
    job_id: uuid.UUID,
    script: Script,
    media: Media,
    provenance: Provenance,
    media_url: Any,
    *,
    started: float | None = None,
) -> dict[str, Any]:
    """Write segment, bible version and counters; returns the job's result_data.

    `started` (a `time.perf_counter()` reading) is when the stage began: its duration up to
    this write is kept with the stage's output, as every other stage's is.
    """
    job = await repository.get(session, job_id, for_update=True)
    if job is None or job.status in (JobStatus.CANCELLED, JobStatus.FAILED):
        raise JobNoLongerOpen(str(job_id))
    if job.status == JobStatus.FINAL_READY and job.result_data:
        return job.result_data
    existing = await session.scalar(select(SegmentSequence).where(SegmentSequence.job_id == job.id))
    scene = await session.scalar(select(Scene).where(Scene.id == job.scene_id).with_for_update())
    if scene is None or scene.status != SceneStatus.ACTIVE:
        raise SceneClosed("The scene was closed before this continuation could be added.")
    if existing is not None:  # written by an earlier run that died before marking the job
        return await _mark_final(
            session, job, scene, existing.segment_id, existing.sequence, media, media_url, started
        )

    sequence = scene.segment_count + 1
    base = job.context_data.get("bible", {})
    ours = apply_delta(base, script.bible_delta, sequence)
    if scene.bible_version == job.bible_version:
        new_bible = ours
    else:
        head = await repository.bible_data(session, scene.id, scene.bible_version)
        new_bible = rebase_bible(base, ours, head, script, sequence)

    new_bible = {**new_bible, "version": scene.bible_version + 1}  # the bible names itself
    segment_id, created_at = new_time_id()
    session.add(
        Segment(
            id=segment_id,
            created_at=created_at,
            scene_id=scene.id,
            job_id=job.id,
            user_id=job.user_id,
            sequence=sequence,
            text=job.text,
            script=script.model_dump(mode="json"),
            duration=media.duration,
            bible_version=scene.bible_version + 1,
            hls_playlist_key=media.playlist_key,
            video_key=media.video_key,
            thumbnail_key=media.thumbnail_key,
            provider=provenance.provider,
            model=provenance.model,
            prompt_version=provenance.prompt_version,
            input_hash=provenance.input_hash,
            stage_durations=provenance.stage_durations,
        )
    )
    session.add(
        SceneBible(
            scene_id=scene.id,
            version=scene.bible_version + 1,
            data=new_bible,
            created_by=job.user_id,
            source_job_id=job.id,
            change_note=f"Continuation {sequence}",
        )
    )
    await session.flush()
    scene.bible_version += 1
    scene.segment_count = sequence
    scene.total_duration = float(scene.total_duration) + media.duration
    scene.last_segment_at = datetime.now(UTC)
    scene.contributor_count = int(
        await session.scalar(
            select(func.count(func.distinct(Segment.user_id))).where(Segment.scene_id == scene.id)
        )
        or 0
    )
    return await _mark_final(session, job, scene, segment_id, sequence, media, media_url, started)


async def _mark_final(
    session: AsyncSession,
    job: Job,
    scene: Scene,
    segment_id: uuid.UUID,
    sequence: int,
    media: Media,
    media_url: Any,
    started: float | None,
) -> dict[str, Any]:
    result = {
        "segment_id": str(segment_id),
        "sequence": sequence,
        "hls_playlist_url": media_url(media.playlist_key),
        "video_url": media_url(media.video_key),
        "thumbnail_url": media_url(media.thumbnail_key),
        "duration": media.duration,
        "bible_version": scene.bible_version,
    }
    job.stage_outputs = {
        **job.stage_outputs,
        JobStage.FINALIZATION.value: {
            "segment_id": str(segment_id),
            "sequence": sequence,
            **({} if started is None else {"seconds": round(time.perf_counter() - started, 3)}),
        },
    }
    job.status = JobStatus.FINAL_READY
    job.stage = JobStage.COMPLETED
    job.progress = 100
    job.segment_id = segment_id
    job.result_data = result
    job.message = f"Segment {sequence} is ready."
    job.finished_at = datetime.now(UTC)
    await session.flush()
    return result
