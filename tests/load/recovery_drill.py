"""`python -m tests.load.recovery_drill`: workers killed under load; writes its section of
docs/LOAD.md.

RECOVERY_USERS users each keep one continuation in flight on a scene of their own (submit,
poll through the API every 0.2 s until it ends, submit the next). Two real workers
(`python -m worker.main`, production lease and recovery settings) share the queue. Every
RECOVERY_KILL_EVERY seconds one of them is SIGKILLed, RECOVERY_KILLS times, alternately, and
started again at once (as `make run`'s supervisor or a container runtime would). For every
job the killed worker held a lease on, the drill measures the time from the kill to the job's
next attempt starting (its `attempt` moving on), and checks at the end that every job ended
final_ready exactly once, with each scene's sequences 1..n.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select, text

from domain.jobs.models import JobEvent, is_unfinished
from infra.settings import ROOT, Settings
from tests.benchmarks import machine, percentile
from tests.factories import Account
from tests.load.sections import write_section as write_between
from tests.scratch import scratch_database
from tests.worker.fault_stack import Stack, open_stack
from tests.worker.processes import Child

BEGIN, END = "<!-- recovery-drill -->", "<!-- /recovery-drill -->"
LIMIT_SECONDS = 15.0


@dataclass(frozen=True)
class RecoveryShape:
    users: int = int(os.environ.get("RECOVERY_USERS", "6"))
    kills: int = int(os.environ.get("RECOVERY_KILLS", "4"))
    kill_every: float = float(os.environ.get("RECOVERY_KILL_EVERY", "12"))


@dataclass
class Tally:
    jobs: list[tuple[str, str]] = field(default_factory=list)  # (scene id, job id)
    takeovers: list[float] = field(default_factory=list)
    per_kill: list[tuple[int, float, float]] = field(default_factory=list)  # jobs, p50, max
    stop: bool = False


def drill_settings(database_url: str, root: Path) -> Settings:
    return Settings(
        STORYLOOM_ENV="test",
        DATABASE_URL=database_url,
        OPENAI_API_KEY=None,
        S3_BUCKET=None,
        MEDIA_DIR=root / "media",
        WORK_DIR=root / "work",
        LOG_LEVEL="WARNING",
        LOG_JSON=True,
        WORKER_MAX_JOBS=4,
        VIDEO_WIDTH=320,
        VIDEO_HEIGHT=180,
        VIDEO_FPS=12,
    )


async def _user(stack: Stack, account: Account, scene_id: str, tally: Tally) -> None:
    n = 0
    while not tally.stop:
        n += 1
        job_id = await stack.submit(account, scene_id, f"Mara counts {n} gulls over the water.")
        tally.jobs.append((scene_id, job_id))
        while True:
            polled = await stack.client.get(f"/v1/jobs/{job_id}", headers=account.headers)
            if polled.status_code == 200 and not is_unfinished(polled.json()["status"]):
                break
            await asyncio.sleep(0.2)


async def _leased_by(stack: Stack, worker: Child) -> dict[uuid.UUID, int]:
    """The jobs whose live lease this worker holds, and their attempt."""
    async with stack.app.state.db.session() as session:
        rows = await session.execute(
            text(
                "SELECT j.id, j.attempt FROM job_leases l JOIN jobs j ON j.id = l.job_id"
                " WHERE l.holder = :holder AND l.expires_at > now()"
            ),
            {"holder": f"{socket.gethostname()}:{worker.pid}"},
        )
        return {row.id: row.attempt for row in rows}


async def _takeovers(stack: Stack, held: dict[uuid.UUID, int]) -> list[float]:
    """Seconds from now to each held job's next attempt; a job that had already ended when
    its worker was killed (killed between its last write and its lease's release) was not
    interrupted and is left out."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    moved: dict[uuid.UUID, float] = {}
    pending = dict(held)
    while pending and loop.time() - start < 4 * LIMIT_SECONDS:
        for job_id, attempt in list(pending.items()):
            job = await stack.job(str(job_id))
            if job.attempt > attempt:
                moved[job_id] = loop.time() - start
                del pending[job_id]
            elif not is_unfinished(job.status):
                del pending[job_id]
        await asyncio.sleep(0.05)
    return sorted(moved.values()) + [float("inf")] * len(pending)


async def _started(worker: Child) -> None:
    while "worker_started" not in worker.log_tail(100_000):
        if not worker.alive:
            raise RuntimeError(worker.log_tail())
        await asyncio.sleep(0.05)


async def drill(shape: RecoveryShape, base: Settings, database_url: str, root: Path) -> str:
    tally = Tally()
    async with open_stack(base, database_url, root) as stack:
        workers = [stack.worker(), stack.worker()]
        for worker in workers:
            await _started(worker)
        users = []
        for _ in range(shape.users):
            account = await stack.factory.account()
            users.append((account, (await stack.factory.scene(account))["id"]))
        load = [asyncio.create_task(_user(stack, a, s, tally)) for a, s in users]
        for kill in range(shape.kills):
            await asyncio.sleep(shape.kill_every)
            victim = workers[kill % 2]
            held = await _leased_by(stack, victim)
            victim.kill()
            workers[kill % 2] = stack.worker()  # the supervisor's restart
            times = await _takeovers(stack, held)
            tally.takeovers += times
            if times:
                tally.per_kill.append((len(times), percentile(times, 0.5), times[-1]))
            else:
                tally.per_kill.append((0, 0.0, 0.0))
        tally.stop = True
        await asyncio.wait_for(asyncio.gather(*load), timeout=180)
        return await _report(stack, shape, tally)


async def _report(stack: Stack, shape: RecoveryShape, tally: Tally) -> str:
    job_ids = [uuid.UUID(job_id) for _, job_id in tally.jobs]
    jobs = await stack.jobs([job_id for _, job_id in tally.jobs])
    final = sum(job.status == "final_ready" for job in jobs)
    async with stack.app.state.db.session() as session:
        events = await session.scalar(
            select(func.count())
            .select_from(JobEvent)
            .where(JobEvent.job_id.in_(job_ids), JobEvent.kind == "job.final_ready")
        )
    gapless = 0
    for scene_id in {scene for scene, _ in tally.jobs}:
        sequences = [claim.sequence for claim in await stack.sequences(scene_id)]
        gapless += sequences == list(range(1, len(sequences) + 1))
    scenes = len({scene for scene, _ in tally.jobs})
    times = sorted(tally.takeovers)
    ok = (
        final == len(jobs) == events
        and gapless == scenes
        and bool(times)
        and times[-1] < LIMIT_SECONDS
    )
    rows = "\n".join(
        f"| {n + 1} | {count} | {p50:.1f} s | {top:.1f} s |"
        for n, (count, p50, top) in enumerate(tally.per_kill)
    )
    p50 = f"{percentile(times, 0.5):.1f} s" if times else "-"
    top = f"{times[-1]:.1f} s" if times else "-"
    return f"""{BEGIN}
## Recovery drill

Command: `python -m tests.load.recovery_drill` (API in process, two workers as processes).

{chr(10).join(machine())}

Shape: {shape.users} users each keep one continuation in flight (submit, poll every 0.2 s,
submit the next); two workers (WORKER_MAX_JOBS=4, 320x180 renders) on the production lease
settings (JOB_LEASE_SECONDS={stack.settings.job_lease_seconds:g}, renewed every
{stack.settings.job_lease_renew_seconds:g} s; RECOVERY_EVERY_SECONDS=
{stack.settings.recovery_every_seconds}). Every {shape.kill_every:g} s one worker is SIGKILLed
and started again, {shape.kills} times. Takeover: from the kill to the next attempt of each job
the killed worker held a lease on.

| kill | jobs interrupted | takeover p50 | takeover max |
|---|---|---|---|
{rows}

| | |
|---|---|
| jobs interrupted, all kills | {len(times)} |
| takeover p50 | {p50} |
| takeover max | {top} |
| jobs submitted / final_ready / final_ready events | {len(jobs)} / {final} / {events} |
| scenes with sequences 1..n | {gapless} of {scenes} |
| **verdict** | {f"every takeover under {LIMIT_SECONDS:g} s, every job once" if ok else "FAILED"} |
{END}
"""


def write_section(document: Path, section: str) -> None:
    write_between(document, section, BEGIN, END)


def main() -> int:
    document = Path(os.environ.get("LOAD_DOCUMENT", ROOT / "docs" / "LOAD.md"))
    with scratch_database("recovery") as url, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        section = asyncio.run(drill(RecoveryShape(), drill_settings(url, root), url, root))
    write_section(document, section)
    print(section)
    return 0 if "FAILED" not in section else 1


if __name__ == "__main__":
    sys.exit(main())
