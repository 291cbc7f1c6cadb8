"""The FastAPI application: create_app and its lifespan."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from botocore.exceptions import ClientError
from fastapi import FastAPI

from api.errors import install_error_handlers
from api.fast_routes import FastPaths
from api.media_cors import MediaCorsMiddleware
from api.middleware import BodySizeLimitMiddleware, RequestMiddleware
from api.routes import (
    admin,
    auth,
    engagement,
    ideas,
    jobs,
    media,
    metrics,
    moderation,
    notifications,
    operations,
    ops,
    playback,
    scene_exports,
    scene_lifecycle,
    scenes,
    search,
    topics,
    users,
    webhooks,
)
from api.web import install_web_app
from domain.users import service as users_service
from infra.db import Database
from infra.job_feed import JobFeed
from infra.logging import configure_logging, get_logger
from infra.media_urls import MediaUrls
from infra.metrics import instrument
from infra.oidc import OIDCRegistry
from infra.queue import connect_queue
from infra.security import VerifiedTokens
from infra.settings import Settings, get_settings
from infra.storage import S3Storage, Storage, storage_from_settings

log = get_logger("api")
# Starlette matches routes in order: the routes a frontend polls every second come first
# (and FastPaths offers the first two routers' marked routes a fast path; see api.fast_routes).
ROUTERS = (
    jobs.router,
    ops.router,
    playback.router,
    metrics.router,
    auth.router,
    users.router,
    topics.router,
    ideas.router,
    scenes.router,
    scene_lifecycle.router,
    scene_exports.router,
    search.router,
    engagement.router,
    media.router,
    moderation.router,
    admin.router,
    operations.router,
    notifications.router,
    webhooks.router,
)


async def ensure_admin(db: Database, settings: Settings) -> None:
    if not (settings.admin_email and settings.admin_password):
        return
    async with db.transaction() as session:
        await users_service.ensure_admin(
            session,
            settings.admin_email,
            settings.admin_password.get_secret_value(),
            settings.admin_username,
        )
    log.info("admin_ensured", email=settings.admin_email)


async def bootstrap_storage(storage: Storage, settings: Settings) -> None:
    """A bucket we own gets CORS rules, so a player on another origin can fetch its media."""
    if isinstance(storage, S3Storage) and settings.s3_manage_cors and settings.cors_origins:
        try:
            await storage.put_cors(settings.cors_origins)
        except ClientError as exc:  # no s3:PutBucketCORS: serve anyway, say so
            log.warning("bucket_cors_not_set", bucket=storage.bucket, error=str(exc))
        else:
            log.info("bucket_cors_set", bucket=storage.bucket, origins=settings.cors_origins)


_heap_frozen = False


def freeze_startup_heap() -> None:
    """Move everything made by imports and start-up out of the collector's sight, once.

    A server process holds some hundred thousand long-lived objects (modules, the ORM's
    mappers, pydantic's validators) that every full collection walks again; under load
    those walks cost a fifth of the CPU, billed to whichever request allocated at the time.
    Frozen, they are never scanned; objects made afterwards are collected as usual. Once per
    process: a test run that builds many apps freezes only the first.
    """
    global _heap_frozen
    if not _heap_frozen:
        _heap_frozen = True
        gc.collect()
        gc.freeze()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.db = Database(settings)
        await app.state.db.start()
        app.state.queue = await connect_queue(settings)
        app.state.storage = storage_from_settings(settings)
        app.state.media_urls = MediaUrls(settings, app.state.storage)
        await bootstrap_storage(app.state.storage, settings)
        await ensure_admin(app.state.db, settings)
        freeze_startup_heap()
        try:
            yield
        finally:
            await app.state.job_feed.close()
            await app.state.queue.aclose()
            await app.state.db.dispose()

    app = FastAPI(
        title="Storyloom",
        version="0.1.0",
        summary="Write a story together and watch it become video.",
        lifespan=lifespan,
        # Our figures are Prometheus's (infra.metrics) and our logs structlog's; FastAPI's own
        # OpenTelemetry hooks would otherwise ask for their providers on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.settings = settings
    # One LISTEN connection per process for every job event stream; opened by the first.
    app.state.job_feed = JobFeed(settings.database_url, settings.job_feed_reconnect_seconds)
    app.state.access_tokens = VerifiedTokens(settings)
    app.state.oidc = OIDCRegistry(settings)  # a malformed OIDC_PROVIDERS fails here, at start
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    install_web_app(app, settings.web_dist_dir)  # after the API: its fallback catches only misses
    # The polled reads (jobs, /healthz), the public lists and scene reads: no route of the
    # routers before ideas' and scenes' matches GET /v1/ideas, /v1/scenes, /v1/scenes/{id}
    # or /v1/scenes/{id}/segments.
    app.add_middleware(FastPaths, routers=(*ROUTERS[:2], ideas.router, scenes.router))
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(MediaCorsMiddleware, origins=settings.cors_origins)
    # Outermost: times everything, sees the matched route afterwards.
    app.add_middleware(RequestMiddleware, metrics=instrument(app))
    return app
