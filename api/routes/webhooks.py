"""Webhook endpoints: register (the secret once), list, remove, and the delivery log."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from api.deps import CurrentUser, KeyringDep, ReadSessionDep, SessionDep, SettingsDep
from api.errors import problem_responses
from domain.webhooks import service
from schemas.common import Page
from schemas.webhooks import DeliveryOut, WebhookCreated, WebhookIn, WebhookOut

router = APIRouter(tags=["webhooks"])
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=512)]


@router.post(
    "/v1/webhooks",
    status_code=status.HTTP_201_CREATED,
    response_model=WebhookCreated,
    responses=problem_responses(401, 403, 409, 422),
)
async def create_webhook(
    body: WebhookIn,
    response: Response,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    keyring: KeyringDep,
) -> WebhookCreated:
    """Register an endpoint for the chosen events; the signing secret is shown only here."""
    registered = await service.register(
        session,
        settings,
        keyring,
        user,
        url=body.url,
        events=body.events,
        all_users=body.all_users,
    )
    response.headers["Location"] = f"/v1/webhooks/{registered.endpoint.id}"
    out = WebhookOut.model_validate(registered.endpoint)
    return WebhookCreated(**out.model_dump(), secret=registered.secret)


@router.get(
    "/v1/webhooks",
    response_model=Page[WebhookOut],
    responses=problem_responses(401, 403, 422),
)
async def list_webhooks(
    user: CurrentUser, session: ReadSessionDep, limit: Limit = 20, cursor: Cursor = None
) -> Page[WebhookOut]:
    """The caller's endpoints, newest first, without their secrets."""
    page = await service.list_endpoints(session, user, limit=limit, cursor=cursor)
    return Page[WebhookOut](
        items=[WebhookOut.model_validate(e) for e in page.items], next_cursor=page.next_cursor
    )


@router.delete(
    "/v1/webhooks/{webhook_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 422),
)
async def delete_webhook(webhook_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> Response:
    """Remove the caller's endpoint; nothing more is sent to it."""
    await service.remove(session, user, webhook_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/v1/webhooks/{webhook_id}/deliveries",
    response_model=Page[DeliveryOut],
    responses=problem_responses(401, 403, 404, 422),
)
async def list_deliveries(
    webhook_id: uuid.UUID,
    user: CurrentUser,
    session: ReadSessionDep,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Page[DeliveryOut]:
    """The endpoint's deliveries, newest first: event, attempts, last response code."""
    page = await service.deliveries(session, user, webhook_id, limit=limit, cursor=cursor)
    return Page[DeliveryOut](
        items=[DeliveryOut.model_validate(d) for d in page.items], next_cursor=page.next_cursor
    )
