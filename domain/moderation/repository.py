"""Every query on moderation flags and the audit trail.

Queries that read or change the flagged content itself (ideas, scenes, segments, users,
topics) live in `domain.moderation.targets`.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    func,
    insert,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from domain.moderation.models import (
    OPEN_FLAG_STATUSES,
    FlagStatus,
    ModerationActionRecord,
    ModerationFlag,
)
from domain.pagination import Page, paginate

F = ModerationFlag
A = ModerationActionRecord
Target = tuple[str, uuid.UUID]
OPEN = tuple(s.value for s in OPEN_FLAG_STATUSES)
# Flags shown per queue item; the counts always cover all of them.
FLAGS_PER_ITEM = 50


def _lock_key(target: Target) -> Any:
    return func.hashtextextended(f"moderation:{target[0]}:{target[1]}", 0)


async def lock_target(session: AsyncSession, target: Target) -> None:
    """Serialize every change to one target's open flags until the transaction ends."""
    await session.execute(select(func.pg_advisory_xact_lock(_lock_key(target))))


async def try_lock_target(session: AsyncSession, target: Target) -> bool:
    """Take the target's lock only if nobody holds it (re-entrant within a transaction)."""
    return bool(await session.scalar(select(func.pg_try_advisory_xact_lock(_lock_key(target)))))


def _of(target: Target) -> ColumnElement[bool]:
    return and_(F.target_type == target[0], F.target_id == target[1])


_IS_OPEN = F.status.in_(OPEN)


# Flags


async def get_flag(session: AsyncSession, flag_id: uuid.UUID) -> ModerationFlag | None:
    return await session.get(F, flag_id)


async def get_flags(session: AsyncSession, flag_ids: Collection[uuid.UUID]) -> list[ModerationFlag]:
    return list(await session.scalars(select(F).where(F.id.in_(list(flag_ids)))))


async def flag_status(session: AsyncSession, flag_id: uuid.UUID) -> str | None:
    """The committed status, read past the identity map (after taking the target's lock)."""
    return await session.scalar(select(F.status).where(F.id == flag_id))


async def open_flag_of_reporter(
    session: AsyncSession, reporter_id: uuid.UUID, target: Target
) -> ModerationFlag | None:
    return await session.scalar(
        select(F).where(_of(target), _IS_OPEN, F.reporter_id == reporter_id)
    )


@dataclass(frozen=True)
class Lease:
    moderator_id: uuid.UUID
    expires_at: datetime


async def live_lease(session: AsyncSession, target: Target, now: datetime) -> Lease | None:
    row = (
        await session.execute(
            select(F.claimed_by, F.claim_expires_at)
            .where(
                _of(target),
                F.status == FlagStatus.REVIEWING.value,
                F.claimed_by.is_not(None),
                F.claim_expires_at > now,
            )
            .order_by(F.claim_expires_at.desc())
            .limit(1)
        )
    ).first()
    return Lease(row.claimed_by, row.claim_expires_at) if row else None


async def add_flag(session: AsyncSession, flag: ModerationFlag) -> ModerationFlag:
    session.add(flag)
    await session.flush()
    await session.refresh(flag)
    return flag


async def claim_open_flags(
    session: AsyncSession, target: Target, moderator_id: uuid.UUID, expires_at: datetime
) -> None:
    await session.execute(
        update(F)
        .where(_of(target), _IS_OPEN)
        .values(
            status=FlagStatus.REVIEWING.value, claimed_by=moderator_id, claim_expires_at=expires_at
        )
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True)
class ClosedFlag:
    id: uuid.UUID
    reporter_id: uuid.UUID | None


async def close_open_flags(
    session: AsyncSession, target: Target, values: dict[str, Any]
) -> list[ClosedFlag]:
    rows = await session.execute(
        update(F)
        .where(_of(target), _IS_OPEN)
        .values(**values)
        .returning(F.id, F.reporter_id)
        .execution_options(synchronize_session=False)
    )
    return [ClosedFlag(r.id, r.reporter_id) for r in rows]


# Scores


async def open_flags_of(session: AsyncSession, targets: Collection[Target]) -> list[Any]:
    if not targets:
        return []
    stmt = select(F.target_type, F.target_id, F.reporter_id, F.reason).where(
        _IS_OPEN, tuple_(F.target_type, F.target_id).in_(list(targets))
    )
    return list((await session.execute(stmt)).all())


async def reporter_records(
    session: AsyncSession, reporter_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, tuple[int, int]]:
    """Per reporter: (flags a moderator upheld, flags dismissed)."""
    if not reporter_ids:
        return {}
    upheld = and_(F.status == FlagStatus.RESOLVED.value, F.action_taken != "none")
    stmt = (
        select(
            F.reporter_id,
            func.count().filter(upheld),
            func.count().filter(F.status == FlagStatus.DISMISSED.value),
        )
        .where(F.reporter_id.in_(list(reporter_ids)))
        .group_by(F.reporter_id)
    )
    return {r[0]: (int(r[1]), int(r[2])) for r in await session.execute(stmt) if r[0] is not None}


async def targets_with_open_flags_by(
    session: AsyncSession, reporter_ids: Collection[uuid.UUID]
) -> set[Target]:
    if not reporter_ids:
        return set()
    stmt = (
        select(F.target_type, F.target_id)
        .where(_IS_OPEN, F.reporter_id.in_(list(reporter_ids)))
        .distinct()
    )
    return {(r[0], r[1]) for r in await session.execute(stmt)}


