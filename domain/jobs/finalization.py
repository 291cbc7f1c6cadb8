"""Finalization: the one transaction that turns a finished job into the scene's next segment.

It locks the job and the scene row, takes the next sequence, writes the segment and the new
bible version (rebased by a three-way merge when the head moved meanwhile) and the counters.
Running it twice for one job changes nothing the second time.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from domain.bible.delta import apply_delta
from domain.bible.merge import merge_bibles
from domain.bible.near_duplicates import merge_near_duplicates
from domain.bible.script_check import check_script
from domain.bible.text_check import text_violations
from domain.bible.validation import validate_bible
from domain.ids import new_time_id
from domain.jobs import run_repository
from domain.jobs.failures import BibleConflict, ContinuityViolation, SceneClosed
from domain.jobs.models import Job, JobStage, JobStatus
from domain.media import repository as media_repository
from domain.media.repository import Reference
from domain.notifications.events import JOB_FINAL_READY, SCENE_CONTINUED, Event, record_raw
from domain.scenes.models import SceneStatus
from infra.prepared import Runner
from schemas.script import Script


class JobNoLongerOpen(Exception):
    """The job was cancelled (or ended) before it could be finalized."""


# (segment id, kinds of media it has) -> the result's URL fields (infra.media_urls).
Links = Callable[[uuid.UUID, set[str]], dict[str, Any]]


@dataclass(frozen=True)
class Media:
    """The uploaded objects: `refs` become the segment's media rows (chunks in order)."""

    video_key: str
    thumbnail_key: str
    duration: float
    refs: list[Reference] = field(default_factory=list)

    @property
    def roles(self) -> set[str]:
        return {ref.role.value for ref in self.refs}


@dataclass(frozen=True)
class Provenance:
    provider: str
    model: str
    prompt_version: str
    input_hash: str
    stage_durations: dict[str, float]


def rebase_bible(
    base: dict[str, Any],
    ours: dict[str, Any],
    head: dict[str, Any],
    script: Script,
    sequence: int,
    text: str = "",
) -> dict[str, Any]:
    """Our change re-applied on a head that moved on; real conflicts fail the job.

    The continuation's `text` is read again against the head too: a character made inactive
    (or a thread closed) meanwhile breaks it as surely as if the bible had said so from the
    start. The built-in rules decide alone here, inside the finalization's transaction.
    """
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
    # Judged against the head, as any edit is: legacy ids and names it holds stay acceptable.
    violations = merge_near_duplicates(
        text_violations(text, head, segment_number=sequence) + check_script(script, head)
    ) + validate_bible(merged.merged, segment_count=sequence, previous=head)
    if violations:
        raise ContinuityViolation(
            "After rebasing on the newer bible the continuation breaks continuity.",
            {"violations": [v.as_dict() for v in violations]},
        )
    return merged.merged


