"""How urgent a flagged target is: the score the queue is ordered by.

A target's score sums, over its distinct reporters, the severity of the reason they gave
times their standing. Standing starts at 1 and moves with the reporter's history: flags a
moderator upheld (resolved with an action) raise it towards 2, dismissed ones lower it
towards 0; resolutions with no action are neutral. The automatic content check is one
reporter with a fixed standing, however many automatic flags it filed on the target.

The score is stored on every open flag of the target and recomputed, under the target's
lock, whenever its open flags change or the standing of one of its reporters does.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from domain.moderation import repository
from domain.moderation.models import FlagReason
from domain.moderation.repository import Target

SEVERITY: dict[str, float] = {
    FlagReason.SELF_HARM: 5.0,
    FlagReason.VIOLENCE: 4.0,
    FlagReason.HATE: 4.0,
    FlagReason.SEXUAL: 4.0,
    FlagReason.HARASSMENT: 3.0,
    FlagReason.COPYRIGHT: 2.0,
    FlagReason.MISINFORMATION: 2.0,
    FlagReason.OTHER: 1.5,
    FlagReason.SPAM: 1.0,
    FlagReason.OFF_TOPIC: 0.5,
}
AUTOMATIC_STANDING = 1.0


def standing(upheld: int, dismissed: int) -> float:
    """In (0, 2): 1 for a newcomer, Laplace-smoothed so one decision moves it gently."""
    return 2.0 * (upheld + 1) / (upheld + dismissed + 2)


def target_score(
    flags: Iterable[tuple[uuid.UUID | None, str]],
    records: Mapping[uuid.UUID, tuple[int, int]],
) -> float:
    """The score of one target from its open flags' (reporter_id, reason) pairs."""
    worst: dict[uuid.UUID | None, float] = {}
    for reporter, reason in flags:
        worst[reporter] = max(worst.get(reporter, 0.0), SEVERITY.get(reason, 1.0))
    total = 0.0
    for reporter, severity in worst.items():
        weight = (
            AUTOMATIC_STANDING if reporter is None else standing(*records.get(reporter, (0, 0)))
        )
        total += severity * weight
    return round(total, 6)


def by_severity(reasons: Iterable[str]) -> list[str]:
    return sorted(set(reasons), key=lambda r: (-SEVERITY.get(r, 1.0), r))


async def recompute(session: AsyncSession, targets: Collection[Target]) -> None:
    """Store the fresh score on every open flag of `targets`; the caller holds their locks."""
    rows = await repository.open_flags_of(session, targets)
    records = await repository.reporter_records(
        session, {r.reporter_id for r in rows if r.reporter_id is not None}
    )
    flags: dict[Target, list[tuple[uuid.UUID | None, str]]] = {}
    for row in rows:
        flags.setdefault((row.target_type, row.target_id), []).append((row.reporter_id, row.reason))
    for target, pairs in flags.items():
        await repository.set_score(session, target, target_score(pairs, records))


async def rescore_reporters(session: AsyncSession, reporter_ids: Collection[uuid.UUID]) -> None:
    """After a decision changed these reporters' standing, rescore their other open targets.

    Only targets whose lock is free are rescored: waiting here could deadlock against a
    decision that holds that target and waits for ours. A target skipped now is rescored at
    its next change, so its score lags by at most that; its open flags still agree.
    """
    targets = await repository.targets_with_open_flags_by(session, reporter_ids)
    free = [t for t in sorted(targets) if await repository.try_lock_target(session, t)]
    await recompute(session, free)
