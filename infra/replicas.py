"""Replica health and routing: which replicas are in rotation, and how far each has replayed.

A replica is in rotation when it answers, is still in recovery (a promoted one would diverge)
and lags the primary by at most `REPLICA_MAX_LAG_SECONDS`. Lag is measured by comparing LSNs:
the router samples the primary's WAL position on every health tick, and a replica's lag is the
age of the oldest sample it has not replayed yet. Unlike `now() - pg_last_xact_replay_timestamp()`
this stays at zero on an idle primary, where the last replayed transaction may be hours old.

Health checks use one dedicated connection per server, outside the request pools, so a busy
pool never makes a healthy server look down, and every check is bounded by a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from infra.logging import get_logger

log = get_logger("db.replicas")

# Nothing ever replays past this: a read that needs it is served by the primary.
ALWAYS_PRIMARY = (1 << 64) - 1
_LSN = re.compile(r"^([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})$")
_REPLICA_PROBE = (
    "SELECT pg_is_in_recovery() AS in_recovery, pg_last_wal_replay_lsn()::text AS replay,"
    " CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() END AS paused"
)
_PRIMARY_PROBE = "SELECT pg_current_wal_lsn()::text AS lsn"


def parse_lsn(value: str) -> int:
    """`16/B374D848` (PostgreSQL's text form) as a 64-bit integer; ValueError when malformed."""
    match = _LSN.match(value.strip())
    if match is None:
        raise ValueError(f"not an LSN: {value!r}")
    return (int(match[1], 16) << 32) | int(match[2], 16)


def format_lsn(value: int) -> str:
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


def describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:200] if text else type(exc).__name__


class Probe:
    """One lazily (re)opened connection for health checks; any failure drops it."""

    def __init__(self, url: str, timeout: float) -> None:
        self._dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._timeout = timeout
        self._conn: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()

    async def fetchrow(self, sql: str) -> asyncpg.Record:
        async with self._lock:
            try:
                if self._conn is None or self._conn.is_closed():
                    self._conn = await asyncpg.connect(self._dsn, timeout=self._timeout)
                row = await self._conn.fetchrow(sql, timeout=self._timeout)
            except BaseException:
                self._drop()
                raise
            assert row is not None
            return row

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.terminate()  # no network round trip: the server may be gone
            self._conn = None

    async def close(self) -> None:
        async with self._lock:
            if self._conn is not None and not self._conn.is_closed():
                with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                    await asyncio.wait_for(self._conn.close(), self._timeout)
            self._drop()


@dataclass(eq=False)
class Replica:
    """One replica: its request pool, its probe, and what the last check found."""

    name: str
    engine: AsyncEngine
    probe: Probe
    in_rotation: bool = False  # unknown until the first check passes
    in_recovery: bool | None = None
    replay_paused: bool | None = None
    replay_lsn: int | None = None
    lag_seconds: float | None = None
    lag_bytes: int | None = None
    checked_at: float | None = None
    error: str | None = "not checked yet"
    _check: asyncio.Task[None] | None = field(default=None, repr=False)


