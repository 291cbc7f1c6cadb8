"""Waiting for child processes (ffmpeg) without a thread each, on Python 3.11.

Python 3.11's default child watcher starts a thread per subprocess to block in waitpid(). A
worker packages dozens of clips a second; each such thread, when its child exits, competes for
the GIL with the event loop, and the convoy showed in profiles as the loop waiting on a futex.
Python 3.12 waits through a pidfd on the running loop instead; this is that watcher for 3.11.
"""

from __future__ import annotations

import asyncio
import os
import sys
import warnings
from typing import Any

from infra.logging import get_logger

log = get_logger("child_watcher")


class RunningLoopPidfdWatcher(asyncio.AbstractChildWatcher):
    """Python 3.12's PidfdChildWatcher: each child is watched on the loop that started it."""

    def __enter__(self) -> RunningLoopPidfdWatcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def is_active(self) -> bool:
        return True

    def close(self) -> None:
        return None

    def attach_loop(self, loop: Any) -> None:
        return None

    def add_child_handler(self, pid: int, callback: Any, *args: Any) -> None:  # type: ignore[override]
        loop = asyncio.get_running_loop()
        pidfd = os.pidfd_open(pid)
        loop.add_reader(pidfd, self._reap, loop, pid, pidfd, callback, args)

    def remove_child_handler(self, pid: int) -> bool:
        return True  # asyncio never calls it; the ABC requires it

    @staticmethod
    def _reap(
        loop: asyncio.AbstractEventLoop, pid: int, pidfd: int, callback: Any, args: Any
    ) -> None:
        loop.remove_reader(pidfd)
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:  # reaped elsewhere: its status is gone
            log.warning("child_already_reaped", pid=pid)
            returncode = 255
        else:
            returncode = os.waitstatus_to_exitcode(status)
        os.close(pidfd)
        callback(pid, returncode, *args)


def install() -> bool:
    """Use the pidfd watcher where it is not already the default and the kernel has pidfds."""
    if sys.version_info >= (3, 12) or not hasattr(os, "pidfd_open"):
        return False
    try:
        os.close(os.pidfd_open(os.getpid()))
    except OSError:  # a kernel before 5.3, or a sandbox refusing the call
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        asyncio.set_child_watcher(RunningLoopPidfdWatcher())
    return True
