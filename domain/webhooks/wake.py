"""Waking the webhook sender: a queue entry per endpoint, pushed only after the commit."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from infra.queue import PendingJob, enqueue_after_commit

DELIVER_WEBHOOKS = "deliver_webhooks"


def pending_job(endpoint_ids: Iterable[uuid.UUID] | None = None, defer: float = 0) -> PendingJob:
    """The sender's queue entry: those endpoints, or (None) every endpoint with work due."""
    ids = sorted(str(i) for i in endpoint_ids) if endpoint_ids is not None else None
    kwargs = {"_defer_by": defer} if defer else {}
    return PendingJob(DELIVER_WEBHOOKS, (ids,), kwargs=kwargs)


def wake_after_commit(session: AsyncSession, endpoint_ids: Iterable[uuid.UUID]) -> None:
    ids = set(endpoint_ids)
    if ids:
        enqueue_after_commit(session, pending_job(ids))
