"""hls.js in headless Chromium, on a page of another origin, plays what the API hands out.

Needs hls.js's `hls.min.js` (the web app's dependency: web/node_modules/hls.js/dist, or the
HLSJS path); skipped without it. Local storage and S3 (moto) alike: the page's origin must
pass the API's and the bucket's CORS rules, the scene's master playlist must play through the
discontinuity, and the subtitles rendition's cues must land where the script puts them.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from infra.settings import ROOT
from tests.infra.media_checks import cues
from tests.worker.processes import free_port
from tests.worker.script_cues import script_dialogue
from tests.worker.test_pipeline_e2e import CONTINUATION, submit, wait_for_end
from tests.worker.test_playback_e2e import (  # noqa: F401 - a fixture
    SECOND,
    Deployment,
    absolute,
    deployment,
)

HLSJS = Path(os.environ.get("HLSJS", ROOT / "web/node_modules/hls.js/dist/hls.min.js"))
PAGE_PORT = free_port()
PAGE_ORIGIN = f"http://localhost:{PAGE_PORT}"

pytestmark = pytest.mark.skipif(
    not HLSJS.is_file() or shutil.which("chromium") is None, reason="needs hls.js and chromium"
)


@pytest.fixture
def cors_origins() -> str:
    return f"https://player.example,{PAGE_ORIGIN}"


@pytest.fixture
def page(tmp_path: Path) -> Iterator[list[str]]:
    """The page served from its own origin; what it reports lands in the yielded list."""
    (tmp_path / "index.html").write_text((Path(__file__).parent / "hlsjs_page.html").read_text())
    shutil.copy(HLSJS, tmp_path / "hls.min.js")
    reports: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the standard library's name
            if self.path.startswith("/result?"):
                reports.append(unquote(self.path.split("?", 1)[1]))
                self.send_response(204)
                self.end_headers()
                return
            super().do_GET()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", PAGE_PORT), partial(Handler, directory=tmp_path))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield reports
    finally:
        server.shutdown()
        thread.join()


async def test_hlsjs_plays_the_scene_with_its_captions(
    deployment: Deployment,  # noqa: F811 - the fixture imported above
    page: list[str],
) -> None:
    d = deployment
    owner = await d.factory.account()
    scene = await d.factory.scene(owner)
    durations, vtts = [], []
    texts = (CONTINUATION, SECOND)
    for text in texts:
        job, _ = await wait_for_end(
            d.client, owner, (await submit(d.client, owner, scene["id"], text))["id"]
        )
        durations.append(job["result_data"]["duration"])
        captions = await d.client.get(absolute(d.base, job["result_data"]["captions_url"]))
        vtts.append((await d.client.get(absolute(d.base, captions.headers["location"]))).text)
    read = (await d.client.get(f"/v1/scenes/{scene['id']}")).json()
    url = f"{PAGE_ORIGIN}/index.html?src={absolute(d.base, read['playlist_url'])}"
    browser = await asyncio.create_subprocess_exec(
        "chromium", "--headless=new", "--no-sandbox", "--disable-gpu",
        "--autoplay-policy=no-user-gesture-required", url,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(300):
            if page:
                break
            await asyncio.sleep(0.1)
    finally:
        browser.terminate()
        await browser.wait()
    assert page, "the page never reported"
    report = json.loads(page[0])
    # Non-fatal ones may come (hls.js skips the hole before a chunk's first sample): no fatal.
    fatal = [line for line in report["log"] if line.startswith("error") and line.endswith(":true")]
    assert not fatal, report
    assert "subtitles:0:true" in report["log"] and "subtitles:1:true" in report["log"]
    assert report["duration"] == pytest.approx(sum(durations), abs=0.5)
    assert report["buffered"] == pytest.approx(sum(durations), abs=0.5)
    assert report["tracks"] == 1
    # Each segment's cues are its script's dialogue, in the speaker's voice, at the segment's
    # start plus the cue's own time in the segment's captions (the first audio sample of a
    # chunk sits a little after its timeline's zero: within a quarter second).
    expected = []
    for start, text, vtt in zip((0.0, durations[0]), texts, vtts, strict=True):
        said = await script_dialogue(text)
        timed = cues(vtt)
        assert said and [(c.speaker, c.text) for c in timed] == said
        expected += [(start + c.start, f"<v {c.speaker}>{c.text}</v>") for c in timed]
    assert [text for _, _, text in report["cues"]] == [text for _, text in expected]
    for (start, _, _), (wanted, _) in zip(report["cues"], expected, strict=True):
        assert wanted <= start <= wanted + 0.25
