"""PostgreSQL and Redis for development and tests: found from the environment, else our own.

PostgreSQL and Redis are found from DATABASE_URL and REDIS_URL. When one does not answer, we
start our own from the installed binaries into the git-ignored .run/ directory (a trust-auth
cluster on loopback, a memory-only Redis) and stop it again on exit; nothing outside .run/ is
touched. Used by infra.devstack.
"""

from __future__ import annotations

import asyncio
import glob
import hashlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import redis.asyncio as aioredis
from sqlalchemy.engine import make_url

from infra.database_urls import asyncpg_dsn, with_database, with_host_port
from infra.settings import ROOT, Settings

RUN_DIR = ROOT / ".run"
LOG_DIR = RUN_DIR / "logs"
ADMIN_FILE = RUN_DIR / "admin.env"
DEFAULTS = Settings.model_fields
DEFAULT_DATABASE_URL = str(DEFAULTS["database_url"].default)
DEFAULT_REDIS_URL = str(DEFAULTS["redis_url"].default)
PG_PORT, REDIS_PORT = 55432, 56379


class DevstackError(Exception):
    """Something the developer must fix; printed without a traceback."""


def say(message: str) -> None:
    print(f"devstack | {message}", flush=True)


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        # As the servers do: a port held only by TIME_WAIT connections of a stopped server is
        # free for them, and must count as free here too.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port(preferred: int) -> int:
    if port_is_free(preferred):
        return preferred
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def postgres_answers(url: str) -> bool:
    try:
        conn = await asyncpg.connect(asyncpg_dsn(with_database(url, "postgres")), timeout=5)
    except (TimeoutError, OSError):
        return False
    except asyncpg.exceptions.CannotConnectNowError:
        return False  # still starting up; the caller waits or starts its own
    except asyncpg.PostgresError as exc:
        raise DevstackError(f"PostgreSQL at {make_url(url)!r} answers but refuses: {exc}") from exc
    await conn.close()
    return True


async def redis_answers(url: str) -> bool:
    client = aioredis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
    try:
        return bool(await client.ping())
    except (OSError, aioredis.ConnectionError, aioredis.TimeoutError):
        return False
    finally:
        await client.aclose()


def postgres_bin(name: str) -> str | None:
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True
    )
    for directory in versions:
        if os.access(f"{directory}/{name}", os.X_OK):
            return f"{directory}/{name}"
    return shutil.which(name)


