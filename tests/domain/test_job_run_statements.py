"""The worker's prebuilt statements on a real job row: claim, lease, report, edge cases."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from domain.ids import new_time_id
from domain.jobs import lease_repository as leases
from domain.jobs import run_repository
from domain.jobs.lease_repository import Claim, JobLeaseLost, Lease
from domain.jobs.models import Job
from infra.prepared import Channel
from tests.factories import Factory


async def _queued_job(factory: Factory) -> uuid.UUID:
    owner = await factory.account()
    scene = await factory.scene(owner)
    return uuid.UUID((await factory.job(owner, scene))["id"])


@asynccontextmanager
async def _channel(app: Any) -> AsyncIterator[Channel]:
    """A connection as a worker's run holds it (see worker.recovery.job_lease)."""
    async with app.state.db.autocommit() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        yield Channel(driver)


async def claim(conn: Channel, job_id: uuid.UUID, seconds: float = 0.0) -> tuple[Job | None, bool]:
    """Claim with a lease of `seconds` (0: lapsed at once, so the next claim may take over)."""
    outcome, job = await leases.claim(conn, Lease(job_id, uuid.uuid4(), seconds), "t")
    return job, outcome is Claim.TAKEN


async def _claimed(conn: Channel, job_id: uuid.UUID) -> Job:
    job, claimed = await claim(conn, job_id)
    assert claimed and job is not None
    return job


async def test_claim_starts_an_attempt_and_loads_the_job(app: Any, factory: Factory) -> None:
    job_id = await _queued_job(factory)
    async with _channel(app) as conn:
        job, claimed = await claim(conn, job_id)
        assert claimed and job is not None
        assert (job.id, job.status, job.attempt) == (job_id, "processing", 1)
        assert job.started_at is not None and job.context_data["bible"]
        again, claimed_again = await claim(conn, job_id)
        assert claimed_again and again is not None and again.attempt == 2
        assert again.started_at == job.started_at  # the first start is kept


async def test_claim_refuses_an_ended_job_and_tells_a_missing_one(
    app: Any, factory: Factory
) -> None:
    job_id = await _queued_job(factory)
    async with _channel(app) as conn:
        job = await _claimed(conn, job_id)
        await run_repository.report(conn, job, progress=50, message="x", status="cancelled")
        ended, claimed = await claim(conn, job_id)
        assert not claimed and ended is not None and ended.status == "cancelled"
        assert ended.attempt == 1  # no attempt was started on it
        missing, claimed = await claim(conn, new_time_id()[0])
        assert (missing, claimed) == (None, False)


async def test_report_merges_outputs_and_never_moves_progress_back(
    app: Any, factory: Factory
) -> None:
    job_id = await _queued_job(factory)
    async with _channel(app) as conn:
        job = await _claimed(conn, job_id)
        first = {"script_expansion": {"seconds": 0.1}}
        assert await run_repository.report(
            conn, job, progress=20, message="a", stage="continuity_validation", outputs=first
        )
        # No outputs, no status: the columns keep what they hold.
        assert await run_repository.report(conn, job, progress=10, message="b")
        second = {"continuity_validation": {"violations": 0}}
        assert await run_repository.report(conn, job, progress=30, message="c", outputs=second)
        fresh, _ = await claim(conn, job_id)
    assert fresh is not None
    assert fresh.stage_outputs == {**first, **second}  # an object, merged key by key
    assert (fresh.progress, fresh.message, fresh.stage) == (30, "c", "continuity_validation")
    assert fresh.status == "processing"


async def test_report_on_an_ended_job_changes_nothing(app: Any, factory: Factory) -> None:
    job_id = await _queued_job(factory)
    async with _channel(app) as conn:
        job = await _claimed(conn, job_id)
        assert await run_repository.report(conn, job, progress=40, message="x", status="failed")
        assert not await run_repository.report(conn, job, progress=90, message="late")
        ended, _ = await claim(conn, job_id)
    assert ended is not None and (ended.progress, ended.message) == (40, "x")


