"""Periodic maintenance run by the worker (arq cron, times in UTC)."""

from __future__ import annotations

from typing import Any

from arq import cron

from domain.media.sweeper import sweep
from domain.operations.events import record_archive_run, record_partitions_created
from domain.operations.retention import delete_old_rows
from domain.scenes.purge import purge_deleted_scenes
from domain.scenes.summaries import scenes_needing_summary, summarise_scene
from infra.archive import archive_partitions
from infra.db import Database
from infra.logging import get_logger
from infra.partitions import ensure_partitions
from infra.settings import Settings
from worker.engagement import engagement_cron
from worker.webhooks import webhooks_cron

log = get_logger("worker.cron")


async def maintain_partitions(ctx: dict[str, Any]) -> int:
    """Keep monthly partitions ahead of time; returns how many were created."""
    db: Database = ctx["db"]
    settings: Settings = ctx["settings"]
    async with db.transaction() as session:
        created = await ensure_partitions(session, months_ahead=settings.partition_months_ahead)
    await record_partitions_created(db, created)
    log.info(
        "partitions_ensured",
        created=[c.name for c in created],
        moved_rows=sum(c.moved_rows for c in created),
    )
    return len(created)


def partitions_cron() -> Any:
    """Daily at an odd minute, clear of top-of-the-hour load, and once when a worker starts,
    so a fresh deployment never waits a day for its horizon. unique=True: one run per tick even
    with many workers (the advisory lock makes overlapping runs harmless anyway)."""
    return cron(
        maintain_partitions,
        name="ensure_partitions",
        hour=3,
        minute=17,
        run_at_startup=True,
        unique=True,
        timeout=600,
    )


async def archive_old_partitions(ctx: dict[str, Any]) -> int:
    """Export and drop the jobs partitions older than ARCHIVE_JOBS_AFTER_MONTHS."""
    db: Database = ctx["db"]
    settings: Settings = ctx["settings"]
    run = await archive_partitions(
        db.primary, ctx["runtime"].storage, months=settings.archive_jobs_after_months
    )
    archived = [o.partition for o in run.outcomes if o.action == "archived"]
    await record_archive_run(db, run)
    log.info(
        "partitions_archived",
        archived=archived,
        skipped=[o.partition for o in run.outcomes if o.action == "skipped"],
        failed=[o.partition for o in run.failed],
    )
    return len(archived)


def archive_cron() -> Any:
    """Daily, half an hour after partition maintenance; not at start-up (nothing is urgent)."""
    return cron(
        archive_old_partitions,
        name="archive_partitions",
        hour=3,
        minute=47,
        unique=True,
        timeout=3600,
    )


KEEP_RECENT_SEGMENTS = 5


async def summarise_scenes(ctx: dict[str, Any]) -> int:
    """Compress the older segments of long scenes into scene_summaries."""
    db: Database = ctx["db"]
    settings: Settings = ctx["settings"]
    async with db.session() as session:
        due = await scenes_needing_summary(
            session, settings.summary_threshold, KEEP_RECENT_SEGMENTS
        )
    for scene_id in due:
        async with db.transaction() as session:
            await summarise_scene(session, scene_id, KEEP_RECENT_SEGMENTS)
    if due:
        log.info("scenes_summarised", count=len(due))
    return len(due)


def summaries_cron() -> Any:
    return cron(
        summarise_scenes,
        name="summarise_scenes",
        minute=set(range(3, 60, 5)),
        unique=True,
        timeout=300,
    )


async def sweep_media(ctx: dict[str, Any]) -> int:
    """Remove stored objects no segment (or other table) references, past the grace period."""
    settings: Settings = ctx["settings"]
    result = await sweep(ctx["db"], ctx["runtime"].storage, settings.media_orphan_grace_seconds)
    return len(result.removed)


def sweeper_cron() -> Any:
    """Hourly, at an odd minute; a crash's leftovers wait at most grace + an hour."""
    return cron(sweep_media, name="sweep_media", minute=29, unique=True, timeout=1800)


async def purge_scenes(ctx: dict[str, Any]) -> int:
    """Delete for good the scenes deleted more than DELETED_RETENTION_DAYS ago."""
    settings: Settings = ctx["settings"]
    storage = ctx["runtime"].storage
    purged = await purge_deleted_scenes(ctx["db"], retention_days=settings.deleted_retention_days)
    for key in purged.export_keys:
        await storage.delete(key)
    for scene_id in purged.scene_ids:
        # Media written under the scene's own prefix (before content-addressed storage); objects
        # shared by content are the storage sweeper's, once no segment row references them.
        await storage.delete_prefix(f"scenes/{scene_id}/")
    if purged.scene_ids:
        log.info("scenes_purged", count=len(purged.scene_ids), exports=len(purged.export_keys))
    return len(purged.scene_ids)


def purge_cron() -> Any:
    """Hourly at an odd minute: a deleted scene outlives its window by at most an hour."""
    return cron(purge_scenes, name="purge_scenes", minute=47, unique=True, timeout=600)


async def delete_old_operations_rows(ctx: dict[str, Any]) -> int:
    """Delete system events, ledger rows, notifications and finished deliveries past their
    retention settings; returns how many rows went."""
    deleted = await delete_old_rows(ctx["db"], ctx["runtime"].storage, ctx["settings"])
    return sum(deleted.values())


def retention_cron() -> Any:
    """Daily at an odd minute after the archive run: a day's worth of rows per table."""
    return cron(
        delete_old_operations_rows,
        name="delete_old_rows",
        hour=4,
        minute=23,
        unique=True,
        timeout=1800,
    )


def cron_jobs(settings: Settings) -> list[Any]:
    """The worker's crons, named under its queue.

    arq names a cron tick's job `<cron name>:<time>` with no queue in it, and refuses a job id
    it holds already: two deployments sharing one Redis would each run only the ticks the
    other had not enqueued first. Fresh objects for every worker: arq keeps each cron's next
    run time on the CronJob itself, so two workers sharing one (tests start several per
    process) would see the start-up run already done.
    """
    jobs = [
        partitions_cron(),
        archive_cron(),
        summaries_cron(),
        engagement_cron(),
        sweeper_cron(),
        purge_cron(),
        retention_cron(),
        webhooks_cron(settings.webhook_sweep_every_seconds),
    ]
    for job in jobs:
        job.name = f"{settings.queue_name}:{job.name}"
    return jobs
