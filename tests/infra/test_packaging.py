"""The batching HLS packager with the real ffmpeg: package_hls output, fewer processes."""

from __future__ import annotations

import asyncio
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra.media import (
    HlsPackage,
    MediaError,
    hls_args,
    package_hls,
    probe,
)
from infra.packaging import (
    HlsJob,
    HlsPackager,
    chunk_durations,
    hls_batch_args,
    start_pts,
    timed_captions,
)
from tests.infra.sample_media import sample_mp4

# Keyframes every second, so 2 s segments cut where asked.
TINY: dict[str, Any] = {"size": (320, 180), "fps": 12, "keyframe_seconds": 1}
DURATIONS = [1.5, 2.5, 3.0, 3.5, 4.5, 5.0]
COLOURS = ["#102030", "#203040", "#304050", "#405060", "#506070", "#607080"]


@dataclass(frozen=True)
class Clip:
    mp4: Path
    duration: float
    reference: HlsPackage  # what package_hls made of it

    @property
    def segment_count(self) -> int:
        return math.ceil(self.duration / 2)


@pytest.fixture(scope="module")
async def clips(tmp_path_factory: pytest.TempPathFactory) -> list[Clip]:
    root = tmp_path_factory.mktemp("clips")

    async def make(index: int, duration: float) -> Clip:
        mp4 = root / f"clip{index}.mp4"
        await sample_mp4(mp4, duration, colour=COLOURS[index], tone_hz=220.0 + 20 * index, **TINY)
        reference = await package_hls(mp4, root / f"reference{index}")
        return Clip(mp4, duration, reference)

    return list(await asyncio.gather(*(make(i, d) for i, d in enumerate(DURATIONS))))


def segment_durations(playlist: Path) -> list[float]:
    return [float(d) for d in re.findall(r"#EXTINF:([\d.]+),", playlist.read_text())]


def assert_same_as_reference(package: HlsPackage, clip: Clip, out_dir: Path) -> None:
    """The packager's output is package_hls's, file for file."""
    assert package.playlist == out_dir / "index.m3u8"
    assert package.playlist.read_text() == clip.reference.playlist.read_text()
    assert [p.name for p in package.segments] == [p.name for p in clip.reference.segments]
    assert [p.parent for p in package.segments] == [out_dir] * len(package.segments)
    for ours, theirs in zip(package.segments, clip.reference.segments, strict=True):
        assert ours.read_bytes() == theirs.read_bytes()
    assert sorted(out_dir.glob("seg_*.ts")) == package.segments


async def test_one_call_packages_like_package_hls(clips: list[Clip], tmp_path: Path) -> None:
    clip = clips[3]
    packager = HlsPackager()
    package = await packager.package(clip.mp4, tmp_path / "hls")
    await packager.aclose()

    text = package.playlist.read_text()
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in text and text.rstrip().endswith("#EXT-X-ENDLIST")
    assert "#EXT-X-INDEPENDENT-SEGMENTS" in text
    assert [p.name for p in package.segments] == [
        f"seg_{i:03d}.ts" for i in range(clip.segment_count)
    ]
    assert sum(segment_durations(package.playlist)) == pytest.approx(clip.duration, abs=0.1)
    info = await probe(package.playlist)
    assert info.duration == pytest.approx(clip.duration, abs=0.15)
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    assert_same_as_reference(package, clip, tmp_path / "hls")
    assert (packager.runs, packager.clips) == (1, 1)


def test_a_lone_clip_runs_the_package_hls_command(tmp_path: Path) -> None:
    job = HlsJob(tmp_path / "a.mp4", tmp_path / "out", 4)
    assert hls_batch_args([job]) == hls_args(job.mp4, job.out_dir, 4)
    args = hls_batch_args([job, HlsJob(tmp_path / "b.mp4", tmp_path / "out2")])
    assert args.count("-i") == 2 and args.count("hls") == 2
    with pytest.raises(ValueError):
        hls_batch_args([])


async def test_concurrent_calls_share_ffmpeg_and_keep_their_own_output(
    clips: list[Clip], tmp_path: Path
) -> None:
    packager = HlsPackager()
    outs = [tmp_path / f"hls{i}" for i in range(len(clips))]
    packages = await asyncio.gather(
        *(packager.package(c.mp4, out) for c, out in zip(clips, outs, strict=True))
    )
    await packager.aclose()

    assert packager.runs < len(clips)
    assert packager.clips == len(clips)
    for package, clip, out in zip(packages, clips, outs, strict=True):
        assert len(package.segments) == clip.segment_count
        assert sum(segment_durations(package.playlist)) == pytest.approx(clip.duration, abs=0.1)
        assert_same_as_reference(package, clip, out)


