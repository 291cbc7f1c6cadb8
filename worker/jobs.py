"""The queue's entry points. Each takes arq's ctx first; ctx carries "settings", "db", "runtime"."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

import structlog
from arq.worker import func

from domain.jobs.service import RUN_CONTINUATION
from domain.scene_exports.service import BUILD_SCENE_EXPORT
from domain.users import account_tokens
from domain.webhooks.wake import DELIVER_WEBHOOKS
from infra.logging import get_logger
from infra.mail import MAIL_MAX_TRIES, SEND_MAIL, send_mail_job
from worker.continuation import run_continuation
from worker.scene_export import build_scene_export
from worker.webhooks import deliver_webhooks

log = get_logger("worker.jobs")


async def ping(ctx: dict[str, Any]) -> str:
    """A no-op job that proves a worker is consuming this queue."""
    return "pong"


async def run_continuation_in_context(ctx: dict[str, Any], job_id: str) -> str:
    """run_continuation with the job id, and its submitting request id, on every log line."""
    # arq runs each job in its own task, so these bindings stay with this job's log lines
    # (the stages' included) and never leak into another job's. The conductor binds the
    # request id once it has read the job.
    with structlog.contextvars.bound_contextvars(
        job_id=job_id,
        request_id=None,
        queue_job_id=ctx.get("job_id"),
        queue_try=ctx.get("job_try"),
    ):
        started = time.perf_counter()
        outcome = "error"
        try:
            outcome = await run_continuation(ctx, job_id)
            return outcome
        finally:
            seconds = round(time.perf_counter() - started, 3)
            log.info("job_run_finished", outcome=outcome, seconds=seconds)


async def send_password_reset(ctx: dict[str, Any], email: str) -> str:
    """Issue a reset token for the account with this address, if any, and queue its mail."""
    async with ctx["db"].transaction() as session:
        mail = await account_tokens.mail_for_reset(session, ctx["settings"], email)
    if mail is None:
        return "no-account"
    # Queued only now that the token is committed; delivery is retried on its own.
    await ctx["redis"].enqueue_job(SEND_MAIL, mail=asdict(mail))
    return "queued"


# No result kept: PostgreSQL holds the outcome, and recovery may re-enqueue under the same id.
FUNCTIONS = [
    ping,
    func(run_continuation_in_context, name=RUN_CONTINUATION, keep_result=0),
    func(send_mail_job, name=SEND_MAIL, keep_result=0, max_tries=MAIL_MAX_TRIES),
    func(send_password_reset, name=account_tokens.SEND_PASSWORD_RESET, keep_result=0),
    # PostgreSQL holds the export's state too; a retry after a crash rebuilds the same attempt.
    func(build_scene_export, name=BUILD_SCENE_EXPORT, keep_result=0),
    # Delivery state lives in PostgreSQL: a failed run is retried by its own backoff and the sweep.
    func(deliver_webhooks, name=DELIVER_WEBHOOKS, keep_result=0, max_tries=1),
]
