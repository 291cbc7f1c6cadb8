"""HLS packaging in batches: calls that overlap share one ffmpeg process ("group commit").

For a short clip, ffmpeg's start-up costs about twice the stream copy itself, and the worker
packages several jobs at once. `HlsPackager` runs one ffmpeg at a time: a call that finds it idle
starts a run at once, and calls that arrive during a run are packaged together by the next one.
Callers await a future of their own while the runs happen in a runner task, so cancelling a
caller never reaches the process its batch shares.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ffmpeg

from infra.logging import get_logger
from infra.media import HlsPackage, MediaError, hls_args, run_ffmpeg

log = get_logger(__name__)

PLAYLIST = "index.m3u8"


@dataclass(frozen=True)
class HlsJob:
    """One clip to package: its MP4, the output directory and the segment length."""

    mp4: Path
    out_dir: Path
    segment_seconds: int = 2


def _hls_output(job: HlsJob, *streams: Any) -> Any:
    # The same options as infra.media.hls_args, so a batched clip matches a lone one on disk.
    return ffmpeg.output(
        *streams,
        str(job.out_dir / PLAYLIST),
        c="copy",
        f="hls",
        hls_time=job.segment_seconds,
        hls_playlist_type="vod",
        hls_list_size=0,
        hls_flags="independent_segments",
        hls_segment_filename=str(job.out_dir / "seg_%03d.ts"),
    )


def hls_batch_args(jobs: Sequence[HlsJob]) -> list[str]:
    """The ffmpeg arguments that package every job in one process."""
    if not jobs:
        raise ValueError("nothing to package")
    if len(jobs) == 1:
        job = jobs[0]
        return hls_args(job.mp4, job.out_dir, job.segment_seconds)
    outputs = []
    for job in jobs:
        source = ffmpeg.input(str(job.mp4))
        # Explicit maps: with several inputs ffmpeg's automatic selection would take the
        # "best" video of all inputs for every output. First video and first audio is what it
        # picks from a lone render (one H.264 and one AAC track).
        outputs.append(_hls_output(job, source["v:0?"], source["a:0?"]))
    return ["-y", *ffmpeg.merge_outputs(*outputs).global_args("-nostdin").get_args()]


def _clear_segments(out_dirs: Sequence[Path]) -> list[OSError | None]:
    errors: list[OSError | None] = []
    for out_dir in out_dirs:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            for stale in out_dir.glob("seg_*.ts"):
                stale.unlink()
        except OSError as exc:
            errors.append(exc)
        else:
            errors.append(None)
    return errors


def _read_packages(out_dirs: Sequence[Path]) -> list[HlsPackage | OSError]:
    results: list[HlsPackage | OSError] = []
    for out_dir in out_dirs:
        playlist = out_dir / PLAYLIST
        try:
            lines = playlist.read_text().splitlines()
        except OSError as exc:
            results.append(exc)
            continue
        segments = [out_dir / line for line in lines if line and not line.startswith("#")]
        results.append(HlsPackage(playlist, segments))
    return results


@dataclass(eq=False)
class _Request:
    job: HlsJob
    future: asyncio.Future[HlsPackage]

    def resolve(self, result: HlsPackage | BaseException) -> None:
        # A cancelled caller has already cancelled its future: nobody is left to tell.
        if self.future.done():
            return
        if isinstance(result, BaseException):
            self.future.set_exception(result)
        else:
            self.future.set_result(result)


class HlsPackager:
    """Packages MP4s as `package_hls` does, several per ffmpeg process when calls overlap."""

    def __init__(self, max_batch: int = 8, *, ffmpeg: str = "") -> None:
        """`ffmpeg` is FFMPEG_BINARY (empty: the bundled build, else PATH's)."""
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._max_batch = max_batch
        self._ffmpeg = ffmpeg
        self._queue: deque[_Request] = deque()
        self._runner: asyncio.Task[None] | None = None
        self._closed = False
        self._runs = 0
        self._clips = 0

    @property
    def runs(self) -> int:
        """ffmpeg processes started so far."""
        return self._runs

    @property
    def clips(self) -> int:
        """Clips packaged successfully so far."""
        return self._clips

    async def package(self, mp4: Path, out_dir: Path, segment_seconds: int = 2) -> HlsPackage:
        """Cut `mp4` into a VOD playlist in `out_dir`, exactly as `package_hls` does."""
        if self._closed:
            raise RuntimeError("HlsPackager is closed")
        future: asyncio.Future[HlsPackage] = asyncio.get_running_loop().create_future()
        self._queue.append(_Request(HlsJob(mp4, out_dir, segment_seconds), future))
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._drain(), name="hls-packager")
        return await future

    async def aclose(self) -> None:
        """Refuse new calls and let queued work finish; cancel it if this wait is cancelled."""
        self._closed = True
        runner = self._runner
        if runner is None or runner.done():
            return
        try:
            # asyncio.wait, not await: the runner's own outcome must not raise here.
            await asyncio.wait([runner])
        except asyncio.CancelledError:
            runner.cancel()
            await asyncio.wait([runner])
            raise

    async def _drain(self) -> None:
        try:
            # No await between an empty queue and returning, so a new call either lands in
            # this loop or sees the runner done and starts another.
            while batch := self._take_batch():
                try:
                    await self._package_batch(batch)
                except Exception as exc:
                    for request in batch:
                        request.resolve(exc)
        except BaseException:
            for request in self._queue:
                request.future.cancel()
            self._queue.clear()
            raise

    def _take_batch(self) -> list[_Request]:
        batch: list[_Request] = []
        deferred: list[_Request] = []
        out_dirs: set[str] = set()
        while self._queue and len(batch) < self._max_batch:
            request = self._queue.popleft()
            if request.future.done():
                continue
            key = os.path.abspath(request.job.out_dir)
            if key in out_dirs:
                # Two outputs into one directory would overwrite each other's segments.
                deferred.append(request)
            else:
                out_dirs.add(key)
                batch.append(request)
        self._queue.extendleft(reversed(deferred))
        return batch

    async def _package_batch(self, batch: list[_Request]) -> None:
        try:
            await self._run(batch)
        except MediaError:
            # Which clip broke the run is unknown: each alone, so only its caller sees the error.
            await asyncio.gather(*(self._package_alone(r) for r in batch if not r.future.done()))
        except asyncio.CancelledError:
            for request in batch:
                request.future.cancel()
            raise

    async def _package_alone(self, request: _Request) -> None:
        try:
            await self._run([request])
        except Exception as exc:
            # Kept inside: an error out of gather would leave the sibling runs orphaned.
            request.resolve(exc)

    async def _run(self, requests: list[_Request]) -> None:
        """One ffmpeg process for `requests`; raises MediaError only if it had several."""
        # Inline, not in a thread: a handful of unlinks in a directory of its own.
        cleared = _clear_segments([r.job.out_dir for r in requests])
        ready: list[_Request] = []
        for request, error in zip(requests, cleared, strict=True):
            if error is None:
                ready.append(request)
            else:
                request.resolve(error)
        if not ready:
            return
        self._runs += 1
        started = time.perf_counter()
        try:
            await run_ffmpeg(hls_batch_args([r.job for r in ready]), ffmpeg=self._ffmpeg)
        except MediaError as exc:
            log.debug("hls_run", clips=len(ready), ok=False, seconds=_since(started))
            if len(ready) > 1:
                raise
            ready[0].resolve(exc)
            return
        log.debug("hls_run", clips=len(ready), ok=True, seconds=_since(started))
        packages = _read_packages([r.job.out_dir for r in ready])  # small text files
        for request, package in zip(ready, packages, strict=True):
            request.resolve(package)
            if isinstance(package, HlsPackage):
                self._clips += 1


