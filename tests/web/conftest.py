"""Browser fixtures: Python Playwright driving Debian's chromium against the app over real HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    Locator,
    Page,
    Playwright,
    ViewportSize,
    async_playwright,
)

from infra.settings import ROOT
from tests.factories import Account
from tests.web.support import WEB
from tests.worker.conftest import http_base, worker  # noqa: F401  (the live app and the real worker)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--autoplay-policy=no-user-gesture-required",
]
SHOTS = ROOT / "docs" / "screenshots"
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 860}


def _require_build_and_browser() -> None:
    if not (WEB / "dist" / "index.html").exists():
        pytest.fail("web/dist is missing: run `make web` first")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make system-packages` installs Debian's chromium")


@pytest.fixture(scope="session")
async def playwright() -> AsyncIterator[Playwright]:
    _require_build_and_browser()
    async with async_playwright() as p:
        yield p


@pytest.fixture(scope="session")
async def browser(playwright: Playwright) -> AsyncIterator[Browser]:
    browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        await browser.close()


@pytest.fixture
async def context(browser: Browser, http_base: str) -> AsyncIterator[BrowserContext]:  # noqa: F811
    ctx = await browser.new_context(base_url=http_base, viewport=DESKTOP)
    ctx.set_default_timeout(15_000)
    try:
        yield ctx
    finally:
        await ctx.close()


@pytest.fixture
async def page(context: BrowserContext) -> AsyncIterator[Page]:
    """A fresh page; JavaScript errors in it fail the test (a person would see a broken page)."""
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    assert not errors, f"uncaught errors in the page: {errors}"


OpenAs = Callable[[Account | None], Awaitable[Page]]


@pytest.fixture
async def open_as(browser: Browser, http_base: str) -> AsyncIterator[OpenAs]:  # noqa: F811
    """A page in a browser context of its own for each person (None: a visitor signed out)."""
    contexts: list[BrowserContext] = []
    errors: list[str] = []

    async def open_page(account: Account | None) -> Page:
        ctx = await browser.new_context(base_url=http_base, viewport=DESKTOP)
        ctx.set_default_timeout(15_000)
        contexts.append(ctx)
        if account is not None:
            await sign_in(ctx, account)
        page = await ctx.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    yield open_page
    for ctx in contexts:
        await ctx.close()
    assert not errors, f"uncaught errors in the page: {errors}"


async def sign_in(context: BrowserContext, account: Account, expires_in: int = 900) -> None:
    """Puts the account's tokens where the app keeps its session, before any page loads."""
    session = {
        "accessToken": account.access_token,
        "refreshToken": account.refresh_token,
        "expiresAt": int(time.time() * 1000) + expires_in * 1000,
    }
    await context.add_init_script(
        f"localStorage.getItem('storyloom.session') || "
        f"localStorage.setItem('storyloom.session', {json.dumps(json.dumps(session))});"
    )


AXE = WEB / "node_modules" / "axe-core" / "axe.min.js"


async def axe_violations(page: Page) -> list[dict[str, object]]:
    """axe-core's serious and critical violations on the page as it is now."""
    await page.add_script_tag(content=AXE.read_text())
    result = await page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"
    )
    return list(result)


async def screenshot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def tab_to(page: Page, target: Locator, presses: int = 40) -> None:
    """Presses Tab until `target` has the focus (fails if it never gets there)."""
    for _ in range(presses):
        await page.keyboard.press("Tab")
        if await target.evaluate("el => el === document.activeElement"):
            return
    raise AssertionError(f"{target} is not reachable with Tab")


async def assert_fits_a_phone(page: Page) -> None:
    """At 360 px nothing scrolls sideways: every control is reachable without zooming out."""
    await page.set_viewport_size({"width": 360, "height": 740})
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page is {width} px wide at a 360 px viewport"
