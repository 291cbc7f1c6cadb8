"""arq's worker, refilling a freed slot at once instead of at its next poll.

arq starts queued jobs only when it polls (every `poll_delay`); a worker whose slots are all
busy leaves each slot that frees idle until then. Continuations are short with fast providers
and minutes long with remote ones, so a slot freed 10 ms after a poll would sit idle for most
of `poll_delay`. This worker waits out the poll interval inside the poll iteration instead, and
polls again the moment a running job ends. With free slots and an empty queue it behaves like
arq's own worker: one poll per `poll_delay`.

It relies on two of arq's internals (`_poll_iteration`, `_release_sem_dec_counter_on_complete`),
which is why arq is pinned to an exact version.
"""

from __future__ import annotations

import asyncio
from typing import Any

from arq.worker import Worker


class RefillingWorker(Worker):
    """A Worker that starts the next queued job as soon as one of its slots frees."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._slot_freed = asyncio.Event()

    def _release_sem_dec_counter_on_complete(self) -> None:
        super()._release_sem_dec_counter_on_complete()
        self._slot_freed.set()

    async def _poll_iteration(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.poll_delay_s
        await super()._poll_iteration()
        # Full: wait for a slot (not longer than the poll interval), then pick jobs again.
        while self.job_counter >= self.max_jobs and self.allow_pick_jobs:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            self._slot_freed.clear()
            try:
                await asyncio.wait_for(self._slot_freed.wait(), remaining)
            except TimeoutError:
                return
            await super()._poll_iteration()
