"""`make run` supervises its children: a crashed API or worker comes back, with a backoff."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from infra.devstack import Supervisor

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]
CRASHER = [sys.executable, "-c", "raise SystemExit(3)"]


def run_checks(supervisor: Supervisor, seconds: float, until: object = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        supervisor.check()
        if callable(until) and until():
            return
        time.sleep(0.02)


def test_a_killed_child_is_restarted_and_the_event_logged(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path, backoff=(0.2,))
    try:
        first = supervisor.start("worker", SLEEPER, dict(os.environ))
        os.kill(first.process.pid, signal.SIGKILL)
        supervised = supervisor.supervised[0]
        run_checks(supervisor, 10, until=lambda: supervised.child is not first)
        assert supervised.child is not first and supervised.child.alive()
        log = supervisor.log_path.read_text()
        assert "worker exited (signal SIGKILL); restarting in 0.2s" in log
        assert "worker restarted" in log
    finally:
        supervisor.stop()
    assert not supervisor.supervised[0].child.alive()


def test_a_child_that_keeps_crashing_waits_longer_each_time(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path, backoff=(0.1, 0.3, 0.5))
    try:
        supervisor.start("api", CRASHER, dict(os.environ))
        run_checks(supervisor, 10, until=lambda: supervisor.supervised[0].crashes >= 4)
    finally:
        supervisor.stop()
    delays = [
        line.rsplit("restarting in ", 1)[1]
        for line in supervisor.log_path.read_text().splitlines()
        if "restarting in" in line
    ]
    assert delays[:4] == ["0.1s", "0.3s", "0.5s", "0.5s"]  # capped at the last step


def test_stopping_stops_every_child(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path)
    children = [supervisor.start(name, SLEEPER, dict(os.environ)) for name in ("api", "worker")]
    supervisor.stop()
    assert not any(child.alive() for child in children)
