"""Every statement a worker's run of one job makes, built once at import.

A run writes a job a dozen times (its claim, each stage boundary, the provider's video id,
finalization), and a worker runs many jobs a second: composing an ORM statement, or even
executing a Core one through SQLAlchemy, costs more client CPU than PostgreSQL takes to run
it. These are Core statements with bound parameters, compiled once for asyncpg
(`infra.prepared.Prepared`) and run on the job's own connection, where asyncpg keeps them
prepared. Each is one round trip; the single-statement ones run in autocommit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Insert,
    Table,
    bindparam,
    case,
    column,
    func,
    insert,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy import table as table_clause
from sqlalchemy.dialects.postgresql import JSONB

from domain.jobs.lease_repository import JobLeaseLost
from domain.jobs.models import Job, JobStage, JobStatus, unfinished_sql
from domain.jobs.repository import BIBLE_AT_VERSION, JOB_IN_ITS_MONTH, in_its_month
from domain.scenes.models import Scene, SceneBible, SceneStatus, Segment, SegmentSequence
from infra.prepared import Prepared, Runner

# None binds SQL NULL (plain JSONB would bind the JSON value null, which `||` appends).
_JSON_OR_NULL = JSONB(none_as_null=True)
_JOBS = cast(Table, Job.__table__)
_SCENES = cast(Table, Scene.__table__)
# Literal, not an expanding IN list: the statement's SQL never changes between runs.
_OPEN = text(unfinished_sql("jobs.status"))
# This run's job: `job_attempt` fences every write. Each run that takes the job over moves its
# attempt on, so a run that lost its lease (its worker stalled past the lease and woke up)
# changes nothing; PostgreSQL re-checks the condition on the row it waited for.
_THIS_JOB = (
    _JOBS.c.id == bindparam("job_id"),
    _JOBS.c.created_at == bindparam("job_created_at"),
    _JOBS.c.attempt == bindparam("job_attempt"),
)


def _this(job: Job) -> dict[str, Any]:
    return {"job_id": job.id, "job_created_at": job.created_at, "job_attempt": job.attempt}


_REPORT = Prepared(
    update(_JOBS)
    .where(*_THIS_JOB, _OPEN)
    .values(
        progress=func.greatest(_JOBS.c.progress, bindparam("new_progress")),
        message=bindparam("new_message"),
        status=func.coalesce(bindparam("new_status", type_=_JOBS.c.status.type), _JOBS.c.status),
        stage=func.coalesce(bindparam("new_stage", type_=_JOBS.c.stage.type), _JOBS.c.stage),
        stage_outputs=_JOBS.c.stage_outputs.op("||")(
            func.coalesce(bindparam("new_outputs", type_=_JSON_OR_NULL), text("'{}'::jsonb"))
        ),
    )
)


async def report(
    conn: Runner,
    job: Job,
    *,
    progress: int,
    message: str,
    status: str | None = None,
    stage: str | None = None,
    outputs: dict[str, Any] | None = None,
) -> bool:
    """Move the job on; progress never goes backwards. False when the job already ended;
    JobLeaseLost when another run has taken it over."""
    changed = await conn.execute(
        _REPORT,
        {
            **_this(job),
            "new_progress": progress,
            "new_message": message,
            "new_status": status,
            "new_stage": stage,
            "new_outputs": outputs,
        },
    )
    if changed == 1:
        return True
    await _check_attempt(conn, job)
    return False


_ATTEMPT = Prepared(select(_JOBS.c.attempt).where(*JOB_IN_ITS_MONTH))


async def _check_attempt(conn: Runner, job: Job) -> None:
    """After a write that changed nothing: JobLeaseLost if that is because another run has
    the job now (rather than because it ended)."""
    attempt = await conn.fetchval(_ATTEMPT, in_its_month(job.id))
    if attempt is not None and attempt != job.attempt:
        raise JobLeaseLost(str(job.id))


# The provider's video id must outlive a crash (a rerun resumes polling that video instead of
# paying for another), so this commit waits for the WAL flush even on a job's channel, whose
# commits otherwise do not: set_config(..., true) sets it for the statement's own transaction.
_SAVE_VIDEO_ID = Prepared(
    update(_JOBS)
    .where(*_THIS_JOB, _OPEN)
    .values(provider_video_id=bindparam("new_video_id"), message=bindparam("new_message"))
    .returning(func.set_config("synchronous_commit", "on", True))
)


async def save_video_id(conn: Runner, job: Job, video_id: str, message: str) -> bool:
    """Record the provider's video id, durably, in one round trip. False when the job ended;
    JobLeaseLost when another run has taken it over."""
    params = {**_this(job), "new_video_id": video_id, "new_message": message}
    if await conn.fetch(_SAVE_VIDEO_ID, params):
        return True
    await _check_attempt(conn, job)
    return False


# What finalization sees of the scene: a deleted one is removed; one closed after this job was
# submitted is still active for it (the owner chose to let jobs in flight finish; had they
# chosen to cancel them, the job is cancelled and refused before the scene is looked at).
_FINALIZING_SCENE_STATUS = case(
    (Scene.deleted_at.is_not(None), literal_column(f"'{SceneStatus.REMOVED.value}'")),
    (
        Scene.status.in_(
            [
                literal_column(f"'{status.value}'")
                for status in (SceneStatus.LOCKED, SceneStatus.ARCHIVED)
            ]
        )
        & (_JOBS.c.created_at < Scene.locked_at),
        literal_column(f"'{SceneStatus.ACTIVE.value}'"),
    ),
    else_=Scene.status,
)

# Finalization, in one transaction: lock the job and its scene, and see whether an earlier run
# of this job already wrote its segment (that run died before marking the job).
_FINALIZING = Prepared(
    select(
        _JOBS.c.status,
        _JOBS.c.attempt,
        _JOBS.c.result_data,
        _FINALIZING_SCENE_STATUS.label("scene_status"),
        Scene.user_id.label("scene_owner_id"),
        Scene.segment_count,
        Scene.bible_version.label("head_version"),
        SegmentSequence.segment_id.label("written_segment_id"),
        SegmentSequence.sequence.label("written_sequence"),
    )
    .select_from(_JOBS)
    .join(Scene, Scene.id == _JOBS.c.scene_id)
    .outerjoin(SegmentSequence, SegmentSequence.job_id == _JOBS.c.id)
    .where(_JOBS.c.id == bindparam("job_id"), _JOBS.c.created_at == bindparam("job_created_at"))
    .with_for_update(of=[_JOBS, _SCENES])
)


@dataclass(frozen=True)
class Finalizing:
    """What finalization decides on, read under the job's and the scene's row locks."""

    status: str
    attempt: int
    result_data: dict[str, Any] | None
    scene_status: str
    scene_owner_id: uuid.UUID
    segment_count: int
    head_version: int
    written_segment_id: uuid.UUID | None
    written_sequence: int | None


async def lock_for_finalization(conn: Runner, job: Job) -> Finalizing | None:
    """The job's status and result, its scene's head, and any segment already written for it:
    the job and scene rows locked until the transaction ends. None when the job is gone;
    JobLeaseLost when another run has taken it over."""
    params = {"job_id": job.id, "job_created_at": job.created_at}
    row = await conn.fetchrow(_FINALIZING, params)
    if row is not None and row["attempt"] != job.attempt:
        raise JobLeaseLost(str(job.id))
    return None if row is None else Finalizing(**row)


_HEAD_BIBLE = Prepared(BIBLE_AT_VERSION)


async def bible_data(conn: Runner, scene_id: uuid.UUID, version: int) -> dict[str, Any]:
    data = await conn.fetchval(_HEAD_BIBLE, {"scene_id": scene_id, "version": version})
    return data or {}


_MARK_FINAL_UPDATE = (
    update(_JOBS)
    .where(*_THIS_JOB)
    .values(
        status=JobStatus.FINAL_READY.value,
        stage=JobStage.COMPLETED.value,
        progress=100,
        segment_id=bindparam("new_segment_id"),
        result_data=bindparam("new_result", type_=JSONB),
        message=bindparam("new_message"),
        finished_at=func.now(),
        stage_outputs=_JOBS.c.stage_outputs.op("||")(bindparam("new_outputs", type_=JSONB)),
    )
)


@dataclass(slots=True, frozen=True)
class NewSegment:
    """The segment a finished run writes: exactly the columns its INSERT names."""

    id: uuid.UUID
    created_at: datetime
    scene_id: uuid.UUID
    job_id: uuid.UUID
    user_id: uuid.UUID
    sequence: int
    text: str
    script: dict[str, Any]
    duration: float
    bible_version: int
    hls_playlist_key: str | None
    video_key: str | None
    thumbnail_key: str | None
    provider: str | None
    model: str | None
    prompt_version: str | None
    input_hash: str | None
    stage_durations: dict[str, Any] | None


SEGMENT_FIELDS = tuple(f.name for f in fields(NewSegment))
BIBLE_FIELDS = ("scene_id", "version", "data", "created_by", "source_job_id", "change_note")


def _insert(table: Table, prefix: str, names: tuple[str, ...]) -> Insert:
    # Through a bare table clause of the named columns: the models' Python-side defaults would
    # add bind parameters of their own, named after their columns, clashing across clauses.
    bare = table_clause(table.name, *(column(name, table.c[name].type) for name in names))
    return insert(bare).values(
        {name: bindparam(f"{prefix}{name}", type_=table.c[name].type) for name in names}
    )


_SEGMENTS = cast(Table, Segment.__table__)
_BIBLES = cast(Table, SceneBible.__table__)
# The statement below runs in one snapshot: the scene's contributor count cannot see the segment
# inserted beside it, so the new segment's author is counted in by hand.
_AUTHORS = select(_SEGMENTS.c.user_id).where(_SEGMENTS.c.scene_id == bindparam("seg_scene_id"))
_WITH_NEW_AUTHOR = _AUTHORS.union(select(bindparam("seg_user_id", type_=_SEGMENTS.c.user_id.type)))
_CONTRIBUTORS = select(func.count(func.distinct(text("user_id")))).select_from(
    _WITH_NEW_AUTHOR.subquery()
)
# The segment, the bible version, the scene's counters and the job, in one round trip: every
# data-modifying WITH clause runs whether or not the outer statement reads it.
_WRITE_SEGMENT = Prepared(
    _MARK_FINAL_UPDATE.add_cte(
        _insert(_SEGMENTS, "seg_", SEGMENT_FIELDS).cte("new_segment"),
        _insert(_BIBLES, "new_bible_", BIBLE_FIELDS).cte("new_bible"),
        update(_SCENES)
        .where(_SCENES.c.id == bindparam("seg_scene_id"))
        .values(
            bible_version=bindparam("new_bible_version"),
            segment_count=bindparam("seg_sequence"),
            total_duration=_SCENES.c.total_duration + bindparam("seg_duration"),
            last_segment_at=func.now(),
            contributor_count=_CONTRIBUTORS.scalar_subquery(),
        )
        .cte("advanced_scene"),
    )
)
_MARK_FINAL = Prepared(_MARK_FINAL_UPDATE)


async def mark_final(
    conn: Runner,
    job: Job,
    *,
    segment_id: uuid.UUID,
    result: dict[str, Any],
    message: str,
    outputs: dict[str, Any],
) -> None:
    await conn.execute(_MARK_FINAL, _final(job, segment_id, result, message, outputs))


async def write_segment(
    conn: Runner,
    job: Job,
    segment: NewSegment,
    bible: dict[str, Any],
    *,
    result: dict[str, Any],
    message: str,
    outputs: dict[str, Any],
) -> None:
    """Insert the segment (its fields: SEGMENT_FIELDS) and the bible version (BIBLE_FIELDS),
    move the scene's counters on and mark the job final, as one statement."""
    params = _final(job, segment.id, result, message, outputs)
    params.update({f"seg_{name}": getattr(segment, name) for name in SEGMENT_FIELDS})
    params.update({f"new_bible_{name}": bible[name] for name in BIBLE_FIELDS})
    await conn.execute(_WRITE_SEGMENT, params)


def _final(
    job: Job,
    segment_id: uuid.UUID,
    result: dict[str, Any],
    message: str,
    outputs: dict[str, Any],
) -> dict[str, Any]:
    return {
        **_this(job),
        "new_segment_id": segment_id,
        "new_result": result,
        "new_message": message,
        "new_outputs": outputs,
    }
