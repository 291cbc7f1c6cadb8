"""Flags filed by the automatic content check, with no reporter.

Kept apart from the service so the areas that check text (ideas, scenes, the worker) can
import it without importing the whole moderation area back into themselves.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from domain.moderation import repository, scoring
from domain.moderation.models import FlagReason, FlagStatus, ModerationFlag, TargetType
from infra.logging import get_logger

log = get_logger("domain.moderation")
AUTO_FLAG_ACTION = "auto_flag"
MAX_DESCRIPTION = 2_000


class Verdict(Protocol):
    """What the content checker answers (infra.providers.moderation.ContentVerdict)."""

    @property
    def severity(self) -> str: ...
    @property
    def categories(self) -> list[str]: ...
    @property
    def matches(self) -> list[str]: ...


# The checkers' category names (the local term list's and OpenAI's) -> our flag reasons.
_CATEGORY_REASONS: dict[str, FlagReason] = {
    "self_harm": FlagReason.SELF_HARM,
    "threat": FlagReason.VIOLENCE,
    "violence": FlagReason.VIOLENCE,
    "hate": FlagReason.HATE,
    "sexual": FlagReason.SEXUAL,
    "harassment": FlagReason.HARASSMENT,
    "insult": FlagReason.HARASSMENT,
    "spam": FlagReason.SPAM,
}


def _reasons_of(category: str) -> set[FlagReason]:
    name = category.strip().lower().replace("-", "_")
    head, _, tail = name.partition("/")
    found = {_CATEGORY_REASONS.get(head, FlagReason.OTHER)}
    if tail in ("threatening", "violent", "graphic"):
        found.add(FlagReason.VIOLENCE)
    return found


def reason_for(categories: Iterable[str]) -> FlagReason:
    """The most severe reason among the verdict's categories; `other` when none maps."""
    reasons: set[FlagReason] = set()
    for category in categories:
        reasons |= _reasons_of(category)
    if not reasons:
        return FlagReason.OTHER
    return max(reasons, key=lambda r: (scoring.SEVERITY[r], r.value))


def describe(verdict: Verdict, context: str | None) -> str:
    parts = [f"Automatic content check: {verdict.severity}."]
    if verdict.categories:
        parts.append("Categories: " + ", ".join(verdict.categories) + ".")
    if verdict.matches:
        parts.append("Matched: " + ", ".join(f'"{m}"' for m in verdict.matches) + ".")
    if context:
        parts.append(context)
    return " ".join(parts)[:MAX_DESCRIPTION]


async def file_automatic_flag(
    session: AsyncSession,
    target_type: TargetType | str,
    target_id: uuid.UUID,
    verdict: Verdict,
    *,
    context: str | None = None,
    now: datetime | None = None,
) -> ModerationFlag | None:
    """File a flag with no reporter when `verdict` is not clean; None when it is.

    `context` ends the description (for a continuation: which job carried the text). The
    flag joins a live claim on the target like any other; the filing is one audit entry with
    no moderator. Automatic flags never collide with each other: the one-open-flag-per-
    reporter index treats NULL reporters as distinct.
    """
    if verdict.severity == "none":
        return None
    now = now or datetime.now(UTC)
    target = (TargetType(target_type).value, target_id)
    await repository.lock_target(session, target)
    lease = await repository.live_lease(session, target, now)
    flag = ModerationFlag(
        reporter_id=None,
        target_type=target[0],
        target_id=target_id,
        reason=reason_for(verdict.categories).value,
        description=describe(verdict, context),
        status=(FlagStatus.REVIEWING if lease else FlagStatus.PENDING).value,
        claimed_by=lease.moderator_id if lease else None,
        claim_expires_at=lease.expires_at if lease else None,
    )
    flag = await repository.add_flag(session, flag)
    await scoring.recompute(session, [target])
    await repository.add_action(
        session,
        moderator_id=None,
        flag_id=flag.id,
        target=target,
        action=AUTO_FLAG_ACTION,
        notes=flag.description,
    )
    await session.refresh(flag)
    log.info("automatic_flag", target_type=target[0], target_id=str(target_id), reason=flag.reason)
    return flag
