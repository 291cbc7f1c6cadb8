"""The arq worker: `python -m worker.main`, or `arq worker.main.WorkerSettings`."""

from __future__ import annotations

import logging
from datetime import UTC
from typing import Any

from arq.worker import run_worker

import domain.models  # noqa: F401 - every table in the metadata, or flushes miss foreign keys
from infra.logging import configure_logging, get_logger
from infra.queue import redis_settings
from infra.settings import Settings, get_settings
from worker.cron import cron_jobs
from worker.jobs import FUNCTIONS
from worker.pipeline.runtime import build_runtime

log = get_logger("worker")


def worker_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for arq's Worker, built from our settings."""

    async def on_startup(ctx: dict[str, Any]) -> None:
        ctx["settings"] = settings
        ctx["runtime"] = build_runtime(settings)
        ctx["db"] = ctx["runtime"].db
        log.info("worker_started", queue=settings.queue_name)

    async def on_shutdown(ctx: dict[str, Any]) -> None:
        db = ctx.pop("db", None)
        if db is not None:
            await db.dispose()
        log.info("worker_stopped", queue=settings.queue_name)

    return {
        "functions": FUNCTIONS,
        "cron_jobs": cron_jobs(settings),
        "redis_settings": redis_settings(settings),
        "queue_name": settings.queue_name,
        "allow_abort_jobs": True,
        "job_timeout": settings.job_timeout_seconds,
        "max_jobs": settings.worker_max_jobs,
        "poll_delay": settings.worker_poll_delay,
        "on_startup": on_startup,
        "on_shutdown": on_shutdown,
        "timezone": UTC,
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
    run_worker(worker_options(settings))


if __name__ == "__main__":
    main()