class ReplicaRouter:
    """Picks the replica for a read, and keeps each replica's health and replay position."""

    def __init__(
        self,
        primary: Probe,
        replicas: list[Replica],
        *,
        max_lag_seconds: float,
        interval_seconds: float,
        lsn_cache_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.primary = primary
        self.replicas = replicas
        self.max_lag_seconds = max_lag_seconds
        self.interval_seconds = interval_seconds
        self.lsn_cache_seconds = lsn_cache_seconds
        self._clock = clock
        self._turn = itertools.count()
        # (when first seen, primary LSN), oldest first; only changes are recorded.
        self._samples: deque[tuple[float, int]] = deque()
        self.primary_error: str | None = None
        self.last_tick: float | None = None
        self._task: asyncio.Task[None] | None = None

    # -- routing -------------------------------------------------------------------------

    def _rotation(self) -> list[Replica]:
        live = [r for r in self.replicas if r.in_rotation]
        if len(live) > 1:
            start = next(self._turn) % len(live)
            live = live[start:] + live[:start]
        return live

    def pick(self) -> Replica | None:
        """The next replica in rotation (round robin), or None for the primary."""
        live = self._rotation()
        return live[0] if live else None

    async def pick_after(self, lsn: int) -> Replica | None:
        """A replica in rotation that has replayed `lsn`, or None for the primary.

        Known replay positions are trusted for `lsn_cache_seconds`; older ones are refreshed
        (one query per replica, shared by every request waiting on it).
        """
        if lsn >= ALWAYS_PRIMARY:
            return None
        live = self._rotation()
        for replica in live:
            if replica.replay_lsn is not None and replica.replay_lsn >= lsn:
                return replica
        now = self._clock()
        stale = [
            r for r in live if r.checked_at is None or now - r.checked_at >= self.lsn_cache_seconds
        ]
        if not stale:
            return None
        await asyncio.gather(*(self.refresh(r) for r in stale))
        for replica in stale:
            if replica.in_rotation and replica.replay_lsn is not None and replica.replay_lsn >= lsn:
                return replica
        return None

    def mark_down(self, replica: Replica, reason: str) -> None:
        """Take `replica` out of rotation now; the next health check may bring it back."""
        if replica.in_rotation:
            log.warning("replica_out_of_rotation", replica=replica.name, reason=reason)
        replica.in_rotation = False
        replica.error = reason

    # -- health --------------------------------------------------------------------------

    async def refresh(self, replica: Replica) -> None:
        """Check `replica` now, joining a check already under way."""
        task = replica._check
        if task is None or task.done():
            task = replica._check = asyncio.ensure_future(self._check(replica))
        await asyncio.shield(task)

    async def _check(self, replica: Replica) -> None:
        try:
            row = await replica.probe.fetchrow(_REPLICA_PROBE)
        except Exception as exc:  # noqa: BLE001 - unreachable, timed out, refused: all "down"
            replica.checked_at = self._clock()
            replica.lag_seconds = replica.lag_bytes = None
            self.mark_down(replica, describe(exc))
            return
        now = self._clock()
        replica.checked_at = now
        replica.in_recovery = bool(row["in_recovery"])
        replica.replay_paused = row["paused"]
        replica.replay_lsn = parse_lsn(row["replay"]) if row["replay"] else None
        replica.lag_seconds, replica.lag_bytes = self._lag(replica.replay_lsn, now)
        if not replica.in_recovery:
            self.mark_down(replica, "not in recovery: promoted or not a replica")
        elif replica.replay_lsn is None:
            self.mark_down(replica, "no WAL replayed yet")
        elif (
            self.primary_error is None
            and replica.lag_seconds is not None
            and replica.lag_seconds > self.max_lag_seconds
        ):
            # Enforced only while the primary answers: once it is gone, WAL it never sent
            # would keep every replica "lagging" forever, and slightly stale reads beat none.
            self.mark_down(replica, f"lagging {replica.lag_seconds:.1f} s behind the primary")
        else:
            if not replica.in_rotation:
                log.info("replica_in_rotation", replica=replica.name, lag=replica.lag_seconds)
            replica.in_rotation = True
            replica.error = None

    def _lag(self, replay_lsn: int | None, now: float) -> tuple[float | None, int | None]:
        if replay_lsn is None or not self._samples:
            return None, None  # no primary position known yet: lag cannot be measured
        latest = self._samples[-1][1]
        if replay_lsn >= latest:
            return 0.0, 0
        first_missing = next(t for t, lsn in self._samples if lsn > replay_lsn)
        return max(0.0, now - first_missing), latest - replay_lsn

    async def sample_primary(self) -> int:
        """The primary's WAL position now (and a lag sample); raises when it does not answer."""
        try:
            row = await self.primary.fetchrow(_PRIMARY_PROBE)
        except Exception as exc:
            self.primary_error = describe(exc)
            raise
        lsn = parse_lsn(row["lsn"])
        now = self._clock()
        self.primary_error = None
        if not self._samples or lsn > self._samples[-1][1]:
            self._samples.append((now, lsn))
        # Keep enough history to tell "lagging past the limit" from "just behind".
        horizon = now - 2 * self.max_lag_seconds - 2 * self.interval_seconds
        while len(self._samples) > 1 and self._samples[1][0] < horizon:
            self._samples.popleft()
        return lsn

    async def check_once(self) -> None:
        """One health tick: the primary's position first, then every replica against it."""
        try:
            await self.sample_primary()
        except Exception:  # noqa: BLE001 - replicas keep serving reads while the primary is out
            log.warning("primary_unreachable", error=self.primary_error)
        await asyncio.gather(*(self.refresh(r) for r in self.replicas))
        self.last_tick = self._clock()

    async def _run(self) -> None:
        while True:
            started = self._clock()
            try:
                await self.check_once()
            except Exception:  # noqa: BLE001 - the loop must outlive any one bad tick
                log.exception("replica_health_tick_failed")
            await asyncio.sleep(max(0.0, self.interval_seconds - (self._clock() - started)))

    async def start(self) -> None:
        """Check once (so rotation is known before the first request), then every interval."""
        if not self.replicas or self.running:
            return
        await self.check_once()
        self._task = asyncio.create_task(self._run(), name="replica-health")

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def answering(self) -> bool:
        """No replica to route, or a health loop that ticked recently."""
        if not self.replicas:
            return True
        if not self.running or self.last_tick is None:
            return False
        return self._clock() - self.last_tick < 5 * self.interval_seconds + 10

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        for replica in self.replicas:
            if replica._check is not None:
                replica._check.cancel()
                await asyncio.gather(replica._check, return_exceptions=True)
            await replica.probe.close()
        await self.primary.close()

    def report(self) -> list[dict[str, Any]]:
        now = self._clock()
        return [
            {
                "name": r.name,
                "in_rotation": r.in_rotation,
                "lag_seconds": None if r.lag_seconds is None else round(r.lag_seconds, 3),
                "lag_bytes": r.lag_bytes,
                "replay_lsn": None if r.replay_lsn is None else format_lsn(r.replay_lsn),
                "replay_paused": r.replay_paused,
                "checked_seconds_ago": None
                if r.checked_at is None
                else round(now - r.checked_at, 3),
                "error": r.error,
            }
            for r in self.replicas
        ]
