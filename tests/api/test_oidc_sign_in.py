"""Sign-in with an external OpenID provider, end to end against a real local provider server:
the browser's redirects driven with httpx, the ID token RSA-signed and checked against JWKS."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import pytest

from infra.settings import Settings
from tests.conftest import asyncpg_dsn
from tests.factories import PASSWORD, Factory, unique
from tests.infra.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider, running_provider, s256
from tests.worker.processes import free_port

WEB = "http://storyloom.test"
LOGIN = "/v1/auth/oidc/acme/login"


@pytest.fixture(scope="module")
async def provider() -> AsyncIterator[Provider]:
    async with running_provider() as running:
        yield running


@pytest.fixture(scope="module")
async def oidc_app(settings: Settings, provider: Provider) -> AsyncIterator[Any]:
    from api.app import create_app

    config = {
        "acme": {"issuer": provider.issuer, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
        # Nobody listens there: the provider is down.
        "down": {
            "issuer": f"http://127.0.0.1:{free_port()}",
            "client_id": "c",
            "client_secret": "s",
        },
    }
    configured = settings.model_copy(
        update={
            "oidc_providers": type(settings.oidc_providers)(json.dumps(config)),
            "public_base_url": WEB,
        }
    )
    application = create_app(configured)
    async with application.router.lifespan_context(application):
        yield application


def browser(app: Any) -> httpx.AsyncClient:
    """A browser of our app: it keeps cookies, and follows no redirect by itself."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=WEB)


def identity(email: str | None = None, verified: bool = True) -> dict[str, Any]:
    name = unique("oidc")
    return {
        "sub": uuid.uuid4().hex,
        "email": email or f"{name}@acme.example",
        "email_verified": verified,
        "preferred_username": name,
        "name": "Ada Acme",
    }


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def start(client: httpx.AsyncClient) -> str:
    """Our login redirect; returns the provider's authorize URL."""
    response = await client.get(LOGIN)
    assert response.status_code == 302, response.text
    return response.headers["location"]


async def authorize(url: str) -> str:
    """The provider signs the browser in and sends it back: our callback URL."""
    async with httpx.AsyncClient() as http:
        response = await http.get(url)
    assert response.status_code == 302, response.text
    return response.headers["location"]


async def sign_in(app: Any, provider: Provider, who: dict[str, Any]) -> httpx.Response:
    provider.identity = who
    async with browser(app) as client:
        callback = await authorize(await start(client))
        return await client.get(local(callback))


async def exchange(app: Any, callback: httpx.Response) -> httpx.Response:
    assert callback.status_code == 302, callback.text
    location = callback.headers["location"]
    assert location.startswith(f"{WEB}/login/callback#code=")
    code = location.split("#code=", 1)[1]
    async with browser(app) as client:
        return await client.post("/v1/auth/oidc/exchange", json={"code": code})


