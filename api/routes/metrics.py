"""GET /metrics: Prometheus figures for operators (an admin, or the METRICS_TOKEN bearer)."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from api.deps import SettingsDep, current_user, oauth2_scheme
from api.errors import problem_responses
from domain.errors import Forbidden
from domain.operations.scrape import scrape_families
from domain.users.models import Role

router = APIRouter(tags=["operations"])


async def require_operator(
    request: Request,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> None:
    """The scraper's METRICS_TOKEN when one is configured, else an admin's access token."""
    expected = settings.metrics_token
    secret = expected.get_secret_value().encode() if expected is not None else None
    if token and secret is not None and hmac.compare_digest(token.encode(), secret):
        return
    user = await current_user(request, token)
    if Role(user.role).rank < Role.ADMIN.rank:
        raise Forbidden("Metrics are for operators: an admin or the metrics token.")


@router.get(
    "/metrics",
    response_class=Response,
    responses=problem_responses(
        401, 403, others={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}}
    ),
)
async def metrics(
    request: Request, settings: SettingsDep, _: Annotated[None, Depends(require_operator)]
) -> Response:
    """Per-route HTTP figures, jobs, the queue, partitions, and table and index statistics."""
    extra = await scrape_families(
        request.app.state.db, request.app.state.queue, settings, datetime.now(UTC)
    )
    body, content_type = request.app.state.metrics.render(extra, request.headers.get("accept"))
    return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})
