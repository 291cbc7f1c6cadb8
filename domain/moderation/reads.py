"""The moderators' reads: the queue of flagged targets, the audit trail, and the deleted scenes
and ideas they may restore."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain.ideas import repository as ideas
from domain.moderation import repository, scoring, targets
from domain.moderation.models import FlagStatus, ModerationActionRecord, ModerationFlag
from domain.moderation.repository import Target
from domain.pagination import Page
from domain.scenes import lifecycle_repository as scene_lifecycle


def _target(flag: ModerationFlag) -> Target:
    return (flag.target_type, flag.target_id)


@dataclass(frozen=True)
class QueueItem:
    target_type: str
    target_id: uuid.UUID
    target_summary: str | None
    target_status: str | None
    status: str
    score: float
    flag_count: int
    reporter_count: int
    automatic_count: int
    reasons: list[str]
    claimed_by: uuid.UUID | None
    claim_expires_at: datetime | None
    flags: list[ModerationFlag]


async def list_queue(
    session: AsyncSession,
    *,
    status: str = FlagStatus.PENDING,
    target_type: str | None = None,
    reason: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
    now: datetime | None = None,
) -> Page[QueueItem]:
    """Flagged targets, highest priority first, each with its flags."""
    now = now or datetime.now(UTC)
    page = await repository.page_queue(
        session,
        status=status,
        now=now,
        target_type=target_type,
        reason=reason,
        limit=limit,
        cursor=cursor,
    )
    keys = [(r.target_type, r.target_id) for r in page.items]
    flags: dict[Target, list[ModerationFlag]] = {}
    for flag in await repository.flags_for_queue(session, keys, status=status, now=now):
        flags.setdefault(_target(flag), []).append(flag)
    labels = await targets.summaries(session, keys)
    items = []
    for row, key in zip(page.items, keys, strict=True):
        own = flags.get(key, [])
        lease = next(
            (f for f in own if f.claim_expires_at is not None and f.claim_expires_at > now), None
        )
        live = lease if status == FlagStatus.REVIEWING else None
        label = labels.get(key, targets.Summary(None, None))
        items.append(
            QueueItem(
                target_type=row.target_type,
                target_id=row.target_id,
                target_summary=label.text,
                target_status=label.status,
                status=status,
                score=row.score,
                flag_count=row.flag_count,
                reporter_count=row.reporter_count,
                automatic_count=row.automatic_count,
                reasons=scoring.by_severity(row.reasons),
                claimed_by=live.claimed_by if live else None,
                claim_expires_at=live.claim_expires_at if live else None,
                flags=own,
            )
        )
    return Page(items=items, next_cursor=page.next_cursor)


# The audit trail


async def list_actions(
    session: AsyncSession,
    *,
    target_type: str | None = None,
    target_id: uuid.UUID | None = None,
    moderator_id: uuid.UUID | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[ModerationActionRecord]:
    """Every decision and automatic flag, newest first."""
    return await repository.page_actions(
        session,
        target_type=target_type,
        target_id=target_id,
        moderator_id=moderator_id,
        limit=limit,
        cursor=cursor,
    )


@dataclass(frozen=True)
class DeletedItem:
    type: str
    id: uuid.UUID
    title: str
    user_id: uuid.UUID | None
    deleted_at: datetime
    restore_until: datetime


async def list_deleted(
    session: AsyncSession,
    kind: str,
    *,
    retention_days: int,
    limit: int | None,
    cursor: str | None,
) -> Page[DeletedItem]:
    """Deleted scenes or ideas a moderator may still restore, newest deletion first."""
    window = timedelta(days=retention_days)
    since = datetime.now(UTC) - window
    pager = scene_lifecycle.page_deleted if kind == "scene" else ideas.page_deleted
    page: Page[Any] = await pager(session, since, limit=limit, cursor=cursor)
    items = [
        DeletedItem(kind, row.id, row.title, row.user_id, row.deleted_at, row.deleted_at + window)
        for row in page.items
    ]
    return Page(items=items, next_cursor=page.next_cursor)
