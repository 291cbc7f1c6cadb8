"""Moderation: users flag content, moderators work a scored queue, every decision is audited.

Rules shared by every decision on a target (a resolve, a dismiss, each target of a bulk):
- The target's advisory lock serializes it against new flags, claims and other decisions.
- A live lease held by another moderator refuses it (409); an expired lease is ignored. A
  moderator does not need to claim before deciding.
- Every open flag of the target closes with it, whichever flag was named. A flag already
  decided is refused (409) even if newer flags on the same target are open: the caller has
  not seen those.
- Nobody decides on their own account or content (403).
- Exactly one audit entry per target decided, naming the flag the decision was made through.

Claims are leases per target: claiming a flag claims every open flag of its target, and a flag
filed on the target while the lease is live joins it (status reviewing, same moderator and
expiry), so the claimant's decision covers what arrived meanwhile. Flags on other targets are
never captured. Re-claiming your own lease extends it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from domain.moderation import repository, scoring, target_repository, targets
from domain.moderation.automatic import file_automatic_flag as file_automatic_flag
from domain.moderation.models import (
    OPEN_FLAG_STATUSES,
    FlagStatus,
    ModerationAction,
    ModerationFlag,
    TargetType,
)
from domain.moderation.repository import Lease, Target
from domain.notifications import service as notifications
from domain.notifications.events import MODERATION_ACTION, Event
from domain.users.models import Role, User

CLAIM_LEASE = timedelta(minutes=15)
MAX_BULK = 100
DISMISS_ACTION = "dismiss"
OPEN = {s.value for s in OPEN_FLAG_STATUSES}


class TargetClaimed(Conflict):
    def __init__(self, lease: Lease) -> None:
        super().__init__(
            "Another moderator is reviewing this target.",
            claimed_by=str(lease.moderator_id),
            claim_expires_at=lease.expires_at.isoformat(),
        )
        self.lease = lease


def is_moderator(user: User | None) -> bool:
    return user is not None and Role(user.role).rank >= Role.MODERATOR.rank


def _target(flag: ModerationFlag) -> Target:
    return (flag.target_type, flag.target_id)


# Flags


async def file_flag(
    session: AsyncSession,
    reporter: User,
    *,
    target_type: str,
    target_id: uuid.UUID,
    reason: str,
    description: str | None,
    now: datetime | None = None,
) -> ModerationFlag:
    """Flag content the reporter can see; one open flag per reporter and target (409)."""
    now = now or datetime.now(UTC)
    target: Target = (TargetType(target_type).value, target_id)
    if target[0] == TargetType.USER and target_id == reporter.id:
        raise InvalidInput(
            "You cannot flag yourself.",
            [{"pointer": "/target_id", "message": "this is your own account"}],
        )
    content = await target_repository.load(session, target)
    if content is None or not await targets.is_visible(session, content, reporter):
        raise NotFound(f"No such {target[0]}.")
    await repository.lock_target(session, target)
    existing = await repository.open_flag_of_reporter(session, reporter.id, target)
    if existing is not None:
        raise Conflict(
            "You already flagged this and that flag is still open.", flag_id=str(existing.id)
        )
    lease = await repository.live_lease(session, target, now)
    flag = ModerationFlag(
        reporter_id=reporter.id,
        target_type=target[0],
        target_id=target_id,
        reason=reason,
        description=description,
        status=(FlagStatus.REVIEWING if lease else FlagStatus.PENDING).value,
        claimed_by=lease.moderator_id if lease else None,
        claim_expires_at=lease.expires_at if lease else None,
    )
    flag = await repository.add_flag(session, flag)
    await scoring.recompute(session, [target])
    await session.refresh(flag)
    return flag


async def get_flag(session: AsyncSession, flag_id: uuid.UUID, viewer: User) -> ModerationFlag:
    """One flag, for moderators and for its reporter."""
    flag = await repository.get_flag(session, flag_id)
    if flag is None or not (is_moderator(viewer) or flag.reporter_id == viewer.id):
        raise NotFound("No such flag.")
    return flag


# Claims


async def _open_flag_locked(session: AsyncSession, flag_id: uuid.UUID) -> ModerationFlag:
    """The flag with its target locked; 404 unknown, 409 already decided."""
    flag = await repository.get_flag(session, flag_id)
    if flag is None:
        raise NotFound("No such flag.")
    await repository.lock_target(session, _target(flag))
    status = await repository.flag_status(session, flag_id)
    if status not in OPEN:
        raise Conflict(f"This flag is already {status}.", flag_status=status)
    return flag


async def _check_moderator_may_act(
    session: AsyncSession, moderator: User, target: Target, now: datetime
) -> target_repository.Content | None:
    lease = await repository.live_lease(session, target, now)
    if lease is not None and lease.moderator_id != moderator.id:
        raise TargetClaimed(lease)
    content = await target_repository.load(session, target)
    if targets.author_of(content) == moderator.id:
        raise Forbidden("Another moderator must decide on your own account or content.")
    return content


async def claim(
    session: AsyncSession,
    moderator: User,
    flag_id: uuid.UUID,
    *,
    now: datetime | None = None,
    lease: timedelta = CLAIM_LEASE,
) -> ModerationFlag:
    """Take (or extend) the lease on the flag's target: every open flag of it is reviewing."""
    now = now or datetime.now(UTC)
    flag = await _open_flag_locked(session, flag_id)
    await _check_moderator_may_act(session, moderator, _target(flag), now)
    await repository.claim_open_flags(session, _target(flag), moderator.id, now + lease)
    await session.refresh(flag)
    return flag


