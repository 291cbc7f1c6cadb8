"""No webhook endpoint registered by an API test may outlive it at an address off this machine.

API tests register endpoints at a public literal address (PUBLIC_TARGET: checked without DNS),
and schemathesis at whatever it generates; a worker in a later test would send them real
requests (an admin's all-users endpoint receives every event). Only loopback receivers, which
tests start themselves, are kept.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, not_, or_

from domain.webhooks.models import WebhookEndpoint

PUBLIC_TARGET = "https://1.1.1.1/"
_LOOPBACK = ("http://127.", "https://127.", "http://localhost", "http://[::1]")


async def forget_outside_endpoints(app: Any) -> None:
    """Delete every endpoint (and with it its deliveries) not on this machine."""
    on_loopback = or_(*(WebhookEndpoint.url.startswith(prefix) for prefix in _LOOPBACK))
    async with app.state.db.transaction() as session:
        await session.execute(delete(WebhookEndpoint).where(not_(on_loopback)))
