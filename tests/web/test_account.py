"""Account in a real browser: register, sign in, a dead session ends in a sign-in prompt."""

from __future__ import annotations

from playwright.async_api import BrowserContext, Page, expect

from tests.factories import PASSWORD, Factory, unique
from tests.web.conftest import axe_violations, sign_in


async def test_a_new_user_registers_signs_out_and_back_in(page: Page) -> None:
    name = unique("reader")
    await page.goto("/")
    await page.get_by_role("link", name="Register").click()
    await expect(page.get_by_role("heading", name="Create an account")).to_be_visible()
    await page.get_by_label("Email").fill(f"{name}@example.com")
    await page.get_by_label("Username").fill(name)
    await page.get_by_label("Password").fill("short")
    await page.get_by_role("button", name="Create account").click()
    # The API's validation problem appears at the field it names, in words.
    await expect(page.locator("#password-error")).to_be_visible()
    assert await axe_violations(page) == []

    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    nav = page.get_by_role("navigation", name="Main")
    await expect(nav.get_by_role("link", name=name)).to_be_visible()
    await expect(nav.get_by_role("link", name="Sign in")).to_have_count(0)

    # Out from the account page, and back in with the new password.
    await nav.get_by_role("link", name=name).click()
    await page.get_by_role("button", name="Sign out").click()
    await nav.get_by_role("link", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert await axe_violations(page) == []
    await page.get_by_label("Email or username").fill(name)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(nav.get_by_role("link", name=name)).to_be_visible()
    await expect(nav.get_by_role("link", name="Sign in")).to_have_count(0)


async def test_wrong_password_is_said_in_words(page: Page, factory: Factory) -> None:
    account = await factory.account()
    await page.goto("/login")
    await page.get_by_label("Email or username").fill(account.username)
    await page.get_by_label("Password").fill("not the password")
    await page.get_by_role("button", name="Sign in").click()
    alert = page.get_by_role("alert")
    await expect(alert).to_be_visible()
    assert "{" not in await alert.inner_text()


async def test_a_dead_session_ends_in_a_sign_in_prompt(
    context: BrowserContext, page: Page, factory: Factory
) -> None:
    account = await factory.account()
    # An access token already expired and a refresh token the server no longer honours.
    account.refresh_token = "dead-" + account.refresh_token
    await sign_in(context, account, expires_in=-60)
    await page.goto("/me/jobs")
    banner = page.get_by_role("alert").filter(has_text="session has ended")
    await expect(banner).to_be_visible()
    await banner.get_by_role("link", name="Sign in again").click()
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


async def test_profile_edit_and_sign_out(
    context: BrowserContext, page: Page, factory: Factory
) -> None:
    account = await factory.account()
    await sign_in(context, account)
    await page.goto("/account")
    await expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    await page.get_by_label("Display name").fill("Mara's Biographer")
    await page.get_by_label("Avatar image URL").fill("not a url at all")
    await page.get_by_role("button", name="Save profile").click()
    await expect(page.locator("#avatar_url-error")).to_be_visible()
    await page.get_by_label("Avatar image URL").fill("")
    await page.get_by_role("button", name="Save profile").click()
    await expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    await expect(nav.get_by_role("link", name="Mara's Biographer")).to_be_visible()
    assert await axe_violations(page) == []
    await page.get_by_role("button", name="Sign out").click()
    await expect(nav.get_by_role("link", name="Sign in")).to_be_visible()
    assert await page.evaluate("localStorage.getItem('storyloom.session')") is None


async def test_an_expired_access_token_is_refreshed_silently(
    context: BrowserContext, page: Page, factory: Factory
) -> None:
    account = await factory.account()
    await sign_in(context, account, expires_in=-60)  # the access token is past its time
    await page.goto("/me/jobs")
    await expect(page.get_by_role("heading", name="My jobs")).to_be_visible()
    await expect(page.get_by_text("You have not continued a scene yet")).to_be_visible()
    await expect(page.get_by_text("session has ended")).to_have_count(0)
    stored = await page.evaluate("JSON.parse(localStorage.getItem('storyloom.session'))")
    assert stored["refreshToken"] != account.refresh_token  # rotated once, and kept
