"""Discover in a real browser: search despite a typo, topics, and what is not there, in words."""

from __future__ import annotations

import random
import string
import uuid
from typing import Any

import httpx
from playwright.async_api import Page, expect

from tests.factories import Factory
from tests.web.conftest import axe_violations, screenshot


def made_up_word() -> str:
    return "".join(random.choices(string.ascii_lowercase, k=10))


async def a_topic_past_the_first_page(
    client: httpx.AsyncClient, factory: Factory
) -> dict[str, Any]:
    """A new topic that GET /v1/topics does not list on its first (largest) page."""
    topics: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/topics", params=params)).json()
        topics += page["items"]
        if not (cursor := page["next_cursor"]):
            break
    for _ in range(100 - len(topics)):
        topics.append(await factory.topic_row())
    last = max((t.get("display_order", 0) for t in topics), default=0)
    topic = await factory.topic(display_order=last + 1)  # ordered after every other topic
    first = (await client.get("/v1/topics", params={"limit": 100})).json()["items"]
    assert topic["id"] not in {t["id"] for t in first}
    return topic


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


async def test_a_topic_filters_the_scenes(
    page: Page, factory: Factory, client: httpx.AsyncClient
) -> None:
    owner = await factory.account()
    topic = await a_topic_past_the_first_page(client, factory)
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
