"""A continuation's other endings in the page: a continuity failure, a cancel, my jobs."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import BrowserContext, Page, expect

from tests.factories import Factory, minimal_bible
from tests.web.conftest import assert_fits_a_phone, axe_violations, screenshot, sign_in

TOM = 'Mara thinks of Tom. Old Tom climbs out of the water. "I never left," Old Tom says.'


@pytest.mark.usefixtures("worker")
async def test_a_continuity_violation_marks_the_names_that_broke_the_bible(
    page: Page, context: BrowserContext, factory: Factory
) -> None:
    writer = await factory.account()
    bible = minimal_bible()
    bible["characters"].append(
        {
            "entityId": "char_tom",
            "canonicalName": "Old Tom",
            "aliases": ["Tom"],
            "description": "Drowned last winter.",
            "introducedInSegment": 0,
            "isActive": False,
        }
    )
    scene = await factory.scene(writer, bible=bible)
    await sign_in(context, writer)
    # The event stream is cut: the page falls back to polling and still reaches the end.
    await context.route("**/v1/jobs/*/events", lambda route: route.abort())
    polls: list[str] = []
    page.on(
        "request",
        lambda r: polls.append(r.url) if re.search(r"/v1/jobs/[0-9a-f-]+$", r.url) else None,
    )
    await page.goto(f"/scenes/{scene['id']}")
    await page.get_by_label("What happens next?").fill(TOM)
    await page.get_by_role("button", name="Continue the scene").click()
    failure = page.get_by_role("alert").filter(has_text="contradicts the story")
    await expect(failure).to_be_visible(timeout=60_000)
    # It got there by polling (the state that says so may show for a moment only).
    assert polls, "the page never polled the job after the stream was refused"
    await expect(failure.get_by_text("inactive").first).to_be_visible()
    marked = failure.locator("mark")
    await expect(marked.first).to_have_text("Old Tom")
    # Remembered, Tom breaks nothing: only the words where he acts and speaks are marked.
    assert await marked.all_inner_texts() == ["Old Tom", "Old Tom"]
    await expect(failure.get_by_text("is inactive but acts here")).to_be_visible()
    await screenshot(page, "continuity-violation")
    assert await axe_violations(page) == []
    # The writer can fix the text: it comes back in the box.
    await page.get_by_role("button", name="Edit and try again").click()
    await expect(page.get_by_label("What happens next?")).to_have_value(TOM)


async def test_cancel_in_the_page_then_my_jobs_lists_it(
    page: Page, context: BrowserContext, factory: Factory
) -> None:
    # No worker in this test: the job waits in the queue until the writer cancels it.
    writer = await factory.account()
    scene = await factory.scene(writer)
    await sign_in(context, writer)
    await page.goto(f"/scenes/{scene['id']}")
    await page.get_by_label("What happens next?").fill("Mara Hart rings the bell twice.")
    await page.get_by_role("button", name="Continue the scene").click()
    await expect(page.get_by_role("status").filter(has_text="Waiting in line")).to_be_visible()
    await expect(page.get_by_text("Live")).to_be_visible()
    await page.get_by_role("button", name="Cancel").click()
    await expect(page.get_by_role("status").filter(has_text="Cancelled")).to_be_visible()
    await expect(page.get_by_text("nothing was added to the scene")).to_be_visible()

    await page.get_by_role("navigation", name="Main").get_by_role("link", name="My jobs").click()
    await expect(page.get_by_role("heading", name="My jobs")).to_be_visible()
    entry = page.get_by_role("link", name="Cancelled")
    await expect(entry).to_be_visible()
    await page.get_by_role("button", name="Ready").click()
    await expect(page.get_by_text("No jobs in this state.")).to_be_visible()
    await page.get_by_role("button", name="All").click()
    assert await axe_violations(page) == []
    await assert_fits_a_phone(page)
    await entry.click()
    await expect(page.get_by_role("heading", name="Your continuation")).to_be_visible()
    await expect(page.get_by_role("status").filter(has_text="Cancelled")).to_be_visible()
    assert await axe_violations(page) == []
