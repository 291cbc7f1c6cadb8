"""Every query on webhook endpoints and deliveries, the sender's included."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.pagination import Page, paginate
from domain.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

_PENDING = WebhookDelivery.status == DeliveryStatus.PENDING.value


async def count_for(session: AsyncSession, user_id: uuid.UUID) -> int:
    stmt = select(func.count()).where(WebhookEndpoint.user_id == user_id)
    return int(await session.scalar(stmt) or 0)


async def add(session: AsyncSession, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    session.add(endpoint)
    await session.flush()
    await session.refresh(endpoint)
    return endpoint


async def page_for(
    session: AsyncSession, user_id: uuid.UUID, *, limit: int | None, cursor: str | None
) -> Page[WebhookEndpoint]:
    stmt = select(WebhookEndpoint).where(WebhookEndpoint.user_id == user_id)
    keys = [WebhookEndpoint.created_at, WebhookEndpoint.id]
    return await paginate(session, stmt, keys, limit=limit, cursor=cursor)


async def get(session: AsyncSession, endpoint_id: uuid.UUID) -> WebhookEndpoint | None:
    return await session.get(WebhookEndpoint, endpoint_id)


async def remove(session: AsyncSession, endpoint_id: uuid.UUID) -> None:
    await session.execute(delete(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id))


async def deliveries_page(
    session: AsyncSession, endpoint_id: uuid.UUID, *, limit: int | None, cursor: str | None
) -> Page[WebhookDelivery]:
    stmt = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
    return await paginate(session, stmt, [WebhookDelivery.seq], limit=limit, cursor=cursor)


# The sender's statements.


async def endpoints_due(session: AsyncSession, limit: int = 500) -> list[uuid.UUID]:
    """Enabled endpoints with a delivery due now and no live lease."""
    stmt = (
        select(WebhookDelivery.endpoint_id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            _PENDING,
            WebhookDelivery.next_attempt_at <= func.now(),
            WebhookEndpoint.disabled_at.is_(None),
            func.coalesce(WebhookEndpoint.leased_until, text("'-infinity'")) < func.now(),
        )
        .group_by(WebhookDelivery.endpoint_id)
        .limit(limit)
    )
    return list((await session.scalars(stmt)).all())


async def take_lease(
    session: AsyncSession, endpoint_id: uuid.UUID, seconds: float
) -> WebhookEndpoint | None:
    """The endpoint, leased to the caller for `seconds`; None when disabled or leased."""
    stmt = (
        update(WebhookEndpoint)
        .where(
            WebhookEndpoint.id == endpoint_id,
            WebhookEndpoint.disabled_at.is_(None),
            func.coalesce(WebhookEndpoint.leased_until, text("'-infinity'")) < func.now(),
        )
        .values(leased_until=_in(seconds))
        .returning(WebhookEndpoint)
    )
    return (await session.scalars(stmt)).one_or_none()


def _in(seconds: float) -> Any:
    return func.now() + func.make_interval(0, 0, 0, 0, 0, 0, seconds)


async def extend_lease(session: AsyncSession, endpoint_id: uuid.UUID, seconds: float) -> None:
    await session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id)
        .values(leased_until=_in(seconds))
    )


async def release_lease(session: AsyncSession, endpoint_id: uuid.UUID) -> None:
    await session.execute(
        update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id).values(leased_until=None)
    )


async def head(session: AsyncSession, endpoint_id: uuid.UUID) -> WebhookDelivery | None:
    """The endpoint's oldest undelivered delivery: nothing later goes out before it."""
    stmt = (
        select(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint_id, _PENDING)
        .order_by(WebhookDelivery.seq)
        .limit(1)
    )
    return (await session.scalars(stmt)).one_or_none()


async def has_due(session: AsyncSession, endpoint_id: uuid.UUID) -> bool:
    stmt = select(
        select(WebhookDelivery.id)
        .where(
            WebhookDelivery.endpoint_id == endpoint_id,
            _PENDING,
            WebhookDelivery.next_attempt_at <= func.now(),
        )
        .exists()
    )
    return bool(await session.scalar(stmt))


async def attempted(
    session: AsyncSession,
    delivery_id: uuid.UUID,
    *,
    status: DeliveryStatus,
    status_code: int | None,
    error: str | None,
    next_attempt_at: datetime | None,
) -> None:
    values: dict[str, Any] = {
        "status": status.value,
        "attempts": WebhookDelivery.attempts + 1,
        "last_status_code": status_code,
        "last_error": error,
        "last_attempt_at": func.now(),
    }
    if status == DeliveryStatus.DELIVERED:
        values["delivered_at"] = func.now()
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    await session.execute(
        update(WebhookDelivery).where(WebhookDelivery.id == delivery_id).values(**values)
    )


async def endpoint_succeeded(session: AsyncSession, endpoint_id: uuid.UUID) -> None:
    await session.execute(
        update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id).values(failing_since=None)
    )


async def endpoint_failed(session: AsyncSession, endpoint_id: uuid.UUID) -> datetime:
    """Mark the endpoint failing (from now, unless it already was); since when it fails."""
    stmt = (
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id)
        .values(failing_since=func.coalesce(WebhookEndpoint.failing_since, func.now()))
        .returning(WebhookEndpoint.failing_since)
    )
    since = (await session.execute(stmt)).scalar_one()
    assert since is not None  # coalesce(..., now()) is never null
    return since


async def disable(session: AsyncSession, endpoint_id: uuid.UUID, reason: str) -> bool:
    stmt = (
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.disabled_at.is_(None))
        .values(disabled_at=func.now(), disabled_reason=reason, leased_until=None)
    )
    result = await session.execute(stmt)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def delete_finished_before(session: AsyncSession, cutoff: datetime) -> int:
    """Forget the deliveries made before `cutoff` that are done (delivered or given up); a
    pending one stays whatever its age. Returns how many."""
    result = await session.execute(
        delete(WebhookDelivery).where(WebhookDelivery.created_at < cutoff, ~_PENDING)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
