"""The development stack behind `make run` and `make test`.

    python -m infra.devstack run             # services, database, migrations, API + worker
    python -m infra.devstack services        # PostgreSQL and Redis only; prints the env to use
    python -m infra.devstack test -- -q      # services, then pytest against them
    python -m infra.devstack exec -- CMD...  # services, then any command against them
    python -m infra.devstack stop            # stop servers that a killed run left in .run/

Ctrl-C (or SIGTERM) stops everything the stack started: the API, the worker, and any
PostgreSQL or Redis it had to start itself. Until then a crashed API or worker is started
again, after a backoff that grows while it keeps crashing; each exit and restart is logged
(to the terminal and .run/logs/supervisor.log).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import IO

from sqlalchemy.engine import make_url

from infra.devservices import (
    LOG_DIR,
    DevstackError,
    OwnPostgres,
    OwnRedis,
    Services,
    admin_login,
    create_database,
    ensure_services,
    migrate,
    port_is_free,
    say,
    with_database,
)
from infra.settings import ROOT

STOP_GRACE_SECONDS = 15
# Seconds before each restart of a child that keeps exiting; one that has run STABLE_SECONDS
# since its last start is back to the first step.
RESTART_BACKOFF_SECONDS = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
STABLE_SECONDS = 60.0


class Child:
    """A process of ours whose output goes to the terminal (prefixed) and to .run/logs/."""

    def __init__(
        self, name: str, argv: list[str], env: dict[str, str], log_dir: Path = LOG_DIR
    ) -> None:
        self.name = name
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"{name}.log"
        # A session of its own: the terminal's Ctrl-C reaches only us, and we stop the
        # children in order (API first, servers last).
        self.process = subprocess.Popen(
            argv,
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._pump = threading.Thread(target=self._copy_output, daemon=True)
        self._pump.start()

    def _copy_output(self) -> None:
        stream: IO[bytes] | None = self.process.stdout
        assert stream is not None
        with open(self.log_path, "ab") as log:
            for raw in iter(stream.readline, b""):
                log.write(raw)
                log.flush()
                line = raw.decode(errors="replace").rstrip("\n")
                print(f"{self.name:>8} | {line}", flush=True)

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.alive():
            self._signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                say(f"{self.name} did not stop in {STOP_GRACE_SECONDS}s: killing it")
                self._signal(signal.SIGKILL)
                self.process.wait()
        self._pump.join(timeout=5)
        code = self.process.returncode
        how = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit {code}"
        say(f"stopped {self.name} ({how})")

    def _signal(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)


@dataclass
class Supervised:
    """A child the supervisor keeps running, and how its restarts stand."""

    name: str
    argv: list[str]
    env: dict[str, str]
    child: Child
    started_at: float = field(default_factory=time.monotonic)
    crashes: int = 0  # in a row: reset once it has run STABLE_SECONDS
    restart_at: float | None = None


class Supervisor:
    """Keeps the stack's processes running: one that exits is started again after a backoff
    (RESTART_BACKOFF_SECONDS), and each exit and restart is logged."""

    def __init__(
        self,
        log_dir: Path = LOG_DIR,
        backoff: Sequence[float] = RESTART_BACKOFF_SECONDS,
        stable_seconds: float = STABLE_SECONDS,
    ) -> None:
        self.log_dir, self.backoff, self.stable_seconds = log_dir, tuple(backoff), stable_seconds
        self.supervised: list[Supervised] = []
        self.log_path = log_dir / "supervisor.log"

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> Child:
        child = Child(name, argv, env, self.log_dir)
        self.supervised.append(Supervised(name, argv, env, child))
        return child

    def check(self) -> None:
        """Restart what has exited and whose backoff has passed; call it every half second."""
        now = time.monotonic()
        for each in self.supervised:
            if each.child.alive():
                if each.crashes and now - each.started_at >= self.stable_seconds:
                    each.crashes = 0
                continue
            if each.restart_at is None:
                delay = self.backoff[min(each.crashes, len(self.backoff) - 1)]
                each.crashes += 1
                each.restart_at = now + delay
                code = each.child.process.returncode
                how = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit {code}"
                self.log(f"{each.name} exited ({how}); restarting in {delay:g}s")
            elif now >= each.restart_at:
                each.child = Child(each.name, each.argv, each.env, self.log_dir)
                each.started_at, each.restart_at = now, None
                self.log(f"{each.name} restarted (crash {each.crashes} in a row)")

    def log(self, message: str) -> None:
        say(message)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("a") as log:
            log.write(f"{datetime.now(UTC).isoformat(timespec='seconds')} {message}\n")

    def stop(self) -> None:
        """Stop every child, in the order they were started."""
        for each in self.supervised:
            each.restart_at = None
            each.child.stop()


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def ignore_stop_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def child_env(services: Services, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(DATABASE_URL=services.database_url, REDIS_URL=services.redis_url)
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.update(extra)
    return env


def wait_for_http(url: str, child: Child, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not child.alive():
            raise DevstackError(f"{child.name} exited early; see {child.log_path}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own URL
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise DevstackError(f"{url} did not answer within {seconds:.0f}s")


def banner(base: str, services: Services, admin: tuple[str, str, str]) -> None:
    email, password, source = admin
    shown = password if source != "the environment" else "(from STORYLOOM_ADMIN_PASSWORD)"
    ours = " (started by devstack, in .run/)"
    db_own = ours if "PostgreSQL" in services.started else ""
    redis_own = ours if "Redis" in services.started else ""
    lines = [
        "",
        "Storyloom is running.",
        f"  API        {base}",
        f"  Docs       {base}/docs",
        f"  Health     {base}/healthz",
        f"  Readiness  {base}/readyz",
        f"  Admin      {email} / {shown}   (from {source})",
        f"  Database   {make_url(services.database_url)}{db_own}",
        f"  Redis      {services.redis_url}{redis_own}",
        f"  Logs       {LOG_DIR}",
        "Press Ctrl-C to stop everything.",
        "",
    ]
    print("\n".join(lines), flush=True)


def cmd_run() -> int:
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8000"))
    if not port_is_free(port):
        raise DevstackError(f"port {port} is in use: stop what uses it or set PORT")
    services = ensure_services()
    supervisor = Supervisor()
    try:
        asyncio.run(create_database(services.database_url))
        migrate(services.database_url)
        admin = admin_login()
        env = child_env(
            services,
            PORT=str(port),
            STORYLOOM_ADMIN_EMAIL=admin[0],
            STORYLOOM_ADMIN_PASSWORD=admin[1],
        )
        env.setdefault("LOG_JSON", "false")  # a terminal reads better than JSON lines
        python = sys.executable
        # Segments made before content-addressed media get their objects and rows (idempotent:
        # nothing to do on a new database); one that cannot is reported, not fatal.
        subprocess.run([python, "-m", "api.cli", "media", "backfill"], env=env, check=False)
        # A new platform gets a few curated topics, so its first visitor can file an idea at
        # once (nothing happens once any topic exists).
        subprocess.run([python, "-m", "api.cli", "topics", "seed"], env=env, check=False)
        api = supervisor.start(
            "api",
            [python, "-m", "uvicorn", "api.app:create_app", "--factory",
             "--host", host, "--port", str(port)],
            env,
        )  # fmt: skip
        supervisor.start("worker", [python, "-m", "worker.main"], env)
        base = f"http://{host}:{port}"
        wait_for_http(f"{base}/healthz", api, 90)
        banner(base, services, admin)
        while True:
            supervisor.check()
            time.sleep(0.5)
    except KeyboardInterrupt:
        print(flush=True)
        say("stopping")
        return 0
    finally:
        ignore_stop_signals()  # let the shutdown finish
        supervisor.stop()
        services.stop()


def cmd_services() -> int:
    services = ensure_services()
    try:
        print(f"export DATABASE_URL='{services.database_url}'")
        print(f"export REDIS_URL='{services.redis_url}'", flush=True)
        if not services.started:
            return 0
        say("servers started by devstack keep running until Ctrl-C")
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        ignore_stop_signals()
        services.stop()


def cmd_exec(argv: Sequence[str]) -> int:
    if not argv:
        raise DevstackError("nothing to run: give a command after --")
    services = ensure_services()
    try:
        # The test harness (and the benchmarks) create and drop databases of their own from
        # the server's maintenance database, so that is the one they are handed.
        env = child_env(services, DATABASE_URL=with_database(services.database_url, "postgres"))
        process = subprocess.Popen(list(argv), env=env, cwd=ROOT)
        try:
            return process.wait()
        except KeyboardInterrupt:
            return process.wait()
    finally:
        ignore_stop_signals()
        services.stop()


def cmd_stop() -> int:
    pg = OwnPostgres.locate()
    if pg.running_port():
        pg.stop()
    redis = OwnRedis()
    if redis.running_port():
        redis.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.devstack", description=__doc__)
    parser.add_argument("command", choices=["run", "services", "test", "exec", "stop"])
    parser.add_argument("rest", nargs=argparse.REMAINDER, help="after --: arguments to pass on")
    args = parser.parse_args(argv)
    rest = args.rest[1:] if args.rest[:1] == ["--"] else args.rest
    # Installed explicitly: a shell that starts us in the background sets SIGINT to "ignore",
    # and Python keeps an inherited "ignore" instead of raising KeyboardInterrupt.
    signal.signal(signal.SIGINT, _raise_interrupt)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        if args.command == "run":
            return cmd_run()
        if args.command == "services":
            return cmd_services()
        if args.command == "test":
            return cmd_exec([sys.executable, "-m", "pytest", *rest])
        if args.command == "exec":
            return cmd_exec(rest)
        return cmd_stop()
    except DevstackError as exc:
        say(f"error: {exc}")
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