async def me(app: Any, tokens: dict[str, Any]) -> dict[str, Any]:
    async with browser(app) as client:
        response = await client.get(
            "/v1/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
    assert response.status_code == 200, response.text
    return response.json()


async def fetch(settings: Settings, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(asyncpg_dsn(settings.database_url))
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def test_the_configured_providers_are_listed_by_name(
    oidc_app: Any, client: httpx.AsyncClient
) -> None:
    async with browser(oidc_app) as configured:
        listed = await configured.get("/v1/auth/oidc/providers")
    assert listed.status_code == 200
    assert listed.json() == {"providers": ["acme", "down"]}  # names only: no issuer, no secret
    # The suite's own app configures none: the sign-in page then shows no provider button.
    assert (await client.get("/v1/auth/oidc/providers")).json() == {"providers": []}


async def test_a_new_person_signs_in_and_gets_an_account(
    oidc_app: Any, provider: Provider, settings: Settings
) -> None:
    who = identity()
    async with browser(oidc_app) as client:
        authorize_url = await start(client)
        query = parse_qs(urlsplit(authorize_url).query)
        assert query["code_challenge_method"] == ["S256"]
        assert query["redirect_uri"] == [f"{WEB}/v1/auth/oidc/acme/callback"]
        assert all(query[k][0] for k in ("state", "nonce", "code_challenge"))
        provider.identity = who
        callback = await client.get(local(await authorize(authorize_url)))
    # PKCE: the verifier we sent at the exchange is the one our challenge was made from.
    assert s256(provider.token_requests[-1]["code_verifier"]) == query["code_challenge"][0]

    signed = await exchange(oidc_app, callback)
    assert signed.status_code == 200, signed.text
    profile = await me(oidc_app, signed.json())
    assert (profile["email"], profile["email_verified"]) == (who["email"], True)
    assert profile["username"] == who["preferred_username"]
    rows = await fetch(
        settings,
        "SELECT u.password_hash, o.provider, o.access_token_encrypted FROM oauth_accounts o "
        "JOIN users u ON u.id = o.user_id WHERE o.provider_account_id = $1",
        who["sub"],
    )
    assert len(rows) == 1 and rows[0]["provider"] == "acme" and rows[0]["password_hash"] is None
    assert rows[0]["access_token_encrypted"] is not None
    # No password: signing in with one fails whatever is tried.
    async with browser(oidc_app) as client:
        guess = {"login": who["email"], "password": "correct horse battery staple"}
        assert (await client.post("/v1/auth/login", json=guess)).status_code == 401

    # The same identity again is the same account; a login code works once.
    again = await sign_in(oidc_app, provider, who)
    second = await exchange(oidc_app, again)
    assert (await me(oidc_app, second.json()))["id"] == profile["id"]
    code = again.headers["location"].split("#code=", 1)[1]
    async with browser(oidc_app) as client:
        replay = await client.post("/v1/auth/oidc/exchange", json={"code": code})
    assert replay.status_code == 401


async def test_linking_to_an_existing_account_needs_a_verified_email(
    oidc_app: Any, provider: Provider, factory: Factory, settings: Settings
) -> None:
    account = await factory.account()
    unverified = identity(email=account.email, verified=False)
    refused = await sign_in(oidc_app, provider, unverified)
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    linked = "SELECT count(*) AS n FROM oauth_accounts WHERE user_id = $1"
    assert (await fetch(settings, linked, uuid.UUID(account.id)))[0]["n"] == 0

    verified = identity(email=account.email, verified=True)
    signed = await exchange(oidc_app, await sign_in(oidc_app, provider, verified))
    assert signed.status_code == 200
    assert (await me(oidc_app, signed.json()))["id"] == account.id
    assert (await fetch(settings, linked, uuid.UUID(account.id)))[0]["n"] == 1


async def test_linking_ends_the_password_and_sessions_of_an_unverified_account(
    oidc_app: Any, provider: Provider, factory: Factory, settings: Settings
) -> None:
    """Pre-registration: someone registers the victim's address here with a password of theirs;
    when the victim signs in with the provider, the squatter's password and sessions end."""
    squatter = await factory.account()
    verified_owner = await factory.account()
    await fetch(
        settings,
        "UPDATE users SET email_verified = true WHERE id = $1",
        uuid.UUID(verified_owner.id),
    )
    for account in (squatter, verified_owner):
        signed = await exchange(
            oidc_app, await sign_in(oidc_app, provider, identity(email=account.email))
        )
        assert signed.status_code == 200, signed.text
        assert (await me(oidc_app, signed.json()))["id"] == account.id

    async with browser(oidc_app) as client:
        old_password = {"login": squatter.username, "password": PASSWORD}
        assert (await client.post("/v1/auth/login", json=old_password)).status_code == 401
        refresh = {"refresh_token": squatter.refresh_token}
        assert (await client.post("/v1/auth/refresh", json=refresh)).status_code == 401
        stale = await client.get("/v1/users/me", headers=squatter.headers)
        assert stale.status_code == 401
        # An account whose address was already proven keeps its password and sessions.
        kept = {"login": verified_owner.username, "password": PASSWORD}
        assert (await client.post("/v1/auth/login", json=kept)).status_code == 200
        refresh = {"refresh_token": verified_owner.refresh_token}
        assert (await client.post("/v1/auth/refresh", json=refresh)).status_code == 200
    [row] = await fetch(
        settings, "SELECT password_hash FROM users WHERE id = $1", uuid.UUID(squatter.id)
    )
    assert row["password_hash"] is None


async def test_a_tampered_or_foreign_state_is_refused(oidc_app: Any, provider: Provider) -> None:
    provider.identity = identity()
    async with browser(oidc_app) as client:
        callback = local(await authorize(await start(client)))
        tampered = callback.replace("state=", "state=x")
        assert (await client.get(tampered)).status_code == 401
        # Another browser (no state cookie) cannot finish this sign-in.
        async with browser(oidc_app) as other:
            assert (await other.get(callback)).status_code == 401
        assert (await client.get(callback)).status_code == 302
        # The flow is single use.
        replay = await client.get(callback)
        assert replay.status_code == 401
        assert replay.headers["content-type"] == "application/problem+json"


async def test_a_code_stolen_into_another_flow_fails_pkce(
    oidc_app: Any, provider: Provider, settings: Settings
) -> None:
    victim = identity()
    provider.identity = victim
    async with browser(oidc_app) as alice, browser(oidc_app) as mallory:
        alice_callback = await authorize(await start(alice))
        mallory_url = await start(mallory)
        stolen_code = parse_qs(urlsplit(alice_callback).query)["code"][0]
        mallory_state = parse_qs(urlsplit(mallory_url).query)["state"][0]
        response = await mallory.get(
            "/v1/auth/oidc/acme/callback", params={"code": stolen_code, "state": mallory_state}
        )
    assert response.status_code == 401
    assert provider.token_requests[-1]["code"] == stolen_code
    users = await fetch(settings, "SELECT id FROM users WHERE email = $1", victim["email"])
    assert users == []


async def test_an_id_token_with_another_nonce_or_key_is_refused(
    oidc_app: Any, provider: Provider, settings: Settings
) -> None:
    for knob in ("nonce_override", "sign_with_foreign_key"):
        who = identity()
        setattr(provider, knob, "not-this-flow" if knob == "nonce_override" else True)
        try:
            response = await sign_in(oidc_app, provider, who)
        finally:
            provider.nonce_override, provider.sign_with_foreign_key = None, False
        assert response.status_code == 401, (knob, response.text)
        assert await fetch(settings, "SELECT id FROM users WHERE email = $1", who["email"]) == []


async def test_unknown_providers_and_hostile_input_are_problems(
    oidc_app: Any, client: httpx.AsyncClient
) -> None:
    # The session's app has no provider configured at all.
    assert (await client.get(LOGIN)).status_code == 404
    async with browser(oidc_app) as c:
        for path, expected in (
            ("/v1/auth/oidc/nope/login", 404),
            ("/v1/auth/oidc/nope/callback?code=a&state=b", 404),
            ("/v1/auth/oidc/ACME%27--/login", 422),
            ("/v1/auth/oidc/acme/callback?state=" + "s" * 300, 422),
            ("/v1/auth/oidc/acme/callback?code=x&state=y", 401),
            ("/v1/auth/oidc/acme/callback?error=access_denied&state=y", 401),
        ):
            response = await c.get(path)
            assert response.status_code == expected, (path, response.text)
            assert response.headers["content-type"] == "application/problem+json"
        for body in ({}, {"code": ""}, {"code": "'; DROP TABLE users;--xxxxxxxx"}, {"code": 7}):
            response = await c.post("/v1/auth/oidc/exchange", json=body)
            assert response.status_code == 422, (body, response.text)
        unknown = await c.post("/v1/auth/oidc/exchange", json={"code": "a" * 43})
        assert unknown.status_code == 401


async def test_a_provider_that_is_down_is_a_bad_gateway(oidc_app: Any) -> None:
    async with browser(oidc_app) as client:
        response = await client.get("/v1/auth/oidc/down/login")
    assert response.status_code == 502
    assert response.headers["content-type"] == "application/problem+json"
