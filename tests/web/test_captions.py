"""The player's captions toggle against a master playlist with a WebVTT subtitles rendition.

The storage area is turning the scene playlist into such a master playlist; until it lands,
this test serves one in front of the real media (Playwright routes), so the player's side is
proven now against the shape HLS defines.
"""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import BrowserContext, Page, Route, expect

from tests.factories import Factory
from tests.web.conftest import axe_violations
from tests.web.test_watch_and_write import CONTINUATION, submit_and_wait

SUBTITLES = """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:30
#EXT-X-PLAYLIST-TYPE:VOD
#EXTINF:30.000,
/captions-test.vtt
#EXT-X-ENDLIST
"""
VTT = """WEBVTT

00:00.000 --> 00:30.000
Mara Hart: Who rang the bell?
"""
NO_NATIVE_HLS = (
    "const native = HTMLMediaElement.prototype.canPlayType;"
    "HTMLMediaElement.prototype.canPlayType = function (type) {"
    " return /mpegurl/i.test(type) ? '' : native.call(this, type); };"
)


async def serve_master_playlist(context: BrowserContext, scene_id: str) -> None:
    async def master(route: Route) -> None:
        if "variant=1" in route.request.url:
            await route.continue_()
            return
        body = (
            "#EXTM3U\n"
            '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",LANGUAGE="en",'
            'DEFAULT=NO,AUTOSELECT=NO,URI="/captions-test.m3u8"\n'
            '#EXT-X-STREAM-INF:BANDWIDTH=400000,RESOLUTION=320x180,SUBTITLES="subs"\n'
            f"/v1/scenes/{scene_id}/playlist.m3u8?variant=1\n"
        )
        await route.fulfill(body=body, content_type="application/vnd.apple.mpegurl")

    await context.route(f"**/v1/scenes/{scene_id}/playlist.m3u8*", master)
    await context.route(
        "**/captions-test.m3u8",
        lambda route: route.fulfill(body=SUBTITLES, content_type="application/vnd.apple.mpegurl"),
    )
    await context.route(
        "**/captions-test.vtt", lambda route: route.fulfill(body=VTT, content_type="text/vtt")
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
    await serve_master_playlist(context, scene["id"])
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
