"""The retention cron as the worker runs it: operational rows past their settings' age go (a
ledger row with the voice line it kept in storage), recent ones and pending deliveries stay."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import text

from infra.settings import Settings
from tests.factories import Factory
from worker.cron import cron_jobs, delete_old_operations_rows


async def _insert(app: Any, sql: str, **params: Any) -> Any:
    async with app.state.db.transaction() as session:
        return await session.scalar(text(sql + " RETURNING id"), params)


async def _exists(app: Any, table: str, row_id: Any) -> bool:
    async with app.state.db.session() as session:
        found = await session.scalar(text(f"SELECT 1 FROM {table} WHERE id = :i"), {"i": row_id})
    return found is not None


async def test_rows_past_their_retention_go_and_the_rest_stay(
    app: Any, factory: Factory, settings: Settings
) -> None:
    storage = app.state.storage
    now = datetime.now(UTC)

    def aged(days: int, by: int) -> datetime:  # `by` days past (> 0) or short of (< 0) `days`
        return now - timedelta(days=days + by)

    owner = await factory.account()
    user = uuid.UUID(owner.id)
    events = [
        await _insert(
            app,
            "INSERT INTO system_events (kind, created_at) VALUES ('test.retention', :at)",
            at=aged(settings.system_events_retention_days, by),
        )
        for by in (1, -1)
    ]
    audio_key = f"ledger/speech/{uuid.uuid4().hex}.pcm"
    await storage.put_bytes(audio_key, b"pcm")
    calls = [
        await _insert(
            app,
            "INSERT INTO provider_calls (user_id, provider, kind, operation, outcome, "
            "duration_ms, response, created_at) VALUES (:u, 'openai', 'speech', 'speak', 'ok', "
            "5, CAST(:r AS jsonb), :at)",
            u=user,
            r=f'{{"audio_key": "{audio_key}"}}' if by > 0 else "null",
            at=aged(settings.provider_calls_retention_days, by),
        )
        for by in (1, -1)
    ]
    notes = [
        await _insert(
            app,
            "INSERT INTO notifications (user_id, type, created_at) VALUES (:u, 'test', :at)",
            u=user,
            at=aged(settings.notifications_retention_days, by),
        )
        for by in (1, -1)
    ]
    endpoint = await _insert(
        app,
        "INSERT INTO webhook_endpoints (user_id, url, events, secret_encrypted) "
        "VALUES (:u, 'https://hooks.example.com/x', '{}', '\\x00')",
        u=user,
    )
    days = settings.webhook_deliveries_retention_days
    deliveries = {
        (status, by): await _insert(
            app,
            "INSERT INTO webhook_deliveries (endpoint_id, event_type, payload, status, "
            "created_at) VALUES (:e, 'test', '{}', :s, :at)",
            e=endpoint,
            s=status,
            at=aged(days, by),
        )
        for status, by in (("delivered", 1), ("failed", 1), ("pending", 1), ("delivered", -1))
    }
    ctx = {"db": app.state.db, "settings": settings, "runtime": SimpleNamespace(storage=storage)}

    assert await delete_old_operations_rows(ctx) >= 5

    for table, (old, recent) in (
        ("system_events", events),
        ("provider_calls", calls),
        ("notifications", notes),
    ):
        assert (await _exists(app, table, old), await _exists(app, table, recent)) == (
            False,
            True,
        ), table
    assert not await storage.exists(audio_key)  # the ledger's kept voice line went with it
    kept = {k for k, i in deliveries.items() if await _exists(app, "webhook_deliveries", i)}
    assert kept == {("pending", 1), ("delivered", -1)}  # a pending delivery waits, however old
    # The endpoint's made-up secret opens with no key: no later webhook sweep may meet it.
    await _insert(app, "DELETE FROM webhook_endpoints WHERE id = :e", e=endpoint)


async def test_zero_keeps_a_tables_rows_for_ever(app: Any, settings: Settings) -> None:
    old = await _insert(
        app,
        "INSERT INTO system_events (kind, created_at) VALUES ('test.retention', :at)",
        at=datetime.now(UTC) - timedelta(days=3650),
    )
    forever = settings.model_copy(update={"system_events_retention_days": 0})
    ctx = {
        "db": app.state.db,
        "settings": forever,
        "runtime": SimpleNamespace(storage=app.state.storage),
    }
    await delete_old_operations_rows(ctx)
    assert await _exists(app, "system_events", old)


def test_the_retention_sweep_is_one_of_the_workers_crons(settings: Settings) -> None:
    assert f"{settings.queue_name}:delete_old_rows" in {job.name for job in cron_jobs(settings)}
