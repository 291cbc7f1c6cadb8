"""The webhook sender's entry points: woken after a commit, and a sweep for anything missed."""

from __future__ import annotations

import asyncio
import functools
import uuid
from datetime import UTC, datetime
from typing import Any

from arq import cron

from domain.webhooks import repository
from domain.webhooks.delivery import EndpointRun, send_endpoint
from domain.webhooks.wake import pending_job
from infra.crypto import DecryptionError, Keyring, load_keyring
from infra.db import Database
from infra.logging import get_logger
from infra.queue import push
from infra.settings import Settings

log = get_logger("worker.webhooks")


@functools.lru_cache(maxsize=4)
def _keyring_for(config: str) -> Keyring:
    # arq hands each job a copy of ctx, so the parsed key ring is kept here, per configuration.
    return load_keyring(config)


def _keyring(ctx: dict[str, Any]) -> Keyring:
    settings: Settings = ctx["settings"]
    return _keyring_for(settings.secrets_encryption_keys.get_secret_value())


async def deliver_webhooks(ctx: dict[str, Any], endpoint_ids: list[str] | None = None) -> int:
    """Send what is due to those endpoints (None: every endpoint with something due)."""
    db: Database = ctx["db"]
    settings: Settings = ctx["settings"]
    if endpoint_ids is None:
        async with db.session() as session:
            targets = await repository.endpoints_due(session)
    else:
        targets = [uuid.UUID(i) for i in endpoint_ids]
    if not targets:
        return 0
    keyring = _keyring(ctx)
    # Endpoints in parallel (a slow one must not hold up the rest), each in order by itself.
    gate = asyncio.Semaphore(settings.webhook_concurrency)

    async def one(endpoint_id: uuid.UUID) -> EndpointRun:
        async with gate:
            try:
                return await send_endpoint(db, settings, keyring, endpoint_id)
            except DecryptionError:
                # Its secret does not open with this key ring (a key dropped from
                # SECRETS_ENCRYPTION_KEYS, or a damaged row): nothing can be signed for it, but
                # the other endpoints' deliveries go on; its own wait, pending, for the key.
                log.error("webhook.secret_unreadable", endpoint_id=str(endpoint_id))
                return EndpointRun(endpoint_id)

    runs = await asyncio.gather(*(one(i) for i in targets))
    retries = [run for run in runs if run.retry_at is not None]
    if retries:
        now = datetime.now(UTC)
        await push(
            ctx["redis"],
            [
                pending_job([run.endpoint_id], defer=max(0.0, (run.retry_at - now).total_seconds()))
                for run in retries
                if run.retry_at is not None
            ],
        )
    return sum(run.delivered for run in runs)


async def sweep_webhooks(ctx: dict[str, Any]) -> int:
    """Every endpoint with a delivery due: a lost queue entry is sent all the same."""
    return await deliver_webhooks(ctx, None)


def webhooks_cron(every_seconds: int) -> Any:
    return cron(
        sweep_webhooks,
        name="sweep_webhooks",
        second=set(range(11 % every_seconds, 60, every_seconds)),
        run_at_startup=True,
        unique=True,
        timeout=300,
    )
