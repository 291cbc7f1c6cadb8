"""Whole-scene export with S3 storage: a real worker and app against moto's server over HTTP."""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import boto3
import httpx
import pytest

from domain.scenes.models import Segment
from infra.settings import Settings
from infra.storage import S3Storage
from tests.factories import Factory
from tests.infra.moto_server import DUMMY_CREDENTIALS, moto_server
from tests.infra.sample_media import sample_mp4
from tests.worker.running import stop
from worker.main import worker_options
from worker.refill import RefillingWorker


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
async def s3_app(
    settings: Settings, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Any]:
    """The API and a worker on their own queue, both storing media in a fresh bucket."""
    from api.app import create_app

    for name, value in DUMMY_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    bucket = f"storyloom-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=bucket)
    s3_settings = settings.model_copy(
        update={
            "s3_bucket": bucket,
            "s3_endpoint_url": s3_endpoint,
            "queue_name": f"{settings.queue_name}:s3",
        }
    )
    application = create_app(s3_settings)
    options = worker_options(s3_settings)
    options["poll_delay"] = 0.05
    running = RefillingWorker(**options, handle_signals=False)
    async with application.router.lifespan_context(application):
        task = asyncio.create_task(running.async_run())
        try:
            yield application
        finally:
            await stop(running, task)


def ffprobe_url(url: str) -> dict[str, Any]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json", "-show_chapters", "-show_format", url],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    return json.loads(out)


async def test_an_export_under_s3_is_built_from_the_bucket_and_redirected_to(
    s3_app: Any, factory: Factory, tmp_path: Path
) -> None:
    storage = s3_app.state.storage
    assert isinstance(storage, S3Storage)
    owner = await factory.account()
    scene = await factory.scene(owner)
    scene_id = uuid.UUID(scene["id"])
    lengths = [1.5, 2.0]
    async with s3_app.state.db.transaction() as session:
        for sequence, seconds in enumerate(lengths, start=1):
            prefix = f"scenes/{scene_id}/segments/{uuid.uuid4()}"
            mp4 = tmp_path / f"{sequence}.mp4"
            await sample_mp4(mp4, seconds)
            await storage.put_file(f"{prefix}/video.mp4", mp4)
            session.add(
                Segment(
                    scene_id=scene_id,
                    sequence=sequence,
                    text=f"Shot number {sequence} of the bell.",
                    duration=seconds,
                    video_key=f"{prefix}/video.mp4",
                )
            )

    transport = httpx.ASGITransport(app=s3_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://storyloom.test") as client:
        path = f"/v1/scenes/{scene_id}/export.mp4"
        first = await client.get(path)
        assert first.status_code == 202, first.text
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        response = first
        while response.status_code == 202 and loop.time() < deadline:
            await asyncio.sleep(0.1)
            response = await client.get(path)
    assert response.status_code == 307, response.text
    location = response.headers["location"]
    assert location.startswith(s3_app.state.settings.s3_endpoint_url)
    key = "objects/" + urlparse(location).path.split("/objects/", 1)[1]  # content-addressed
    assert await storage.exists(key)

    info = await asyncio.to_thread(ffprobe_url, location)
    assert [c["tags"]["title"] for c in info["chapters"]] == [
        "1. Shot number 1 of the bell.",
        "2. Shot number 2 of the bell.",
    ]
    assert float(info["chapters"][1]["start_time"]) == pytest.approx(lengths[0], abs=0.1)
    assert float(info["format"]["duration"]) == pytest.approx(sum(lengths), abs=0.15)
