"""Watch and write in a browser: continue a scene, follow the job live, play the new segment."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from playwright.async_api import BrowserContext, Page, Route, expect

from tests.api.test_scenes import add_segment
from tests.factories import PASSWORD, Account, Factory, unique
from tests.web.conftest import (
    DESKTOP,
    assert_fits_a_phone,
    axe_violations,
    screenshot,
    sign_in,
    tab_to,
)

CONTINUATION = (
    "Mara Hart walks down to The Old Docks as the fog rolls in. "
    '"Who rang the bell?" Mara asks the empty pier.'
)


async def submit_and_wait(
    client: httpx.AsyncClient, account: Account, scene_id: str, text: str
) -> dict[str, Any]:
    """A continuation through the API, waited for until the worker ends it."""
    response = await client.post(
        f"/v1/scenes/{scene_id}/continuations",
        json={"text": text},
        headers={**account.headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert response.status_code == 202, response.text
    job = response.json()
    for _ in range(600):
        job = (await client.get(f"/v1/jobs/{job['id']}", headers=account.headers)).json()
        if job["status"] in {"final_ready", "failed", "cancelled"}:
            break
        await asyncio.sleep(0.1)
    return job


async def register_in_page(page: Page) -> str:
    name = unique("writer")
    await page.goto("/register")
    await page.get_by_label("Email").fill(f"{name}@example.com")
    await page.get_by_label("Username").fill(name)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    await expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name=name)
    ).to_be_visible()
    return name


async def api_account(client: httpx.AsyncClient, username: str) -> Account:
    tokens = (
        await client.post("/v1/auth/login", json={"login": username, "password": PASSWORD})
    ).json()
    me = (
        await client.get(
            "/v1/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
    ).json()
    return Account(
        id=me["id"],
        username=username,
        email=me["email"],
        role=me["role"],
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )


async def play_muted(page: Page) -> None:
    """Plays the settled player muted until its time advances. The play() promise is not
    awaited: an evaluate has no timeout, and that promise may wait for as long as the media
    does; the time advancing (with a timeout) is what a person sees."""
    await page.wait_for_function(
        "(v => v.dataset.engine && v.readyState >= 1)(document.querySelector('video'))"
    )
    await page.evaluate(
        "() => { const v = document.querySelector('video'); v.muted = true;"
        " v.play().catch(() => {}); }"
    )
    await page.wait_for_function(
        "document.querySelector('video').currentTime > 0.5", timeout=20_000
    )


async def video_state(page: Page) -> dict[str, float | int | None]:
    return await page.evaluate(
        "() => { const v = document.querySelector('video');"
        " return {time: v.currentTime, error: v.error && v.error.code, duration: v.duration,"
        " ready: v.readyState}; }"
    )


@pytest.mark.usefixtures("worker")
async def test_a_new_writer_continues_a_scene_and_watches_it_play(
    page: Page, context: BrowserContext, client: httpx.AsyncClient, factory: Factory
) -> None:
    username = await register_in_page(page)
    topic = await factory.topic()
    # The new writer posts an idea and starts a scene from it through their forms.
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="New idea").click()
    await expect(page.get_by_role("heading", name="New idea")).to_be_visible()
    assert await axe_violations(page) == []
    await assert_fits_a_phone(page)
    await page.set_viewport_size(DESKTOP)
    await page.get_by_label("Topic").select_option(label=topic["name"])
    await page.get_by_label("Title").fill(unique("The harbour bell "))
    await page.get_by_label("Prompt").fill("Someone rings the harbour bell every foggy night.")
    await page.get_by_role("button", name="Create idea").click()
    await expect(page.get_by_role("heading", name="New scene")).to_be_visible()
    await assert_fits_a_phone(page)
    await page.set_viewport_size(DESKTOP)
    scene_title = unique("The bell at the docks ")
    await page.get_by_label("Scene title").fill(scene_title)
    await page.get_by_label("Description", exact=True).fill("Fog rolls over the docks.")
    await page.get_by_label("Character 1 name").fill("Mara Hart")
    await page.get_by_label("Character 1 description").fill("The ferry keeper.")
    await page.get_by_label("Location").fill("The Old Docks")
    await page.get_by_label("Time period").fill("Late industrial era")
    await page.get_by_label("Tone").fill("melancholic")
    await page.get_by_label("Genre").fill("gaslamp mystery")
    await page.get_by_label("Visual style").fill("teal-orange")
    await page.get_by_role("button", name="Create scene").click()
    await expect(page.get_by_role("heading", level=1, name=scene_title)).to_be_visible()
    scene_id = page.url.rsplit("/", 1)[-1]
    writer = await api_account(client, username)
    assert (await client.get(f"/v1/scenes/{scene_id}")).json()["user_id"] == writer.id

    await expect(page.get_by_text("No video yet")).to_be_visible()
    await expect(page.get_by_text("Mara Hart").first).to_be_visible()  # the bible beside it
    assert await axe_violations(page) == []

    await page.evaluate("window.__sameDocument = true")  # gone if the page ever reloads
    box = page.get_by_label("What happens next?")
    await tab_to(page, box)  # the keyboard alone reaches the continue box
    await page.keyboard.type(CONTINUATION)
    submit = page.get_by_role("button", name="Continue the scene")
    # A double click sends one key: the server makes one job, whatever reaches it.
    await submit.dblclick()
    status = page.get_by_role("status").filter(has_text="Ready to watch")
    await expect(page.locator(".job progress")).to_be_visible()
    await screenshot(page, "continue")
    await expect(status).to_be_visible(timeout=120_000)
    await expect(page.locator(".job progress")).to_have_attribute("value", "100")

    jobs = (await client.get("/v1/users/me/jobs", headers=writer.headers)).json()["items"]
    assert len(jobs) == 1 and jobs[0]["status"] == "final_ready"

    # The page gained the segment without a reload: the player and the list show it.
    await expect(page.locator("video")).to_be_visible()
    assert await page.evaluate("window.__sameDocument === true")
    story = page.get_by_role("region", name="The story so far")
    await expect(story.get_by_text("Who rang the bell?")).to_be_visible()
    await expect(story.get_by_text(username)).to_be_visible()
    await play_muted(page)
    state = await video_state(page)
    assert state["error"] is None, state
    # Playing counted one view; liking says so at once.
    views = 0
    for _ in range(50):  # the view is posted when playback starts; give it a moment to land
        views = (await client.get(f"/v1/scenes/{scene_id}")).json()["view_count"]
        if views:
            break
        await asyncio.sleep(0.1)
    assert views == 1
    await expect(page.get_by_text("1 view", exact=False).first).to_be_visible()
    # The keyboard alone reaches Like and Report.
    await tab_to(page, page.get_by_role("button", name="Like"))
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("button", name="♥ Liked · 1")).to_be_visible()
    await tab_to(page, page.get_by_role("button", name="Report this scene"))
    await page.get_by_role("button", name="History and changes").click()
    await expect(page.get_by_text("v2").first).to_be_visible()
    await expect(page.locator(".diff li").first).to_be_visible()
    await screenshot(page, "scene")
    assert await axe_violations(page) == []
    await assert_fits_a_phone(page)
    await screenshot(page, "scene-phone")

    # Discover shows the scene with its first segment's thumbnail, loaded.
    await page.set_viewport_size({"width": 1280, "height": 860})
    await page.goto("/")
    cover = page.get_by_role("region", name="New").locator(f'a[href="/scenes/{scene_id}"] img')
    await expect(cover).to_be_visible()
    assert await cover.evaluate("img => img.complete && img.naturalWidth > 0")


async def test_a_retry_after_a_lost_answer_sends_the_same_key_and_makes_one_job(
    context: BrowserContext, page: Page, client: httpx.AsyncClient, factory: Factory
) -> None:
    writer = await factory.account()
    scene = await factory.scene(writer)
    await sign_in(context, writer)
    keys: list[str] = []
    made: list[str] = []

    async def lose_the_first_answer(route: Route) -> None:
        keys.append(route.request.headers["idempotency-key"])
        if len(keys) > 1:
            await route.continue_()
            return
        answer = await route.fetch()  # the server takes it and makes the job...
        assert answer.status == 202, await answer.text()
        made.append((await answer.json())["id"])
        await route.abort("connectionreset")  # ...but the answer never reaches the page

    await page.route(f"**/v1/scenes/{scene['id']}/continuations", lose_the_first_answer)
    await page.goto(f"/scenes/{scene['id']}")
    await page.get_by_label("What happens next?").fill(CONTINUATION)
    submit = page.get_by_role("button", name="Continue the scene")
    await submit.click()
    await expect(page.get_by_role("alert")).to_contain_text("Check your connection and try again")
    await submit.click()  # the person tries again with the same text
    await expect(page.get_by_text("Waiting in line")).to_be_visible()
    assert len(keys) == 2 and keys[0] == keys[1], keys
    jobs = (await client.get("/v1/users/me/jobs", headers=writer.headers)).json()["items"]
    assert [job["id"] for job in jobs] == made


async def test_home_lists_scenes_and_leads_to_them(page: Page, factory: Factory) -> None:
    owner = await factory.account()
    # A cover whose file is missing: the card shows its drawn placeholder, not a broken image.
    lost = await factory.scene(owner, title=unique("The lost lantern "))
    await add_segment(factory.app, lost["id"], 1, thumbnail_key=f"scenes/{lost['id']}/gone.jpg")
    scene = await factory.scene(owner, title=unique("Lanterns over the harbour "))
    await page.goto("/")
    new = page.get_by_role("region", name="New")
    card = new.get_by_role("link", name=scene["title"])
    await expect(card).to_be_visible()
    lost_card = new.get_by_role("link", name=lost["title"])
    await expect(lost_card.locator(".cover.placeholder")).to_have_text("T")
    await expect(lost_card.locator("img")).to_have_count(0)
    assert await axe_violations(page) == []
    await screenshot(page, "home")
    await assert_fits_a_phone(page)
    await card.click()
    await expect(page.get_by_role("heading", level=1, name=scene["title"])).to_be_visible()


@pytest.mark.usefixtures("worker")
async def test_hls_js_plays_the_scene_where_the_browser_has_no_native_hls(
    context: BrowserContext, page: Page, client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.account()
    scene = await factory.scene(owner)
    job = await submit_and_wait(client, owner, scene["id"], CONTINUATION)
    assert job["status"] == "final_ready", job
    # This chromium plays HLS natively; hide that so the player takes the hls.js path.
    await context.add_init_script(
        "const native = HTMLMediaElement.prototype.canPlayType;"
        "HTMLMediaElement.prototype.canPlayType = function (type) {"
        " return /mpegurl/i.test(type) ? '' : native.call(this, type); };"
    )
    hls_chunks: list[str] = []
    page.on("request", lambda r: hls_chunks.append(r.url) if "/assets/hls" in r.url else None)
    await page.goto(f"/scenes/{scene['id']}")
    await expect(page.locator("video")).to_be_visible()
    await play_muted(page)
    assert await page.evaluate("document.querySelector('video').dataset.engine") == "hls.js"
    state = await video_state(page)
    assert state["error"] is None, state
    assert len(hls_chunks) == 1, hls_chunks
    src = await page.evaluate("document.querySelector('video').src")
    assert src.startswith("blob:"), "hls.js feeds the element through Media Source Extensions"
    await expect(page.get_by_role("alert")).to_have_count(0)


@pytest.mark.usefixtures("worker")
async def test_a_new_segment_joins_the_playing_scene_in_place(
    context: BrowserContext, page: Page, client: httpx.AsyncClient, factory: Factory
) -> None:
    writer = await factory.account()
    scene = await factory.scene(writer)
    first = await submit_and_wait(client, writer, scene["id"], CONTINUATION)
    assert first["status"] == "final_ready", first
    first_duration = first["result_data"]["duration"]
    await sign_in(context, writer)
    await page.goto(f"/scenes/{scene['id']}")
    await expect(page.locator("video")).to_be_visible()
    # The element may reload once (hls.js taking over for the captions): wait until it settled.
    await page.wait_for_function(
        "at => { const v = document.querySelector('video');"
        " return v.dataset.engine && v.readyState >= 1 && Math.abs(v.duration - at) < 0.6; }",
        arg=first_duration,
    )
    await page.evaluate("window.__sameDocument = true")

    await page.get_by_label("What happens next?").fill("Mara Hart ties the bell rope tight.")
    await page.get_by_role("button", name="Continue the scene").click()
    await expect(page.get_by_role("status").filter(has_text="Ready to watch")).to_be_visible(
        timeout=120_000
    )
    chapters = page.get_by_role("navigation", name="Chapters").get_by_role("button")
    await expect(chapters).to_have_count(2)
    # The player reloaded the playlist in place (with the engine it settled on, data-engine)
    # and waits at the start of the new segment.
    settled = await page.wait_for_function(
        "([longer, at]) => { const v = document.querySelector('video');"
        " return v.dataset.engine && v.readyState >= 1 && v.duration > longer"
        " && Math.abs(v.currentTime - at) < 0.6"
        " && {time: v.currentTime, engine: v.dataset.engine}; }",
        arg=[first_duration + 1, first_duration],
    )
    after = await settled.json_value()
    assert after["time"] == pytest.approx(first_duration, abs=0.6), after
    assert await page.evaluate("window.__sameDocument === true")
    await tab_to(page, chapters.first, presses=60)  # a chapter mark, from the keyboard
    await page.keyboard.press("Enter")
    await page.wait_for_function("document.querySelector('video').currentTime < 1.5")
    assert (await video_state(page))["error"] is None

    # The author's name leads to their public page with what they wrote.
    story = page.get_by_role("region", name="The story so far")
    await story.get_by_role("link", name=writer.username).first.click()
    await expect(page.get_by_role("heading", level=1, name=writer.username)).to_be_visible()
    await expect(page.get_by_text(f"@{writer.username} · 1 scene · 2 segments")).to_be_visible()
    await expect(page.get_by_text("Mara Hart ties the bell rope tight.")).to_be_visible()
    assert await axe_violations(page) == []