async def finalize(
    conn: Runner,
    job: Job,
    script: Script,
    media: Media,
    provenance: Provenance,
    links: Links,
    *,
    started: float | None = None,
    woken: set[uuid.UUID] | None = None,
) -> dict[str, Any]:
    """Write segment, bible version and counters; returns the job's result_data.

    `conn` is in a transaction the caller commits (the run's `Channel.transaction()`). `job`
    is the job as the run loaded it (its text, snapshot and bible version never change).
    `started` (a `time.perf_counter()` reading) is when the stage began: its duration up to
    this write is kept with the stage's output, as every other stage's is. The events it
    records (job.final_ready, scene.continued) go in the same transaction; the webhook
    endpoints they reach are added to `woken`, to be woken after the commit.
    """
    locked = await run_repository.lock_for_finalization(conn, job)
    if locked is None or locked.status in (JobStatus.CANCELLED, JobStatus.FAILED):
        raise JobNoLongerOpen(str(job.id))
    if locked.status == JobStatus.FINAL_READY and locked.result_data:
        return dict(locked.result_data)
    if locked.scene_status != SceneStatus.ACTIVE:
        raise SceneClosed("The scene was closed before this continuation could be added.")
    if locked.written_segment_id is not None:  # an earlier run died before marking the job
        segment_id, sequence = locked.written_segment_id, int(locked.written_sequence or 0)
        result, output = _outcome(segment_id, sequence, locked.head_version, media, links, started)
        await run_repository.mark_final(
            conn,
            job,
            segment_id=segment_id,
            result=result,
            message=_ready(sequence),
            outputs=output,
        )
        await _tell(conn, job, locked.scene_owner_id, result, woken)
        return result

    sequence = locked.segment_count + 1
    head_version = locked.head_version
    base = job.context_data.get("bible", {})
    ours = apply_delta(base, script.bible_delta, sequence)
    if head_version == job.bible_version:
        new_bible = ours
    else:
        head = await run_repository.bible_data(conn, job.scene_id, head_version)
        new_bible = rebase_bible(base, ours, head, script, sequence, job.text)

    version = head_version + 1
    new_bible = {**new_bible, "version": version}  # the bible names itself
    segment_id, created_at = new_time_id()
    segment = run_repository.NewSegment(
        id=segment_id,
        created_at=created_at,
        scene_id=job.scene_id,
        job_id=job.id,
        user_id=job.user_id,
        sequence=sequence,
        text=job.text,
        script=script.model_dump(mode="json"),
        duration=media.duration,
        bible_version=version,
        hls_playlist_key=None,  # playlists are made from segment_media rows
        video_key=media.video_key,
        thumbnail_key=media.thumbnail_key,
        provider=provenance.provider,
        model=provenance.model,
        prompt_version=provenance.prompt_version,
        input_hash=provenance.input_hash,
        stage_durations=provenance.stage_durations,
    )
    bible = {
        "scene_id": job.scene_id,
        "version": version,
        "data": new_bible,
        "created_by": job.user_id,
        "source_job_id": job.id,
        "change_note": f"Continuation {sequence}",
    }
    result, output = _outcome(segment_id, sequence, version, media, links, started)
    await run_repository.write_segment(
        conn, job, segment, bible, result=result, message=_ready(sequence), outputs=output
    )
    # After the segment (its segment_sequences row is the foreign key's target). An object
    # the sweeper took meanwhile fails the foreign key, and with it this whole transaction.
    await media_repository.reference(conn, segment_id, created_at, media.refs)
    await _tell(conn, job, locked.scene_owner_id, result, woken)
    return result


async def _tell(
    conn: Runner,
    job: Job,
    scene_owner_id: uuid.UUID,
    result: dict[str, Any],
    woken: set[uuid.UUID] | None,
) -> None:
    """The job's owner hears it is ready; the scene's owner that someone continued it."""
    data = {
        "job_id": str(job.id),
        "scene_id": str(job.scene_id),
        "segment_id": result["segment_id"],
        "sequence": result["sequence"],
    }
    events = [
        Event(JOB_FINAL_READY, {**data, "status": JobStatus.FINAL_READY.value}, [job.user_id])
    ]
    if scene_owner_id != job.user_id:
        events.append(
            Event(SCENE_CONTINUED, {**data, "by_user_id": str(job.user_id)}, [scene_owner_id])
        )
    endpoints = await record_raw(conn, events)
    if woken is not None:
        woken.update(endpoints)


def _ready(sequence: int) -> str:
    return f"Segment {sequence} is ready."


def _outcome(
    segment_id: uuid.UUID,
    sequence: int,
    bible_version: int,
    media: Media,
    links: Links,
    started: float | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The job's result_data (stable API URLs, never signed ones), and the stage outputs it
    records (finalization's, timed)."""
    result = {
        "segment_id": str(segment_id),
        "sequence": sequence,
        **links(segment_id, media.roles),
        "duration": media.duration,
        "bible_version": bible_version,
    }
    output: dict[str, Any] = {"segment_id": str(segment_id), "sequence": sequence}
    if started is not None:
        output["seconds"] = round(time.perf_counter() - started, 3)
    return result, {JobStage.FINALIZATION.value: output}