async def test_the_video_id_is_saved_durably_and_only_on_an_open_job(
    app: Any, factory: Factory
) -> None:
    job_id = await _queued_job(factory)
    async with _channel(app) as conn:
        job = await _claimed(conn, job_id)
        # The statement's own transaction waits for the WAL flush: set_config said so.
        params = {
            "job_id": job.id,
            "job_created_at": job.created_at,
            "job_attempt": job.attempt,
            "new_video_id": "vid-1",
            "new_message": "Rendering the video.",
        }
        rows = await conn.fetch(run_repository._SAVE_VIDEO_ID, params)
        assert [tuple(row) for row in rows] == [("on",)]
        assert await run_repository.save_video_id(conn, job, "vid-2", "Rendering the video.")
        fresh = await _claimed(conn, job_id)
        assert fresh.provider_video_id == "vid-2"
        job = fresh
        await run_repository.report(conn, job, progress=40, message="x", status="cancelled")
        assert not await run_repository.save_video_id(conn, job, "vid-3", "late")
        ended, _ = await claim(conn, job_id)
    assert ended is not None and ended.provider_video_id == "vid-2"


async def test_a_live_lease_keeps_the_job_and_a_lapsed_one_gives_it_up(
    app: Any, factory: Factory
) -> None:
    job_id = await _queued_job(factory)
    async with _channel(app) as conn:
        held = Lease(job_id, uuid.uuid4(), 60)
        outcome, job = await leases.claim(conn, held, "first")
        assert outcome is Claim.TAKEN and job is not None and job.attempt == 1
        other = Lease(job_id, uuid.uuid4(), 60)
        busy, seen = await leases.claim(conn, other, "second")
        assert busy is Claim.BUSY and seen is not None and seen.attempt == 1  # no attempt
        assert await leases.renew(conn, held)
        assert not await leases.renew(conn, other)

        await leases.lapse(conn, held)  # as if its worker had died
        taken, again = await leases.claim(conn, other, "second")
        assert taken is Claim.TAKEN and again is not None and again.attempt == 2
        assert not await leases.renew(conn, held)  # the first run's lease is gone
        await leases.release(conn, other)
        released, _ = await leases.claim(conn, Lease(job_id, uuid.uuid4(), 60), "third")
        assert released is Claim.TAKEN


async def test_a_run_that_lost_its_lease_writes_nothing(app: Any, factory: Factory) -> None:
    job_id = await _queued_job(factory)
    async with _channel(app) as conn:
        stale = await _claimed(conn, job_id)  # its lease lapses at once: taken over below
        current = await _claimed(conn, job_id)
        assert current.attempt == stale.attempt + 1
        with pytest.raises(JobLeaseLost):
            await run_repository.report(conn, stale, progress=50, message="late", stage="upload")
        with pytest.raises(JobLeaseLost):
            await run_repository.save_video_id(conn, stale, "vid-stale", "late")
        async with conn.transaction() as tx:
            with pytest.raises(JobLeaseLost):
                await run_repository.lock_for_finalization(tx, stale)
        assert await run_repository.report(conn, current, progress=30, message="mine")
        fresh = await _claimed(conn, job_id)
    assert (fresh.progress, fresh.message, fresh.provider_video_id) == (30, "mine", None)


async def test_a_dead_runs_lease_on_an_ended_job_is_forgotten(app: Any, factory: Factory) -> None:
    # Its worker died after the job ended: recovery takes the lapsed lease up once, not forever.
    job_id = await _queued_job(factory)
    async with _channel(app) as conn:
        job = await _claimed(conn, job_id)  # its lease lapses at once
        await run_repository.report(conn, job, progress=40, message="x", status="cancelled")
        ended, claimed = await claim(conn, job_id, seconds=60)
        assert ended is not None and not claimed
        left = await conn.driver.fetchval(
            "SELECT count(*) FROM job_leases WHERE job_id = $1", job_id
        )
    assert left == 0
