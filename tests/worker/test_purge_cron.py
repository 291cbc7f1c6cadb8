"""The purge cron as the worker runs it: a deleted scene past the window goes with its export
files and the media under its own prefix; a recently deleted one stays."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import update

from domain.scenes.models import Scene
from infra.settings import Settings
from tests.factories import Factory
from worker.cron import cron_jobs, purge_scenes


async def _delete(app: Any, scene_id: str, days_ago: int) -> None:
    async with app.state.db.transaction() as session:
        await session.execute(
            update(Scene)
            .where(Scene.id == uuid.UUID(scene_id))
            .values(deleted_at=datetime.now(UTC) - timedelta(days=days_ago))
        )


async def test_the_cron_deletes_the_due_scenes_files(
    app: Any, factory: Factory, settings: Settings
) -> None:
    storage = app.state.storage
    owner = await factory.account()
    due, recent = await factory.scene(owner), await factory.scene(owner)
    export_key = await factory.exported_segment(due)
    legacy_key = f"scenes/{due['id']}/segments/{uuid.uuid4()}/video.mp4"
    kept_key = f"scenes/{recent['id']}/segments/{uuid.uuid4()}/video.mp4"
    for key in (legacy_key, kept_key):
        await storage.put_bytes(key, b"mp4!")
    await _delete(app, due["id"], settings.deleted_retention_days + 1)
    await _delete(app, recent["id"], 1)
    ctx = {"db": app.state.db, "settings": settings, "runtime": SimpleNamespace(storage=storage)}

    purged = await purge_scenes(ctx)

    assert purged >= 1
    assert not await storage.exists(export_key)
    assert not await storage.exists(legacy_key)
    assert await storage.exists(kept_key)
    async with app.state.db.session() as session:
        assert await session.get(Scene, uuid.UUID(due["id"])) is None
        assert await session.get(Scene, uuid.UUID(recent["id"])) is not None


def test_the_purge_is_one_of_the_workers_crons(settings: Settings) -> None:
    assert f"{settings.queue_name}:purge_scenes" in {job.name for job in cron_jobs(settings)}
