"""The mails an account receives: what they say and where their links lead."""

from __future__ import annotations

from urllib.parse import quote

from infra.mail import Mail
from infra.settings import Settings

# Pages of the web app; the token rides in the query, and the page posts it to the API.
VERIFY_EMAIL_PATH = "/verify-email"
RESET_PASSWORD_PATH = "/reset-password"


def link(settings: Settings, path: str, token: str) -> str:
    return f"{settings.links_base_url}{path}?token={quote(token, safe='')}"


def verify_email(settings: Settings, to: str, username: str, token: str) -> Mail:
    hours = settings.verify_email_token_ttl_seconds // 3600
    return Mail(
        to=to,
        subject="Confirm your email address for Storyloom",
        text=(
            f"Hello {username},\n\n"
            "Please confirm that this is your email address by opening this link:\n\n"
            f"{link(settings, VERIFY_EMAIL_PATH, token)}\n\n"
            f"The link works once, for {hours} hours.\n"
            "If you did not ask for it, ignore this mail.\n"
        ),
    )


def password_reset(settings: Settings, to: str, username: str, token: str) -> Mail:
    minutes = settings.password_reset_token_ttl_seconds // 60
    return Mail(
        to=to,
        subject="Reset your Storyloom password",
        text=(
            f"Hello {username},\n\n"
            "Someone (we hope you) asked to reset the password of your Storyloom account.\n"
            "Choose a new password here:\n\n"
            f"{link(settings, RESET_PASSWORD_PATH, token)}\n\n"
            f"The link works once, for {minutes} minutes. Setting a new password signs out\n"
            "every session of the account. If you did not ask for this, ignore this mail:\n"
            "your password stays as it is.\n"
        ),
    )
