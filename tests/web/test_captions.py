"""The player's captions toggle against the API's own master playlist and its WebVTT rendition.

The scene's playlist.m3u8 is a master playlist (a video rendition and a subtitles rendition made
from the narrated renderer's captions). Chromium plays HLS natively but shows no subtitles
rendition, so the player hands such a playlist to hls.js; browsers without native HLS use hls.js
from the start. Both paths are driven here against the real media.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from playwright.async_api import BrowserContext, Page, Route, expect

from tests.factories import Factory
from tests.infra.test_scene_export import ffprobe_json
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
    context: BrowserContext,
    page: Page,
    client: httpx.AsyncClient,
    factory: Factory,
    player: str,
    tmp_path: Path,
) -> None:
    owner = await factory.account()
    scene = await factory.scene(owner)
    job = await submit_and_wait(client, owner, scene["id"], CONTINUATION)
    assert job["status"] == "final_ready"
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

    # The finished segment carries one more check each (no second pipeline run for them).
    if player == "hls.js":
        await _a_language_is_picked_among_renditions(page, scene["id"])
    else:
        await _the_download_has_a_chapter_per_segment(page, tmp_path, job["result_data"])


async def showing_languages(page: Page) -> list[str]:
    return await page.evaluate(
        "Array.from(document.querySelector('video').textTracks)"
        ".filter(t => t.mode === 'showing').map(t => t.language)"
    )


async def _a_language_is_picked_among_renditions(page: Page, scene_id: str) -> None:
    """With two subtitles renditions in the master (a second one routed in), a picker beside
    the toggle lists them by name and the chosen one's track is the one showing."""

    async def with_welsh(route: Route) -> None:
        answer = await route.fetch()
        master = await answer.text()
        [english] = [line for line in master.splitlines() if "TYPE=SUBTITLES" in line]
        assert 'LANGUAGE="en",NAME="English"' in english
        welsh = english.replace('LANGUAGE="en",NAME="English"', 'LANGUAGE="cy",NAME="Cymraeg"')
        welsh = welsh.replace('URI="captions.m3u8"', 'URI="captions.m3u8?lang=cy"')
        await route.fulfill(response=answer, body=master.replace(english, f"{english}\n{welsh}"))

    await page.route(f"**/v1/scenes/{scene_id}/playlist.m3u8*", with_welsh)
    await page.reload()
    picker = page.get_by_role("combobox", name="Captions language")
    await expect(picker.get_by_role("option")).to_have_text(["English", "Cymraeg"])
    await page.get_by_role("button", name="Captions off").click()
    await page.wait_for_function(
        "Array.from(document.querySelector('video').textTracks).filter(t => t.mode === "
        "'showing').map(t => t.language).join() === 'en'"
    )
    await picker.select_option("cy")
    await page.wait_for_function(
        "Array.from(document.querySelector('video').textTracks).some(t => t.mode === 'showing'"
        " && t.language === 'cy' && t.cues && t.cues.length)"
    )
    assert await showing_languages(page) == ["cy"]
    assert await page.evaluate("localStorage.getItem('storyloom.captions.language')") == "cy"
    assert await axe_violations(page) == []


async def _the_download_has_a_chapter_per_segment(
    page: Page, tmp_path: Path, segment: dict[str, object]
) -> None:
    """Download MP4 waits out the export's 202s (Retry-After), then the browser saves the
    scene's MP4: a chapter per segment, as long as the segment."""
    async with page.expect_download(timeout=90_000) as downloading:
        await page.get_by_role("button", name="Download MP4").click()
        await expect(
            page.get_by_role("status").filter(has_text="Preparing the video file")
        ).to_be_visible()
    saved = tmp_path / "scene.mp4"
    await (await downloading.value).save_as(saved)
    info = await asyncio.to_thread(ffprobe_json, saved, "-show_chapters")
    [chapter] = info["chapters"]  # the scene has one segment
    assert chapter["tags"]["title"].startswith("1. Mara Hart walks")
    assert float(chapter["end_time"]) == pytest.approx(segment["duration"], abs=0.1)


async def test_no_captions_button_without_a_subtitles_rendition(
    page: Page, factory: Factory
) -> None:
    owner = await factory.account()
    scene = await factory.scene(owner)
    await page.goto(f"/scenes/{scene['id']}")
    await expect(page.get_by_role("heading", level=1, name=scene["title"])).to_be_visible()
    await expect(page.get_by_role("button", name="Captions off")).to_have_count(0)
