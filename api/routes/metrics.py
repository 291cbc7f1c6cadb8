"""GET /metrics: Prometheus figures for operators (an admin, or the METRICS_TOKEN bearer)."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client.metrics_core import Metric

from api.deps import SettingsDep, current_user, oauth2_scheme
from domain.errors import Forbidden
from domain.users.models import Role
from infra.db import Database
from infra.metrics import (
    gather_sources,
    job_families,
    partition_families,
    queue_families,
    table_families,
)
from schemas.common import Problem

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
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
        **{s: {"model": Problem} for s in (401, 403)},
    },
)
async def metrics(
    request: Request, settings: SettingsDep, _: Annotated[None, Depends(require_operator)]
) -> Response:
    """Per-route HTTP figures, jobs, the queue, partitions, and table and index statistics."""
    db: Database = request.app.state.db
    now = datetime.now(UTC)

    async def database() -> list[Metric]:
        async with db.reading() as session:
            jobs = await job_families(session, now)
            parts = await partition_families(session, settings.partition_months_ahead)
        # Table statistics are per server: a replica's scans and vacuums are not the primary's.
        async with db.session() as primary:
            tables = await table_families(primary)
        return jobs + parts + tables

    async def redis() -> list[Metric]:
        return await queue_families(request.app.state.queue, settings.queue_name)

    extra = await gather_sources({"database": database, "redis": redis})
    body, content_type = request.app.state.metrics.render(extra, request.headers.get("accept"))
    return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})
