"""Webhook endpoints: registering (the secret shown once), listing, removing, the delivery log."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from domain.pagination import Page
from domain.users.models import Role, User
from domain.webhooks import repository
from domain.webhooks.models import WebhookDelivery, WebhookEndpoint
from infra import webhook_http
from infra.crypto import Keyring
from infra.settings import Settings


def secret_context(endpoint_id: uuid.UUID) -> bytes:
    """Binds the ciphertext to its row: a blob copied to another endpoint fails to decrypt."""
    return f"storyloom/webhook_endpoints/secret_encrypted/{endpoint_id}".encode()


def open_secret(keyring: Keyring, endpoint: WebhookEndpoint) -> str:
    return keyring.decrypt(endpoint.secret_encrypted, secret_context(endpoint.id)).decode()


@dataclass(frozen=True)
class Registered:
    endpoint: WebhookEndpoint
    secret: str


def _bad_url(message: str) -> InvalidInput:
    return InvalidInput(
        f"This URL cannot receive webhooks: {message}.", [{"pointer": "/url", "message": message}]
    )


async def check_target(url: str, *, allow_private: bool) -> None:
    """The URL's shape, and (unless allowed) that its host is not private or loopback."""
    problem = webhook_http.check_url_shape(url)
    if problem:
        raise _bad_url(problem)
    parts = urlsplit(url)
    host = parts.hostname or ""
    if allow_private:
        return
    if not webhook_http.forbidden_address(host):
        return  # a public literal address
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        await webhook_http.resolve_checked(host, port, allow_private=False)
    except webhook_http.TargetRefused as exc:
        if "does not resolve" not in str(exc):
            raise _bad_url("private, loopback and link-local addresses are refused") from exc
        # A name that does not resolve yet is checked again at every delivery.


async def register(
    session: AsyncSession,
    settings: Settings,
    keyring: Keyring,
    user: User,
    *,
    url: str,
    events: Sequence[str],
    all_users: bool,
) -> Registered:
    """A new endpoint for the caller's events (an admin's: everyone's, if asked)."""
    if all_users and Role(user.role) != Role.ADMIN:
        raise Forbidden("Only an admin may receive every user's events.")
    await check_target(url, allow_private=settings.webhook_allow_private_targets)
    if await repository.count_for(session, user.id) >= settings.webhook_max_endpoints_per_user:
        raise Conflict(
            f"You already have {settings.webhook_max_endpoints_per_user} webhook endpoints; "
            "remove one first."
        )
    endpoint_id = uuid.uuid4()
    secret = webhook_http.new_secret()
    endpoint = WebhookEndpoint(
        id=endpoint_id,
        user_id=user.id,
        url=url,
        events=list(dict.fromkeys(events)),
        all_users=all_users,
        secret_encrypted=keyring.encrypt(secret.encode(), secret_context(endpoint_id)),
    )
    return Registered(await repository.add(session, endpoint), secret)


async def list_endpoints(
    session: AsyncSession, user: User, *, limit: int | None, cursor: str | None
) -> Page[WebhookEndpoint]:
    """The caller's endpoints, newest first (never their secrets)."""
    return await repository.page_for(session, user.id, limit=limit, cursor=cursor)


async def _own(session: AsyncSession, user: User, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    endpoint = await repository.get(session, endpoint_id)
    # Another's endpoint is as absent as a missing one: its existence is nobody else's business.
    if endpoint is None or endpoint.user_id != user.id:
        raise NotFound("No such webhook endpoint.")
    return endpoint


async def remove(session: AsyncSession, user: User, endpoint_id: uuid.UUID) -> None:
    """Remove the caller's endpoint and its pending deliveries."""
    endpoint = await _own(session, user, endpoint_id)
    await repository.remove(session, endpoint.id)


async def deliveries(
    session: AsyncSession,
    user: User,
    endpoint_id: uuid.UUID,
    *,
    limit: int | None,
    cursor: str | None,
) -> Page[WebhookDelivery]:
    """The endpoint's delivery log, newest first."""
    endpoint = await _own(session, user, endpoint_id)
    return await repository.deliveries_page(session, endpoint.id, limit=limit, cursor=cursor)
