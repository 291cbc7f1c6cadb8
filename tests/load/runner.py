"""The load test's run and its report (docs/LOAD.md); `python -m tests.load` runs it.

LOAD_SECONDS (default 30) is the measured window; LOAD_POLLERS, LOAD_SUBMITTERS and
LOAD_BROWSERS size the crowd; LOAD_DOCUMENT sends the report elsewhere.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
import uuid
from pathlib import Path

import httpx

from infra.settings import Settings
from tests.benchmarks import machine, ms, percentile, table
from tests.benchmarks.support import process_cpu_seconds
from tests.load.scenario import EXPECTED, Recorder, Shape, Stack, World, build_world, drive

ROOT = Path(__file__).resolve().parents[2]


# The load test's section of docs/LOAD.md: the drills write sections of their own below it.
BEGIN, END = "<!-- load-test -->", "<!-- /load-test -->"


def shape_from_env() -> Shape:
    return Shape(
        seconds=float(os.environ.get("LOAD_SECONDS", "30")),
        warmup=float(os.environ.get("LOAD_WARMUP_SECONDS", "3")),
        pollers=int(os.environ.get("LOAD_POLLERS", "100")),
        submitters=int(os.environ.get("LOAD_SUBMITTERS", "4")),
        browsers=int(os.environ.get("LOAD_BROWSERS", "10")),
        browse_pause=0.5,
    )


def load_settings(database_url: str, root: Path) -> Settings:
    return Settings(
        STORYLOOM_ENV="test",
        DATABASE_URL=database_url,
        OPENAI_API_KEY=None,
        S3_BUCKET=None,
        QUEUE_NAME=f"storyloom:load:{uuid.uuid4().hex[:8]}",
        MEDIA_DIR=root / "media",
        WORK_DIR=root / "work",
        LOG_LEVEL="INFO",
        LOG_JSON=True,
        WORKER_MAX_JOBS=4,
        VIDEO_WIDTH=320,
        VIDEO_HEIGHT=180,
        VIDEO_FPS=12,
    )


def _ms(seconds: float) -> str:
    return ms(seconds, digits=1)


def _p50_p99(samples: list[float]) -> tuple[str, str]:
    ordered = sorted(samples)
    return _ms(percentile(ordered, 0.5)), _ms(percentile(ordered, 0.99))


def results_table(rec: Recorder, window: float) -> str:
    rows = []
    everything: list[float] = []
    for kind in EXPECTED:
        samples = rec.samples.get(kind, [])
        if not samples:
            continue
        everything += samples
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(rec.statuses.get(kind, {}).items()))
        count = [str(len(samples)), f"{len(samples) / window:.1f}"]
        rows.append([kind, *count, *_p50_p99(samples), str(rec.errors.get(kind, 0)), statuses])
    if everything:
        count = [str(len(everything)), f"{len(everything) / window:.1f}"]
        rows.append(["**all**", *count, *_p50_p99(everything), str(sum(rec.errors.values())), ""])
    header = ["request kind", "requests", "req/s", "p50", "p99", "errors", "statuses"]
    return table(header, rows)


def cpu_line(rec: Recorder) -> str:
    """The API process's CPU per request over the window (user + system, /proc)."""
    served = sum(len(samples) for samples in rec.samples.values())
    if rec.api_cpu_seconds is None or not served:
        return "CPU per request of the API process: not measured."
    per_request = rec.api_cpu_seconds / served * 1e6
    return (
        f"CPU per request of the API process: {per_request:,.0f} us "
        f"({rec.api_cpu_seconds:.2f} s of user + system time over the {served} requests of "
        "the window, the mix above)."
    )


def api_log_summary(log_path: Path) -> str:
    """What the API's own request log says about every request it served."""
    durations = []
    for line in log_path.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("event") == "request":
            durations.append(float(entry["duration_ms"]) / 1000)
    if not durations:
        return "The API's request log holds no request lines."
    p50, p99 = _p50_p99(durations)
    return (
        f"The API's own request log (every request it served, warm-up included): "
        f"{len(durations)} requests, p50 {p50}, p99 {p99}."
    )


async def metrics_summary(base: str, world: World) -> str:
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        started = time.perf_counter()
        response = await client.get("/metrics", headers=world.admin)
        elapsed = time.perf_counter() - started
    if response.status_code != 200:
        return f"`GET /metrics` right after: {response.status_code}."
    requests = depth = 0.0
    for line in response.text.splitlines():
        if line.startswith("storyloom_http_request_duration_seconds_count{"):
            requests += float(line.rsplit(" ", 1)[1])
        elif line.startswith("storyloom_queue_depth "):
            depth = float(line.rsplit(" ", 1)[1])
    return (
        f"`GET /metrics` right after: answered in {_ms(elapsed)}, counting {requests:.0f} "
        f"requests; arq queue depth {depth:.0f}."
    )


def shape_lines(shape: Shape) -> list[str]:
    return [
        f"- {shape.pollers} users poll their own job every second with `If-None-Match` (a job "
        "parked as cancelled, so that the worker renders only the submitters' jobs; the poll "
        "reads it as it reads any job).",
        f"- {shape.submitters} users each submit a continuation, poll it every second until it "
        "ends, and submit the next (one in flight each, under MAX_JOBS_IN_FLIGHT).",
        f"- {shape.browsers} users browse: scene list, a scene, its segments, idea list, an "
        f"idea, pausing {shape.browse_pause} s after each page.",
        f"- Measured for {shape.seconds:.0f} s after a {shape.warmup:.0f} s warm-up. An error is "
        "any status outside the kind's expected ones (poll: 200/304, submit: 202, browse: 200) "
        "or a transport failure.",
    ]


async def run(shape: Shape, settings: Settings, log_dir: Path) -> tuple[str, int]:
    # The in-process app that writes the world logs quietly; the API under test at INFO.
    world = await build_world(settings.model_copy(update={"log_level": "WARNING"}), shape)
    stack = Stack(settings, log_dir)
    try:
        await stack.wait_ready()
        rec, window = await drive(
            stack.base, world, shape, lambda: process_cpu_seconds(stack.api.pid)
        )
        metrics = await metrics_summary(stack.base, world)
    finally:
        stack.stop()
    errors = sum(rec.errors.values())
    jobs = ", ".join(f"{k}: {v}" for k, v in sorted(rec.jobs.items())) or "none"
    lines = [
        BEGIN,
        "# Load test",
        "",
        "Generated by `make load` (`python -m tests.load`); do not edit by hand. Everything runs",
        "on this one machine over loopback: the load generator (one Python process, httpx, one",
        "keep-alive connection per simulated user), the API (one uvicorn process, JSON request",
        "logs at INFO), one arq worker (niced; WORKER_MAX_JOBS=4, 320x180 renders) and the local",
        "PostgreSQL and Redis. They all share the machine's cores, and so does anything else",
        "running at the time (see the load average).",
        "",
        *machine(),
        f"- Date: {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}",
        "- Command: `make load` (`python -m tests.load`)",
        "",
        "## Shape",
        "",
        *shape_lines(shape),
        "",
        "## Results",
        "",
        results_table(rec, window),
        "",
        cpu_line(rec),
        "",
        f"{api_log_summary(stack.api.log_path)} {metrics}",
        "",
        f"Errors: {errors}. Continuations during the run: {jobs}.",
    ]
    if rec.error_examples:
        lines += ["", "First errors:", "", *(f"- `{e}`" for e in rec.error_examples)]
    return "\n".join([*lines, END]) + "\n", errors
