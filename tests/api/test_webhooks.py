"""Webhook endpoints over the API: the secret once, encrypted at rest; SSRF; hostile input."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from domain.users.models import Role
from domain.webhooks.models import WebhookEndpoint
from domain.webhooks.service import open_secret
from infra.crypto import load_keyring
from tests.api.webhook_targets import PUBLIC_TARGET
from tests.factories import Factory, unique

PUBLIC = PUBLIC_TARGET + "hooks/{}"


def body(url: str | None = None, **fields: Any) -> dict[str, Any]:
    return {"url": url or PUBLIC.format(unique()), "events": ["job.final_ready"], **fields}


async def test_register_shows_the_secret_once_and_stores_it_encrypted(
    client: httpx.AsyncClient, factory: Factory, app: Any
) -> None:
    owner = await factory.account()
    response = await client.post(
        "/v1/webhooks",
        json=body(events=["job.final_ready", "scene.continued", "job.final_ready"]),
        headers=owner.headers,
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["location"] == f"/v1/webhooks/{created['id']}"
    assert created["secret"].startswith("whsec_") and len(created["secret"]) > 30
    assert created["events"] == ["job.final_ready", "scene.continued"]
    assert created["all_users"] is False and created["disabled_at"] is None
    listed = (await client.get("/v1/webhooks", headers=owner.headers)).json()
    assert [e["id"] for e in listed["items"]] == [created["id"]]
    assert "secret" not in listed["items"][0]
    async with app.state.db.session() as session:
        row = await session.scalar(
            select(WebhookEndpoint).where(WebhookEndpoint.id == uuid.UUID(created["id"]))
        )
    assert row is not None
    assert created["secret"].encode() not in row.secret_encrypted
    assert created["secret"][6:].encode() not in row.secret_encrypted
    keyring = load_keyring(app.state.settings.secrets_encryption_keys.get_secret_value())
    assert open_secret(keyring, row) == created["secret"]


async def test_delete_removes_only_ones_own(client: httpx.AsyncClient, factory: Factory) -> None:
    owner, other = await factory.account(), await factory.account()
    created = (await client.post("/v1/webhooks", json=body(), headers=owner.headers)).json()
    path = f"/v1/webhooks/{created['id']}"
    assert (await client.delete(path, headers=other.headers)).status_code == 404
    assert (await client.get(f"{path}/deliveries", headers=other.headers)).status_code == 404
    assert (await client.delete(path, headers=owner.headers)).status_code == 204
    assert (await client.delete(path, headers=owner.headers)).status_code == 404
    assert (await client.get("/v1/webhooks", headers=owner.headers)).json()["items"] == []


async def test_only_an_admin_may_receive_everyones_events(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    user, admin = await factory.account(), await factory.account(Role.ADMIN)
    refused = await client.post("/v1/webhooks", json=body(all_users=True), headers=user.headers)
    assert refused.status_code == 403, refused.text
    assert (await client.get("/v1/webhooks", headers=user.headers)).json()["items"] == []
    allowed = await client.post("/v1/webhooks", json=body(all_users=True), headers=admin.headers)
    assert allowed.status_code == 201 and allowed.json()["all_users"] is True


async def test_an_account_holds_a_bounded_number_of_endpoints(
    client: httpx.AsyncClient, factory: Factory, settings: Any
) -> None:
    owner = await factory.account()
    for _ in range(settings.webhook_max_endpoints_per_user):
        response = await client.post("/v1/webhooks", json=body(), headers=owner.headers)
        assert response.status_code == 201
    response = await client.post("/v1/webhooks", json=body(), headers=owner.headers)
    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://127.8.9.10:8080/hook",
        "http://10.1.2.3/hook",
        "http://172.16.0.1/hook",
        "http://192.168.1.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[fe80::1]/hook",
        "http://[fd00::1]/hook",
        "http://0.0.0.0/hook",
        "http://100.64.0.1/hook",
        "http://localhost/hook",
        "http://localhost:9/hook",
    ],
)
async def test_private_loopback_and_link_local_targets_are_refused(
    client: httpx.AsyncClient, factory: Factory, url: str
) -> None:
    owner = await factory.account()
    response = await client.post("/v1/webhooks", json=body(url), headers=owner.headers)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["pointer"] == "/url"
    assert (await client.get("/v1/webhooks", headers=owner.headers)).json()["items"] == []


@pytest.mark.parametrize(
    "payload",
    [
        {"url": "ftp://1.1.1.1/x", "events": ["job.failed"]},
        {"url": "javascript:alert(1)//x", "events": ["job.failed"]},
        {"url": "https://user:pw@1.1.1.1/x", "events": ["job.failed"]},
        {"url": "https://1.1.1.1:0/x", "events": ["job.failed"]},
        {"url": "https://1.1.1.1:99999/x", "events": ["job.failed"]},
        {"url": "https:///nohost", "events": ["job.failed"]},
        {"url": "https://1.1.1.1/\u0000x", "events": ["job.failed"]},
        {"url": "https://1.1.1.1/ x", "events": ["job.failed"]},
        {"url": "https://1.1.1.1/" + "a" * 3000, "events": ["job.failed"]},
        {"url": "https://1.1.1.1/x", "events": []},
        {"url": "https://1.1.1.1/x", "events": ["job.exploded"]},
        {"url": "https://1.1.1.1/x", "events": "job.failed"},
        {"url": "https://1.1.1.1/x", "events": ["webhook.disabled"]},
        {"url": "https://1.1.1.1/x", "events": ["job.failed"], "secret": "whsec_mine"},
        {"url": 42, "events": ["job.failed"]},
        {"events": ["job.failed"]},
        [],
        None,
    ],
)
async def test_hostile_registrations_are_422_and_change_nothing(
    client: httpx.AsyncClient, factory: Factory, payload: Any
) -> None:
    owner = await factory.account()
    response = await client.post("/v1/webhooks", json=payload, headers=owner.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert (await client.get("/v1/webhooks", headers=owner.headers)).json()["items"] == []


async def test_malformed_ids_and_cursors_are_422(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.account()
    assert (
        await client.delete("/v1/webhooks/not-a-uuid", headers=owner.headers)
    ).status_code == 422
    bad = await client.get("/v1/webhooks", params={"cursor": "%%%"}, headers=owner.headers)
    assert bad.status_code == 422
    assert (
        await client.get("/v1/webhooks", params={"limit": 0}, headers=owner.headers)
    ).status_code == 422


async def test_an_erased_account_leaves_no_endpoint_behind(
    client: httpx.AsyncClient, factory: Factory, app: Any
) -> None:
    owner = await factory.account()
    created = (await client.post("/v1/webhooks", json=body(), headers=owner.headers)).json()
    exported = (await client.get("/v1/users/me/export", headers=owner.headers)).json()
    assert [e["id"] for e in exported["webhook_endpoints"]] == [created["id"]]
    assert "secret_encrypted" not in exported["webhook_endpoints"][0]
    assert (await client.delete("/v1/users/me", headers=owner.headers)).status_code == 204
    async with app.state.db.session() as session:
        left = await session.scalar(
            select(WebhookEndpoint).where(WebhookEndpoint.id == uuid.UUID(created["id"]))
        )
    assert left is None
