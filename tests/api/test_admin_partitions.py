"""GET /v1/admin/partitions and the partition warning of /readyz."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from api.app import create_app
from domain.users.models import Role
from infra.partitions import add_months, month_start, partition_name
from infra.settings import Settings
from tests.conftest import (
    REDIS_URL,
    RUN_ID,
)
from tests.factories import Factory
from tests.scratch import scratch_database


async def test_partitions_need_an_admin(client: httpx.AsyncClient, factory: Factory) -> None:
    assert (await client.get("/v1/admin/partitions")).status_code == 401
    for role in (Role.USER, Role.MODERATOR):
        account = await factory.account(role)
        response = await client.get("/v1/admin/partitions", headers=account.headers)
        assert response.status_code == 403
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_partitions_list_ranges_estimates_horizon_and_archives(
    client: httpx.AsyncClient, factory: Factory, app: object
) -> None:
    async with app.state.db.transaction() as session:  # type: ignore[attr-defined]
        await session.execute(
            text(
                "INSERT INTO partition_archives (table_name, partition_name, range_from, "
                "range_to, storage_key, row_count, size_bytes, sha256, archived_at) VALUES "
                "('jobs', 'jobs_p2001_01', '2001-01-01Z', '2001-02-01Z', "
                "'archives/jobs/jobs_p2001_01.csv.gz', 12, 345, :sha, now()) "
                "ON CONFLICT DO NOTHING"
            ),
            {"sha": "ab" * 32},
        )
    admin = await factory.account(Role.ADMIN)

    response = await client.get("/v1/admin/partitions", headers=admin.headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["required_months_ahead"] == 3
    assert body["warnings"] == []
    tables = {t["table"]: t for t in body["tables"]}
    assert set(tables) == {"segments", "jobs", "job_events"}
    first = month_start(datetime.now(UTC).date())
    for table, entry in tables.items():
        assert entry["months_ahead"] >= 3
        partitions = {p["name"]: p for p in entry["partitions"]}
        default = partitions[f"{table}_default"]
        assert default["is_default"] is True and default["range_from"] is None
        this_month = partitions[partition_name(table, first)]
        assert this_month["is_default"] is False
        assert this_month["range_from"].startswith(first.isoformat())
        assert this_month["range_to"].startswith(add_months(first, 1).isoformat())
        assert "row_estimate" in this_month
        # Ordered by range, and gap-free from this month on.
        bounded = [p for p in entry["partitions"] if not p["is_default"]]
        current = [p for p in bounded if p["range_from"] >= this_month["range_from"]]
        assert all(a["range_to"] == b["range_from"] for a, b in pairwise(current))
    archive = next(a for a in body["archives"] if a["partition"] == "jobs_p2001_01")
    assert archive["status"] == "archived"
    assert (archive["row_count"], archive["size_bytes"]) == (12, 345)
    assert archive["storage_key"] == "archives/jobs/jobs_p2001_01.csv.gz"
    assert archive["range_from"].startswith("2001-01-01")


async def test_readyz_reports_no_warning_with_the_horizon_kept(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["warnings"] == []


@pytest.fixture(scope="module")
def short_horizon_url() -> Iterator[str]:
    """A database whose jobs partitions reach only one month past the current one."""
    with scratch_database("horizon") as url:
        yield url


async def test_readyz_warns_when_fewer_than_two_months_ahead_exist(
    short_horizon_url: str, tmp_path: Path
) -> None:
    settings = Settings(
        STORYLOOM_ENV="test",
        DATABASE_URL=short_horizon_url,
        REDIS_URL=REDIS_URL,
        QUEUE_NAME=f"storyloom:test:{RUN_ID}:horizon",
        MEDIA_DIR=tmp_path,
        LOG_JSON=False,
        LOG_LEVEL="WARNING",
    )
    app = create_app(settings)
    first = month_start(datetime.now(UTC).date())
    async with app.router.lifespan_context(app):
        async with app.state.db.transaction() as session:
            for offset in (2, 3):
                await session.execute(
                    text(f"DROP TABLE {partition_name('jobs', add_months(first, offset))}")
                )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/readyz")

    assert response.status_code == 200  # a warning, not a failure
    body = response.json()
    assert body["status"] == "ready"
    assert len(body["warnings"]) == 1
    assert body["warnings"][0].startswith("jobs: only 1 month(s) of partitions ahead")
