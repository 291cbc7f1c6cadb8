"""Recovery's own rules: crons named under the queue, the in-flight cap, the queue marker."""

from __future__ import annotations

from infra.settings import Settings
from worker.cron import cron_jobs


def test_two_queues_on_one_redis_never_share_a_cron_tick(settings: Settings) -> None:
    # arq names a tick `<cron name>:<time>` and refuses an id it holds: unnamespaced, one
    # deployment's tick would swallow the other's.
    ours = settings.model_copy(update={"queue_name": "deploy-a"})
    theirs = settings.model_copy(update={"queue_name": "deploy-b"})
    a, b = {job.name for job in cron_jobs(ours)}, {job.name for job in cron_jobs(theirs)}
    assert len(a) == len(cron_jobs(ours)) and not a & b
    assert "deploy-a:recover_stuck_jobs" in a and "deploy-b:recover_stuck_jobs" in b
