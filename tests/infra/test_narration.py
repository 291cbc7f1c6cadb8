"""The built-in renderer speaks and captions: checked on what ffmpeg reads back from its files."""

from __future__ import annotations

import statistics
from array import array
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from infra.media import probe
from infra.providers.local_video import LocalVideoRenderer
from infra.settings import Settings
from infra.speech.engines import FliteEngine
from infra.speech.timeline import (
    GAP_SECONDS,
    LEAD_SECONDS,
    MAX_SHOT_SECONDS,
    TAIL_SECONDS,
    narrate,
    webvtt,
)
from infra.speech.voices import Cast, Voice
from schemas.script import DialogueLine, Script, Shot
from tests.factories import minimal_bible
from tests.infra.media_checks import cues, difference, frame_at, mean_volume

BIBLE = minimal_bible()
BIBLE["characters"].append(
    {
        "entityId": "char_jonah",
        "canonicalName": "Jonah Reyes",
        "aliases": ["Jonah"],
        "description": "He keeps the bell.",
        "isActive": True,
    }
)
STYLE = BIBLE["styleGuide"]
SMALL: dict[str, Any] = {"width": 320, "height": 180, "fps": 12}


def dialogue_script() -> Script:
    return Script(
        title="The bell",
        shots=[
            Shot(
                setting="The Old Docks",
                characters=["Mara Hart"],
                action="Fog rolls over the docks.",
                dialogue=[DialogueLine(character="Mara", line="Who rang the bell at this hour?")],
                duration=9.0,
            ),
            Shot(
                setting="The Bell Tower",
                characters=["Mara Hart", "Jonah"],
                action="",
                dialogue=[
                    DialogueLine(character="Jonah", line="I did <twice> & --> again."),
                    DialogueLine(character="Mara Hart", line="Then ring it once more."),
                ],
                duration=1.0,
            ),
        ],
    )