@dataclass
class OwnPostgres:
    """A throw-away cluster in .run/pg: trust auth, loopback only, UTC."""

    root: Path
    user: pwd.struct_passwd | None  # PostgreSQL refuses to run as root: drop to this account

    @classmethod
    def locate(cls) -> OwnPostgres:
        user = None
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                try:
                    user = pwd.getpwnam(name)
                    break
                except KeyError:
                    continue
        root = RUN_DIR / "pg"
        # The unprivileged account must reach the data directory, and a unix socket path has
        # a hard limit of about 100 bytes: fall back to a short private temp path when needed.
        if (user is not None and not cls._reachable(ROOT, user)) or len(str(root)) > 70:
            digest = hashlib.sha1(str(ROOT).encode()).hexdigest()[:8]
            root = Path(tempfile.gettempdir()) / f"storyloom-{digest}" / "pg"
        return cls(root=root, user=user)

    @staticmethod
    def _reachable(path: Path, user: pwd.struct_passwd) -> bool:
        probe = ["test", "-x", str(path)]
        as_user = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        return subprocess.run(probe, check=False, **as_user).returncode == 0  # type: ignore[call-overload]

    @property
    def data(self) -> Path:
        return self.root / "data"

    def _run(self, argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        if self.user is not None:
            kwargs.update(user=self.user.pw_uid, group=self.user.pw_gid, extra_groups=[])
        return subprocess.run(argv, text=True, capture_output=True, check=False, **kwargs)

    def running_port(self) -> int | None:
        pid_file = self.data / "postmaster.pid"
        pg_ctl = postgres_bin("pg_ctl")
        if not pid_file.exists() or pg_ctl is None:
            return None
        if self._run([pg_ctl, "status", "-D", str(self.data)]).returncode != 0:
            return None
        lines = pid_file.read_text().splitlines()
        return int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() else None

    def start(self) -> int:
        initdb, pg_ctl = postgres_bin("initdb"), postgres_bin("pg_ctl")
        if initdb is None or pg_ctl is None:
            raise DevstackError(
                "PostgreSQL does not answer and its server binaries (initdb, pg_ctl) are not "
                "installed: install them (Debian: apt-get install postgresql) or set DATABASE_URL."
            )
        # pg_ctl must come from the same installation as initdb.
        pg_ctl = str(Path(os.path.realpath(initdb)).parent / "pg_ctl")
        socket_dir = self.root / "sock"
        socket_dir.mkdir(parents=True, exist_ok=True)
        if self.user is not None:
            for path in (self.root, socket_dir, *self.root.rglob("*")):
                os.chown(path, self.user.pw_uid, self.user.pw_gid)
        if not (self.data / "PG_VERSION").exists():
            say(f"initialising a PostgreSQL cluster in {self.data}")
            result = self._run(
                [initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                 "--locale=C"]
            )  # fmt: skip
            if result.returncode != 0:
                raise DevstackError(f"initdb failed:\n{result.stdout}{result.stderr}")
        port = free_port(PG_PORT)
        options = (
            f"-c port={port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={socket_dir}"
            " -c timezone=UTC -c synchronous_commit=off -c max_connections=200"
        )
        log_file = self.root / "postgres.log"
        result = self._run(
            [pg_ctl, "start", "-D", str(self.data), "-l", str(log_file), "-w", "-t", "60",
             "-o", options],
            start_new_session=True,
        )  # fmt: skip
        if result.returncode != 0:
            tail = log_file.read_text()[-2000:] if log_file.exists() else ""
            raise DevstackError(f"PostgreSQL did not start:\n{result.stderr}{tail}")
        say(f"started PostgreSQL on 127.0.0.1:{port} (data: {self.data}, log: {log_file})")
        return port

    def stop(self) -> None:
        pg_ctl = postgres_bin("pg_ctl")
        if pg_ctl and (self.data / "postmaster.pid").exists():
            self._run([pg_ctl, "stop", "-D", str(self.data), "-m", "fast", "-w", "-t", "60"])
            say("stopped PostgreSQL")


@dataclass
class OwnRedis:
    """A memory-only Redis in .run/redis (no RDB, no AOF)."""

    root: Path = RUN_DIR / "redis"
    process: subprocess.Popen[bytes] | None = None

    def _pid(self) -> int | None:
        try:
            pid = int((self.root / "redis.pid").read_text().strip())
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError):
            return None

    def running_port(self) -> int | None:
        try:
            return int((self.root / "port").read_text()) if self._pid() else None
        except (OSError, ValueError):
            return None

    def start(self) -> int:
        binary = shutil.which("redis-server")
        if binary is None:
            raise DevstackError(
                "Redis does not answer and redis-server is not installed: install it "
                "(Debian: apt-get install redis-server) or set REDIS_URL."
            )
        self.root.mkdir(parents=True, exist_ok=True)
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        port = free_port(REDIS_PORT)
        with open(LOG_DIR / "redis.log", "ab") as log:
            self.process = subprocess.Popen(
                [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(self.root),
                 "--pidfile", str(self.root / "redis.pid"), "--daemonize", "no"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        (self.root / "port").write_text(str(port))
        say(f"started Redis on 127.0.0.1:{port} (log: {LOG_DIR / 'redis.log'})")
        return port

    def stop(self) -> None:
        pid = self.process.pid if self.process else self._pid()
        if pid is None:
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        if self.process:
            self.process.wait(timeout=20)
        else:
            deadline = time.monotonic() + 20
            while self._pid() and time.monotonic() < deadline:
                time.sleep(0.1)
        say("stopped Redis")


async def wait_until(check: Callable[[], Any], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.25)
    return False


@dataclass
class Services:
    database_url: str
    redis_url: str
    started: list[str] = field(default_factory=list)  # "PostgreSQL", "Redis": ours, in .run/
    stops: list[Callable[[], None]] = field(default_factory=list)

    def stop(self) -> None:
        while self.stops:
            self.stops.pop()()


def ensure_services() -> Services:
    """PostgreSQL and Redis from the environment, or our own in .run/ when they do not answer."""
    database_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    services = Services(database_url, redis_url)
    try:
        if not asyncio.run(postgres_answers(database_url)):
            where = make_url(database_url)
            say(f"no PostgreSQL answers at {where.host}:{where.port}")
            pg = OwnPostgres.locate()
            port = pg.running_port() or pg.start()
            services.started.append("PostgreSQL")
            services.stops.append(pg.stop)
            services.database_url = with_host_port(database_url, "127.0.0.1", port)
            if not asyncio.run(wait_until(lambda: postgres_answers(services.database_url), 60)):
                raise DevstackError("our PostgreSQL did not accept connections in time")
        if not asyncio.run(redis_answers(redis_url)):
            say(f"no Redis answers at {redis_url}")
            own = OwnRedis()
            port = own.running_port() or own.start()
            services.started.append("Redis")
            services.stops.append(own.stop)
            services.redis_url = f"redis://127.0.0.1:{port}/0"
            if not asyncio.run(wait_until(lambda: redis_answers(services.redis_url), 30)):
                raise DevstackError("our Redis did not answer in time")
    except BaseException:
        services.stop()
        raise
    return services


async def create_database(url: str) -> None:
    name = make_url(url).database
    if not name:
        raise DevstackError("DATABASE_URL names no database")
    conn = await asyncpg.connect(asyncpg_dsn(with_database(url, "postgres")))
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
                say(f"created database {name}")
            except asyncpg.DuplicateDatabaseError:
                pass  # created meanwhile by someone else: fine
    finally:
        await conn.close()


def migrate(url: str) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config(toml_file=str(ROOT / "pyproject.toml"))
    config.attributes["database_url"] = url
    command.upgrade(config, "head")
    say("database migrated to head")


def admin_login() -> tuple[str, str, str]:
    """(email, password, where it came from); generated once into .run/admin.env."""
    email, password = (
        os.environ.get("STORYLOOM_ADMIN_EMAIL"),
        os.environ.get("STORYLOOM_ADMIN_PASSWORD"),
    )
    if email and password:
        return email, password, "the environment"
    if not ADMIN_FILE.exists():
        RUN_DIR.mkdir(parents=True, exist_ok=True)
        body = (
            "STORYLOOM_ADMIN_EMAIL=admin@storyloom.local\n"
            f"STORYLOOM_ADMIN_PASSWORD={secrets.token_urlsafe(18)}\n"
        )
        fd = os.open(ADMIN_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(body)
    values = dict(line.split("=", 1) for line in ADMIN_FILE.read_text().splitlines() if "=" in line)
    return values["STORYLOOM_ADMIN_EMAIL"], values["STORYLOOM_ADMIN_PASSWORD"], str(ADMIN_FILE)
