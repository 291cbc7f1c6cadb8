"""ffmpeg helpers against the real ffmpeg/ffprobe: render, HLS packaging, probing."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

import ffmpeg
import pytest
from openai import AsyncOpenAI

from infra.media import (
    Caption,
    Card,
    CardStyle,
    MediaError,
    ffmpeg_executable,
    frame_counts,
    hls_args,
    package_hls,
    probe,
    render_cards,
    run_ffmpeg,
)
from infra.providers.local_video import LocalVideoRenderer
from infra.providers.openai_video import OpenAIVideoRenderer
from infra.settings import Settings

SMALL = CardStyle(width=426, height=240)
AWKWARD = "Mara: \"it's 100% done\" \\ C:\\tmp\\x %{pts} %% 'quoted' ; , [a] =b 🙂 ✓\nsecond line"

CARDS = [
    Card(
        2.7,
        "#12343a",
        title="The Old Docks",
        subtitle="Mara Hart · Jonah",
        body="Fog rolls over the docks. " * 12,
        captions=[Caption(0.3, 1.4, "Mara: Who rang the bell?"), Caption(1.5, 2.6, AWKWARD)],
    ),
    Card(3.1, "#2a1a10", title="The Bell Tower: 'up' 50%", body=AWKWARD, tone_hz=247.0),
    Card(1.3, "#0f0f0f", title="", body=""),
]
TOTAL = sum(card.duration for card in CARDS)
Rendered = tuple[Path, Path, list[float]]


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
async def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[float]]:
    out = tmp_path_factory.mktemp("render")
    progress: list[float] = []

    async def record(fraction: float) -> None:
        progress.append(fraction)

    await render_cards(CARDS, out / "out.mp4", out / "thumb.jpg", SMALL, record)
    return out / "out.mp4", out / "thumb.jpg", progress


def test_frame_counts_round_cumulatively() -> None:
    counts = frame_counts([1.01] * 12, 24)
    assert sum(counts) == round(12 * 1.01 * 24)
    assert set(counts) <= {24, 25}
    assert frame_counts([0.001, 0.001], 24) == [1, 1]


async def test_render_gives_h264_aac_of_the_right_size_and_length(rendered: Rendered) -> None:
    mp4, _, progress = rendered
    info = await probe(mp4)
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    assert (info.width, info.height) == (426, 240)
    assert info.frame_rate == pytest.approx(24)
    assert info.duration == pytest.approx(TOTAL, abs=0.2)
    assert progress[-1] == 1.0
    assert progress == sorted(progress) and all(0 <= p <= 1 for p in progress)


async def test_keyframes_every_two_seconds(rendered: Rendered) -> None:
    mp4, _, _ = rendered
    assert await keyframe_times(mp4) == [0.0, 2.0, 4.0, 6.0]


async def test_thumbnail_is_a_jpeg_of_the_first_shot(rendered: Rendered) -> None:
    _, thumb, _ = rendered
    assert thumb.read_bytes()[:3] == b"\xff\xd8\xff"
    info = await probe(thumb)
    assert (info.video_codec, info.width, info.height) == ("mjpeg", 426, 240)


async def test_hls_is_a_stream_copy_vod_playlist(rendered: Rendered, tmp_path: Path) -> None:
    mp4, _, _ = rendered
    package = await package_hls(mp4, tmp_path / "hls", segment_seconds=2)
    text = package.playlist.read_text()
    assert package.playlist.name == "index.m3u8"
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in text and text.rstrip().endswith("#EXT-X-ENDLIST")
    durations = [float(d) for d in re.findall(r"#EXTINF:([\d.]+),", text)]
    assert len(durations) == len(package.segments) == 4
    assert sum(durations) == pytest.approx(TOTAL, abs=0.2)
    assert all(d == pytest.approx(2.0, abs=0.01) for d in durations[:-1])
    assert [p.name for p in package.segments] == [f"seg_{i:03d}.ts" for i in range(4)]
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
    mp4, _, _ = rendered
    out = tmp_path / "hls"
    out.mkdir()
    (out / "seg_099.ts").write_bytes(b"stale")
    package = await package_hls(mp4, out)
    assert sorted(out.glob("seg_*.ts")) == package.segments


async def test_special_characters_render_without_error(tmp_path: Path) -> None:
    card = Card(1.0, "#202020", title=AWKWARD, subtitle=AWKWARD, body=AWKWARD * 5)
    weird_dir = tmp_path / "a dir: with 'quotes', [brackets] & 100%"
    weird_dir.mkdir()
    await render_cards(
        [card], weird_dir / "o.mp4", weird_dir / "t.jpg", CardStyle(width=320, height=180)
    )
    info = await probe(weird_dir / "o.mp4")
    assert info.duration == pytest.approx(1.0, abs=0.1)


async def test_failures_raise_media_error_with_stderr(tmp_path: Path) -> None:
    nowhere = tmp_path / "no-such-dir"
    with pytest.raises(MediaError) as caught:
        await render_cards([Card(1.0, "#000000")], nowhere / "o.mp4", nowhere / "t.jpg", SMALL)
    assert "no-such-dir" in caught.value.stderr
    with pytest.raises(MediaError):
        await probe(tmp_path / "nothing.mp4")
    with pytest.raises(ValueError):
        await render_cards([Card(1.0, "red")], tmp_path / "o.mp4", tmp_path / "t.jpg", SMALL)


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
    long_card = Card(30.0, "#101010", title="long")
    task = asyncio.create_task(
        render_cards(
            [long_card] * 10,
            tmp_path / "o.mp4",
            tmp_path / "t.jpg",
            CardStyle(width=1280, height=720),
            lambda fraction: started.set(),
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
    await render_cards([Card(1.0, "#000000")], mp4, tmp_path / "t.jpg", SMALL, ffmpeg=configured)
    await package_hls(mp4, tmp_path / "hls", ffmpeg=configured)
    assert len(calls.read_text().splitlines()) == 2
    with pytest.raises(OSError):
        await run_ffmpeg(["-version"], ffmpeg=str(tmp_path / "no-such-ffmpeg"))


def test_the_renderers_take_ffmpeg_from_the_settings() -> None:
    settings = Settings(FFMPEG_BINARY="/opt/ffmpeg/bin/ffmpeg")
    assert LocalVideoRenderer.from_settings(settings).options.ffmpeg == "/opt/ffmpeg/bin/ffmpeg"
    remote = OpenAIVideoRenderer.from_settings(settings, AsyncOpenAI(api_key="unused"))
    assert remote.ffmpeg == "/opt/ffmpeg/bin/ffmpeg"
