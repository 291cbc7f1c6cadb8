"""The idea page in a browser: found by search, reported, deleted by its author, restored."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.async_api import expect

from domain.users.models import Role
from tests.factories import Account, Factory
from tests.web.conftest import OpenAs, assert_fits_a_phone, axe_violations
from tests.web.test_discover import made_up_word


async def idea_flags(client: httpx.AsyncClient, moderator: Account, idea_id: str) -> list[Any]:
    """The pending reports on the idea, read from the moderation queue."""
    cursor = None
    while True:
        params = {"target_type": "idea", "limit": "100", **({"cursor": cursor} if cursor else {})}
        response = await client.get(
            "/v1/moderation/flags", params=params, headers=moderator.headers
        )
        assert response.status_code == 200, response.text
        page = response.json()
        for item in page["items"]:
            if item["target_id"] == idea_id:
                return list(item["flags"])
        if not (cursor := page["next_cursor"]):
            return []


async def test_an_idea_from_search_is_reported_deleted_by_its_author_and_restored(
    open_as: OpenAs, factory: Factory, client: httpx.AsyncClient
) -> None:
    author, reader = await factory.account(), await factory.account()
    moderator = await factory.account(Role.MODERATOR)
    word = made_up_word()
    idea = await factory.idea(author, title=f"The {word} orchard")
    scene = await factory.scene(author, idea)

    # A reader finds the idea by search and opens it: its text, its scenes, a way to start one.
    page = await open_as(reader)
    await page.goto(f"/search?q={word}")
    await page.get_by_role("link", name=idea["title"]).click()
    await expect(page.get_by_role("heading", level=1, name=idea["title"])).to_be_visible()
    await expect(page.get_by_text(idea["prompt"])).to_be_visible()
    scenes = page.get_by_role("region", name="Scenes from this idea")
    await expect(scenes.get_by_role("link", name=scene["title"])).to_be_visible()
    start = page.get_by_role("link", name="Start a scene")
    await expect(start).to_have_attribute("href", f"/ideas/{idea['id']}/scenes/new")
    await expect(page.get_by_role("button", name="Delete idea…")).to_have_count(0)
    assert await axe_violations(page) == []

    await page.get_by_role("button", name="Report this idea").click()
    report = page.get_by_role("form", name="Report this idea")
    await report.get_by_label("Reason").select_option("copyright")
    await report.get_by_role("button", name="Send report").click()
    await expect(page.get_by_text("your report was sent to the moderators")).to_be_visible()
    flags = await idea_flags(client, moderator, idea["id"])
    assert [(f["reporter_id"], f["reason"]) for f in flags] == [(reader.id, "copyright")]
    await assert_fits_a_phone(page)

    # Its author deletes it: gone from search at once.
    page = await open_as(author)
    await page.goto(f"/ideas/{idea['id']}")
    await page.get_by_role("button", name="Delete idea…").click()
    await page.get_by_role("button", name="Delete for good").click()
    await expect(page.get_by_role("heading", name="Discover")).to_be_visible()
    await page.goto(f"/search?q={word}")
    await expect(page.get_by_text("Nothing matches")).to_be_visible()
    await expect(page.get_by_role("link", name=idea["title"])).to_have_count(0)

    # A moderator brings it back.
    page = await open_as(moderator)
    await page.goto(f"/ideas/{idea['id']}")
    await expect(page.get_by_text("This idea is deleted")).to_be_visible()
    await page.get_by_role("button", name="Restore idea").click()
    await expect(page.get_by_role("link", name="Start a scene")).to_be_visible()
    await expect(page.get_by_text("This idea is deleted")).to_have_count(0)
    restored = await client.get(f"/v1/ideas/{idea['id']}")
    assert restored.status_code == 200 and restored.json()["status"] == "active"
    await page.goto(f"/search?q={word}")
    await expect(page.get_by_role("link", name=idea["title"])).to_be_visible()
