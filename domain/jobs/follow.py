"""Following a job: its event log after a point, then each change as the feed pushes it.

The feed (infra.job_feed) listens to PostgreSQL; this decides what a follower is sent: the
history it missed, each pushed event in order, and a re-read of the log whenever a push leaves
a gap (the feed reconnected, an event was skipped, or one was too long to push).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from datetime import datetime
from typing import Any

from domain.jobs import events
from domain.jobs.models import TERMINAL_STATUSES
from infra.db import Database
from infra.job_feed import JobFeed, Pushed

# (the job's state after the event, the event) -> the frame a follower is sent
Render = Callable[[dict[str, Any], events.Event], str]


async def follow(
    db: Database,
    feed: JobFeed,
    job_id: uuid.UUID,
    job_created_at: datetime,
    render: Render,
    *,
    resume_after: int,
    heartbeat: float,
    max_seconds: float,
) -> AsyncGenerator[str | None, None]:
    """The rendered events after `resume_after`, until a terminal status or `max_seconds`;
    None when nothing happened for `heartbeat` seconds."""
    with feed.watch(job_id) as watcher:
        # Listening before reading: whatever commits after the read is pushed to us.
        await feed.listening(heartbeat)
        state: dict[str, Any] = {}
        last = 0

        async def catch_up() -> AsyncIterator[str]:
            nonlocal last
            async with db.session() as session:
                missed = await events.after(session, job_id, job_created_at, last)
            for event in missed:
                events.fold(state, event)
                last = event.seq
                if event.seq > resume_after:
                    yield feed.frame(job_id, event.seq, render, state, event)

        async for frame in catch_up():
            yield frame
        loop = asyncio.get_running_loop()
        until = loop.time() + max_seconds
        while state.get("status") not in TERMINAL_STATUSES and loop.time() < until:
            item = await watcher.next(heartbeat)
            if item is None:
                yield None
                continue
            if not isinstance(item, Pushed):  # the feed reconnected: re-read the log
                async for frame in catch_up():
                    yield frame
            elif item.seq <= last:
                continue
            elif item.seq > last + 1 or item.data is None or item.recorded_at is None:
                async for frame in catch_up():  # a gap, or an event too long to push
                    yield frame
            else:
                event = events.Event(item.seq, item.kind or "", item.data, item.recorded_at)
                events.fold(state, event)
                last = event.seq
                if event.seq > resume_after:
                    yield feed.frame(job_id, event.seq, render, state, event)
