"""Registration, login, refresh rotation with replay detection, logout, banned accounts."""

from __future__ import annotations

import httpx

from tests.factories import PASSWORD, Factory, unique


async def register(client: httpx.AsyncClient, **overrides: str) -> httpx.Response:
    name = unique("r")
    body = {"email": f"{name}@Example.com", "username": name, "password": PASSWORD, **overrides}
    return await client.post("/v1/auth/register", json=body)


async def test_register_returns_the_user_without_the_hash(client: httpx.AsyncClient) -> None:
    response = await register(client)
    assert response.status_code == 201
    body = response.json()
    assert body["email"].endswith("@example.com")
    assert body["role"] == "user"
    assert "password" not in response.text and "hash" not in response.text
    assert response.headers["location"] == f"/v1/users/{body['username']}"


async def test_register_refuses_a_taken_email_or_username(client: httpx.AsyncClient) -> None:
    first = (await register(client)).json()
    same_email = await register(client, email=first["email"].upper())
    same_name = await register(client, username=first["username"].upper())
    assert same_email.status_code == 409
    assert same_name.status_code == 409
    assert same_email.headers["content-type"] == "application/problem+json"


async def test_register_validates_each_field(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/auth/register", json={"email": "not-an-email", "username": "a", "password": "short"}
    )
    assert response.status_code == 422
    pointers = {e["pointer"] for e in response.json()["errors"]}
    assert pointers == {"/email", "/username", "/password"}


async def test_login_by_email_or_username(client: httpx.AsyncClient) -> None:
    user = (await register(client)).json()
    for login in (user["email"], user["username"].upper()):
        response = await client.post("/v1/auth/login", json={"login": login, "password": PASSWORD})
        assert response.status_code == 200
        tokens = response.json()
        assert tokens["token_type"] == "bearer"
        assert tokens["expires_in"] > 0
        me = await client.get(
            "/v1/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
        assert me.json()["id"] == user["id"]


async def test_login_with_a_wrong_password_or_unknown_login(client: httpx.AsyncClient) -> None:
    user = (await register(client)).json()
    wrong = await client.post(
        "/v1/auth/login", json={"login": user["username"], "password": "wrong password!"}
    )
    unknown = await client.post("/v1/auth/login", json={"login": unique(), "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]


async def test_oauth2_password_form(client: httpx.AsyncClient) -> None:
    user = (await register(client)).json()
    response = await client.post(
        "/v1/auth/token", data={"username": user["email"], "password": PASSWORD}
    )
    assert response.status_code == 200
    assert set(response.json()) >= {"access_token", "refresh_token", "token_type", "expires_in"}


async def test_refresh_rotates_and_a_replay_revokes_the_family(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    account = await factory.account()
    first = await client.post("/v1/auth/refresh", json={"refresh_token": account.refresh_token})
    assert first.status_code == 200
    second_token = first.json()["refresh_token"]
    assert second_token != account.refresh_token

    replay = await client.post("/v1/auth/refresh", json={"refresh_token": account.refresh_token})
    assert replay.status_code == 401
    # The replay killed the whole family, including the token issued after it.
    after = await client.post("/v1/auth/refresh", json={"refresh_token": second_token})
    assert after.status_code == 401


async def test_a_refresh_token_is_not_an_access_token(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    account = await factory.account()
    response = await client.get(
        "/v1/users/me", headers={"Authorization": f"Bearer {account.refresh_token}"}
    )
    assert response.status_code == 401


async def test_logout_ends_the_session(client: httpx.AsyncClient, factory: Factory) -> None:
    account = await factory.account()
    out = await client.post("/v1/auth/logout", json={"refresh_token": account.refresh_token})
    assert out.status_code == 204
    again = await client.post("/v1/auth/refresh", json={"refresh_token": account.refresh_token})
    assert again.status_code == 401


async def test_banned_accounts_cannot_log_in_or_write(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    account = await factory.account(banned=True)
    login = await client.post(
        "/v1/auth/login", json={"login": account.username, "password": PASSWORD}
    )
    assert login.status_code == 403
    write = await client.patch("/v1/users/me", json={"bio": "hi"}, headers=account.headers)
    assert write.status_code == 403
    refresh = await client.post("/v1/auth/refresh", json={"refresh_token": account.refresh_token})
    assert refresh.status_code == 401


async def test_profile_update_and_public_profile(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    account = await factory.account()
    patched = await client.patch(
        "/v1/users/me",
        json={
            "display_name": "Mara",
            "bio": "Ferry keeper.",
            "avatar_url": "https://a.example/x.png",
        },
        headers=account.headers,
    )
    assert patched.status_code == 200
    assert patched.json()["display_name"] == "Mara"
    public = await client.get(f"/v1/users/{account.username}")
    assert public.status_code == 200
    assert public.json()["bio"] == "Ferry keeper."
    assert "email" not in public.json()
    missing = await client.get(f"/v1/users/{unique()}")
    assert missing.status_code == 404
