"""One LISTEN connection per API process, fanning job events out to every stream watching.

The jobs_record_event trigger (migration 0009) sends each job event on the `job_events`
channel at commit, with the event itself in the payload. This process holds one dedicated
asyncpg connection LISTENing there and hands each notification to the watchers of its job:
the database sees one connection and no queries, however many streams are open. Should the
connection drop, the feed reconnects and tells every watcher to re-read the log from its last
seq (notifications sent meanwhile are lost; the log is not).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from infra.database_urls import asyncpg_dsn
from infra.logging import get_logger

log = get_logger("infra.job_feed")

CHANNEL = "job_events"
# The supervisor looks at its connection this often; a dead one is also noticed at once
# through asyncpg's termination listener.
CHECK_SECONDS = 5.0
# Rendered SSE frames kept per process: every watcher of a job sends the same frame for the
# same event, so it is rendered once, not once per watcher.
FRAME_CACHE_SIZE = 4096


@dataclass(frozen=True)
class Pushed:
    """One event as NOTIFY carried it; `data` is None when it was too long for the payload."""

    seq: int
    kind: str | None
    data: dict[str, Any] | None
    recorded_at: datetime | None


# Put on every watcher's queue after the feed reconnected: re-read the log from the last seq.
RESYNC = object()


class Watcher:
    """What one stream waits on: the pushed events of its job, and resync markers."""

    def __init__(self, job_id: uuid.UUID) -> None:
        self.job_id = job_id
        self.queue: asyncio.Queue[Pushed | object] = asyncio.Queue()

    async def next(self, seconds: float) -> Pushed | object | None:
        """The next item, or None after `seconds` of silence."""
        if not self.queue.empty():  # no timer, no task: the common case under load
            return self.queue.get_nowait()
        try:
            async with asyncio.timeout(seconds):  # not wait_for: that wraps get() in a task
                return await self.queue.get()
        except TimeoutError:
            return None


class JobFeed:
    """The process's subscriber; started by the first watcher, stopped with the app."""

    def __init__(self, database_url: str, reconnect_seconds: float = 0.5) -> None:
        self._dsn = asyncpg_dsn(database_url)
        self._reconnect_seconds = reconnect_seconds
        self._watchers: dict[uuid.UUID, set[Watcher]] = {}
        self._task: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        self.connection: asyncpg.Connection | None = None
        self.connects = 0  # how many times LISTEN was (re-)established: for tests and metrics
        self._frames: OrderedDict[tuple[uuid.UUID, int], str] = OrderedDict()

    def frame(self, job_id: uuid.UUID, seq: int, render: Callable[..., str], *args: Any) -> str:
        """The job's event `seq` as rendered by the first watcher that needed it."""
        key = (job_id, seq)
        cached = self._frames.get(key)
        if cached is None:
            cached = self._frames[key] = render(*args)
            if len(self._frames) > FRAME_CACHE_SIZE:
                self._frames.popitem(last=False)
        return cached

    @contextlib.contextmanager
    def watch(self, job_id: uuid.UUID) -> Iterator[Watcher]:
        """Register a watcher of the job for the block; starts the feed if it is not running."""
        watcher = Watcher(job_id)
        self._watchers.setdefault(job_id, set()).add(watcher)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._supervise())
        try:
            yield watcher
        finally:
            watchers = self._watchers.get(job_id)
            if watchers is not None:
                watchers.discard(watcher)
                if not watchers:
                    del self._watchers[job_id]

    async def listening(self, seconds: float) -> bool:
        """Wait until LISTEN is in place (events committed from then on are pushed)."""
        try:
            await asyncio.wait_for(self._listening.wait(), seconds)
        except TimeoutError:
            return False
        return True

    def _deliver(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            body = json.loads(payload)
            job_id = uuid.UUID(body["job_id"])
        except (ValueError, KeyError, TypeError):
            log.warning("job_feed_bad_payload", payload=payload[:200])
            return
        watchers = self._watchers.get(job_id)
        if not watchers:
            return
        recorded = body.get("recorded_at")
        pushed = Pushed(
            seq=int(body["seq"]),
            kind=body.get("kind"),
            data=body.get("data"),
            recorded_at=datetime.fromisoformat(recorded) if recorded else None,
        )
        for watcher in watchers:
            watcher.queue.put_nowait(pushed)

    def _resync_all(self) -> None:
        for watchers in self._watchers.values():
            for watcher in watchers:
                watcher.queue.put_nowait(RESYNC)

    async def _supervise(self) -> None:
        while True:
            lost = asyncio.Event()
            try:
                conn = await asyncpg.connect(self._dsn, timeout=5)
            except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
                log.warning("job_feed_connect_failed", error=repr(exc))
                await asyncio.sleep(self._reconnect_seconds)
                continue
            try:
                conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                await conn.add_listener(CHANNEL, self._deliver)
                self.connection = conn
                self.connects += 1
                # Whatever was sent while no one listened is in the log: every watcher already
                # waiting (a stream that gave up waiting for the first LISTEN too) re-reads it.
                self._resync_all()
                if self.connects > 1:
                    log.info("job_feed_reconnected", connects=self.connects)
                self._listening.set()
                while not lost.is_set() and not conn.is_closed():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), CHECK_SECONDS)
                    if not lost.is_set() and not conn.is_closed():
                        await conn.execute("SELECT 1", timeout=CHECK_SECONDS)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("job_feed_connection_lost", error=repr(exc))
            finally:
                self._listening.clear()
                self.connection = None
                conn.terminate()
            await asyncio.sleep(self._reconnect_seconds)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
