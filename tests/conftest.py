"""Test harness: a fresh PostgreSQL database per run, built by the alembic migrations.

Every run makes its own database (and its own Redis queue name), so two runs never see each
other's data; the database is dropped at the end. Tests isolate by creating their own rows.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import httpx
import pytest
from alembic import command
from alembic.config import Config

from infra.database_urls import asyncpg_dsn, with_database
from infra.settings import ROOT, Settings
from tests.factories import Factory
from tests.infra.moto_server import DUMMY_CREDENTIALS, moto_server

BASE_DATABASE_URL = os.environ.get(
    "DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
RUN_ID = uuid.uuid4().hex[:10]


def alembic_config(database_url: str) -> Config:
    config = Config(toml_file=str(ROOT / "pyproject.toml"))
    config.attributes["database_url"] = database_url
    return config


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(with_database(BASE_DATABASE_URL, "postgres")))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def database_name() -> Iterator[str]:
    name = f"storyloom_test_{RUN_ID}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield name
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def database_url(database_name: str) -> str:
    url = with_database(BASE_DATABASE_URL, database_name)
    command.upgrade(alembic_config(url), "head")
    return url


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        STORYLOOM_ENV="test",
        DATABASE_URL=database_url,
        OPENAI_API_KEY=None,
        S3_BUCKET=None,
        REDIS_URL=REDIS_URL,
        QUEUE_NAME=f"storyloom:test:{RUN_ID}",
        MEDIA_DIR=tmp_path_factory.mktemp("media"),
        LOG_JSON=False,
        LOG_LEVEL="WARNING",
        MAX_BODY_BYTES=262_144,
        WORK_DIR=tmp_path_factory.mktemp("work"),
        MAIL_OUTBOX_DIR=tmp_path_factory.mktemp("outbox"),
        VIDEO_WIDTH=320,
        VIDEO_HEIGHT=180,
        VIDEO_FPS=12,
        # The session's app keeps its pool for the whole run, beside the apps and workers of
        # single tests: the smaller pool of earlier releases keeps them all within PostgreSQL's
        # 100 connections (production keeps 20 warm connections per process).
        DB_POOL_SIZE=10,
        DB_MAX_OVERFLOW=10,
    )


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[object]:
    from api.app import create_app

    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
async def client(app: object) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://storyloom.test") as c:
        yield c


@pytest.fixture(scope="session")
def factory(app: object, client: httpx.AsyncClient) -> Factory:
    return Factory(app, client)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A real S3 endpoint (moto's server over HTTP) with dummy credentials in the environment."""
    saved = {k: os.environ.get(k) for k in DUMMY_CREDENTIALS}
    os.environ.update(DUMMY_CREDENTIALS)
    try:
        with moto_server() as url:
            yield url
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
