"""The continuation pipeline: latency and throughput (polling a job: bench_http).

1. Submit -> final_ready for a ~5-second 720p segment with the built-in providers, against
   ffmpeg alone rendering and packaging the same clip (the same renderer and HLS packager
   called directly, no API, queue or database).
2. Pipeline throughput with an instant video provider (a pre-rendered clip copied into place),
   against arq's own no-op throughput with the same worker settings.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from arq import create_pool
from arq.worker import Worker

from api.app import create_app
from infra.media import package_hls
from infra.providers.base import ExpansionContext, RenderedVideo
from infra.providers.local_script import LocalScriptExpander
from infra.providers.local_video import LocalVideoRenderer
from infra.queue import redis_settings
from infra.settings import Settings
from schemas.script import Script
from tests.benchmarks import table
from tests.benchmarks.support import bench_settings, in_process
from tests.factories import Factory, minimal_bible
from tests.scratch import scratch_database
from tests.worker.running import stop
from worker.main import worker_options
from worker.refill import RefillingWorker

TEXT = "Mara Hart walks to the old docks at dawn. The bell rings once."
LATENCY_RUNS = int(os.environ.get("BENCH_PIPELINE_RUNS", "7"))
THROUGHPUT_JOBS = int(os.environ.get("BENCH_PIPELINE_JOBS", "200"))
# Drains of each side; the table shows the median round (two cores make single runs noisy).
THROUGHPUT_ROUNDS = int(os.environ.get("BENCH_PIPELINE_ROUNDS", "5"))


def _settings(database_url: str, root: Path, **extra: Any) -> Settings:
    # The worker runs with the production defaults unless `extra` says otherwise.
    return bench_settings(database_url, root, MAX_JOBS_IN_FLIGHT=1000, **extra)


class InstantRenderer:
    """A video provider that answers at once with a clip rendered before the clock started."""

    provider, model = "instant", "prerendered"

    def __init__(self, clip: RenderedVideo) -> None:
        self.clip = clip
        self.dirs: dict[str, Path] = {}

    async def submit(
        self,
        script: Script,
        style: Mapping[str, Any],
        out_dir: Path,
        *,
        resume_id: str | None = None,
        bible: Mapping[str, Any] | None = None,
    ) -> str:
        video_id = resume_id or uuid.uuid4().hex
        self.dirs[video_id] = out_dir
        return video_id

    async def wait(self, video_id: str, *, on_progress: Any = None) -> RenderedVideo:
        out = self.dirs[video_id]
        out.mkdir(parents=True, exist_ok=True)
        mp4, thumb = out / "out.mp4", out / "thumbnail.jpg"
        shutil.copyfile(self.clip.mp4, mp4)
        shutil.copyfile(self.clip.thumbnail, thumb)
        return RenderedVideo(
            mp4,
            thumb,
            self.clip.duration,
            self.clip.width,
            self.clip.height,
            self.provider,
            self.model,
        )


async def _platform(settings: Settings, renderer: Any = None):  # noqa: ANN202
    app = create_app(settings)
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    worker = RefillingWorker(**worker_options(settings), handle_signals=False)
    task = asyncio.create_task(worker.async_run())
    while "runtime" not in worker.ctx:
        await asyncio.sleep(0.01)
    if renderer is not None:
        worker.ctx["runtime"].renderer = renderer
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")

    async def close() -> None:
        await client.aclose()
        await stop(worker, task)
        await lifespan.__aexit__(None, None, None)

    return app, client, Factory(app, client), close


async def _submit(
    client: httpx.AsyncClient, headers: dict[str, str], scene_id: str, text: str
) -> str:
    response = await client.post(
        f"/v1/scenes/{scene_id}/continuations",
        json={"text": text},
        headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    response.raise_for_status()
    return response.json()["id"]


async def _until_final(client: httpx.AsyncClient, headers: dict[str, str], job_id: str) -> dict:
    while True:
        job = (await client.get(f"/v1/jobs/{job_id}", headers=headers)).json()
        if job["status"] in {"final_ready", "failed", "cancelled"}:
            if job["status"] != "final_ready":
                raise RuntimeError(f"job ended {job['status']}: {job.get('error_message')}")
            return job
        # Every 50 ms: the poller shares this process with the API and the worker, and a
        # tighter loop takes CPU from the render it is timing (at most 50 ms late, against us).
        await asyncio.sleep(0.05)


async def _latency(database_url: str, root: Path) -> tuple[list[float], list[float], float]:
    settings = _settings(database_url, root)
    app, client, factory, close = await _platform(settings)
    try:
        owner = await factory.account()
        pipeline = []
        for run in range(LATENCY_RUNS + 1):  # the first, a warm-up, is not counted
            scene = await factory.scene(owner)
            started = time.perf_counter()
            job_id = await _submit(client, owner.headers, scene["id"], TEXT)
            job = await _until_final(client, owner.headers, job_id)
            if run:
                pipeline.append(time.perf_counter() - started)
            duration = job["result_data"]["duration"]
    finally:
        await close()
    expanded = await LocalScriptExpander().expand(TEXT, ExpansionContext(bible=minimal_bible()))
    style = minimal_bible()["styleGuide"]
    alone = []
    for run in range(LATENCY_RUNS + 1):  # the same warm-up
        out = root / f"ffmpeg-alone-{run}"
        started = time.perf_counter()
        renderer = LocalVideoRenderer(width=1280, height=720, fps=24)
        video = await renderer.wait(await renderer.submit(expanded.script, style, out))
        await package_hls(video.mp4, out / "hls", 2)
        if run:
            alone.append(time.perf_counter() - started)
    return pipeline, alone, duration


@dataclass(frozen=True)
class Drained:
    seconds: float
    worker_cpu: float  # the worker process's user + system seconds
    children_cpu: float  # its child processes' (ffmpeg)


async def _drain(settings: Settings, renderer: Any = None, kind: type[Worker] = Worker) -> Drained:
    """How long a burst-mode worker takes to empty the queue (jobs enqueued beforehand), and
    the CPU it and its children spent meanwhile."""
    options = worker_options(settings)
    options["cron_jobs"] = []
    if renderer is not None:
        startup = options["on_startup"]

        async def on_startup(ctx: dict[str, Any]) -> None:
            await startup(ctx)
            ctx["runtime"].renderer = renderer

        options["on_startup"] = on_startup
    worker = kind(**options, handle_signals=False, burst=True)
    try:
        before, started = os.times(), time.perf_counter()
        await worker.main()
        seconds, after = time.perf_counter() - started, os.times()
    finally:
        await worker.close()
    return Drained(
        seconds,
        after.user + after.system - before.user - before.system,
        after.children_user + after.children_system - before.children_user - before.children_system,
    )


async def _throughput(database_url: str, root: Path) -> tuple[Drained, Drained, int]:
    """Jobs/s of one worker draining a queue: our pipeline against arq's no-op, same settings.

    Both sides start with their jobs already enqueued (ours submitted through the API, theirs
    with `enqueue_job`), so the clock measures the worker alone. The worker settings are the
    production defaults (WORKER_MAX_JOBS, WORKER_POLL_DELAY) on both sides.
    """
    expanded = await LocalScriptExpander().expand(TEXT, ExpansionContext(bible=minimal_bible()))
    local = LocalVideoRenderer(width=320, height=180, fps=12)
    clip = await local.wait(await local.submit(expanded.script, {}, root / "clip"))
    defaults = Settings()
    worker_knobs = {
        "WORKER_POLL_DELAY": defaults.worker_poll_delay,
        "WORKER_MAX_JOBS": defaults.worker_max_jobs,
    }
    settings = _settings(database_url, root, **worker_knobs)
    async with in_process(settings) as (_, client, factory):
        owner = await factory.account()
        scenes = [await factory.scene(owner) for _ in range(THROUGHPUT_JOBS)]
        ids = [await _submit(client, owner.headers, s["id"], TEXT) for s in scenes]
        pipeline = await _drain(settings, InstantRenderer(clip), RefillingWorker)
        finals = [
            (await client.get(f"/v1/jobs/{job_id}", headers=owner.headers)).json()["status"]
            for job_id in ids
        ]
    if finals.count("final_ready") != THROUGHPUT_JOBS:
        raise RuntimeError(f"not every job reached final_ready: {sorted(set(finals))}")

    noop_settings = _settings(database_url, root, **worker_knobs)
    pool = await create_pool(
        redis_settings(noop_settings), default_queue_name=noop_settings.queue_name
    )
    count = THROUGHPUT_JOBS * 10
    try:
        for _ in range(count):
            await pool.enqueue_job("ping")
        noop = await _drain(noop_settings)
    finally:
        await pool.aclose()
    return pipeline, noop, count


def _median(drains: list[Drained]) -> Drained:
    """The middle drain by duration (the lower middle of an even count)."""
    return sorted(drains, key=lambda d: d.seconds)[(len(drains) - 1) // 2]


def run() -> str:
    defaults = Settings()
    with scratch_database("bench_pipeline") as url, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        pipeline, alone, duration = asyncio.run(_latency(url, root))
        rounds = [
            asyncio.run(_throughput(url, root / f"round-{n}")) for n in range(THROUGHPUT_ROUNDS)
        ]
    p, a = statistics.median(pipeline), statistics.median(alone)
    latency = table(
        ["what", "median", "runs", "ratio"],
        [
            [
                f"submit -> final_ready ({duration:.1f} s clip, 1280x720, 24 fps)",
                f"{p:.2f} s",
                str(len(pipeline)),
                f"{p / a:.2f}x",
            ],
            [
                "ffmpeg alone: render + HLS package, same clip",
                f"{a:.2f} s",
                str(len(alone)),
                "1.00x",
            ],
        ],
    )
    pipe = _median([r[0] for r in rounds])
    noop, noop_jobs = _median([r[1] for r in rounds]), rounds[0][2]
    pipe_rate, noop_rate = THROUGHPUT_JOBS / pipe.seconds, noop_jobs / noop.seconds
    pipe_rates = sorted(THROUGHPUT_JOBS / r[0].seconds for r in rounds)
    noop_rates = sorted(noop_jobs / r[1].seconds for r in rounds)

    def cpu(seconds: float, jobs: int) -> str:
        return f"{seconds / jobs * 1000:.1f} ms"

    def spread(rates: list[float]) -> str:
        return f"{rates[0]:.1f} - {rates[-1]:.1f}"

    throughput = table(
        ["what", "jobs/s (median)", "all rounds", "ratio", "worker CPU/job", "ffmpeg CPU/job"],
        [
            [
                f"pipeline, instant video provider ({THROUGHPUT_JOBS} jobs queued, one worker)",
                f"{pipe_rate:.1f}",
                spread(pipe_rates),
                f"{pipe_rate / noop_rate:.2f}x",
                cpu(pipe.worker_cpu, THROUGHPUT_JOBS),
                cpu(pipe.children_cpu, THROUGHPUT_JOBS),
            ],
            [
                "arq no-op jobs (arq's own Worker), same settings",
                f"{noop_rate:.1f}",
                spread(noop_rates),
                "1.00x",
                cpu(noop.worker_cpu, noop_jobs),
                "-",
            ],
        ],
    )
    return "\n\n".join(
        [
            "## Continuation pipeline",
            f"Worker settings are the production defaults: WORKER_POLL_DELAY "
            f"{defaults.worker_poll_delay} s, WORKER_MAX_JOBS {defaults.worker_max_jobs}; the "
            "worker is `worker.refill.RefillingWorker` (a freed slot or an announced job is taken "
            "at once), the no-op baseline arq's own Worker. Targets: latency under 1.5x of "
            "ffmpeg alone; throughput at least 0.3x of arq no-op.",
            "### Submit -> final_ready against ffmpeg alone",
            latency,
            "### Throughput with an instant video provider",
            f"Both sides drain a queue filled beforehand (ours submitted through the API), so "
            f"the clock measures the worker alone; {THROUGHPUT_ROUNDS} rounds of each, the "
            "median round shown, the ratio of the medians. CPU is the worker process's own "
            "(user + system) and its ffmpeg children's, per job; PostgreSQL's and Redis's come "
            "on top. Each job of ours runs the five stages: a dozen statements on the job's "
            "own connection (stage boundaries commit without waiting for the WAL flush; the "
            "provider's video id and the segment wait for it), an ffmpeg HLS packaging run "
            "(shared by clips that reach it together) and six media files (three MPEG-TS "
            "parts, the playlist, the MP4 and its thumbnail).",
            throughput,
            "Polling a job is measured with wrk beside bare endpoints in `bench_http`.",
        ]
    )
