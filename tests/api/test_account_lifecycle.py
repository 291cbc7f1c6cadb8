"""A user downloads everything held about them, and deletes their account."""

from __future__ import annotations

import json
import random
import string
import uuid
from typing import Any

import asyncpg
import httpx

from infra.settings import Settings
from tests.conftest import asyncpg_dsn
from tests.factories import PASSWORD, Account, Factory, client_from, unique


def rare_word() -> str:
    """A letters-only word no other test writes, so the vocabulary and search can be checked."""
    return "zq" + "".join(random.choices(string.ascii_lowercase, k=12))


async def fetchrow(settings: Settings, sql: str, *args: Any) -> asyncpg.Record | None:
    conn = await asyncpg.connect(asyncpg_dsn(settings.database_url))
    try:
        return await conn.fetchrow(sql, *args)
    finally:
        await conn.close()


async def active_user(
    factory: Factory, client: httpx.AsyncClient
) -> tuple[Account, dict[str, Any]]:
    """An account with an idea, a scene, a cancelled job, a like, a flag and a profile."""
    user = await factory.account()
    idea = await factory.idea(user)
    scene = await factory.scene(user, idea)
    job = await factory.job(user, scene)
    assert (
        await client.post(f"/v1/jobs/{job['id']}/cancel", headers=user.headers)
    ).status_code == 200
    other = await factory.account()
    liked = await factory.idea(other)
    assert (
        await client.put(f"/v1/ideas/{liked['id']}/like", headers=user.headers)
    ).status_code in (
        200,
        204,
    )
    flag = await client.post(
        "/v1/flags",
        json={"target_type": "idea", "target_id": liked["id"], "reason": "spam"},
        headers=user.headers,
    )
    assert flag.status_code == 201, flag.text
    return user, {"idea": idea, "scene": scene, "job": job, "liked": liked, "flag": flag.json()}