@pytest.fixture(scope="module")
async def rendered(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    out = tmp_path_factory.mktemp("narrated")
    renderer = LocalVideoRenderer(**SMALL)
    video = await renderer.wait(await renderer.submit(dialogue_script(), STYLE, out, bible=BIBLE))
    return video, out


async def test_the_audio_is_speech_where_lines_are_spoken(rendered) -> None:  # noqa: ANN001
    video, _ = rendered
    spoken = cues(video.captions.read_text())
    louder = [mean_volume(video.mp4, c.start + 0.05, c.end - 0.05) for c in spoken]
    # The lead-in before the narrator's first word carries only the quiet score.
    quiet = mean_volume(video.mp4, 0.0, LEAD_SECONDS - 0.1)
    assert all(level > -32 for level in louder), louder
    assert all(level > quiet + 10 for level in louder), (louder, quiet)
    assert quiet > -80  # ...which is there, not digital silence


async def test_the_score_is_ducked_under_speech(tmp_path: Path) -> None:
    """The same render with the voices left out of the mix (they still key the compressor):
    what is left is the score alone, quieter under a spoken line than in the lead-in."""
    renderer = LocalVideoRenderer(**SMALL)
    renderer.options = replace(renderer.options, mix_voice=False)
    video = await renderer.wait(
        await renderer.submit(dialogue_script(), STYLE, tmp_path, bible=BIBLE)
    )
    assert video.captions is not None
    spoken = cues(video.captions.read_text())
    gap = mean_volume(video.mp4, 0.0, LEAD_SECONDS - 0.1)  # before the narrator's first word
    under = [mean_volume(video.mp4, c.start + 0.1, c.end - 0.1) for c in spoken]
    assert gap > -60, gap  # the score is there in the gap...
    assert all(level < gap - 10 for level in under), (gap, under)  # ...and ducked under lines


async def test_cues_are_the_dialogue_with_speakers_inside_the_video(rendered) -> None:  # noqa: ANN001
    video, _ = rendered
    duration = (await probe(video.mp4)).duration
    found = cues(video.captions.read_text())
    assert [(c.speaker, c.text) for c in found] == [
        ("Mara Hart", "Who rang the bell at this hour?"),
        ("Jonah Reyes", "I did &lt;twice&gt; &amp; --&gt; again."),
        ("Mara Hart", "Then ring it once more."),
    ]
    assert all(0 < c.start < c.end <= duration for c in found)
    assert all(a.end <= b.start for a, b in zip(found, found[1:], strict=False))


async def test_the_picture_moves_within_a_shot_and_cuts_between_shots(
    rendered,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    video, _ = rendered
    found = cues(video.captions.read_text())
    second_shot = found[1].start - LEAD_SECONDS  # Jonah opens shot two
    early = frame_at(video.mp4, 0.1, tmp_path / "a.png")
    later = frame_at(video.mp4, second_shot - 0.3, tmp_path / "b.png")
    next_shot = frame_at(video.mp4, second_shot + 0.2, tmp_path / "c.png")
    assert difference(early, later) > 2.0  # the camera moved over the same still
    assert difference(later, next_shot) > difference(early, later)  # a cut to a new setting


async def test_burn_in_is_off_by_default_and_a_lower_third_when_on(
    rendered,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    assert Settings().burn_in_captions is False
    video, _ = rendered
    burned = LocalVideoRenderer(**SMALL, burn_in_captions=True)
    with_text = await burned.wait(
        await burned.submit(dialogue_script(), STYLE, tmp_path / "burned", bible=BIBLE)
    )
    at = cues(video.captions.read_text())[0].start + 0.3
    plain = frame_at(video.mp4, at, tmp_path / "plain.png")
    text = frame_at(with_text.mp4, at, tmp_path / "text.png")
    w, h = plain.size
    lower = difference(plain, text, (0, int(h * 0.78), w, h))
    above = difference(plain, text, (0, 0, w, int(h * 0.5)))  # the same picture, but for noise
    assert lower > 8 and lower > 4 * above, (lower, above)


async def test_a_character_keeps_one_voice_across_segments_of_a_scene() -> None:
    engine = FliteEngine()
    line = "Who rang the bell at this hour?"

    def segment(speaker: str, other: str) -> Script:
        return Script(
            shots=[
                Shot(
                    setting="The Old Docks",
                    action=other,
                    dialogue=[DialogueLine(character=speaker, line=line)],
                    duration=2.0,
                )
            ]
        )

    # Segment two comes after a bible edit: Mara's description changed, a character was added.
    later = {**BIBLE, "characters": [dict(c) for c in BIBLE["characters"]]}
    later["characters"][0]["description"] = "The ferry keeper, older now."
    later["characters"].append({"entityId": "x", "canonicalName": "Ada", "isActive": True})

    async def spoken(bible: dict, speaker: str, other: str) -> bytes:
        narration = await narrate(segment(speaker, other), Cast.of(bible), engine, 12)
        [beat] = narration.dialogue
        rate = narration.sample_rate
        return narration.pcm[round(beat.start * rate) * 2 : round(beat.end * rate) * 2]

    first = await spoken(BIBLE, "Mara Hart", "Fog rolls in.")
    second = await spoken(later, "Mara", "The tide turns against the pier.")
    jonah = await spoken(BIBLE, "Jonah", "Fog rolls in.")
    assert first == second and len(first) > 8000
    assert jonah != first
    cast = Cast.of(BIBLE)
    assert engine.voice_name(cast.voice("Mara")) != engine.voice_name(cast.voice("Jonah"))


async def test_shots_last_as_long_as_their_speech() -> None:
    script = dialogue_script()  # shot one is scripted at 9 s, shot two at 1 s
    narration = await narrate(script, Cast.of(BIBLE), FliteEngine(), 12)
    for index, timing in enumerate(narration.shots):
        beats = [b for b in narration.beats if b.shot == index]
        speech = sum(b.end - b.start for b in beats)
        need = LEAD_SECONDS + speech + GAP_SECONDS * (len(beats) - 1) + TAIL_SECONDS
        assert timing.duration == pytest.approx(need, abs=1 / 12)
        assert beats[-1].end <= timing.start + timing.duration
    assert narration.shots[0].duration < 9.0 and narration.shots[1].duration > 1.0
    assert narration.duration == pytest.approx(sum(t.duration for t in narration.shots))
    assert webvtt(narration).count(" --> ") == 3


async def test_a_shot_never_outgrows_the_scripts_limit() -> None:
    long_line = " ".join(["The tide came in and the tide went out again."] * 30)
    script = Script(
        shots=[
            Shot(
                setting="The Old Docks",
                action="",
                dialogue=[
                    DialogueLine(character="Mara", line="Listen."),
                    DialogueLine(character="Jonah", line=long_line),
                    DialogueLine(character="Mara", line="Enough."),
                ],
                duration=5.0,
            )
        ]
    )
    narration = await narrate(script, Cast.of(BIBLE), FliteEngine(), 12)
    assert narration.duration <= MAX_SHOT_SECONDS
    assert [b.text for b in narration.beats] == ["Listen.", "Enough."]


def _pitch(pcm: bytes, rate: int) -> float:
    """Median F0 in Hz of the voiced 40 ms frames, by autocorrelation (coarse but steady)."""
    samples = array("h", pcm)
    size, found = int(0.04 * rate), []
    for start in range(0, len(samples) - size, size):
        frame = samples[start : start + size]
        if sum(v * v for v in frame[::4]) / (size / 4) < 1e6:
            continue  # silence or a consonant
        best, lag_at = 0, 0
        for lag in range(rate // 400, rate // 60):
            score = sum(frame[i] * frame[i + lag] for i in range(0, size - lag, 4))
            if score > best:
                best, lag_at = score, lag
        if lag_at:
            found.append(rate / lag_at)
    return statistics.median(found)


async def test_characters_on_one_flite_voice_speak_at_their_own_pitch() -> None:
    engine = FliteEngine()
    voices = [Voice(f"id:c{n}", "low", 0) for n in range(60)]
    by_setting = {engine.settings(v): v for v in voices}
    awb = sorted((s for s in by_setting if s[0].name == "awb"), key=lambda s: s[1])
    low, high = by_setting[awb[0]], by_setting[awb[-1]]
    assert awb[0][1] < awb[-1][1]
    text = "Hello there, my old friend."
    ratio = _pitch(await engine.speak(text, high), 16_000) / _pitch(
        await engine.speak(text, low), 16_000
    )
    assert ratio == pytest.approx(awb[-1][1] / awb[0][1], rel=0.12)
