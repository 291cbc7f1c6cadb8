"""The built-in ffmpeg video provider: real MP4s from scripts, resumable after a crash."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra.media import probe
from infra.providers.base import ExpansionContext, RenderedVideo, UnknownVideo, VideoRenderer
from infra.providers.local_script import LocalScriptExpander
from infra.providers.local_video import (
    MODEL,
    LocalVideoRenderer,
    palette_for,
)
from schemas.script import DialogueLine, Script, Shot
from tests.factories import minimal_bible

STYLE = minimal_bible()["styleGuide"]
SPECIAL = "He said \"wait\": 100% sure \\ C:\\path\\x %{pts} 'single' 🙂🔥 [x];y,z"


def three_shot_script() -> Script:
    return Script(
        title="The bell",
        shots=[
            Shot(
                setting="The Old Docks",
                characters=["Mara Hart"],
                action="Fog rolls over the docks while Mara waits.",
                dialogue=[DialogueLine(character="Mara Hart", line="Who rang the bell?")],
                duration=2.5,
            ),
            Shot(
                setting="The Bell Tower",
                characters=["Mara Hart", "Jonah"],
                action="Jonah steps from the stairwell.",
                dialogue=[
                    DialogueLine(character="Jonah", line=SPECIAL),
                    DialogueLine(character="Mara Hart", line="Then ring it again: twice."),
                ],
                duration=3.3,
            ),
            Shot(setting="The Old Docks", characters=[], action="The tide turns.", duration=2.1),
        ],
    )


SMALL: dict[str, Any] = {"width": 426, "height": 240, "fps": 12}


def test_is_a_video_renderer() -> None:
    assert isinstance(LocalVideoRenderer(), VideoRenderer)


async def test_renders_a_script_to_mp4_and_thumbnail(tmp_path: Path) -> None:
    script = three_shot_script()
    renderer = LocalVideoRenderer(**SMALL)
    progress: list[float] = []

    async def record(fraction: float) -> None:
        progress.append(fraction)

    video_id = await renderer.submit(script, STYLE, tmp_path / "job")
    video = await renderer.wait(video_id, on_progress=record)

    assert video.mp4 == tmp_path / "job" / "out.mp4"
    assert (video.provider, video.model) == ("local", MODEL)
    assert (video.width, video.height) == (426, 240)
    info = await probe(video.mp4)
    assert (info.video_codec, info.audio_codec, info.width, info.height) == (
        "h264",
        "aac",
        426,
        240,
    )
    assert info.duration == pytest.approx(video.duration, abs=0.1)
    assert video.captions == tmp_path / "job" / "captions.vtt"
    assert video.thumbnail.read_bytes()[:3] == b"\xff\xd8\xff"
    assert progress and progress[-1] == 1.0 and progress == sorted(progress)
    # Only the finished files remain: no partial outputs, no stills, no spoken parts.
    names = sorted(p.name for p in (tmp_path / "job").iterdir())
    assert names == ["captions.vtt", "out.mp4", "render.done.json", "render.json", "thumbnail.jpg"]


async def test_default_output_is_720p(tmp_path: Path) -> None:
    script = Script(shots=[Shot(setting="Docks", action="Short.", duration=2.0)])
    renderer = LocalVideoRenderer()
    video = await renderer.wait(await renderer.submit(script, STYLE, tmp_path))
    info = await probe(video.mp4)
    assert (info.width, info.height, info.frame_rate) == (1280, 720, 24.0)


async def test_an_expanded_script_renders_end_to_end(tmp_path: Path) -> None:
    text = (
        'Mara lit the lantern. "Who\'s there: 100%?" Mara asked. '
        "A stranger named Jonah Reyes stepped out of the fog.\n\n"
        '"Only me \\ nobody," said Jonah.'
    )
    expanded = await LocalScriptExpander().expand(text, ExpansionContext(bible=minimal_bible()))
    renderer = LocalVideoRenderer(**SMALL)
    video = await renderer.wait(await renderer.submit(expanded.script, STYLE, tmp_path))
    assert (await probe(video.mp4)).duration == pytest.approx(video.duration, abs=0.1)
    assert "<v Jonah" in video.captions.read_text()  # type: ignore[union-attr]


async def test_same_script_same_id_and_resume_reuses_the_finished_file(tmp_path: Path) -> None:
    script = three_shot_script()
    first = LocalVideoRenderer(**SMALL)
    video_id = await first.submit(script, STYLE, tmp_path)
    assert video_id == await first.submit(script, STYLE, tmp_path)
    assert video_id != await first.submit(script, {"visualStyle": "noir"}, tmp_path / "other")
    done = await first.wait(video_id)
    stamp = done.mp4.stat().st_mtime_ns, done.mp4.stat().st_ino

    # A new process after a crash: a fresh renderer, the stored id.
    again = LocalVideoRenderer(**SMALL)
    progress: list[float] = []
    assert await again.submit(script, STYLE, tmp_path, resume_id=video_id) == video_id
    resumed = await again.wait(video_id, on_progress=progress.append)
    assert resumed == done
    assert (resumed.mp4.stat().st_mtime_ns, resumed.mp4.stat().st_ino) == stamp
    assert progress == [1.0]


async def test_resume_after_a_crash_mid_render_renders_again(tmp_path: Path) -> None:
    script = three_shot_script()
    renderer = LocalVideoRenderer(**SMALL)
    video_id = await renderer.submit(script, STYLE, tmp_path, resume_id="job-42")
    assert video_id == "job-42"
    # What a SIGKILL mid-encode leaves: the manifest and a partial file, no done marker.
    (tmp_path / ".partial.out.mp4").write_bytes(b"truncated")
    fresh = LocalVideoRenderer(**SMALL)
    await fresh.submit(script, STYLE, tmp_path, resume_id="job-42")
    video = await fresh.wait("job-42")
    assert (await probe(video.mp4)).video_codec == "h264"
    assert json.loads((tmp_path / "render.done.json").read_text())["video_id"] == "job-42"
    assert not (tmp_path / ".partial.out.mp4").exists()


async def test_a_finished_render_of_another_id_is_not_reused(tmp_path: Path) -> None:
    renderer = LocalVideoRenderer(**SMALL)
    short = Script(shots=[Shot(setting="A", action="One.", duration=2.0)])
    longer = Script(
        shots=[Shot(setting="A", action="Two ships pass slowly in the grey night.", duration=2.0)]
    )
    first = await renderer.wait(await renderer.submit(short, STYLE, tmp_path))
    first_duration = first.duration
    video = await renderer.wait(await renderer.submit(longer, STYLE, tmp_path))
    assert video.duration > first_duration + 1.0
    assert (await probe(video.mp4)).duration == pytest.approx(video.duration, abs=0.1)


async def test_unknown_id_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnknownVideo) as caught:
        await LocalVideoRenderer().wait("local-nope")
    assert caught.value.code == "unknown_video" and not caught.value.retryable


def test_palettes_are_deterministic_and_follow_the_style() -> None:
    teal = palette_for({"visualStyle": "desaturated teal-orange, 35mm film grain"})
    noir = palette_for({"visualStyle": "Film NOIR, hard shadows"})
    assert teal.accent == "#f0a35e" and noir.backgrounds[0] == "#101010"
    odd = {"visualStyle": "chalk drawings", "tone": "hopeful", "genre": "fable"}
    assert palette_for(odd) == palette_for(dict(odd))
    assert palette_for(odd) != palette_for({**odd, "visualStyle": "oil on canvas"})
    assert all(len(c) == 7 and c.startswith("#") for c in palette_for(odd).backgrounds)


def test_rendered_video_is_a_plain_record() -> None:
    video = RenderedVideo(Path("a.mp4"), Path("a.jpg"), 1.0, 2, 2, "local", MODEL)
    assert video.duration == 1.0
