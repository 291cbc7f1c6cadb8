"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from api.deps import SettingsDep
from api.fast_routes import fast_path
from domain.partitions import service as partitions

router = APIRouter(tags=["operations"])
_HEALTHY = b'{"status":"ok"}'  # what FastAPI makes of the endpoint's dict


async def _fast_healthz(_: Request) -> Response:
    return Response(_HEALTHY, media_type="application/json")


@router.get("/healthz")
@fast_path(_fast_healthz)
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request, settings: SettingsDep) -> JSONResponse:
    """Ready when the primary, the replica router and Redis answer; replicas out is not fatal.

    A replica that is down or lagging is only out of rotation (the primary serves its reads),
    so it is reported under `replicas` with its lag, and the status stays 200.
    """
    database = await request.app.state.db.readiness()
    try:
        redis_ok = bool(await request.app.state.queue.ping())
    except Exception:  # noqa: BLE001 - unreachable Redis is "not ready", not an error
        redis_ok = False
    checks = {
        "primary": database["primary"]["ok"],
        "replica_router": database["router"]["ok"],
        "redis": redis_ok,
    }
    ready = all(checks.values())
    # Reported, never fatal.
    warnings = await partitions.readiness_warnings(request.app.state.db, settings)
    return JSONResponse(
        {
            "status": "ready" if ready else "not_ready",
            "checks": checks,
            "primary": database["primary"],
            "replicas": database["router"]["replicas"],
            "warnings": warnings,
        },
        status_code=200 if ready else 503,
    )
