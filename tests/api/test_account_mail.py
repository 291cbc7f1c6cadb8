"""Email verification and password reset, end to end: the API, a real worker, a real SMTP
server (aiosmtpd) that receives the mail, and the token read back from the mailed link."""

from __future__ import annotations

import asyncio
import itertools
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import pytest
from arq.worker import Worker

from infra.settings import Settings
from tests.conftest import asyncpg_dsn
from tests.factories import PASSWORD, Factory, client_from, unique
from tests.infra.smtp_server import Inbox, body_of, smtp_server
from tests.worker.running import stop

NEW_PASSWORD = "a brand new passphrase 42"
LINK = re.compile(r"https://web\.test/(reset-password|verify-email)\?token=([A-Za-z0-9_-]+)")
RESETS_PER_ACCOUNT = 3
RESETS_PER_CLIENT = 5
# Each client its own address, so the per-client reset counter is never shared between tests.
ADDRESSES = (f"10.16.{n // 250}.{n % 250 + 1}" for n in itertools.count())


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[Inbox, int]]:
    with smtp_server() as server:
        yield server


@pytest.fixture(scope="module")
def mail_settings(settings: Settings, smtp: tuple[Inbox, int]) -> Settings:
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp[1],
            "smtp_starttls": False,
            "public_base_url": "https://web.test",
            "password_resets_per_account": RESETS_PER_ACCOUNT,
            "password_resets_per_address": RESETS_PER_CLIENT,
        }
    )


@pytest.fixture(scope="module")
async def mail_app(mail_settings: Settings) -> AsyncIterator[Any]:
    from api.app import create_app

    application = create_app(mail_settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="module")
async def mail_worker(mail_settings: Settings) -> AsyncIterator[Worker]:
    from worker.main import worker_options
    from worker.refill import RefillingWorker

    options = worker_options(mail_settings)
    options["poll_delay"] = 0.05
    running = RefillingWorker(**options, handle_signals=False)
    task = asyncio.create_task(running.async_run())
    try:
        yield running
    finally:
        await stop(running, task)


@pytest.fixture
async def api(mail_app: Any, mail_worker: Worker) -> AsyncIterator[httpx.AsyncClient]:
    async with client_from(mail_app, next(ADDRESSES)) as c:
        yield c


def token_in(message: Any, kind: str) -> str:
    match = LINK.search(body_of(message))
    assert match is not None and match.group(1) == kind, body_of(message)
    return match.group(2)


async def db_fetchval(settings: Settings, sql: str, *args: Any) -> Any:
    conn = await asyncpg.connect(asyncpg_dsn(settings.database_url))
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def ask_reset(client: httpx.AsyncClient, email: str) -> httpx.Response:
    return await client.post("/v1/auth/password-reset", json={"email": email})


async def test_a_mailed_reset_link_sets_the_password_once_and_ends_every_session(
    api: httpx.AsyncClient, factory: Factory, smtp: tuple[Inbox, int], settings: Settings
) -> None:
    inbox = smtp[0]
    user = await factory.account()
    second = await api.post("/v1/auth/login", json={"login": user.username, "password": PASSWORD})
    assert (await api.get("/v1/users/me", headers=user.headers)).status_code == 200

    response = await ask_reset(api, user.email.upper())
    assert response.status_code == 202, response.text
    message = await inbox.wait_for(user.email)
    assert message["Subject"] == "Reset your Storyloom password"
    token = token_in(message, "reset-password")
    stored = await db_fetchval(
        settings, "SELECT token_hash FROM account_tokens WHERE user_id = $1", uuid.UUID(user.id)
    )
    assert stored is not None and token not in stored and len(stored) == 64

    body = {"token": token, "password": NEW_PASSWORD}
    assert (await api.post("/v1/auth/password-reset/confirm", json=body)).status_code == 204

    # Every session ends: both refresh families and the access token issued before the reset.
    for refresh in (user.refresh_token, second.json()["refresh_token"]):
        assert (
            await api.post("/v1/auth/refresh", json={"refresh_token": refresh})
        ).status_code == 401
    me = await api.get("/v1/users/me", headers=user.headers)
    assert me.status_code == 401 and me.headers["content-type"] == "application/problem+json"
    old = await api.post("/v1/auth/login", json={"login": user.username, "password": PASSWORD})
    assert old.status_code == 401
    new = await api.post("/v1/auth/login", json={"login": user.email, "password": NEW_PASSWORD})
    assert new.status_code == 200
    fresh = {"Authorization": f"Bearer {new.json()['access_token']}"}
    me = await api.get("/v1/users/me", headers=fresh)
    assert me.status_code == 200 and me.json()["email_verified"] is True

    # Single use: the same link again changes nothing.
    again = await api.post(
        "/v1/auth/password-reset/confirm", json={"token": token, "password": "yet another one 99"}
    )
    assert again.status_code == 422 and again.json()["errors"][0]["pointer"] == "/token"
    ok = await api.post("/v1/auth/login", json={"login": user.email, "password": NEW_PASSWORD})
    assert ok.status_code == 200


