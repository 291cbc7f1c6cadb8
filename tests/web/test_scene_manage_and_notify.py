"""Scene owners and moderators manage a scene in a browser; the notification bell and page."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import expect

from domain.users.models import Role
from tests.factories import Factory, unique
from tests.web.conftest import DESKTOP, OpenAs, assert_fits_a_phone, axe_violations
from tests.web.test_own_and_moderate import final_segment


async def test_owner_edits_locks_unlocks_and_deletes_a_moderator_restores(
    open_as: OpenAs,
    factory: Factory,
    client: httpx.AsyncClient,
) -> None:
    owner = await factory.account()
    moderator = await factory.account(Role.MODERATOR)
    topic = await factory.topic()
    idea = await factory.idea(owner, topic)
    kept = await factory.scene(owner, idea)
    scene = await factory.scene(owner, idea)

    # A reader sees no tools.
    page = await open_as(await factory.account())
    await page.goto(f"/scenes/{scene['id']}")
    await expect(page.get_by_role("heading", name=scene["title"])).to_be_visible()
    await expect(page.get_by_role("heading", name="Manage this scene")).to_have_count(0)

    page = await open_as(owner)
    await page.goto(f"/scenes/{scene['id']}")
    manage = page.get_by_role("region", name="Manage this scene")
    await manage.get_by_role("button", name="Edit title and description").click()
    edit = manage.get_by_role("form", name="Edit the scene")
    await edit.get_by_label("Title").fill("")
    await edit.get_by_role("button", name="Save scene").click()
    await expect(manage.get_by_role("alert")).to_be_visible()  # the API's 422, in words
    title = unique("Renamed pier ")
    await edit.get_by_label("Title").fill(title)
    await edit.get_by_role("button", name="Save scene").click()
    await expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()

    # A continuation under way (no worker here: it stays queued) outlives a plain lock; with
    # "Cancel continuations in progress" ticked, the lock cancels it.
    async def continuation() -> httpx.Response:
        return await client.post(
            f"/v1/scenes/{scene['id']}/continuations",
            json={"text": "Mara waits."},
            headers={**owner.headers, "Idempotency-Key": unique("k")},
        )

    async def job_status() -> str:
        job = await client.get(f"/v1/jobs/{queued.json()['id']}", headers=owner.headers)
        return str(job.json()["status"])

    queued = await continuation()
    assert queued.status_code == 202, queued.text
    continuing = page.get_by_role("region", name="Continue this scene")
    cancel_box = manage.get_by_role("checkbox", name="Cancel continuations in progress")
    await expect(cancel_box).not_to_be_checked()
    await manage.get_by_role("button", name="Lock", exact=True).click()
    await expect(continuing).to_contain_text("This scene is locked")
    assert (await continuation()).status_code == 409
    assert await job_status() == "queued"
    await manage.get_by_role("button", name="Unlock").click()
    await expect(continuing).not_to_contain_text("This scene is locked")
    assert (await client.get(f"/v1/scenes/{scene['id']}")).json()["status"] == "active"
    await cancel_box.check()
    await manage.get_by_role("button", name="Lock", exact=True).click()
    await expect(continuing).to_contain_text("This scene is locked")
    assert await job_status() == "cancelled"
    await manage.get_by_role("button", name="Unlock").click()
    await expect(continuing).not_to_contain_text("This scene is locked")

    await manage.get_by_role("button", name="Delete scene…").click()
    await page.get_by_role("button", name="Delete for good").click()
    await expect(page.get_by_role("heading", name="Discover")).to_be_visible()
    await page.goto(f"/?topic={topic['id']}")
    fresh = page.get_by_role("region", name="New")
    await expect(fresh.get_by_text(kept["title"])).to_be_visible()  # the list has loaded
    await expect(fresh.get_by_text(title)).to_have_count(0)
    assert (await client.get(f"/v1/scenes/{scene['id']}")).status_code == 404

    page = await open_as(moderator)
    await page.goto(f"/scenes/{scene['id']}")
    await expect(page.get_by_text("This scene is deleted")).to_be_visible()
    await page.get_by_role("button", name="Restore").click()
    await expect(page.get_by_role("button", name="Lock", exact=True)).to_be_visible()
    assert (await client.get(f"/v1/scenes/{scene['id']}")).status_code == 200


@pytest.mark.usefixtures("worker")
async def test_the_bell_tells_a_continuation_finished_and_its_author_may_withdraw_it(
    open_as: OpenAs,
    factory: Factory,
    client: httpx.AsyncClient,
) -> None:
    owner, writer = await factory.account(), await factory.account()
    scene = await factory.scene(owner)
    text = await final_segment(client, writer, scene["id"])

    page = await open_as(writer)
    await page.goto("/")
    nav = page.get_by_role("navigation", name="Main")
    bell = nav.get_by_role("link", name="Notifications, 1 unread")
    await expect(bell).to_be_visible()
    await bell.click()
    await expect(page.get_by_role("heading", name="Notifications")).to_be_visible()
    ready = page.get_by_text("Your continuation is ready: it is part 1 of the scene.")
    await expect(ready).to_be_visible()
    assert await axe_violations(page) == []
    await page.get_by_role("button", name="Mark all read").click()
    await expect(nav.get_by_role("link", name="Notifications", exact=True)).to_be_visible()
    await expect(page.get_by_text("0 unread")).to_be_visible()
    await assert_fits_a_phone(page)
    await page.set_viewport_size(DESKTOP)

    # The scene's owner heard too, and chooses the new part as the cover.
    owner_page = await open_as(owner)
    await owner_page.goto("/notifications")
    continued = owner_page.get_by_text("Someone continued your scene with part 1.")
    await expect(continued).to_be_visible()
    await owner_page.get_by_role("link", name="Watch it").click()
    await owner_page.get_by_role("button", name="Use part 1 as cover").click()
    await expect(owner_page.get_by_role("alert")).to_have_count(0)
    listed = (await client.get(f"/v1/scenes/{scene['id']}")).json()
    assert listed["cover_url"], listed
    await expect(owner_page.get_by_role("button", name="Withdraw my segment")).to_have_count(0)

    # The writer's segment is the last: they may withdraw it.
    await page.get_by_role("link", name="Watch it").click()
    await expect(page.get_by_text(text)).to_be_visible()
    await page.get_by_role("button", name="Withdraw my segment").click()
    await expect(page.get_by_text(text)).to_have_count(0)
    segments = (await client.get(f"/v1/scenes/{scene['id']}/segments")).json()["items"]
    assert segments == []