async def set_score(session: AsyncSession, target: Target, score: float) -> None:
    await session.execute(
        update(F)
        .where(_of(target), _IS_OPEN, F.score != score)
        .values(score=score)
        .execution_options(synchronize_session=False)
    )


# The queue


def status_clause(status: str, now: datetime) -> ColumnElement[bool]:
    """`pending` includes targets whose lease ran out; `reviewing` only live leases."""
    reviewing = F.status == FlagStatus.REVIEWING.value
    if status == FlagStatus.PENDING:
        lapsed = or_(F.claim_expires_at.is_(None), F.claim_expires_at <= now)
        return or_(F.status == FlagStatus.PENDING.value, and_(reviewing, lapsed))
    if status == FlagStatus.REVIEWING:
        return and_(reviewing, F.claim_expires_at > now)
    return F.status == status


@dataclass(frozen=True)
class QueueRow:
    score: float
    target_type: str
    target_id: uuid.UUID
    flag_count: int
    reporter_count: int
    automatic_count: int
    reasons: list[str]


async def page_queue(
    session: AsyncSession,
    *,
    status: str,
    now: datetime,
    target_type: str | None,
    reason: str | None,
    limit: int | None,
    cursor: str | None,
) -> Page[QueueRow]:
    """One page of targets, highest score first, keyed by (score, target_type, target_id).

    Open flags of a target always share one score (recomputed together under the target's
    lock), so for open statuses the score is a grouping column and the ORDER BY can follow an
    index. Closed flags keep the score of their decision; a target decided several times is
    one item at its highest score. The reason filter keeps a target when any of its flags has
    that reason, and the counts still cover all its flags.
    """
    open_view = status in (FlagStatus.PENDING, FlagStatus.REVIEWING)
    score: Any = F.score if open_view else func.max(F.score)
    group = [F.target_type, F.target_id, *([F.score] if open_view else [])]
    stmt = select(
        score.label("score"),
        F.target_type,
        F.target_id,
        func.count().label("flag_count"),
        func.count(F.reporter_id.distinct()).label("reporter_count"),
        func.count().filter(F.reporter_id.is_(None)).label("automatic_count"),
        func.array_agg(F.reason.distinct()).label("reasons"),
    ).where(status_clause(status, now))
    if target_type is not None:
        stmt = stmt.where(F.target_type == target_type)
    stmt = stmt.group_by(*group)
    if reason is not None:
        stmt = stmt.having(func.bool_or(F.reason == reason))
    page = await paginate(
        session,
        stmt,
        [score, F.target_type, F.target_id],
        limit=limit,
        cursor=cursor,
        scalars=False,
        having=True,
    )
    items = [
        QueueRow(
            float(r.score),
            r.target_type,
            r.target_id,
            r.flag_count,
            r.reporter_count,
            r.automatic_count,
            list(r.reasons),
        )
        for r in page.items
    ]
    return Page(items=items, next_cursor=page.next_cursor)


async def flags_for_queue(
    session: AsyncSession, targets: Sequence[Target], *, status: str, now: datetime
) -> list[ModerationFlag]:
    """The newest flags of each target in the view, at most FLAGS_PER_ITEM per target."""
    if not targets:
        return []
    rank = (
        func.row_number()
        .over(
            partition_by=(F.target_type, F.target_id), order_by=(F.created_at.desc(), F.id.desc())
        )
        .label("rank")
    )
    ranked = (
        select(F.id, rank)
        .where(status_clause(status, now), tuple_(F.target_type, F.target_id).in_(list(targets)))
        .subquery()
    )
    stmt = (
        select(F)
        .join(ranked, ranked.c.id == F.id)
        .where(ranked.c.rank <= FLAGS_PER_ITEM)
        .order_by(F.created_at.desc(), F.id.desc())
    )
    return list(await session.scalars(stmt))


# The audit trail


async def add_action(
    session: AsyncSession,
    *,
    moderator_id: uuid.UUID | None,
    flag_id: uuid.UUID | None,
    target: Target,
    action: str,
    notes: str | None,
) -> uuid.UUID:
    # clock_timestamp, not now(): entries written in one transaction keep their order.
    return (
        await session.execute(
            insert(A)
            .values(
                moderator_id=moderator_id,
                flag_id=flag_id,
                target_type=target[0],
                target_id=target[1],
                action=action,
                notes=notes,
                created_at=func.clock_timestamp(),
            )
            .returning(A.id)
        )
    ).scalar_one()


async def page_actions(
    session: AsyncSession,
    *,
    target_type: str | None,
    target_id: uuid.UUID | None,
    moderator_id: uuid.UUID | None,
    limit: int | None,
    cursor: str | None,
) -> Page[ModerationActionRecord]:
    stmt = select(A)
    if target_type is not None:
        stmt = stmt.where(A.target_type == target_type)
    if target_id is not None:
        stmt = stmt.where(A.target_id == target_id)
    if moderator_id is not None:
        stmt = stmt.where(A.moderator_id == moderator_id)
    return await paginate(session, stmt, [A.created_at, A.id], limit=limit, cursor=cursor)
