"""The pidfd child watcher: subprocesses without a waiting thread each, on any event loop."""

from __future__ import annotations

import asyncio
import sys
import threading
import warnings
from collections.abc import Iterator

import pytest

from infra import child_watcher

pytestmark = pytest.mark.skipif(sys.version_info >= (3, 12), reason="3.12 waits by pidfd itself")


@pytest.fixture
def installed() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        before = asyncio.get_child_watcher()
        assert child_watcher.install()
        try:
            yield
        finally:
            asyncio.set_child_watcher(before)


async def _exit_code(code: int) -> tuple[int, int]:
    """The child's return code, and the most threads alive while it ran."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", f"import time, sys; time.sleep(0.2); sys.exit({code})"
    )
    most = threading.active_count()
    while process.returncode is None:
        most = max(most, threading.active_count())
        try:
            await asyncio.wait_for(process.wait(), 0.02)
        except TimeoutError:
            continue
    return process.returncode, most


def test_children_are_reaped_on_successive_loops_without_threads(installed: None) -> None:
    threads = threading.active_count()
    for code in (0, 3):  # a fresh event loop each time: the watcher serves whichever runs
        returncode, most = asyncio.run(_exit_code(code))
        assert returncode == code
        assert most == threads  # no waitpid thread per child


def test_without_it_asyncio_starts_a_thread_per_child() -> None:
    # The cost the watcher removes: 3.11's default waits for each child in a thread.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        before = asyncio.get_child_watcher()
        asyncio.set_child_watcher(asyncio.ThreadedChildWatcher())
        try:
            threads = threading.active_count()
            returncode, most = asyncio.run(_exit_code(0))
        finally:
            asyncio.set_child_watcher(before)
    assert returncode == 0 and most > threads
