"""Account lifecycle in a browser: password reset and email verification through the mailed
link (the worker writes the mail to MAIL_OUTBOX_DIR), OpenID callback, deleting an account."""

from __future__ import annotations

import asyncio
import json
import re
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from playwright.async_api import BrowserContext, Page, expect

from infra.settings import Settings
from tests.factories import PASSWORD, Account, Factory
from tests.web.conftest import assert_fits_a_phone, axe_violations, sign_in

NEW_PASSWORD = "a brand new passphrase 42"


def _newest_link(outbox: Path, to: str, link: re.Pattern[str]) -> str | None:
    for path in sorted(outbox.glob("*.eml"), reverse=True):
        mail = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(mail, EmailMessage)
        if mail["To"] == to and (found := link.search(mail.get_content())):
            return found.group(0)
    return None


async def mailed_path(settings: Settings, to: str, kind: str) -> str:
    """The app path (`/reset-password?token=...`) in the newest mail to `to`, once it is sent."""
    link = re.compile(rf"/{kind}\?token=[A-Za-z0-9_-]+")
    for _ in range(300):
        found = await asyncio.to_thread(_newest_link, settings.mail_outbox_dir, to, link)
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {kind} mail to {to} in 15 s")


@pytest.mark.usefixtures("worker")
async def test_forgotten_password_is_reset_through_the_mailed_link(
    page: Page, factory: Factory, settings: Settings, client: httpx.AsyncClient
) -> None:
    account = await factory.account()
    await page.goto("/login")
    await page.get_by_role("link", name="Forgot your password?").click()
    await expect(page.get_by_role("heading", name="Reset your password")).to_be_visible()
    await page.get_by_label("Email").fill(account.email)
    await page.get_by_role("button", name="Send me a reset link").click()
    await expect(page.get_by_role("status")).to_contain_text("a mail with a reset link")
    assert await axe_violations(page) == []

    await page.goto(await mailed_path(settings, account.email, "reset-password"))
    await expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    await page.get_by_label("New password").fill("short")
    await page.get_by_role("button", name="Set new password").click()
    await expect(page.locator("#password-error")).to_be_visible()  # the API's rule, at the field
    await page.get_by_label("New password").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Set new password").click()
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await expect(page.get_by_role("status")).to_contain_text("Your password is changed")
    await page.get_by_label("Email or username").fill(account.username)
    await page.get_by_label("Password").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    nav = page.get_by_role("navigation", name="Main")
    await expect(nav.get_by_role("link", name=account.username)).to_be_visible()
    # The token worked once: the old password no longer does.
    old = await client.post(
        "/v1/auth/login", json={"login": account.username, "password": PASSWORD}
    )
    assert old.status_code in (401, 403), old.text


@pytest.mark.usefixtures("worker")
async def test_email_is_verified_from_the_account_page(
    context: BrowserContext, page: Page, factory: Factory, settings: Settings
) -> None:
    account = await factory.account()
    await sign_in(context, account)
    await page.goto("/account")
    await expect(page.get_by_text("Your email address is not verified yet.")).to_be_visible()
    assert await axe_violations(page) == []
    await page.get_by_role("button", name="Verify your email").click()
    await expect(page.get_by_role("status")).to_contain_text(account.email)

    await page.goto(await mailed_path(settings, account.email, "verify-email"))
    await expect(page.get_by_role("status")).to_contain_text("Your email address is verified.")
    await page.goto("/account")
    await expect(page.get_by_text("Your email address is verified.")).to_be_visible()
    await expect(page.get_by_role("button", name="Verify your email")).to_have_count(0)

    # Download my data: a JSON file of what the platform holds, the verified address in it.
    async with page.expect_download() as download_info:
        await page.get_by_role("button", name="Download my data").click()
    download = await download_info.value
    assert download.suggested_filename == "storyloom-my-data.json"
    exported = json.loads(await asyncio.to_thread(Path(await download.path()).read_text))
    assert account.email in json.dumps(exported)


async def test_a_bad_openid_code_is_said_in_words_and_no_provider_is_offered(page: Page) -> None:
    await page.goto("/login/callback#code=not-a-real-code")
    await expect(page.get_by_role("alert")).to_be_visible()
    assert "code" not in page.url.split("/login/callback", 1)[1]  # taken out of the address
    await page.get_by_role("link", name="Try signing in again").click()
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    # The suite's app configures no OpenID provider: the sign-in page offers none.
    await expect(page.get_by_role("link", name="Forgot your password?")).to_be_visible()
    await expect(page.get_by_text("Or sign in with")).to_have_count(0)


async def test_deleting_the_account_asks_first_then_signs_out(
    context: BrowserContext, page: Page, factory: Factory, client: httpx.AsyncClient
) -> None:
    account: Account = await factory.account()
    await sign_in(context, account)
    await page.goto("/account")
    await page.get_by_role("button", name="Delete my account…").click()
    confirm = page.get_by_role("form", name="Confirm deleting your account")
    erase = confirm.get_by_role("button", name="Delete my account for good")
    await expect(erase).to_be_disabled()  # nothing happens until the username is typed
    await confirm.get_by_label(re.compile("Type your username")).fill(account.username)
    await erase.click()
    nav = page.get_by_role("navigation", name="Main")
    await expect(nav.get_by_role("link", name="Sign in")).to_be_visible()
    assert await page.evaluate("localStorage.getItem('storyloom.session')") is None
    me = await client.get("/v1/users/me", headers=account.headers)
    assert me.status_code == 401, me.text


async def test_a_webhook_is_added_with_its_secret_shown_once_and_removed(
    context: BrowserContext, page: Page, factory: Factory, client: httpx.AsyncClient
) -> None:
    account = await factory.account()
    await sign_in(context, account)
    await page.goto("/account")
    form = page.get_by_role("form", name="Add a webhook")
    await form.get_by_label("Webhook URL").fill("http://127.0.0.1/hook")
    await form.get_by_role("button", name="Add webhook").click()
    await expect(form.get_by_role("alert")).to_be_visible()  # a loopback target is refused
    url = "https://93.184.216.34/hooks/storyloom"
    await form.get_by_label("Webhook URL").fill(url)
    await form.get_by_label("scene.continued").check()
    await form.get_by_role("button", name="Add webhook").click()
    await expect(page.get_by_role("status").filter(has_text="shown only now")).to_contain_text(
        "whsec_"
    )
    listed = (await client.get("/v1/webhooks", headers=account.headers)).json()["items"]
    assert [(h["url"], sorted(h["events"])) for h in listed] == [
        (url, ["job.final_ready", "scene.continued"])
    ]
    assert "secret" not in listed[0]
    assert await axe_violations(page) == []
    await page.get_by_role("button", name=f"Remove webhook {url}").click()
    await expect(page.get_by_text("No webhooks yet")).to_be_visible()
    assert (await client.get("/v1/webhooks", headers=account.headers)).json()["items"] == []
    await assert_fits_a_phone(page)
