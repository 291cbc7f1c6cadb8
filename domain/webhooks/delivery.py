"""Sending an endpoint's deliveries: in order, one sender at a time, retried with backoff.

An endpoint's deliveries leave strictly in the order their events were recorded: the sender
holds the endpoint's lease and always takes the oldest undelivered one, so a delivery waiting
for its retry holds back the later ones. Every attempt of a delivery carries the same
`webhook-id`, so a receiver that saw it already can drop the repeat. A delivery still failing
after the retry window is given up; an endpoint failing (not one success) for longer than
WEBHOOK_DISABLE_AFTER_SECONDS is disabled, and its owner told.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from domain.notifications.events import WEBHOOK_DISABLED, Event, record
from domain.operations.models import SystemEventKind
from domain.operations.repository import add_system_event
from domain.webhooks import repository
from domain.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from domain.webhooks.service import open_secret
from infra import webhook_http
from infra.crypto import Keyring
from infra.db import Database
from infra.logging import get_logger
from infra.settings import Settings

log = get_logger("domain.webhooks.delivery")
USER_AGENT = "Storyloom-Webhooks/1"
LEASE_MARGIN_SECONDS = 30.0


@dataclass
class EndpointRun:
    """What one pass over an endpoint did, and when it next has something due (if it does)."""

    endpoint_id: uuid.UUID
    delivered: int = 0
    retry_at: datetime | None = None


def body_of(delivery: WebhookDelivery) -> bytes:
    """The exact bytes sent (and signed); the same on every attempt."""
    return json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()


def backoff(settings: Settings, attempts: int) -> float:
    """Seconds before the next attempt after `attempts` failed ones: doubling, capped."""
    exponent = min(attempts - 1, 40)
    return min(
        settings.webhook_retry_max_interval_seconds,
        settings.webhook_retry_base_seconds * 2.0**exponent,
    )


async def send_endpoint(
    db: Database, settings: Settings, keyring: Keyring, endpoint_id: uuid.UUID
) -> EndpointRun:
    """Send whatever is due to the endpoint, oldest first, until it is done or must wait."""
    run = EndpointRun(endpoint_id)
    lease = settings.webhook_timeout_seconds + LEASE_MARGIN_SECONDS
    while True:
        async with db.transaction() as session:
            endpoint = await repository.take_lease(session, endpoint_id, lease)
        if endpoint is None:  # another worker holds it and sends its due deliveries
            return run
        try:
            await _drain(db, settings, keyring, endpoint, run, lease)
        finally:
            async with db.transaction() as session:
                await repository.release_lease(session, endpoint_id)
        # A delivery recorded while the lease was held may have found it taken: look again.
        async with db.session() as session:
            if run.retry_at is not None or not await repository.has_due(session, endpoint_id):
                return run


async def _drain(
    db: Database,
    settings: Settings,
    keyring: Keyring,
    endpoint: WebhookEndpoint,
    run: EndpointRun,
    lease: float,
) -> None:
    secret = open_secret(keyring, endpoint)
    while True:
        async with db.session() as session:
            delivery = await repository.head(session, endpoint.id)
        if delivery is None:
            return
        now = datetime.now(UTC)
        if delivery.next_attempt_at > now:
            run.retry_at = delivery.next_attempt_at
            return
        outcome = await _attempt(settings, endpoint, delivery, secret)
        if not await _settle(db, settings, endpoint, delivery, outcome, run, lease):
            return


async def _attempt(
    settings: Settings, endpoint: WebhookEndpoint, delivery: WebhookDelivery, secret: str
) -> webhook_http.Outcome:
    body = body_of(delivery)
    message_id = str(delivery.id)
    timestamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": webhook_http.sign(secret, message_id, timestamp, body),
    }
    return await webhook_http.post(
        endpoint.url,
        headers,
        body,
        allow_private=settings.webhook_allow_private_targets,
        timeout_seconds=settings.webhook_timeout_seconds,
        max_response_bytes=settings.webhook_max_response_bytes,
    )


async def _settle(
    db: Database,
    settings: Settings,
    endpoint: WebhookEndpoint,
    delivery: WebhookDelivery,
    outcome: webhook_http.Outcome,
    run: EndpointRun,
    lease: float,
) -> bool:
    """Record the attempt; True when the sender may go on to the next delivery."""
    now = datetime.now(UTC)
    attempts = delivery.attempts + 1
    log_fields = {
        "endpoint_id": str(endpoint.id),
        "delivery_id": str(delivery.id),
        "attempt": attempts,
        "status_code": outcome.status_code,
    }
    async with db.transaction() as session:
        if outcome.ok:
            await repository.attempted(
                session,
                delivery.id,
                status=DeliveryStatus.DELIVERED,
                status_code=outcome.status_code,
                error=None,
                next_attempt_at=None,
            )
            await repository.endpoint_succeeded(session, endpoint.id)
            await repository.extend_lease(session, endpoint.id, lease)
            run.delivered += 1
            log.info("webhook_delivered", **log_fields)
            return True
        deadline = delivery.created_at + timedelta(seconds=settings.webhook_retry_window_seconds)
        gave_up = now >= deadline
        next_at = min(now + timedelta(seconds=backoff(settings, attempts)), deadline)
        await repository.attempted(
            session,
            delivery.id,
            status=DeliveryStatus.FAILED if gave_up else DeliveryStatus.PENDING,
            status_code=outcome.status_code,
            error=outcome.error,
            next_attempt_at=None if gave_up else next_at,
        )
        failing_since = await repository.endpoint_failed(session, endpoint.id)
        log.warning("webhook_attempt_failed", gave_up=gave_up, error=outcome.error, **log_fields)
        if now - failing_since >= timedelta(seconds=settings.webhook_disable_after_seconds):
            await _disable(session, endpoint, failing_since)
            return False
    if gave_up:
        return True
    run.retry_at = next_at
    return False


async def _disable(
    session: AsyncSession, endpoint: WebhookEndpoint, failing_since: datetime
) -> None:
    reason = f"Every delivery failed since {failing_since.isoformat()}."
    if not await repository.disable(session, endpoint.id, reason):
        return
    log.warning("webhook_endpoint_disabled", endpoint_id=str(endpoint.id), reason=reason)
    data = {"endpoint_id": str(endpoint.id), "url": endpoint.url, "reason": reason}
    await record(session, [Event(WEBHOOK_DISABLED, data, [endpoint.user_id], webhooks=False)])
    await add_system_event(session, SystemEventKind.WEBHOOK_DISABLED, data)
