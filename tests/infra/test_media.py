"""ffmpeg helpers against the real ffmpeg/ffprobe: what the built-in renderer encodes, HLS
packaging, probing, running and cancelling ffmpeg."""

from __future__ import annotations

import asyncio
import math
import os
import re
from pathlib import Path

import ffmpeg
import pytest
from openai import AsyncOpenAI

from infra.media import (
    MediaError,
    ffmpeg_executable,
    frame_counts,
    hls_args,
    package_hls,
    probe,
    run_ffmpeg,
)
from infra.providers.base import RenderedVideo
from infra.providers.local_video import LocalVideoRenderer
from infra.providers.openai_video import OpenAIVideoRenderer
from infra.settings import Settings
from tests.factories import minimal_bible
from tests.infra.sample_media import sample_mp4
from tests.infra.test_local_video import three_shot_script

BIBLE = minimal_bible()
Rendered = tuple[RenderedVideo, list[float]]


async def output_of(*args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode()


async def video_md5(source: Path) -> str:
    """MD5 of the decoded video frames: equal only if no frame was re-encoded."""
    return await output_of(
        "ffmpeg", "-v", "error", "-i", str(source), "-map", "0:v:0",
        "-fps_mode", "passthrough", "-f", "md5", "-",
    )  # fmt: skip


async def keyframe_times(source: Path) -> list[float]:
    data = await asyncio.to_thread(
        ffmpeg.probe,
        str(source),
        select_streams="v",
        skip_frame="nokey",
        show_entries="frame=pts_time",
    )
    return [round(float(frame["pts_time"]), 3) for frame in data["frames"]]


@pytest.fixture(scope="module")
async def rendered(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    """The built-in renderer's output (its own defaults: 24 fps, a keyframe every 2 s)."""
    out = tmp_path_factory.mktemp("render")
    progress: list[float] = []

    async def record(fraction: float) -> None:
        progress.append(fraction)

    renderer = LocalVideoRenderer(width=426, height=240)
    video_id = await renderer.submit(three_shot_script(), BIBLE["styleGuide"], out, bible=BIBLE)
    return await renderer.wait(video_id, on_progress=record), progress


def test_frame_counts_round_cumulatively() -> None:
    counts = frame_counts([1.01] * 12, 24)
    assert sum(counts) == round(12 * 1.01 * 24)
    assert set(counts) <= {24, 25}
    assert frame_counts([0.001, 0.001], 24) == [1, 1]


async def test_render_gives_h264_aac_of_the_right_size_and_length(rendered: Rendered) -> None:
    video, progress = rendered
    info = await probe(video.mp4)
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    assert (info.width, info.height) == (426, 240)
    assert info.frame_rate == pytest.approx(24)
    assert info.duration == pytest.approx(video.duration, abs=0.1)
    assert video.duration > 4.0  # long enough for the keyframe and HLS checks below
    assert progress[-1] == 1.0
    assert progress == sorted(progress) and all(0 <= p <= 1 for p in progress)


async def test_keyframes_every_two_seconds(rendered: Rendered) -> None:
    video, _ = rendered
    expected = [float(t) for t in range(0, math.ceil(video.duration), 2)]
    assert await keyframe_times(video.mp4) == expected


async def test_thumbnail_is_a_jpeg_of_the_frame_size(rendered: Rendered) -> None:
    video, _ = rendered
    thumb = video.thumbnail
    assert thumb.read_bytes()[:3] == b"\xff\xd8\xff"
    info = await probe(thumb)
    assert (info.video_codec, info.width, info.height) == ("mjpeg", 426, 240)


async def test_hls_is_a_stream_copy_vod_playlist(rendered: Rendered, tmp_path: Path) -> None:
    mp4, total = rendered[0].mp4, rendered[0].duration
    count = math.ceil(total / 2)
    package = await package_hls(mp4, tmp_path / "hls", segment_seconds=2)
    text = package.playlist.read_text()
    assert package.playlist.name == "index.m3u8"
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in text and text.rstrip().endswith("#EXT-X-ENDLIST")
    durations = [float(d) for d in re.findall(r"#EXTINF:([\d.]+),", text)]
    assert len(durations) == len(package.segments) == count
    assert sum(durations) == pytest.approx(total, abs=0.2)
    assert all(d == pytest.approx(2.0, abs=0.01) for d in durations[:-1])
    assert [p.name for p in package.segments] == [f"seg_{i:03d}.ts" for i in range(count)]
    assert all(p.is_file() and p.stat().st_size > 0 for p in package.segments)

    args = hls_args(mp4, tmp_path / "hls")
    assert args[args.index("-c") + 1] == "copy"
    source, packaged = await probe(mp4), await probe(package.segments[0])
    assert (packaged.video_codec, packaged.video_profile) == ("h264", source.video_profile)
    assert packaged.audio_codec == "aac"
    # Decoded frames are bit-identical: the segments carry the MP4's own frames.
    assert await video_md5(package.playlist) == await video_md5(mp4)


async def test_packaging_again_replaces_the_old_segments(
    rendered: Rendered, tmp_path: Path
) -> None:
    mp4 = rendered[0].mp4
    out = tmp_path / "hls"
    out.mkdir()
    (out / "seg_099.ts").write_bytes(b"stale")
    package = await package_hls(mp4, out)
    assert sorted(out.glob("seg_*.ts")) == package.segments


async def test_failures_raise_media_error_with_stderr(tmp_path: Path) -> None:
    nowhere = tmp_path / "no-such-dir"
    with pytest.raises(MediaError) as caught:
        await sample_mp4(nowhere / "o.mp4", 1.0)
    assert "no-such-dir" in caught.value.stderr
    with pytest.raises(MediaError):
        await probe(tmp_path / "nothing.mp4")


def ffmpeg_children() -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        if name.startswith("ffmpeg") and parent == os.getpid():  # the static build: ffmpeg-linux-…
            children.append(int(entry.name))
    return children


async def test_cancelling_kills_ffmpeg(tmp_path: Path) -> None:
    started = asyncio.Event()
    long_encode = ["-f", "lavfi", "-i", "testsrc2=s=1280x720:r=24:d=300", "-c:v", "libx264"]
    task = asyncio.create_task(
        run_ffmpeg(
            [*long_encode, "-y", str(tmp_path / "o.mp4")],
            ffmpeg="",
            expected_seconds=300,
            on_progress=lambda fraction: started.set(),
        )
    )
    await asyncio.wait_for(started.wait(), timeout=60)
    assert ffmpeg_children()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert ffmpeg_children() == []


async def test_run_ffmpeg_reports_a_bad_command() -> None:
    with pytest.raises(MediaError, match="exited with"):
        await run_ffmpeg(["-i", "/nonexistent/input.mp4", "-f", "null", "-"], ffmpeg="")


async def test_the_configured_ffmpeg_is_the_one_that_runs(tmp_path: Path) -> None:
    calls = tmp_path / "calls"
    wrapper = tmp_path / "ffmpeg-wrapper"
    wrapper.write_text(f'#!/bin/sh\necho "$@" >> {calls}\nexec {ffmpeg_executable()} "$@"\n')
    wrapper.chmod(0o755)
    configured = Settings(FFMPEG_BINARY=str(wrapper)).ffmpeg_binary
    mp4 = tmp_path / "o.mp4"
    await sample_mp4(mp4, 1.0, ffmpeg=configured)
    await package_hls(mp4, tmp_path / "hls", ffmpeg=configured)
    assert len(calls.read_text().splitlines()) == 2
    with pytest.raises(OSError):
        await run_ffmpeg(["-version"], ffmpeg=str(tmp_path / "no-such-ffmpeg"))


def test_the_renderers_take_ffmpeg_from_the_settings() -> None:
    settings = Settings(FFMPEG_BINARY="/opt/ffmpeg/bin/ffmpeg")
    assert LocalVideoRenderer.from_settings(settings).options.ffmpeg == "/opt/ffmpeg/bin/ffmpeg"
    remote = OpenAIVideoRenderer.from_settings(settings, AsyncOpenAI(api_key="unused"))
    assert remote.ffmpeg == "/opt/ffmpeg/bin/ffmpeg"