async def test_a_larger_clip_in_the_run_stays_in_its_own_output(
    clips: list[Clip], tmp_path: Path
) -> None:
    # ffmpeg's automatic stream choice takes the largest video of all inputs: every output
    # needs its own explicit map.
    wide = tmp_path / "wide.mp4"
    await sample_mp4(wide, 4.0, colour="#aa3300", **{**TINY, "size": (480, 270)})
    packager = HlsPackager()
    small, large = await asyncio.gather(
        packager.package(clips[0].mp4, tmp_path / "small"),
        packager.package(wide, tmp_path / "large"),
    )
    await packager.aclose()
    assert packager.runs == 1
    assert_same_as_reference(small, clips[0], tmp_path / "small")
    info = await probe(large.playlist)
    assert (info.width, info.height) == (480, 270)
    assert info.duration == pytest.approx(4.0, abs=0.15)


async def test_max_batch_caps_each_run(clips: list[Clip], tmp_path: Path) -> None:
    packager = HlsPackager(max_batch=2)
    packages = await asyncio.gather(
        *(packager.package(c.mp4, tmp_path / f"hls{i}") for i, c in enumerate(clips))
    )
    await packager.aclose()
    assert packager.runs == 3
    for i, (package, clip) in enumerate(zip(packages, clips, strict=True)):
        assert_same_as_reference(package, clip, tmp_path / f"hls{i}")
    with pytest.raises(ValueError):
        HlsPackager(max_batch=0)


async def test_one_clip_into_two_directories_in_one_run(clips: list[Clip], tmp_path: Path) -> None:
    packager = HlsPackager()
    first, second = await asyncio.gather(
        packager.package(clips[2].mp4, tmp_path / "a"),
        packager.package(clips[2].mp4, tmp_path / "b"),
    )
    await packager.aclose()
    assert packager.runs == 1
    assert_same_as_reference(first, clips[2], tmp_path / "a")
    assert_same_as_reference(second, clips[2], tmp_path / "b")


async def test_calls_into_one_directory_never_share_a_run(
    clips: list[Clip], tmp_path: Path
) -> None:
    packager = HlsPackager()
    out = tmp_path / "hls"
    first, second = await asyncio.gather(
        packager.package(clips[5].mp4, out), packager.package(clips[0].mp4, out)
    )
    await packager.aclose()
    assert packager.runs == 2
    assert len(first.segments) == clips[5].segment_count
    assert_same_as_reference(second, clips[0], out)


async def test_a_corrupt_clip_fails_alone(clips: list[Clip], tmp_path: Path) -> None:
    bad = tmp_path / "corrupt.mp4"
    bad.write_bytes(os.urandom(8192))
    packager = HlsPackager()
    results = await asyncio.gather(
        packager.package(clips[0].mp4, tmp_path / "good0"),
        packager.package(bad, tmp_path / "bad"),
        packager.package(clips[4].mp4, tmp_path / "good4"),
        return_exceptions=True,
    )
    await packager.aclose()

    assert isinstance(results[1], MediaError)
    assert "corrupt.mp4" in results[1].stderr
    assert isinstance(results[0], HlsPackage) and isinstance(results[2], HlsPackage)
    assert_same_as_reference(results[0], clips[0], tmp_path / "good0")
    assert_same_as_reference(results[2], clips[4], tmp_path / "good4")
    # The shared run failed, then each clip ran alone.
    assert (packager.runs, packager.clips) == (4, 2)


async def test_a_lone_corrupt_clip_raises_media_error(tmp_path: Path) -> None:
    bad = tmp_path / "corrupt.mp4"
    bad.write_bytes(os.urandom(8192))
    packager = HlsPackager()
    with pytest.raises(MediaError):
        await packager.package(bad, tmp_path / "bad")
    await packager.aclose()
    assert (packager.runs, packager.clips) == (1, 0)


def packager_tasks() -> list[asyncio.Task[object]]:
    return [
        task
        for task in asyncio.all_tasks()
        if not task.done() and task.get_name() == "hls-packager"
    ]


async def wait_for_first_run(packager: HlsPackager) -> None:
    async with asyncio.timeout(10):
        while packager.runs == 0:
            await asyncio.sleep(0.001)


async def test_a_caller_cancelled_during_its_run_leaves_the_others_alone(
    clips: list[Clip], tmp_path: Path
) -> None:
    packager = HlsPackager()
    tasks = [
        asyncio.create_task(packager.package(clips[i].mp4, tmp_path / f"hls{i}")) for i in range(3)
    ]
    await wait_for_first_run(packager)
    tasks[1].cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    await packager.aclose()

    assert isinstance(results[1], asyncio.CancelledError)
    for i in (0, 2):
        assert_same_as_reference(results[i], clips[i], tmp_path / f"hls{i}")  # type: ignore[arg-type]
    assert packager.runs == 1
    assert packager_tasks() == []
    await packager.aclose()  # twice is fine