async def test_the_export_holds_everything_about_the_caller_and_no_secret(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    user, made = await active_user(factory, client)
    response = await client.get("/v1/users/me/export", headers=user.headers)
    assert response.status_code == 200, response.text
    assert "attachment" in response.headers["content-disposition"]
    data = response.json()
    sections = {
        "ideas", "scenes", "segments", "jobs", "job_idempotency_keys", "likes", "user_topics",
        "refresh_tokens", "account_tokens", "oauth_accounts", "bible_versions_written",
        "scene_views", "flags_filed", "moderation_actions_taken", "moderation_of_account",
    }  # fmt: skip
    assert sections <= set(data), sections - set(data)
    assert data["segments"] == [] and data["oauth_accounts"] == []
    assert data["profile"]["username"] == user.username
    assert data["profile"]["email"] == user.email
    assert [i["id"] for i in data["ideas"]] == [made["idea"]["id"]]
    assert [s["id"] for s in data["scenes"]] == [made["scene"]["id"]]
    assert [j["id"] for j in data["jobs"]] == [made["job"]["id"]]
    assert data["jobs"][0]["text"] == "Mara rings the bell twice."
    assert [(lk["target_type"], lk["target_id"]) for lk in data["likes"]] == [
        ("idea", made["liked"]["id"])
    ]
    assert [f["id"] for f in data["flags_filed"]] == [made["flag"]["id"]]
    assert [b["version"] for b in data["bible_versions_written"]] == [1]
    assert len(data["refresh_tokens"]) == 1 and "token_hash" not in data["refresh_tokens"][0]
    text = json.dumps(data)
    for secret in ("password_hash", "token_hash", "$argon2", "search_vector", "context_data"):
        assert secret not in text
    # Nobody else's rows: the liked idea's author is not the caller, and their idea is absent.
    assert made["liked"]["id"] not in [i["id"] for i in data["ideas"]]


async def test_deleting_the_account_erases_it_and_keeps_its_contributions(
    client: httpx.AsyncClient, factory: Factory, settings: Settings
) -> None:
    user, made = await active_user(factory, client)
    name_word, bio_word = rare_word(), rare_word()
    patch = {"display_name": f"Captain {name_word}", "bio": f"Sails with {bio_word}."}
    assert (await client.patch("/v1/users/me", json=patch, headers=user.headers)).status_code == 200
    found = await client.get("/v1/search", params={"q": name_word, "type": "user"})
    assert [h["username"] for h in found.json()["items"]] == [user.username]
    for word in (name_word, bio_word):
        assert await fetchrow(settings, "SELECT word FROM search_words WHERE word = $1", word)

    response = await client.delete("/v1/users/me", headers=user.headers)
    assert response.status_code == 204, response.text

    # Sessions ended, sign-in impossible.
    assert (await client.get("/v1/users/me", headers=user.headers)).status_code == 401
    refresh = await client.post("/v1/auth/refresh", json={"refresh_token": user.refresh_token})
    assert refresh.status_code == 401
    for login in (user.username, user.email):
        signed = await client.post("/v1/auth/login", json={"login": login, "password": PASSWORD})
        assert signed.status_code == 401
    # Personal data erased; nothing left in search or its vocabulary.
    row = await fetchrow(settings, "SELECT * FROM users WHERE id = $1", uuid.UUID(user.id))
    assert row is not None
    assert row["username"].startswith("deleted_") and row["email"].endswith("@deleted.invalid")
    assert (row["display_name"], row["bio"], row["avatar_url"], row["password_hash"]) == (None,) * 4
    assert row["deleted_at"] is not None and row["is_active"] is False
    assert (await client.get(f"/v1/users/{user.username}")).status_code == 404
    assert (await client.get(f"/v1/users/{row['username']}")).status_code == 404
    for word in (name_word, bio_word, user.username):
        hits = await client.get("/v1/search", params={"q": word, "type": "user"})
        assert hits.status_code == 200 and hits.json()["items"] == [], word
    for word in (name_word, bio_word):
        left = await fetchrow(settings, "SELECT word FROM search_words WHERE word = $1", word)
        assert left is None, word
    for table in ("refresh_tokens", "oauth_accounts", "account_tokens"):
        rest = await fetchrow(
            settings, f"SELECT count(*) AS n FROM {table} WHERE user_id = $1", uuid.UUID(user.id)
        )
        assert rest is not None and rest["n"] == 0, table
    # Contributions stay, attributed to the erased account's id.
    idea = await client.get(f"/v1/ideas/{made['idea']['id']}")
    assert idea.status_code == 200 and idea.json()["user_id"] == user.id
    scene = await client.get(f"/v1/scenes/{made['scene']['id']}")
    assert scene.status_code == 200 and scene.json()["user_id"] == user.id
    # The address and the name are free again.
    again = await client.post(
        "/v1/auth/register",
        json={"email": user.email, "username": user.username, "password": PASSWORD},
    )
    assert again.status_code == 201, again.text
    assert again.json()["id"] != user.id


async def test_a_deleted_account_cannot_be_deleted_or_exported_again(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    user = await factory.account()
    assert (await client.delete("/v1/users/me", headers=user.headers)).status_code == 204
    assert (await client.delete("/v1/users/me", headers=user.headers)).status_code == 401
    assert (await client.get("/v1/users/me/export", headers=user.headers)).status_code == 401


async def test_the_last_admin_cannot_delete_their_account(factory: Factory) -> None:
    import pytest
    from sqlalchemy import update

    from domain.errors import Conflict
    from domain.users import lifecycle
    from domain.users.models import Role, User

    admin = await factory.account(Role.ADMIN)
    # In a transaction that is rolled back: the other admins of the run are left alone.
    async with factory.app.state.db.session() as session:
        await session.execute(
            update(User)
            .where(User.role == "admin", User.id != uuid.UUID(admin.id))
            .values(is_active=False)
        )
        with pytest.raises(Conflict):
            await lifecycle.erase(session, uuid.UUID(admin.id))
        await session.rollback()
    response = await factory.client.get("/v1/users/me", headers=admin.headers)
    assert response.status_code == 200 and response.json()["role"] == "admin"


async def test_a_reset_request_does_the_same_work_for_known_and_unknown_addresses(
    app: Any, factory: Factory
) -> None:
    """One queued job, the lookup left to the worker, whether or not the address is known.

    No worker runs in this module; the jobs are taken off the queue afterwards, so no later
    worker test sends their mail.
    """
    from arq.constants import job_key_prefix
    from arq.jobs import deserialize_job

    from domain.users.account_tokens import SEND_PASSWORD_RESET

    user = await factory.account()
    stranger = f"{unique('nobody')}@example.com"
    async with client_from(app, f"10.18.{random.randrange(250)}.{random.randrange(1, 250)}") as c:
        answers = [
            (await c.post("/v1/auth/password-reset", json={"email": email})).json()
            for email in (user.email, stranger)
        ]
    assert answers[0] == answers[1]
    queue = app.state.queue
    queued = []
    for job_id in await queue.zrange(queue.default_queue_name, 0, -1):
        raw = await queue.get(job_key_prefix + job_id.decode())
        if raw is None:
            continue
        job = deserialize_job(raw)
        if job.function == SEND_PASSWORD_RESET and job.kwargs["email"] in (user.email, stranger):
            queued.append(job.kwargs["email"])
            await queue.zrem(queue.default_queue_name, job_id)
            await queue.delete(job_key_prefix + job_id.decode())
    assert sorted(queued) == sorted([user.email, stranger])


async def test_a_reset_token_works_once_even_when_sent_twice_at_once(
    app: Any, client: httpx.AsyncClient, factory: Factory
) -> None:
    import asyncio

    from domain.users import account_tokens
    from domain.users import repository as users
    from domain.users.models import TokenPurpose

    account = await factory.account()
    async with app.state.db.transaction() as session:
        user = await users.get(session, uuid.UUID(account.id))
        assert user is not None
        token = await account_tokens.issue(
            session, app.state.settings, user, TokenPurpose.PASSWORD_RESET
        )
    passwords = ["first new passphrase", "second new passphrase"]
    responses = await asyncio.gather(
        *(
            client.post("/v1/auth/password-reset/confirm", json={"token": token, "password": p})
            for p in passwords
        )
    )
    assert sorted(r.status_code for r in responses) == [204, 422]
    winner = passwords[[r.status_code for r in responses].index(204)]
    for password in passwords:
        login = {"login": account.username, "password": password}
        status = (await client.post("/v1/auth/login", json=login)).status_code
        assert status == (200 if password == winner else 401)
