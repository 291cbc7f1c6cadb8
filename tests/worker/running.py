"""Stopping an arq worker that runs in the test's own event loop."""

from __future__ import annotations

import asyncio
import contextlib

from arq.worker import Worker

FINISH_SECONDS = 10.0
# Cancelling the run loop and closing the worker take milliseconds; past this, something hangs
# (a stop that swallows its cancellation, bookkeeping that never ends): fail and say what.
CLOSE_SECONDS = 30.0


async def stop(worker: Worker, task: asyncio.Task[None]) -> None:
    """Let the jobs under way end, then stop the worker and close it.

    A job seen final_ready through the API still has its last steps to take (cleanup, the lock,
    arq's bookkeeping); closed at once, the worker would cancel it and leave it to run again.
    """
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(FINISH_SECONDS):
            while not all(job.done() for job in worker.tasks.values()):
                await asyncio.sleep(0.01)
    task.cancel()
    try:
        async with asyncio.timeout(CLOSE_SECONDS):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            await worker.close()
    except TimeoutError:
        pending = {name: job for name, job in worker.tasks.items() if not job.done()}
        raise AssertionError(
            f"the worker did not stop within {CLOSE_SECONDS:g} s: run loop done={task.done()}, "
            f"jobs still running: {sorted(pending)}"
        ) from None
