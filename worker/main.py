"""The arq worker: `python -m worker.main`, or `arq worker.main.WorkerSettings`."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from datetime import UTC
from typing import Any

import domain.models  # noqa: F401 - every table in the metadata, or flushes miss foreign keys
from domain.operations.events import record_system_event
from domain.operations.models import SystemEventKind
from infra import child_watcher
from infra.logging import configure_logging, get_logger
from infra.queue import worker_redis_settings
from infra.settings import Settings, get_settings
from worker.cron import cron_jobs
from worker.jobs import FUNCTIONS
from worker.pipeline.runtime import build_runtime
from worker.recovery import recovery_loop
from worker.refill import RefillingWorker

log = get_logger("worker")
HEALTH_CHECK_SECONDS = 30


def _worker_identity(settings: Settings) -> dict[str, Any]:
    return {"host": socket.gethostname(), "pid": os.getpid(), "queue": settings.queue_name}


def worker_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for arq's Worker, built from our settings."""

    async def on_startup(ctx: dict[str, Any]) -> None:
        child_watcher.install()
        ctx["settings"] = settings
        ctx["runtime"] = build_runtime(settings)
        ctx["db"] = ctx["runtime"].db
        # Not a cron: a cron's tick waits for a free job slot, and after a kill every slot may
        # be busy while the dead worker's jobs wait.
        ctx["recovery"] = asyncio.create_task(recovery_loop(ctx))
        log.info("worker_started", queue=settings.queue_name)
        await record_system_event(
            ctx["db"], SystemEventKind.WORKER_STARTED, _worker_identity(settings)
        )

    async def on_shutdown(ctx: dict[str, Any]) -> None:
        recovery = ctx.pop("recovery", None)
        if recovery is not None:
            recovery.cancel()
            await asyncio.gather(recovery, return_exceptions=True)
        runtime = ctx.get("runtime")
        if runtime is not None:
            await runtime.packager.aclose()
        db = ctx.pop("db", None)
        if db is not None:
            await record_system_event(
                db, SystemEventKind.WORKER_STOPPED, _worker_identity(settings)
            )
            await db.dispose()
        log.info("worker_stopped", queue=settings.queue_name)

    return {
        "functions": FUNCTIONS,
        "cron_jobs": cron_jobs(settings),
        "redis_settings": worker_redis_settings(settings),
        "queue_name": settings.queue_name,
        "allow_abort_jobs": True,
        "job_timeout": settings.job_timeout_seconds,
        "max_jobs": settings.worker_max_jobs,
        "poll_delay": settings.worker_poll_delay,
        "on_startup": on_startup,
        "on_shutdown": on_shutdown,
        "timezone": UTC,
        # A health key per host (container) instead of arq's one per queue, so that
        # `arq --check worker.main.WorkerSettings` in a container answers for its own worker;
        # it expires HEALTH_CHECK_SECONDS after the poll loop last got round to refreshing it.
        "health_check_interval": HEALTH_CHECK_SECONDS,
        "health_check_key": f"{settings.queue_name}:health-check:{socket.gethostname()}",
    }


def __getattr__(name: str) -> Any:
    # arq's CLI imports `worker.main.WorkerSettings`; building it lazily keeps importing this
    # module free of environment reads, so tests can build workers from their own settings.
    if name == "WorkerSettings":
        return type("WorkerSettings", (), worker_options(get_settings()))
    raise AttributeError(name)


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    # arq logs job starts and results through the standard logging module.
    logging.basicConfig(level=settings.log_level.upper(), format="%(name)s %(message)s")
    RefillingWorker(**worker_options(settings)).run()  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