# Decisions


@dataclass
class Decision:
    """The outcome for one target: `resolved`, `dismissed`, or `skipped` with why."""

    target_type: str
    target_id: uuid.UUID
    outcome: str
    action_taken: str | None = None
    flag_ids: list[uuid.UUID] = field(default_factory=list)
    action_id: uuid.UUID | None = None
    skipped_because: str | None = None
    detail: str | None = None
    claimed_by: uuid.UUID | None = None
    claim_expires_at: datetime | None = None
    reporters: set[uuid.UUID] = field(default_factory=set)


async def _decide(
    session: AsyncSession,
    moderator: User,
    target: Target,
    flag_id: uuid.UUID,
    action: ModerationAction | None,
    notes: str | None,
    now: datetime,
) -> Decision:
    """Apply `action` (None: dismiss) and close every open flag; the caller holds the lock."""
    content = await _check_moderator_may_act(session, moderator, target, now)
    # A dismissal changes nothing on the target, except approving an idea awaiting review.
    await targets.apply(session, content, action or ModerationAction.NONE, moderator)
    await _tell_author(session, content, target, action)
    status = FlagStatus.RESOLVED if action is not None else FlagStatus.DISMISSED
    closed = await repository.close_open_flags(
        session,
        target,
        {
            "status": status.value,
            "resolved_by": moderator.id,
            "resolved_at": now,
            "action_taken": action.value if action is not None else None,
            "resolution_notes": notes,
        },
    )
    action_name = action.value if action is not None else DISMISS_ACTION
    action_id = await repository.add_action(
        session,
        moderator_id=moderator.id,
        flag_id=flag_id,
        target=target,
        action=action_name,
        notes=notes,
    )
    # Resolving with no action says nothing about the reporters; the rest moves their standing.
    moved = action != ModerationAction.NONE
    return Decision(
        target_type=target[0],
        target_id=target[1],
        outcome=status.value,
        action_taken=action.value if action is not None else None,
        flag_ids=[c.id for c in closed],
        action_id=action_id,
        reporters={c.reporter_id for c in closed if c.reporter_id is not None} if moved else set(),
    )


async def _tell_author(
    session: AsyncSession,
    content: target_repository.Content | None,
    target: Target,
    action: ModerationAction | None,
) -> None:
    """The content's author hears that a moderator acted on it (not of a flag let go)."""
    author_id = targets.author_of(content)
    if author_id is None or action is None or action == ModerationAction.NONE:
        return
    data = {"action": action.value, "target_type": str(target[0]), "target_id": str(target[1])}
    await notifications.tell(session, Event(MODERATION_ACTION, data, [author_id]))


