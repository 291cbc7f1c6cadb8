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
from signal import Signals
from typing import Any

from arq.worker import Worker
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.exceptions import WatchError

from infra.logging import get_logger
from infra.queue import wake_channel

log = get_logger("worker.refill")
RESUBSCRIBE_SECONDS = 1.0
IN_PROGRESS_MARGIN_SECONDS = 10  # arq's own, past the job's timeout
WIND_DOWN_SECONDS = 10.0  # for jobs to take their cancellation; then arq's own cancel
WIND_DOWN_CHECK_SECONDS = 0.1


class RefillingWorker(Worker):
    """A Worker that picks jobs when a slot frees or work is announced, not only on polls."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._wake = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None
        # arq keeps every job's in-progress key for the longest timeout of any function, a
        # daily cron's hour included: a job whose worker died stays locked out of arq that
        # long. Each key is kept for its own job's timeout instead (see start_jobs).
        self._cron_timeouts = {
            f"{job.name}:": (job.timeout_s or self.job_timeout_s) + IN_PROGRESS_MARGIN_SECONDS
            for job in self.cron_jobs
        }
        self._job_in_progress_s = (
            max(
                (
                    f.timeout_s or self.job_timeout_s
                    for f in self.functions.values()
                    if f.name not in {job.name for job in self.cron_jobs}
                ),
                default=self.job_timeout_s,
            )
            + IN_PROGRESS_MARGIN_SECONDS
        )

    def in_progress_seconds(self, job_id: str) -> float:
        """How long arq's in-progress key of this job is kept: its own function's timeout
        (a cron's tick is named after its cron; the queue's other jobs share the longest
        timeout of the non-cron functions), plus arq's margin."""
        for prefix, seconds in self._cron_timeouts.items():
            if job_id.startswith(prefix):
                return seconds
        return self._job_in_progress_s

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        for job_id in job_ids:
            # A job leaves the queue only when it ends, so the oldest ids a poll reads are
            # mostly the jobs this worker runs. arq asks Redis about each (WATCH, EXISTS,
            # ZSCORE) before skipping it, on every poll: these are skipped without asking.
            if self._running(job_id):
                continue
            # Read by arq's start_jobs below, which is given this one job.
            self.in_progress_timeout_s = self.in_progress_seconds(job_id.decode())
            counted, task = self.job_counter, self.tasks.get(job_id.decode())
            try:
                await super().start_jobs([job_id])
            except BaseException:
                # arq takes the slot before asking Redis: a command that failed (a WATCH
                # cannot be retried through an outage) must give it back, or it is lost.
                if self.job_counter > counted and self.tasks.get(job_id.decode()) is task:
                    self.job_counter -= 1
                    self.sem.release()
                raise

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
        await self._poll_once()
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
                await self._poll_once()

    async def _poll_once(self) -> None:
        """arq's poll; a Redis outage in the middle of it waits for the next poll.

        Single commands are retried through an outage (infra.queue.worker_redis_settings),
        but not a WATCH, which arq's start_jobs and its cron enqueues use: its error would
        end the worker.
        """
        try:
            await super()._poll_iteration()
        except (WatchError, RedisConnectionError, RedisTimeoutError, OSError) as exc:
            log.warning("queue_poll_interrupted", error=repr(exc))

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

    def handle_sig(self, signum: Signals) -> None:
        """Stop: cancel the jobs themselves, not arq's tasks that run them.

        arq cancels its run_job tasks, and one may be past its job, writing the result and
        releasing the job (finish_job, after_job_end): cancelled there, the task ends in
        CancelledError, which close() then raises, and the job's bookkeeping is cut short.
        A cancelled job is what run_job expects: it records the job as to be run again and
        finishes its bookkeeping, which close() waits for.
        """
        log.info("worker_stopping", signal=signum.name, ongoing=len(self.job_tasks))
        self.allow_pick_jobs = False
        self._cancel_jobs()
        if self.main_task is not None:
            self.main_task.cancel()
        if self.on_stop is not None:
            self.on_stop(signum)

    def _cancel_jobs(self) -> None:
        for task in self.job_tasks.values():
            if not task.done():
                task.cancel()

    async def _wind_down(self) -> None:
        """Cancel the jobs under way and let arq finish each one's bookkeeping."""
        self.allow_pick_jobs = False
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WIND_DOWN_SECONDS
        while pending := [task for task in self.tasks.values() if not task.done()]:
            if loop.time() >= deadline:  # a job that ignores its cancellation
                for task in pending:
                    task.cancel()
                await asyncio.wait(pending)
                break
            # Again on each turn: a run_job task still reading its job starts it later.
            self._cancel_jobs()
            await asyncio.wait(pending, timeout=WIND_DOWN_CHECK_SECONDS)
        for job_id, task in list(self.tasks.items()):
            del self.tasks[job_id]  # done: arq's close() would re-raise what ended them
            if not task.cancelled() and task.exception() is not None:
                log.error("job_task_failed", job_id=job_id, error=repr(task.exception()))

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
            self._listener = None
        if self._pool is not None:
            await self._wind_down()
        await super().close()
