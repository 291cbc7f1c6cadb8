"""The queue's entry points. Each takes arq's ctx first; ctx carries "settings", "db", "runtime"."""

from __future__ import annotations

from typing import Any

from arq.worker import func

from worker.continuation import run_continuation


async def ping(ctx: dict[str, Any]) -> str:
    """A no-op job that proves a worker is consuming this queue."""
    return "pong"


# No result kept: PostgreSQL holds the outcome, and recovery may re-enqueue under the same id.
FUNCTIONS = [ping, func(run_continuation, name="run_continuation", keep_result=0)]