async def _decide_one(
    session: AsyncSession,
    moderator: User,
    flag_id: uuid.UUID,
    action: ModerationAction | None,
    notes: str | None,
    now: datetime | None,
) -> Decision:
    flag = await _open_flag_locked(session, flag_id)
    decision = await _decide(
        session, moderator, _target(flag), flag_id, action, notes, now or datetime.now(UTC)
    )
    await scoring.rescore_reporters(session, decision.reporters)
    return decision


async def resolve(
    session: AsyncSession,
    moderator: User,
    flag_id: uuid.UUID,
    action: ModerationAction | str,
    notes: str | None = None,
    *,
    now: datetime | None = None,
) -> Decision:
    """Apply the action to the flag's target and resolve every open flag on it."""
    return await _decide_one(session, moderator, flag_id, ModerationAction(action), notes, now)


async def dismiss(
    session: AsyncSession,
    moderator: User,
    flag_id: uuid.UUID,
    notes: str | None = None,
    *,
    now: datetime | None = None,
) -> Decision:
    """Close every open flag on the flag's target without acting on it."""
    return await _decide_one(session, moderator, flag_id, None, notes, now)


@dataclass(frozen=True)
class BulkOutcome:
    results: list[Decision]
    not_found: list[uuid.UUID]


async def bulk_decide(
    session: AsyncSession,
    moderator: User,
    flag_ids: Sequence[uuid.UUID],
    action: ModerationAction | str | None,
    notes: str | None = None,
    *,
    now: datetime | None = None,
) -> BulkOutcome:
    """Decide each named flag's target as a single decision would, in one transaction.

    Targets are locked in a fixed order so two bulk calls cannot deadlock. A target claimed
    by another moderator, already decided, or refused (say, a ban the caller may not make) is
    skipped and reported; each target runs in a savepoint, so a refusal leaves no trace.
    """
    now = now or datetime.now(UTC)
    chosen = ModerationAction(action) if action is not None else None
    wanted = list(dict.fromkeys(flag_ids))
    found = {f.id: f for f in await repository.get_flags(session, wanted)}
    by_target: dict[Target, list[uuid.UUID]] = {}
    for flag_id in wanted:
        if flag_id in found:
            by_target.setdefault(_target(found[flag_id]), []).append(flag_id)
    results: dict[Target, Decision] = {}
    reporters: set[uuid.UUID] = set()
    for target in sorted(by_target):
        results[target] = await _bulk_one(
            session, moderator, target, by_target[target], chosen, notes, now
        )
        reporters |= results[target].reporters
    await scoring.rescore_reporters(session, reporters)
    return BulkOutcome(
        results=[results[t] for t in by_target],  # in the order the caller named them
        not_found=[i for i in wanted if i not in found],
    )


async def _bulk_one(
    session: AsyncSession,
    moderator: User,
    target: Target,
    requested: list[uuid.UUID],
    action: ModerationAction | None,
    notes: str | None,
    now: datetime,
) -> Decision:
    await repository.lock_target(session, target)
    still_open = [i for i in requested if await repository.flag_status(session, i) in OPEN]
    skipped = Decision(target[0], target[1], "skipped", flag_ids=requested)
    if not still_open:
        skipped.skipped_because, skipped.detail = "already_decided", "Every named flag is closed."
        return skipped
    try:
        async with session.begin_nested():
            return await _decide(session, moderator, target, still_open[0], action, notes, now)
    except TargetClaimed as exc:
        skipped.skipped_because, skipped.detail = "claimed", exc.detail
        skipped.claimed_by, skipped.claim_expires_at = exc.lease.moderator_id, exc.lease.expires_at
    except DomainError as exc:
        skipped.skipped_because, skipped.detail = exc.type_slug, exc.detail
    return skipped
