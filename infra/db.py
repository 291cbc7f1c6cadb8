"""Database engines and the read-replica router.

Writes and transactions that write use the primary. Reads that may lag use a read session,
which picks a replica in rotation (round robin) and falls back to the primary; a read that
must see a given write (`read_session_after(lsn)`) goes to a replica only once it has replayed
that write's WAL position. Primary sessions remember whether they wrote, so the unit of work
knows when to hand out a consistency token.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any, Literal

import asyncpg
from arq.connections import ArqRedis
from sqlalchemy import event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import ORMExecuteState, Session

from infra import queue as job_queue
from infra.driver_pool import DriverPool
from infra.logging import get_logger
from infra.prepared import Prepared
from infra.replicas import Probe, Replica, ReplicaRouter, describe, format_lsn, parse_lsn
from infra.settings import Settings

log = get_logger("db")


class JobsNeedAQueue(RuntimeError):
    """Jobs were enqueued in a `Database.transaction()` given no queue to push them to."""


_WROTE = "storyloom.wrote"
_FAILOVER = "storyloom.failover"
_INVOKING = "storyloom.invoking"
# Retried on the primary without blaming the replica: a hot standby cancels queries that
# conflict with replay (40001, 40P01), and a full replica refuses connections (53300).
_RETRY_SQLSTATES = frozenset({"40001", "40P01", "53300"})


def make_engine(
    url: str,
    settings: Settings,
    *,
    connect_timeout: float | None = None,
    server_settings: dict[str, str] | None = None,
) -> AsyncEngine:
    connect_args: dict[str, Any] = {}
    if connect_timeout is not None:
        connect_args["timeout"] = connect_timeout
    if server_settings:
        connect_args["server_settings"] = server_settings
    engine = create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        connect_args=connect_args,
    )
    event.listen(engine.sync_engine.pool, "checkout", _drop_closed_connection)
    return engine


def _drop_closed_connection(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """Hand out no connection the server has closed: a check without a round trip.

    SQLAlchemy's pool_pre_ping costs three round trips per checkout with asyncpg (BEGIN, a
    ping, ROLLBACK), as many as the statement itself on a hot read. A connection that the
    server ended (restart, failover, a proxy cutting it) is already marked closed by asyncpg's
    protocol, so checking that flag catches it; the pool then opens a fresh one. A connection
    that dies silently is caught by the statement's own failure instead (a 503, or a retry of
    the job stage), which invalidates the pool.
    """
    if dbapi_connection.driver_connection.is_closed():
        raise sa_exc.DisconnectionError("the server closed this pooled connection")


class PrimarySession(Session):
    """A primary session that notes whether it wrote (flushed, or ran DML or raw SQL)."""


@event.listens_for(PrimarySession, "after_flush")
def _flushed(session: Session, _: Any) -> None:
    session.info[_WROTE] = True


@event.listens_for(PrimarySession, "do_orm_execute")
def _executed(state: ORMExecuteState) -> None:
    # Text statements count as writes: we cannot tell, and a spare token costs nothing.
    if not state.is_select:
        state.session.info[_WROTE] = True


def wrote(session: AsyncSession) -> bool:
    """Whether this primary session's transaction changed anything."""
    return bool(session.info.get(_WROTE))


Failure = Literal["down", "busy"]


