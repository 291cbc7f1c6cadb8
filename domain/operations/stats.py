"""GET /v1/admin/stats: table, partition and index statistics, and the arq queue's state."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from infra.queue import QueueStats, queue_stats
from infra.table_stats import TableStats, read_table_stats


@dataclass(frozen=True)
class Stats:
    tables: list[TableStats]
    queue: QueueStats


async def read_stats(session: AsyncSession, redis: Any, queue_name: str) -> Stats:
    """Per table and partition (from `session`'s server), and the queue named `queue_name`."""
    tables = await read_table_stats(session)
    queue = await queue_stats(redis, queue_name, int(time.time() * 1000))
    return Stats(tables, queue)
