"""Calls on a scene shared by the scene-life tests."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.factories import Account


async def read(client: httpx.AsyncClient, scene_id: str, who: Account | None = None) -> Any:
    return await client.get(f"/v1/scenes/{scene_id}", headers=who.headers if who else {})


async def patch(client: httpx.AsyncClient, who: Account, scene_id: str, body: Any) -> Any:
    if isinstance(body, bytes):  # what a JSON encoder would refuse to write
        headers = {**who.headers, "Content-Type": "application/json"}
        return await client.patch(f"/v1/scenes/{scene_id}", content=body, headers=headers)
    return await client.patch(f"/v1/scenes/{scene_id}", json=body, headers=who.headers)


async def continue_(client: httpx.AsyncClient, who: Account, scene_id: str) -> httpx.Response:
    return await client.post(
        f"/v1/scenes/{scene_id}/continuations",
        json={"text": "Mara climbs the bell tower."},
        headers={**who.headers, "Idempotency-Key": uuid.uuid4().hex},
    )


async def job_status(client: httpx.AsyncClient, who: Account, job_id: str) -> str:
    response = await client.get(f"/v1/jobs/{job_id}", headers=who.headers)
    return str(response.json()["status"])


async def cancel(client: httpx.AsyncClient, who: Account, job_id: str) -> None:
    await client.post(f"/v1/jobs/{job_id}/cancel", headers=who.headers)