async def test_a_caller_cancelled_while_queued_is_skipped(
    clips: list[Clip], tmp_path: Path
) -> None:
    packager = HlsPackager(max_batch=1)
    tasks = [
        asyncio.create_task(packager.package(clips[i].mp4, tmp_path / f"hls{i}")) for i in range(3)
    ]
    await asyncio.sleep(0)  # every call is queued; the first run has not started
    tasks[1].cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    await packager.aclose()

    assert isinstance(results[1], asyncio.CancelledError)
    assert not (tmp_path / "hls1").exists()
    for i in (0, 2):
        assert_same_as_reference(results[i], clips[i], tmp_path / f"hls{i}")  # type: ignore[arg-type]
    assert packager.runs == 2


async def test_aclose_waits_for_queued_work_then_refuses_calls(
    clips: list[Clip], tmp_path: Path
) -> None:
    packager = HlsPackager()
    tasks = [
        asyncio.create_task(packager.package(clips[i].mp4, tmp_path / f"hls{i}")) for i in range(2)
    ]
    await asyncio.sleep(0)
    await packager.aclose()
    assert packager_tasks() == []
    assert all(task.done() for task in tasks)
    for i, task in enumerate(tasks):
        assert_same_as_reference(task.result(), clips[i], tmp_path / f"hls{i}")
    with pytest.raises(RuntimeError, match="closed"):
        await packager.package(clips[0].mp4, tmp_path / "late")


async def test_cancelling_aclose_cancels_the_run(clips: list[Clip], tmp_path: Path) -> None:
    packager = HlsPackager()
    tasks = [
        asyncio.create_task(packager.package(clips[i].mp4, tmp_path / f"hls{i}")) for i in range(2)
    ]
    await wait_for_first_run(packager)
    closing = asyncio.create_task(packager.aclose())
    await asyncio.sleep(0)
    closing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await closing
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, asyncio.CancelledError) for r in results)
    assert packager_tasks() == []


async def test_repackaging_replaces_stale_segments(clips: list[Clip], tmp_path: Path) -> None:
    out = tmp_path / "hls"
    out.mkdir()
    (out / "seg_099.ts").write_bytes(b"stale")
    packager = HlsPackager()
    longer = await packager.package(clips[5].mp4, out)
    assert sorted(out.glob("seg_*.ts")) == longer.segments
    shorter = await packager.package(clips[0].mp4, out)
    await packager.aclose()
    assert len(longer.segments) > len(shorter.segments)
    assert_same_as_reference(shorter, clips[0], out)


# Captions beside the chunks: what a player needs to line cues up with the video.


async def test_a_chunk_starts_where_ffmpeg_says_and_the_durations_are_read_back(
    clips: list[Clip], tmp_path: Path
) -> None:
    clip = clips[4]  # 4.5 s
    package = await HlsPackager().package(clip.mp4, tmp_path / "hls")
    assert chunk_durations(package.playlist) == segment_durations(package.playlist)
    assert sum(chunk_durations(package.playlist)) == pytest.approx(clip.duration, abs=0.1)
    pts = await start_pts(package.segments[0])
    # The mpegts muxer's 1.4 s mux delay, plus at most a few frames of codec delay: the
    # MP4's own timeline starts at zero.
    assert (await probe(clip.mp4)).duration == pytest.approx(clip.duration, abs=0.1)
    assert 1.4 * 90_000 <= pts <= 1.8 * 90_000
    later = await start_pts(package.segments[1])
    assert later - pts == pytest.approx(2 * 90_000, abs=0.2 * 90_000)  # the second chunk


def test_timed_captions_put_the_timestamp_map_after_the_header(tmp_path: Path) -> None:
    source = tmp_path / "in.vtt"
    source.write_text(
        "\ufeffWEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000\n\n"
        "00:00:00.500 --> 00:00:01.000\n<v Mara>Who rang?\n",
        encoding="utf-8",
    )
    out = timed_captions(source, tmp_path / "out.vtt", 138_910).read_text(encoding="utf-8")
    assert out.splitlines()[:2] == ["WEBVTT", "X-TIMESTAMP-MAP=MPEGTS:138910,LOCAL:00:00:00.000"]
    assert out.count("X-TIMESTAMP-MAP") == 1 and "<v Mara>Who rang?" in out
    bogus = tmp_path / "bogus.vtt"
    bogus.write_text("1\n00:00:00,500 --> 00:00:01,000\nnot WebVTT\n")
    with pytest.raises(MediaError):
        timed_captions(bogus, tmp_path / "x.vtt", 0)
