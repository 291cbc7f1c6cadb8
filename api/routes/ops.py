"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Ready only when the primary, every replica and Redis answer; the body says which."""
    databases = await request.app.state.db.ping()
    try:
        redis_ok = bool(await request.app.state.queue.ping())
    except Exception:  # noqa: BLE001 - unreachable Redis is "not ready", not an error
        redis_ok = False
    checks = {**databases, "redis": redis_ok}
    ready = all(checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks},
        status_code=200 if ready else 503,
    )