def _since(started: float) -> float:
    return round(time.perf_counter() - started, 4)


def chunk_durations(playlist: Path) -> list[float]:
    """The EXTINF duration of each chunk of a media playlist ffmpeg wrote, in order."""
    durations = []
    for line in playlist.read_text().splitlines():
        if line.startswith("#EXTINF:"):
            durations.append(float(line[len("#EXTINF:") :].split(",", 1)[0]))
    return durations


async def start_pts(chunk: Path) -> int:
    """The first timestamp of an MPEG-TS chunk, in 90 kHz ticks.

    ffmpeg's mpegts muxer does not start at zero (its mux delay shifts everything by 1.4 s,
    plus the codecs' own delays), and a player maps WebVTT cue times onto the video through
    this value (the captions' X-TIMESTAMP-MAP).
    """
    process = await asyncio.create_subprocess_exec(
        "ffprobe", "-v", "error", "-show_entries", "format=start_time", "-of", "csv=p=0",
        str(chunk),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    if process.returncode != 0:
        raise MediaError(f"ffprobe failed on {chunk}", err.decode(errors="replace"))
    try:
        return round(float(out.decode().strip()) * 90_000)
    except ValueError as exc:
        raise MediaError(f"no start time in {chunk}", out.decode(errors="replace")) from exc


def timed_captions(source: Path, target: Path, mpegts: int) -> Path:
    """`source` WebVTT with X-TIMESTAMP-MAP after its header: cue time 0 is PTS `mpegts`."""
    lines = source.read_text(encoding="utf-8-sig").splitlines()
    if not lines or not lines[0].startswith("WEBVTT"):
        raise MediaError(f"{source} is not a WebVTT file")
    body = [line for line in lines[1:] if not line.startswith("X-TIMESTAMP-MAP")]
    header = [lines[0], f"X-TIMESTAMP-MAP=MPEGTS:{mpegts},LOCAL:00:00:00.000"]
    target.write_text("\n".join([*header, *body]) + "\n", encoding="utf-8")
    return target
