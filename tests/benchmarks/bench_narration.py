"""Narrated segments: submit -> final_ready against the same work done by hand, and speed.

1. Submit -> final_ready for a narrated ~5 s 720p segment with the built-in providers (Flite
   speech, composed moving frames, captions), with local storage and with S3 (moto's server
   over HTTP), against the same render and HLS packaging by hand: the same Flite voices, the
   same stills and the same ffmpeg commands called directly, no API, queue, database or storage.
2. Render speed against real time: seconds of video per second of wall clock for the render
   alone (speech, stills, encode), at 1280x720 and 24 fps.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import boto3

from infra.compose.assets import ReferenceAssets
from infra.compose.render import ComposeOptions, compose
from infra.media import package_hls
from infra.providers.base import ExpansionContext
from infra.providers.local_script import LocalScriptExpander
from infra.settings import Settings
from infra.speech.engines import FliteEngine
from tests.benchmarks import table
from tests.benchmarks.bench_pipeline import _platform, _settings, _submit, _until_final
from tests.factories import minimal_bible
from tests.infra.moto_server import DUMMY_CREDENTIALS, moto_server
from tests.scratch import scratch_database

# Read aloud, this comes to about five seconds: the narrator's sentence and Mara's question.
TEXT = 'Mara Hart walks to the old docks at dawn. "Who is there?" Mara asks.'
RUNS = int(os.environ.get("BENCH_NARRATION_RUNS", "5"))


async def _pipeline(settings: Settings) -> tuple[list[float], float]:
    _, client, factory, close = await _platform(settings)
    seconds, duration = [], 0.0
    try:
        owner = await factory.account()
        for run in range(RUNS + 1):  # the first, a warm-up, is not counted
            scene = await factory.scene(owner)
            started = time.perf_counter()
            job_id = await _submit(client, owner.headers, scene["id"], TEXT)
            job = await _until_final(client, owner.headers, job_id)
            if run:
                seconds.append(time.perf_counter() - started)
            duration = job["result_data"]["duration"]
    finally:
        await close()
    return seconds, duration


async def _by_hand(root: Path) -> tuple[list[float], list[float], float]:
    bible = minimal_bible()
    expanded = await LocalScriptExpander().expand(TEXT, ExpansionContext(bible=bible))
    options = ComposeOptions(width=1280, height=720, fps=24)
    total, render, duration = [], [], 0.0
    for run in range(RUNS + 1):
        out = root / f"by-hand-{run}"
        started = time.perf_counter()
        composed = await compose(
            expanded.script,
            bible,
            bible["styleGuide"],
            FliteEngine(),
            ReferenceAssets(),
            options,
            out / "parts",
            (out / "out.mp4", out / "thumbnail.jpg", out / "captions.vtt"),
        )
        rendered = time.perf_counter()
        await package_hls(composed.mp4, out / "hls", 2)
        if run:
            total.append(time.perf_counter() - started)
            render.append(rendered - started)
        duration = composed.duration
    return total, render, duration


def run() -> str:
    # boto3 reads these; moto accepts any credentials.
    os.environ.update(DUMMY_CREDENTIALS)
    with scratch_database("bench_narration") as url, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        local, duration = asyncio.run(_pipeline(_settings(url, root / "local")))
        with moto_server() as endpoint:
            bucket = f"bench-{uuid.uuid4().hex[:8]}"
            boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
            s3_settings = _settings(url, root / "s3", S3_BUCKET=bucket, S3_ENDPOINT_URL=endpoint)
            s3, _ = asyncio.run(_pipeline(s3_settings))
        hand, render, hand_duration = asyncio.run(_by_hand(root / "hand"))
    h = statistics.median(hand)
    rows = []
    for label, samples in (("local storage", local), ("S3 (moto server, HTTP)", s3)):
        p = statistics.median(samples)
        rows.append(
            [
                f"submit -> final_ready, {label} ({duration:.1f} s clip, 1280x720, 24 fps)",
                f"{p:.2f} s",
                str(len(samples)),
                f"{p / h:.2f}x",
            ]
        )
    rows.append(
        [
            "by hand: Flite + stills + ffmpeg render, HLS package",
            f"{h:.2f} s",
            str(len(hand)),
            "1.00x",
        ]
    )
    latency = table(["what", "median", "runs", "ratio"], rows)
    r = statistics.median(render)
    speed = table(
        ["what", "median wall", "video", "speed"],
        [
            [
                "render alone: speech (Flite), stills (Pillow), encode (x264 ultrafast)",
                f"{r:.2f} s",
                f"{hand_duration:.2f} s",
                f"{hand_duration / r:.1f}x real time",
            ]
        ],
    )
    return "\n\n".join(
        [
            "## Narrated segments",
            "The built-in renderer with production defaults (1280x720, 24 fps, "
            "VIDEO_X264_PRESET ultrafast, captions as WebVTT, no burn-in). Targets: under 1.5x "
            "of the same work by hand; rendering at least 3x faster than real time.",
            "### Submit -> final_ready against the same render and package by hand",
            latency,
            "### Render speed",
            speed,
        ]
    )
