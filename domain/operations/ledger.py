"""The provider ledger: every provider call, its outcome and cost; the per-user daily budget."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import TooManyRequests
from domain.operations.models import ProviderCall
from infra.settings import Settings


@dataclass(frozen=True)
class CallRecord:
    """One finished provider call, as the ledger stores it."""

    provider: str
    kind: str
    operation: str
    outcome: str
    duration_ms: int
    job_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    work_key: str | None = None
    request_id: str | None = None
    error_code: str | None = None
    cost_units: int = 0
    response: dict[str, Any] | None = None


async def record_call(session: AsyncSession, call: CallRecord) -> None:
    """Append the call; a second success for the same work keeps the first (it is the answer)."""
    stmt = insert(ProviderCall).values(
        job_id=call.job_id,
        user_id=call.user_id,
        provider=call.provider[:64],
        kind=call.kind,
        operation=call.operation,
        work_key=call.work_key,
        request_id=call.request_id[:255] if call.request_id else None,
        outcome=call.outcome,
        error_code=call.error_code[:64] if call.error_code else None,
        duration_ms=call.duration_ms,
        cost_units=call.cost_units,
        response=call.response,
    )
    if call.outcome == "ok" and call.work_key is not None:
        stmt = stmt.on_conflict_do_nothing(
            index_elements=["work_key"],
            # Spelled as the index's predicate: a bound 'ok' would not let PostgreSQL infer it.
            index_where=text("outcome = 'ok' AND work_key IS NOT NULL"),
        )
    await session.execute(stmt)


async def finished_work(session: AsyncSession, work_key: str) -> ProviderCall | None:
    """The successful call already made for this work, if any."""
    return await session.scalar(
        select(ProviderCall).where(ProviderCall.work_key == work_key, ProviderCall.outcome == "ok")
    )


def day_bounds(now: datetime) -> tuple[datetime, datetime]:
    """The UTC day `now` falls in: budgets roll over at midnight UTC."""
    start = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


async def spent_today(session: AsyncSession, user_id: uuid.UUID, now: datetime) -> int:
    start, _ = day_bounds(now)
    total = await session.scalar(
        select(func.coalesce(func.sum(ProviderCall.cost_units), 0)).where(
            ProviderCall.user_id == user_id, ProviderCall.created_at >= start
        )
    )
    return int(total or 0)


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
