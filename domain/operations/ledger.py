"""The provider ledger's rules: the per-user daily budget (the calls are recorded and read in
domain.operations.repository)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import TooManyRequests
from domain.operations import repository
from infra.settings import Settings


def day_bounds(now: datetime) -> tuple[datetime, datetime]:
    """The UTC day `now` falls in: budgets roll over at midnight UTC."""
    start = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


async def spent_today(session: AsyncSession, user_id: uuid.UUID, now: datetime) -> int:
    start, _ = day_bounds(now)
    return await repository.spent_since(session, user_id, start)


async def check_daily_budget(
    session: AsyncSession, settings: Settings, user_id: uuid.UUID, now: datetime | None = None
) -> None:
    """Refuse new provider work once the user's cost units for today reach the budget."""
    budget = settings.provider_daily_budget_units
    if budget <= 0:  # 0 turns the budget off
        return
    now = now or datetime.now(UTC)
    spent = await spent_today(session, user_id, now)
    if spent >= budget:
        _, tomorrow = day_bounds(now)
        raise TooManyRequests(
            f"Today's provider budget is spent ({spent} of {budget} cost units); "
            "new continuations are accepted again after midnight UTC.",
            retry_after=max(1, int((tomorrow - now).total_seconds()) + 1),
        )
