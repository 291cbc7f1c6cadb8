"""A throw-away primary and streaming hot standby on loopback, for tests and benchmarks.

The primary is our own `initdb` cluster (wal_level=replica, trust replication from loopback),
so nothing about the shared development server needs replication rights; the standby is a
`pg_basebackup -R -X stream` copy of it. Both live in a private temp directory (short, so the
unix socket path fits) and run as the `postgres` account when we are root, since PostgreSQL
refuses to run as root.
"""

from __future__ import annotations

import asyncio
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from tests.worker.processes import free_port

TOOLS = ("initdb", "pg_ctl", "pg_basebackup", "postgres")
_CONF = """
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{socket_dir}'
wal_level = replica
max_wal_senders = 5
wal_keep_size = '256MB'
hot_standby = on
max_connections = 200
fsync = off
full_page_writes = off
log_min_messages = warning
"""


def find_tool(name: str) -> str | None:
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True
    )
    for directory in versions:
        if os.access(f"{directory}/{name}", os.X_OK):
            return f"{directory}/{name}"
    return shutil.which(name)


def missing_tools() -> list[str]:
    return [name for name in TOOLS if find_tool(name) is None]


def _account() -> pwd.struct_passwd | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root and no unprivileged account to run PostgreSQL as")


@dataclass
class ReplicaPair:
    """A running primary and standby; `stop()` is safe to call at any point, twice."""

    root: Path
    primary_port: int
    replica_port: int
    account: pwd.struct_passwd | None

    @property
    def primary_dir(self) -> Path:
        return self.root / "primary"

    @property
    def replica_dir(self) -> Path:
        return self.root / "replica"

    def url(self, port: int, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{port}/{database}"

    def primary_url(self, database: str = "postgres") -> str:
        return self.url(self.primary_port, database)

    def replica_url(self, database: str = "postgres") -> str:
        return self.url(self.replica_port, database)

    def _run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        kwargs: dict[str, Any] = {"capture_output": True, "text": True, "timeout": 120}
        if self.account is not None:
            kwargs.update(user=self.account.pw_uid, group=self.account.pw_gid, extra_groups=[])
        done = subprocess.run(list(argv), check=False, **kwargs)
        if check and done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}")
        return done

    def _pg_ctl(self, data: Path, *args: str, check: bool = True) -> None:
        tool = find_tool("pg_ctl")
        assert tool is not None
        self._run(tool, "-D", str(data), "-l", f"{data}.log", "-w", "-t", "60", *args, check=check)

    def _configure(self, data: Path, port: int) -> None:
        # Appended last, so these win over what initdb or the base backup copied.
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(_CONF.format(port=port, socket_dir=self.root))

    def start_primary(self) -> None:
        self._pg_ctl(self.primary_dir, "start")

    def start_replica(self) -> None:
        self._pg_ctl(self.replica_dir, "start")

    def stop_replica(self, mode: str = "immediate") -> None:
        self._pg_ctl(self.replica_dir, "-m", mode, "stop")

    def stop(self) -> None:
        for data in (self.replica_dir, self.primary_dir):
            if (data / "postmaster.pid").exists():
                self._pg_ctl(data, "-m", "immediate", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    async def sql(self, port: int, query: str, database: str = "postgres") -> Any:
        conn = await asyncpg.connect(
            host="127.0.0.1", port=port, user="postgres", database=database, timeout=10
        )
        try:
            return await conn.fetchval(query)
        finally:
            await conn.close()

    async def pause_replay(self) -> None:
        await self.sql(self.replica_port, "SELECT pg_wal_replay_pause()")
        for _ in range(400):
            state = await self.sql(self.replica_port, "SELECT pg_get_wal_replay_pause_state()")
            if state == "paused":
                return
            await asyncio.sleep(0.05)
        raise RuntimeError("the standby did not pause replay")

    async def resume_replay(self) -> None:
        await self.sql(self.replica_port, "SELECT pg_wal_replay_resume()")

    async def wait_streaming(self) -> None:
        for _ in range(600):
            try:
                status = await self.sql(
                    self.replica_port, "SELECT status FROM pg_stat_wal_receiver"
                )
            except (OSError, asyncpg.PostgresError):
                status = None
            if status == "streaming":
                return
            await asyncio.sleep(0.1)
        raise RuntimeError("the standby is not streaming from the primary")


def start_pair() -> ReplicaPair:
    """initdb a primary, base-backup a standby from it, start both; stopped on any failure."""
    account = _account()
    root = Path(tempfile.mkdtemp(prefix="slrep-", dir="/tmp"))
    if account is not None:
        os.chown(root, account.pw_uid, account.pw_gid)
    pair = ReplicaPair(root, free_port(), free_port(), account)
    try:
        initdb, basebackup = find_tool("initdb"), find_tool("pg_basebackup")
        assert initdb is not None and basebackup is not None
        pair._run(
            initdb,
            "-D",
            str(pair.primary_dir),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        )
        pair._configure(pair.primary_dir, pair.primary_port)
        pair.start_primary()
        pair._run(
            basebackup,
            "-h",
            "127.0.0.1",
            "-p",
            str(pair.primary_port),
            "-U",
            "postgres",
            "-D",
            str(pair.replica_dir),
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
            "--no-sync",
        )
        pair._configure(pair.replica_dir, pair.replica_port)
        pair.start_replica()
    except BaseException:
        pair.stop()
        raise
    return pair