async def test_an_unknown_address_gets_the_same_answer_and_no_mail(
    api: httpx.AsyncClient, factory: Factory, smtp: tuple[Inbox, int]
) -> None:
    inbox = smtp[0]
    user = await factory.account()
    stranger = f"{unique('nobody')}@example.com"
    unknown = await ask_reset(api, stranger)
    known = await ask_reset(api, user.email)
    assert (unknown.status_code, unknown.json()) == (known.status_code, known.json())
    assert unknown.status_code == 202
    await inbox.wait_for(user.email)
    await asyncio.sleep(0.3)
    assert inbox.to(stranger) == []


async def test_reset_requests_are_throttled_per_address_known_or_not(
    mail_app: Any, factory: Factory
) -> None:
    user = await factory.account()
    for email in (user.email, f"{unique('ghost')}@example.com"):
        async with client_from(mail_app, next(ADDRESSES)) as c:
            codes = [(await ask_reset(c, email)).status_code for _ in range(RESETS_PER_ACCOUNT)]
            refused = await ask_reset(c, email)
        assert codes == [202] * RESETS_PER_ACCOUNT
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0


async def test_reset_requests_are_throttled_per_client(mail_app: Any) -> None:
    async with client_from(mail_app, next(ADDRESSES)) as c:
        emails = [f"{unique('many')}@example.com" for _ in range(RESETS_PER_CLIENT + 1)]
        codes = [(await ask_reset(c, email)).status_code for email in emails]
    assert codes == [202] * RESETS_PER_CLIENT + [429]


async def test_an_expired_or_foreign_token_is_refused_and_changes_nothing(
    api: httpx.AsyncClient, factory: Factory, smtp: tuple[Inbox, int], settings: Settings
) -> None:
    user = await factory.account()
    assert (await ask_reset(api, user.email)).status_code == 202
    token = token_in(await smtp[0].wait_for(user.email), "reset-password")
    # A reset token is no verification token.
    wrong_kind = await api.post("/v1/auth/verify-email/confirm", json={"token": token})
    assert wrong_kind.status_code == 422
    await db_fetchval(
        settings,
        "UPDATE account_tokens SET expires_at = now() - interval '1 second' WHERE user_id = $1",
        uuid.UUID(user.id),
    )
    body = {"token": token, "password": NEW_PASSWORD}
    expired = await api.post("/v1/auth/password-reset/confirm", json=body)
    assert expired.status_code == 422
    login = await api.post("/v1/auth/login", json={"login": user.email, "password": PASSWORD})
    assert login.status_code == 200
    assert (await api.get("/v1/users/me", headers=user.headers)).status_code == 200


async def test_verifying_an_address_by_its_mailed_link(
    api: httpx.AsyncClient, factory: Factory, smtp: tuple[Inbox, int]
) -> None:
    user = await factory.account()
    assert (await api.get("/v1/users/me", headers=user.headers)).json()["email_verified"] is False
    asked = await api.post("/v1/auth/verify-email", headers=user.headers)
    assert asked.status_code == 202, asked.text
    token = token_in(await smtp[0].wait_for(user.email), "verify-email")

    wrong_kind = await api.post(
        "/v1/auth/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD}
    )
    assert wrong_kind.status_code == 422
    done = await api.post("/v1/auth/verify-email/confirm", json={"token": token})
    assert done.status_code == 204
    assert (await api.get("/v1/users/me", headers=user.headers)).json()["email_verified"] is True
    again = await api.post("/v1/auth/verify-email/confirm", json={"token": token})
    assert again.status_code == 422
    assert (await api.post("/v1/auth/verify-email", headers=user.headers)).status_code == 409


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"token": ""},
        {"token": "short"},
        {"token": "x" * 129},
        {"token": "'; DROP TABLE users;-- aaaaaaaaaaaa"},
        {"token": "a" * 43, "extra": 1},
        {"token": 12345678901234567890},
    ],
)
async def test_hostile_tokens_are_problems(api: httpx.AsyncClient, body: dict[str, Any]) -> None:
    for path, extra in (
        ("/v1/auth/verify-email/confirm", {}),
        ("/v1/auth/password-reset/confirm", {"password": NEW_PASSWORD}),
    ):
        response = await api.post(path, json={**extra, **body})
        assert response.status_code == 422, (path, body, response.text)
        assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"email": "not-an-address"},
        {"email": "a@b.c" + "x" * 300},
        {"email": ["x@example.com"]},
        {"email": "x@example.com", "admin": True},
        {"token": "a" * 43, "password": "short"},
        {"token": "a" * 43, "password": "long enough but\x00nul"},
    ],
)
async def test_hostile_reset_requests_are_problems(
    api: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    path = "/v1/auth/password-reset" + ("/confirm" if "token" in body else "")
    response = await api.post(path, json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_signing_up_mails_a_verification_link(
    api: httpx.AsyncClient, smtp: tuple[Inbox, int]
) -> None:
    name = unique("new")
    email = f"{name}@example.com"
    body = {"email": email, "username": name, "password": PASSWORD}
    created = await api.post("/v1/auth/register", json=body)
    assert created.status_code == 201 and created.json()["email_verified"] is False
    message = await smtp[0].wait_for(email)
    assert message["Subject"] == "Confirm your email address for Storyloom"
    token = token_in(message, "verify-email")
    assert (
        await api.post("/v1/auth/verify-email/confirm", json={"token": token})
    ).status_code == 204
    login = await api.post("/v1/auth/login", json={"login": name, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    assert (await api.get("/v1/users/me", headers=headers)).json()["email_verified"] is True