def replica_failure(exc: BaseException) -> Failure | None:
    """Why a replica read failed in a way the primary can answer instead, or None."""
    if isinstance(exc, OSError):  # refused, reset, timed out (TimeoutError is an OSError)
        return "down"
    if isinstance(exc, sa_exc.TimeoutError):  # the replica's pool is exhausted
        return "busy"
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return "down"
    code = getattr(getattr(exc, "orig", None) or exc, "sqlstate", None)
    if isinstance(code, str):
        if code.startswith(("08", "57P")):  # connection exception; shutdown; starting up
            return "down"
        if code in _RETRY_SQLSTATES:
            return "busy"
    return None


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database is out of reach (refused, cut off, restarting, full),
    rather than that the statement was wrong: the same work may well succeed a moment later."""
    if isinstance(exc, ConnectionError | TimeoutError | sa_exc.TimeoutError):
        return True  # a refused connect or the pool timing out surfaces unwrapped
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    orig = getattr(exc, "orig", None) or exc
    if isinstance(orig, ConnectionError | TimeoutError):
        return True
    code = getattr(orig, "sqlstate", None)
    # 08: connection exception, 57P: shutdown / starting up, 53300: too many connections.
    return isinstance(code, str) and (code.startswith(("08", "57P")) or code == "53300")


@dataclass
class _Failover:
    primary: Engine
    replica: Replica
    router: ReplicaRouter


class ReplicaSession(Session):
    """A read session on a replica whose statements are retried once on the primary.

    The retry lives in a `do_orm_execute` hook, so it covers execute, scalar(s), get and the
    ORM's own relationship loads: the handler's query is re-run on the primary and the request
    is not lost when the replica dies under it. Objects already loaded stay usable (detached).
    """


@event.listens_for(ReplicaSession, "do_orm_execute")
def _retry_on_primary(state: ORMExecuteState) -> Any:
    session = state.session
    failover: _Failover | None = session.info.get(_FAILOVER)
    if failover is None or session.info.get(_INVOKING):
        return None  # already on the primary, or a load nested in a statement being retried
    session.info[_INVOKING] = True
    try:
        return state.invoke_statement()
    except Exception as exc:
        failure = replica_failure(exc)
        if failure is None:
            raise
        if failure == "down":
            failover.router.mark_down(failover.replica, describe(exc))
        log.warning(
            "replica_read_retried_on_primary", replica=failover.replica.name, error=describe(exc)
        )
    finally:
        session.info[_INVOKING] = False
    session.info.pop(_FAILOVER, None)
    try:
        session.close()  # drops the failed connection; loaded objects stay readable, detached
    except Exception:  # noqa: BLE001 - its rollback may fail on the dead connection
        session.invalidate()
    session.bind = failover.primary
    return state.invoke_statement()


class Database:
    """The primary engine, the replica engines, the replica router and the sessions over them."""

    def __init__(self, settings: Settings) -> None:
        timeout = settings.replica_timeout_seconds
        self.primary = make_engine(settings.database_url, settings)
        urls = settings.replica_urls
        self.replicas = [make_engine(url, settings, connect_timeout=timeout) for url in urls]
        self.router = ReplicaRouter(
            Probe(settings.database_url, timeout),
            [
                Replica(name=f"replica{i}", engine=engine, probe=Probe(url, timeout))
                for i, (url, engine) in enumerate(zip(urls, self.replicas, strict=True))
            ],
            max_lag_seconds=settings.replica_max_lag_seconds,
            interval_seconds=settings.replica_health_interval_seconds,
            lsn_cache_seconds=settings.replica_lsn_cache_seconds,
        )
        self._timeout = timeout
        # The polled reads' own pools (infra.driver_pool), beside each engine's.
        self._driver_pools = {
            self.primary: DriverPool(settings.database_url, size=settings.db_read_pool_size)
        } | {
            engine: DriverPool(url, size=settings.db_read_pool_size, connect_timeout=timeout)
            for url, engine in zip(urls, self.replicas, strict=True)
        }
        self._primary_sessions = async_sessionmaker(
            self.primary, expire_on_commit=False, sync_session_class=PrimarySession
        )
        self._autocommit_primary = self.primary.execution_options(isolation_level="AUTOCOMMIT")
        self._settings = settings
        self._channels: AsyncEngine | None = None  # made on first use: only workers run jobs

    @property
    def has_replicas(self) -> bool:
        return bool(self.replicas)

    def session(self) -> AsyncSession:
        """A session on the primary: the caller owns its transaction."""
        return self._primary_sessions()

    @asynccontextmanager
    async def transaction(self, queue: ArqRedis | None = None) -> AsyncIterator[AsyncSession]:
        """A session on the primary that commits on success and rolls back on error.

        Jobs enqueued in it (`infra.queue.enqueue_after_commit`) are pushed to `queue` once
        the commit succeeded and dropped on a rollback, as a request's unit of work does.
        Without a queue they are refused (JobsNeedAQueue, before anything is committed)
        rather than silently lost.
        """
        async with self._primary_sessions() as session:
            try:
                async with session.begin():
                    yield session
                    if queue is None and job_queue.has_pending(session):
                        raise JobsNeedAQueue("jobs were enqueued in a transaction without a queue")
            except BaseException:
                job_queue.drop_pending(session)
                raise
            pending = job_queue.take_pending(session)
        if pending and queue is not None:
            try:
                await job_queue.push(queue, pending)
            except Exception as exc:  # noqa: BLE001 - the rows are committed: recovery enqueues them
                log.warning("enqueue_left_to_recovery", jobs=len(pending), error=repr(exc))

    def autocommit(self) -> AsyncConnection:
        """A primary connection in autocommit, for work that is one statement at a time (an
        UPDATE that moves a job on, an advisory lock): each statement is atomic by itself, one
        round trip instead of BEGIN ... COMMIT. Use it as `async with db.autocommit() as conn`."""
        return self._autocommit_primary.connect()

    def channel_connection(self) -> AsyncConnection:
        """A primary connection for a worker's run of one job (see `infra.prepared.Channel`),
        from a pool of its own whose commits do not wait for the WAL flush and whose prepared
        statements keep one plan.

        A run writes its job at every stage boundary; waiting for each of those commits to
        reach the disk doubles what PostgreSQL spends per job. Should PostgreSQL itself crash,
        the last fraction of a second of such writes may be lost and the job redoes a stage,
        which every stage allows. The writes that must not be lost wait as usual: the
        segment in `Channel.transaction(durable=True)`, the provider's video id by a
        statement that says so itself (`domain.jobs.run_repository.save_video_id`).
        """
        if self._channels is None:
            engine = make_engine(
                self._settings.database_url,
                self._settings,
                server_settings={
                    "synchronous_commit": "off",
                    # Keyed writes whose plan never changes: PostgreSQL's default would plan
                    # each anew, its generic plan on a partitioned table looking costlier
                    # than it is, which doubles what each of these statements costs it.
                    "plan_cache_mode": "force_generic_plan",
                },
            )
            self._channels = engine.execution_options(isolation_level="AUTOCOMMIT")
        return self._channels.connect()

    def read_session(self) -> AsyncSession:
        """A read-only session on a replica in rotation, else on the primary."""
        return self._read_session(self.router.pick())

    async def read_session_after(self, lsn: int | None) -> AsyncSession:
        """A read session that sees every write up to `lsn` (None: any replica will do)."""
        if lsn is None or not self.replicas:
            return self.read_session()
        return self._read_session(await self.router.pick_after(lsn))

    @asynccontextmanager
    async def reading(self, lsn: int | None = None) -> AsyncIterator[AsyncSession]:
        """`read_session_after(lsn)` as a context, closed safely.

        A replica that dies after the last statement fails only the closing rollback; a read
        has nothing to roll back and its answer is already made, so that must not fail it.
        """
        session = await self.read_session_after(lsn)
        try:
            yield session
        finally:
            try:
                await session.close()
            except Exception as exc:
                failure = replica_failure(exc)
                failover: _Failover | None = session.info.get(_FAILOVER)
                if failure is None or failover is None:
                    raise
                if failure == "down":
                    failover.router.mark_down(failover.replica, describe(exc))
                with suppress(Exception):
                    await session.invalidate()

    async def read_row(
        self, statement: Prepared, params: Mapping[str, Any], *, after: int | None = None
    ) -> Any:
        """The first row of a read (a named tuple, or None), routed like `reading(after)`.

        For the reads a frontend repeats every second: one statement on a connection of the
        database's driver pool (infra.driver_pool), no session, no ORM, no result object. A
        replica that fails is taken out of rotation (when down) and the read is run again on
        the primary.
        """
        record = await self._routed(DriverPool.fetchrow, statement, params, after)
        return statement.row(record)

    async def read_rows(
        self, statement: Prepared, params: Mapping[str, Any], *, after: int | None = None
    ) -> list[asyncpg.Record]:
        """Every row of a read, routed and retried like `read_row`, as the driver's records:
        a column by its name (`row["id"]`), the values in the statement's column order. The
        public lists' rows go from records straight into their responses
        (api.presenters.wire.WireFields.records): named tuples made of 20 rows first cost
        a page as much as writing it out."""
        return await self._routed(DriverPool.fetch, statement, params, after)

    async def _routed(
        self,
        fetch: Callable[[DriverPool, str, Sequence[Any]], Awaitable[Any]],
        statement: Prepared,
        params: Mapping[str, Any],
        after: int | None,
    ) -> Any:
        arguments = statement.arguments(params)
        if self.replicas:
            replica = self.router.pick() if after is None else await self.router.pick_after(after)
            if replica is not None:
                try:
                    return await fetch(self._driver_pools[replica.engine], statement.sql, arguments)
                except Exception as exc:
                    failure = replica_failure(exc)
                    if failure is None:
                        raise
                    if failure == "down":
                        self.router.mark_down(replica, describe(exc))
                    log.warning(
                        "replica_read_retried_on_primary", replica=replica.name, error=describe(exc)
                    )
        return await fetch(self._driver_pools[self.primary], statement.sql, arguments)

    def _read_session(self, replica: Replica | None) -> AsyncSession:
        # Reads run in autocommit: no BEGIN and ROLLBACK around them (two round trips of
        # three on a one-query read). Each statement still sees a snapshot of its own, which
        # is what READ COMMITTED gave them inside a transaction.
        if replica is None:
            return AsyncSession(self._autocommit_primary, expire_on_commit=False)
        session = AsyncSession(
            replica.engine.execution_options(isolation_level="AUTOCOMMIT"),
            expire_on_commit=False,
            sync_session_class=ReplicaSession,
        )
        session.info[_FAILOVER] = _Failover(self.primary.sync_engine, replica, self.router)
        return session

    async def write_lsn(self) -> int:
        """The primary's WAL insert position: at or past the end of every commit made so far.

        The insert position, not `pg_current_wal_lsn()` (the write position): with
        `synchronous_commit = off` a commit returns before its record is written out, so the
        write position may still be behind it; the insert position never is.
        """
        async with self.primary.connect() as conn:
            autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
            value = await autocommit.scalar(text("SELECT pg_current_wal_insert_lsn()::text"))
        return parse_lsn(str(value))

    async def start(self) -> None:
        """Check the replicas once and start their health loop (no-op without replicas)."""
        await self.router.start()

    async def readiness(self) -> dict[str, Any]:
        """The primary (asked now, bounded), the router and each replica as last checked."""
        try:
            lsn = await asyncio.wait_for(self.router.sample_primary(), 2 * self._timeout + 1)
            primary: dict[str, Any] = {"ok": True, "lsn": format_lsn(lsn)}
        except Exception as exc:  # noqa: BLE001 - any failure means the primary is not ready
            primary = {"ok": False, "error": describe(exc)}
        return {
            "primary": primary,
            "router": {"ok": self.router.answering, "replicas": self.router.report()},
        }

    async def ping(self) -> dict[str, bool]:
        result: dict[str, bool] = {}
        for name, engine in [("primary", self.primary)] + [
            (f"replica{i}", e) for i, e in enumerate(self.replicas)
        ]:
            try:
                async with asyncio.timeout(2 * self._timeout + 1), engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
                result[name] = True
            except Exception:  # noqa: BLE001 - any failure means not ready
                result[name] = False
        return result

    async def dispose(self) -> None:
        await self.router.stop()
        for pool in self._driver_pools.values():
            await pool.close()
        await self.primary.dispose()
        if self._channels is not None:
            await self._channels.dispose()
        for engine in self.replicas:
            await engine.dispose()
