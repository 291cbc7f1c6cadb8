"""Discover in a real browser: search despite a typo, topics, and what is not there, in words."""

from __future__ import annotations

import random
import string
import uuid

from playwright.async_api import Page, expect

from tests.factories import Factory
from tests.web.conftest import axe_violations, screenshot


def made_up_word() -> str:
    return "".join(random.choices(string.ascii_lowercase, k=10))


async def test_search_finds_a_scene_despite_a_typo(page: Page, factory: Factory) -> None:
    owner = await factory.account()
    word = made_up_word()
    scene = await factory.scene(owner, title=f"The {word} lighthouse")
    await page.goto("/")
    typo = word[:5] + word[6:]  # one letter dropped
    await page.get_by_role("searchbox", name="Search scenes, ideas and people").fill(typo)
    await page.get_by_role("button", name="Search").click()
    await expect(page.get_by_role("heading", name=f"Search: {typo}")).to_be_visible()
    hit = page.get_by_role("link", name=scene["title"])
    await expect(hit).to_be_visible()
    assert await axe_violations(page) == []
    await screenshot(page, "search")
    await hit.click()
    await expect(page.get_by_role("heading", level=1, name=scene["title"])).to_be_visible()

    await page.goto(f"/search?q={made_up_word()}")
    await expect(page.get_by_text("Nothing matches")).to_be_visible()


async def test_a_topic_filters_the_scenes(page: Page, factory: Factory) -> None:
    owner = await factory.account()
    topic = await factory.topic()
    other_topic = await factory.topic()
    inside = await factory.scene(owner, idea=await factory.idea(owner, topic))
    outside = await factory.scene(owner, idea=await factory.idea(owner, other_topic))
    await page.goto("/")
    await (
        page.get_by_role("navigation", name="Topics")
        .get_by_role("link", name=topic["name"])
        .click()
    )
    new = page.get_by_role("region", name="New")
    await expect(new.get_by_role("link", name=inside["title"])).to_be_visible()
    await expect(new.get_by_role("link", name=outside["title"])).to_have_count(0)
    current = page.get_by_role("link", name=topic["name"])
    await expect(current).to_have_attribute("aria-current", "page")


async def test_what_is_not_there_is_said_in_words(page: Page) -> None:
    await page.goto(f"/scenes/{uuid.uuid4()}")
    alert = page.get_by_role("alert")
    await expect(alert).to_be_visible()
    assert "{" not in await alert.inner_text()
    await expect(alert.get_by_role("link", name="Back to Discover")).to_be_visible()
    await page.goto("/no/such/page")
    await expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
