"""Real processes for the fault tests: arq workers, a private redis-server, a moto S3 server.

Everything here is started as a child process that the test can SIGKILL, and every helper
remembers what it started so a finalizer can stop it even when the test failed half-way.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from infra.settings import ROOT, Settings

ALIASES = {field.alias or name for name, field in Settings.model_fields.items()}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def settings_env(settings: Settings, extra: Mapping[str, Any] | None = None) -> dict[str, str]:
    """The environment a child process needs to rebuild exactly these settings."""
    env = {k: v for k, v in os.environ.items() if k not in ALIASES}
    for name, field in Settings.model_fields.items():
        value = getattr(settings, name)
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, bool):
            value = "true" if value else "false"
        env[field.alias or name] = str(value)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    env.update({k: str(v) for k, v in (extra or {}).items()})
    return env


class Child:
    """One child process with its output in a log file (read back when a test fails)."""

    def __init__(self, args: list[str], log_path: Path, env: dict[str, str], cwd: Path) -> None:
        self.args = args
        self.log_path = log_path
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=cwd,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, exactly like a machine losing the process."""
        if self.alive:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, timeout: float = 10) -> None:
        if self.alive:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, size: int = 4000) -> str:
        try:
            return self.log_path.read_bytes()[-size:].decode(errors="replace")
        except OSError:
            return ""


class Processes:
    """Starts workers and servers for one test and stops all of them in `close()`."""

    def __init__(self, base_dir: Path) -> None:
        self.base_dir = base_dir
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.children: list[Child] = []
        self.redis: list[RedisServer] = []
        self.moto: list[MotoServer] = []

    def _child(self, name: str, args: list[str], env: dict[str, str]) -> Child:
        log = self.base_dir / f"{name}-{len(self.children)}.log"
        child = Child(args, log, env, cwd=self.base_dir)  # no stray .env is read from here
        self.children.append(child)
        return child

    def worker(
        self,
        settings: Settings,
        *,
        module: str = "worker.main",
        env: Mapping[str, Any] | None = None,
    ) -> Child:
        """`python -m worker.main` (or the faulty variant) configured by `settings`."""
        return self._child(
            module.rsplit(".", 1)[-1], [sys.executable, "-m", module], settings_env(settings, env)
        )

    def redis_server(self, port: int | None = None) -> RedisServer:
        server = RedisServer(port or free_port(), self.base_dir / f"redis-{len(self.redis)}")
        self.redis.append(server)
        server.start()
        return server

    def moto_server(self, port: int | None = None) -> MotoServer:
        server = MotoServer(port or free_port(), self.base_dir / f"moto-{len(self.moto)}.log")
        self.moto.append(server)
        server.start()
        return server

    def logs(self) -> str:
        """The tail of every worker's log, for assertion messages."""
        return "\n".join(f"--- {c.log_path.name}\n{c.log_tail()}" for c in self.children)

    def close(self) -> None:
        for child in self.children:
            child.kill()
        for server in self.redis:
            server.kill()
        for moto in self.moto:
            moto.stop()


def _wait(ready: Any, process: subprocess.Popen[bytes], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start (exit code {process.poll()})")
        time.sleep(0.05)


class RedisServer:
    """A private, memory-only redis-server: killing it loses every key, as a crash would."""

    def __init__(self, port: int, data_dir: Path) -> None:
        self.port = port
        self.data_dir = data_dir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port)]
        args += ["--save", "", "--appendonly", "no", "--dir", str(self.data_dir)]
        with (self.data_dir / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        _wait(lambda: self.command("PING") == "+PONG", self.process, "redis-server", 10)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def restart(self) -> None:
        """SIGKILL and start again on the same port, empty (nothing is saved on disk)."""
        self.kill()
        self.start()

    def command(self, *words: str) -> str:
        """One inline command's first reply line ("" when the server is not answering)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall((" ".join(words) + "\r\n").encode())
                return sock.recv(256).decode(errors="replace").split("\r\n", 1)[0]
        except OSError:
            return ""


class MotoServer:
    """moto's S3 in server mode on a fixed port, so it can be stopped and started again."""

    def __init__(self, port: int, log_path: Path) -> None:
        self.port = port
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def start(self) -> None:
        args = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        _wait(self._ready, self.process, "moto server", 30)

    def stop(self) -> None:
        """Gone at once (SIGKILL): in-flight uploads see a refused connection, like an outage."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
