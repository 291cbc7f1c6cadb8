"""arq's worker, starting work as soon as there is work and room for it.

arq starts queued jobs only when it polls (every `poll_delay`). A worker whose slots are all
busy leaves a slot that frees idle until then, and a job submitted just after a poll waits
for the next one. This worker waits out the poll interval inside the poll iteration instead,
and polls again the moment a running job ends or the API announces new work on the queue's
wake channel (Redis pub/sub). With nothing announced it polls like arq's own worker, once per
`poll_delay`, so a missed announcement only costs what arq would have cost anyway. In burst
mode it stops as soon as nothing runs and the queue is empty, not at the next poll.

It relies on arq's internals (`_poll_iteration`, `_release_sem_dec_counter_on_complete`,
`start_jobs` and its `tasks`), which is why arq is pinned to an exact version.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from arq.worker import Worker

from infra.logging import get_logger
from infra.queue import wake_channel

log = get_logger("worker.refill")
RESUBSCRIBE_SECONDS = 1.0


class RefillingWorker(Worker):
    """A Worker that picks jobs when a slot frees or work is announced, not only on polls."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._wake = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        # A job leaves the queue only when it ends, so the oldest ids a poll reads are mostly
        # the jobs this worker is running. arq asks Redis about each (WATCH, EXISTS, ZSCORE)
        # before skipping it, on every poll: these are skipped without asking.
        await super().start_jobs([job_id for job_id in job_ids if not self._running(job_id)])

    def _running(self, job_id: bytes) -> bool:
        task = self.tasks.get(job_id.decode())
        return task is not None and not task.done()

    def _release_sem_dec_counter_on_complete(self) -> None:
        super()._release_sem_dec_counter_on_complete()
        self._wake.set()

    async def _poll_iteration(self) -> None:
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.poll_delay_s
        # Cleared before each read of the queue, so that a wake-up arriving during the read
        # is not lost: it makes the next wait return at once.
        self._wake.clear()
        await super()._poll_iteration()
        while self.allow_pick_jobs:
            if self.burst and not self.job_counter:
                return  # arq's loop sees at once whether the queue is empty, and stops
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            try:
                await asyncio.wait_for(self._wake.wait(), remaining)
            except TimeoutError:
                return
            self._wake.clear()
            if self.job_counter < self.max_jobs:
                await super()._poll_iteration()

    async def _listen(self) -> None:
        """Wake the poll loop on every announcement; resubscribe after a Redis outage."""
        channel = wake_channel(self.queue_name)
        while True:
            pubsub = self.pool.pubsub()
            try:
                await pubsub.subscribe(channel)
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self._wake.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - polling goes on; only the wake-ups pause
                log.warning("wake_channel_lost", error=repr(exc))
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            await asyncio.sleep(RESUBSCRIBE_SECONDS)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
            self._listener = None
        await super().close()
