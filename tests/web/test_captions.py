"""The player's captions toggle against the API's own master playlist and its WebVTT rendition.

The scene's playlist.m3u8 is a master playlist (a video rendition and a subtitles rendition made
from the narrated renderer's captions). Chromium plays HLS natively but shows no subtitles
rendition, so the player hands such a playlist to hls.js; browsers without native HLS use hls.js
from the start. Both paths are driven here against the real media.
"""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import BrowserContext, Page, expect

from tests.factories import Factory
from tests.web.conftest import axe_violations
from tests.web.test_watch_and_write import CONTINUATION, submit_and_wait

NO_NATIVE_HLS = (
    "const native = HTMLMediaElement.prototype.canPlayType;"
    "HTMLMediaElement.prototype.canPlayType = function (type) {"
    " return /mpegurl/i.test(type) ? '' : native.call(this, type); };"
)


async def track_modes(page: Page) -> list[str]:
    return await page.evaluate(
        "Array.from(document.querySelector('video').textTracks)"
        ".filter(t => t.kind === 'subtitles' || t.kind === 'captions').map(t => t.mode)"
    )


@pytest.mark.parametrize("player", ["hls.js", "native"])
@pytest.mark.usefixtures("worker")
async def test_the_captions_toggle_shows_and_hides_the_subtitles_rendition(
    context: BrowserContext, page: Page, client: httpx.AsyncClient, factory: Factory, player: str
) -> None:
    owner = await factory.account()
    scene = await factory.scene(owner)
    assert (await submit_and_wait(client, owner, scene["id"], CONTINUATION))["status"] == (
        "final_ready"
    )
    master = (await client.get(f"/v1/scenes/{scene['id']}/playlist.m3u8")).text
    assert "TYPE=SUBTITLES" in master and "#EXT-X-STREAM-INF" in master
    if player == "hls.js":  # the path of browsers without native HLS
        await context.add_init_script(NO_NATIVE_HLS)
    await page.goto(f"/scenes/{scene['id']}")
    toggle = page.get_by_role("button", name="Captions off")
    await expect(toggle).to_be_visible()
    assert "showing" not in await track_modes(page)
    await toggle.click()
    await expect(page.get_by_role("button", name="Captions on")).to_have_attribute(
        "aria-pressed", "true"
    )
    await page.wait_for_function(
        "Array.from(document.querySelector('video').textTracks).some(t => t.mode === 'showing')"
    )
    # The narrated line arrives as a cue of the showing track, and the video itself plays.
    await page.wait_for_function(
        "Array.from(document.querySelector('video').textTracks).some(t => t.mode === 'showing'"
        " && t.cues && Array.from(t.cues).some(c => c.text.includes('Who rang the bell?')))"
    )
    await expect(page.get_by_role("alert")).to_have_count(0)
    assert await page.evaluate("document.querySelector('video').error") is None
    assert await axe_violations(page) == []
    await page.get_by_role("button", name="Captions on").click()
    await page.wait_for_function(
        "!Array.from(document.querySelector('video').textTracks).some(t => t.mode === 'showing')"
    )
    # The choice is remembered for the next scene page.
    assert await page.evaluate("localStorage.getItem('storyloom.captions')") == "off"


async def test_no_captions_button_without_a_subtitles_rendition(
    page: Page, factory: Factory
) -> None:
    owner = await factory.account()
    scene = await factory.scene(owner)
    await page.goto(f"/scenes/{scene['id']}")
    await expect(page.get_by_role("heading", level=1, name=scene["title"])).to_be_visible()
    await expect(page.get_by_role("button", name="Captions off")).to_have_count(0)
