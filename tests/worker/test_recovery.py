"""Recovery's own rules: crons named under the queue, the in-flight cap, the queue marker."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.jobs import repository
from domain.jobs.models import JobLease
from infra.settings import Settings
from tests.factories import Factory
from worker.cron import cron_jobs

HOUR = timedelta(hours=1)


def test_two_queues_on_one_redis_never_share_a_cron_tick(settings: Settings) -> None:
    # arq names a tick `<cron name>:<time>` and refuses an id it holds: unnamespaced, one
    # deployment's tick would swallow the other's.
    ours = settings.model_copy(update={"queue_name": "deploy-a"})
    theirs = settings.model_copy(update={"queue_name": "deploy-b"})
    a, b = {job.name for job in cron_jobs(ours)}, {job.name for job in cron_jobs(theirs)}
    assert len(a) == len(cron_jobs(ours)) and not a & b
    assert "deploy-a:ensure_partitions" in a and "deploy-b:ensure_partitions" in b


async def test_a_job_whose_run_died_does_not_count_in_flight(app: Any, factory: Factory) -> None:
    owner = await factory.account()
    scene = await factory.scene(owner)
    running, dead, queued = [uuid.UUID((await factory.job(owner, scene))["id"]) for _ in range(3)]
    user_id = uuid.UUID(owner.id)
    now = datetime.now(UTC)
    async with app.state.db.transaction() as session:
        assert await repository.count_in_flight(session, user_id) == 3
        session.add_all(
            [
                JobLease(job_id=running, token=uuid.uuid4(), holder="alive", expires_at=now + HOUR),
                JobLease(job_id=dead, token=uuid.uuid4(), holder="killed", expires_at=now - HOUR),
            ]
        )
        await session.flush()
        assert await repository.count_in_flight(session, user_id) == 2  # running and queued
        await session.rollback()
    assert queued
