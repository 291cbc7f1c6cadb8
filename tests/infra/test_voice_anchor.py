"""Voice anchors: the recording, fetched safely, chooses the voice by its own pitch."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.asset_fetch import FetchLimits, parse_networks
from infra.compose.assets import ReferenceAssets
from infra.compose.render import ComposeOptions, compose
from infra.speech.anchor import anchor_voices
from infra.speech.engines import FliteEngine
from infra.speech.voices import Cast
from schemas.script import DialogueLine, Script, Shot
from tests.infra.asset_server import AssetServer, serving

LOOPBACK = FetchLimits(allowed_networks=parse_networks("127.0.0.1/32"))
LINE = "Who lit the lamp on the pier tonight, and why did nobody see them?"


def _recording(voice: str, directory: Path) -> bytes:
    """Flite speaking LINE: `slt` is a high voice (about 170 Hz), `awb` a low one (125 Hz)."""
    target = directory / f"{voice}.wav"
    subprocess.run(["flite", "-voice", voice, "-t", LINE, "-o", str(target)], check=True)
    return target.read_bytes()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AssetServer]:
    directory = tmp_path_factory.mktemp("anchors")
    low, high = _recording("awb", directory), _recording("slt", directory)
    files = {"/low.wav": low, "/again/low.wav": low, "/high.wav": high, "/text": b"RIFF-no"}
    with serving("127.0.0.1", files) as running:
        yield running


def _bible(server: AssetServer, anchors: dict[str, str]) -> dict[str, Any]:
    descriptions = {
        "char_ann": "She keeps the light.",
        "char_bo": "She rows.",
        "char_cy": "He waits.",
    }
    return {
        "characters": [
            {
                "entityId": entity_id,
                "canonicalName": entity_id.removeprefix("char_").title(),
                "description": descriptions[entity_id],
                **(
                    {"referenceAssets": {"voiceAnchorUrl": server.url(anchors[entity_id])}}
                    if entity_id in anchors
                    else {}
                ),
            }
            for entity_id in descriptions
        ]
    }


async def test_the_recordings_pitch_chooses_the_register_and_its_bytes_the_voice(
    server: AssetServer, tmp_path: Path
) -> None:
    bible = _bible(
        server, {"char_ann": "/low.wav", "char_bo": "/again/low.wav", "char_cy": "/high.wav"}
    )
    present = ["char_ann", "char_bo", "char_cy"]
    heard = await anchor_voices(bible, present, LOOPBACK, tmp_path)
    cast = Cast.of(bible, (), heard)
    ann, bo, cy = (cast.voice(n) for n in ("Ann", "Bo", "Cy"))
    # Described as "she", but the recording is low: the recording wins.
    assert ann.register == "low" and cy.register == "high"
    assert ann == bo  # the same recording at two URLs
    assert ann.key != cy.key and ann.variant < cy.variant
    low_hz, high_hz = (
        heard[server.url("/low.wav")].pitch_hz,
        heard[server.url("/high.wav")].pitch_hz,
    )
    assert low_hz is not None and 95 < low_hz < 150
    assert high_hz is not None and 150 < high_hz < 230
    engine = FliteEngine()
    assert engine.settings(ann)[0].name in ("awb", "kal16")
    assert engine.settings(cy)[0].name == "slt"


async def test_an_anchor_that_cannot_be_had_leaves_the_characters_own_voice(
    server: AssetServer, tmp_path: Path
) -> None:
    bible = _bible(server, {"char_ann": "/low.wav", "char_bo": "/missing.wav", "char_cy": "/text"})
    plain = Cast.of(bible)
    # Loopback is refused without the setting; a 404 and a non-recording are skipped.
    assert await anchor_voices(bible, ["char_ann"], FetchLimits(), tmp_path) == {}
    assert await anchor_voices(bible, ["char_bo", "char_cy"], LOOPBACK, tmp_path) == {}
    assert await anchor_voices(bible, ["char_bo"], None, tmp_path) == {}
    assert plain.voice("Ann").key == "id:char_ann" and plain.voice("Ann").register == "high"
    # Only present characters' anchors are fetched.
    before = len(server.requests)
    assert await anchor_voices(bible, ["char_nobody"], LOOPBACK, tmp_path) == {}
    assert len(server.requests) == before


async def test_a_render_speaks_in_the_anchors_register(server: AssetServer, tmp_path: Path) -> None:
    bible = _bible(server, {"char_ann": "/low.wav"})
    script = Script(
        shots=[
            Shot(
                setting="The pier",
                characters=["Ann"],
                action="",
                dialogue=[DialogueLine(character="Ann", line="Who is there?")],
                duration=2.0,
            )
        ]
    )
    out = (tmp_path / "out.mp4", tmp_path / "thumb.jpg", tmp_path / "captions.vtt")
    options = ComposeOptions(width=160, height=90, fps=12)
    assets = ReferenceAssets(limits=LOOPBACK)
    composed = await compose(script, bible, {}, FliteEngine(), assets, options, tmp_path, out)
    [beat] = composed.narration.dialogue
    assert beat.voice.register == "low" and beat.voice.key.startswith("anchor:")
