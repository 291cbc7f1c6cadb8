"""Through the real worker: the segment a viewer streams speaks, timed to its speech."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from infra.media import probe
from infra.providers.base import ExpansionContext
from infra.providers.local_script import LocalScriptExpander
from infra.speech.engines import FliteEngine
from infra.speech.timeline import narrate
from infra.speech.voices import Cast
from tests.factories import Factory, minimal_bible
from tests.infra.media_checks import mean_volume
from tests.worker.test_pipeline_e2e import CONTINUATION, submit, wait_for_end


@pytest.mark.usefixtures("worker")
async def test_a_continuation_streams_as_a_narrated_segment(
    client: httpx.AsyncClient, factory: Factory, http_base: str
) -> None:
    owner = await factory.account()
    scene = await factory.scene(owner)
    job, _ = await wait_for_end(
        client, owner, (await submit(client, owner, scene["id"], CONTINUATION))["id"]
    )
    assert job["status"] == "final_ready", job
    result = job["result_data"]
    playlist = http_base + result["hls_playlist_url"].removeprefix(http_base)
    info = await probe(playlist)
    assert info.audio_codec == "aac"
    # In a thread: ffmpeg reads the playlist from the API served on this event loop.
    loudness = await asyncio.to_thread(mean_volume, playlist, 0.0, info.duration)
    assert loudness > -32  # voices all through, not a tone at a few percent of full scale

    # The segment lasts as long as the speech of its script (the local expander is
    # deterministic, so the same script is spoken here again).
    bible = minimal_bible()
    expanded = await LocalScriptExpander().expand(CONTINUATION, ExpansionContext(bible=bible))
    spoken = await narrate(expanded.script, Cast.of(bible), FliteEngine(), 12)
    assert result["duration"] == pytest.approx(spoken.duration, abs=0.05)
    assert spoken.duration != pytest.approx(expanded.script.duration, abs=0.5)
