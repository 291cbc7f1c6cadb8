"""Playback end to end, on local storage and on a real S3 server (moto over HTTP).

The real worker renders (speech and captions by the built-in renderer), packages and uploads;
the API's URLs are then followed over real HTTP: ffprobe plays the segment's and the scene's
master playlists, the subtitles rendition is reachable and its cues are the script's dialogue,
and hidden content stops playing.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlparse

import boto3
import httpx
import pytest
import uvicorn
from sqlalchemy import update

from domain.scenes.models import Segment
from infra.media import probe
from infra.settings import Settings
from tests.factories import Factory
from tests.infra.media_checks import cues
from tests.worker.processes import free_port
from tests.worker.running import stop
from tests.worker.script_cues import script_dialogue
from tests.worker.test_pipeline_e2e import CONTINUATION, submit, wait_for_end
from worker.main import worker_options
from worker.refill import RefillingWorker

BUCKET = "storyloom-playback"
# A second segment that speaks too (the first is CONTINUATION, Mara's question).
SECOND = 'Mara ties the bell rope. "Let it ring," Mara says. The fog lifts.'
URL_SECONDS = 900


@dataclass
class Deployment:
    app: Any
    client: httpx.AsyncClient  # over real HTTP, like a player
    base: str
    factory: Factory
    settings: Settings
    s3: Any = None


async def _serve(app: Any) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    return server, task, f"http://127.0.0.1:{port}"


@pytest.fixture
def cors_origins() -> str:
    return "https://player.example"


@pytest.fixture(params=["local", "s3"])
async def deployment(
    request: pytest.FixtureRequest, settings: Settings, tmp_path: Any, cors_origins: str
) -> AsyncIterator[Deployment]:
    from api.app import create_app

    update_fields: dict[str, Any] = {
        "queue_name": f"{settings.queue_name}:playback:{uuid.uuid4().hex[:6]}",
        "media_dir": tmp_path / "media",
        "media_url_seconds": URL_SECONDS,
        "media_cors_origins": cors_origins,
    }
    s3 = None
    if request.param == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        s3 = boto3.client("s3", endpoint_url=endpoint)
        bucket = f"{BUCKET}-{uuid.uuid4().hex[:8]}"
        s3.create_bucket(Bucket=bucket)
        update_fields |= {"s3_bucket": bucket, "s3_endpoint_url": endpoint}
    own = settings.model_copy(update=update_fields)
    app = create_app(own)
    async with app.router.lifespan_context(app):
        server, serving, base = await _serve(app)
        options = worker_options(own)
        options["poll_delay"] = 0.05
        worker = RefillingWorker(**options, handle_signals=False)
        running = asyncio.create_task(worker.async_run())
        try:
            async with httpx.AsyncClient(base_url=base, timeout=30) as client:
                yield Deployment(app, client, base, Factory(app, client), own, s3)
        finally:
            await stop(worker, running)
            server.should_exit = True
            await serving


def absolute(base: str, url: str) -> str:
    return url if url.startswith("http") else base + url


def _entries(playlist: str) -> list[str]:
    return [line for line in playlist.splitlines() if line and not line.startswith("#")]


async def _subtitle_cues(url: str) -> tuple[str, float]:
    """ffmpeg reads a subtitles playlist as a player would: (its cues as WebVTT, duration)."""
    process = await asyncio.create_subprocess_exec(
        "ffmpeg", "-v", "error", "-i", url, "-f", "webvtt", "-",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode(), (await probe(url)).duration


def _assert_signed_for(url: str, seconds: int) -> None:
    query = parse_qs(urlparse(url).query)
    assert query["X-Amz-Expires"] == [str(seconds)], url
    assert "X-Amz-Signature" in query


async def test_a_segment_and_its_scene_play_with_captions(deployment: Deployment) -> None:
    d = deployment
    owner = await d.factory.account()
    scene = await d.factory.scene(owner)
    results = []
    # A line of its own: identical renders share objects (content addressing), and the checks
    # below hide this test's first segment and expect its chunks to stop being served.
    marker = f"The bell tolls {uuid.uuid4().int % 10_000} times."
    texts = (f"{CONTINUATION} {marker}", SECOND)
    for text in texts:
        job, _ = await wait_for_end(
            d.client, owner, (await submit(d.client, owner, scene["id"], text))["id"]
        )
        assert job["status"] == "final_ready", job
        results.append(job["result_data"])
    first = results[0]
    segment_id = first["segment_id"]
    # Stable API URLs, never signed ones: nothing in the job's result expires.
    assert first["hls_playlist_url"].endswith(f"/v1/segments/{segment_id}/playlist.m3u8")
    assert first["captions_url"].endswith(f"/v1/segments/{segment_id}/captions.vtt")
    assert "X-Amz" not in str(results)

    # The segment: a master playlist with a subtitles rendition; ffprobe plays it.
    master_url = absolute(d.base, first["hls_playlist_url"])
    master = (await d.client.get(master_url)).text
    assert re.search(r'#EXT-X-MEDIA:TYPE=SUBTITLES,.*URI="captions.m3u8"', master), master
    assert (await probe(master_url)).duration == pytest.approx(first["duration"], abs=0.5)
    video = await d.client.get(f"/v1/segments/{segment_id}/video.m3u8")
    chunks = _entries(video.text)
    assert chunks and len(chunks) == len(set(chunks))
    for chunk in chunks:
        if d.s3 is not None:
            _assert_signed_for(chunk, URL_SECONDS)  # moto does not check it: we do
        fetched = await d.client.get(absolute(d.base, chunk))
        assert fetched.status_code == 200 and fetched.content[:1] == b"G"  # MPEG-TS sync byte

    # The subtitles rendition: one WebVTT entry as long as the segment, cues mapped to PTS.
    subtitles = await d.client.get(f"/v1/segments/{segment_id}/captions.m3u8")
    [entry] = _entries(subtitles.text)
    length = float(re.search(r"#EXTINF:([0-9.]+)", subtitles.text)[1])  # type: ignore[index]
    assert length == pytest.approx(first["duration"], abs=0.2)
    vtt = (await d.client.get(absolute(d.base, entry))).text
    mapping = re.search(r"X-TIMESTAMP-MAP=MPEGTS:(\d+),LOCAL:00:00:00.000", vtt)
    assert mapping and 90_000 <= int(mapping[1]) <= 3 * 90_000, vtt  # ffmpeg's ~1.4 s start
    # The cues are the script's dialogue with its speakers, inside the segment.
    said = await script_dialogue(texts[0])
    assert said, "the script has dialogue: the comparison below is not of two empty lists"
    found = cues(vtt)
    assert [(c.speaker, c.text) for c in found] == said
    assert all(0 <= c.start < c.end <= first["duration"] for c in found), found
    # ffmpeg plays the subtitles rendition the master names: the script's lines (ffmpeg's
    # WebVTT writer drops the voice tags).
    played, subtitles_length = await _subtitle_cues(
        f"{d.base}/v1/segments/{segment_id}/captions.m3u8"
    )
    assert subtitles_length == pytest.approx(first["duration"], abs=0.2)
    assert [line for line in played.splitlines() if line and line[0].isalpha()] == [
        "WEBVTT",
        *(line for _, line in said),
    ]
    redirect = await d.client.get(absolute(d.base, first["captions_url"]))
    assert redirect.status_code == 307
    assert (
        await d.client.get(
            redirect.headers["location"]
            if redirect.headers["location"].startswith("http")
            else d.base + redirect.headers["location"]
        )
    ).text == vtt

    # MP4 and thumbnail: redirects to where they are stored, signed per response under S3.
    targets = {}
    for field, magic in (("video_url", b"ftyp"), ("thumbnail_url", b"\xff\xd8")):
        answer = await d.client.get(absolute(d.base, first[field]))
        assert answer.status_code == 307
        target = targets[field] = answer.headers["location"]
        if d.s3 is not None:
            _assert_signed_for(target, URL_SECONDS)
        body = (await d.client.get(absolute(d.base, target))).content
        assert magic in body[:12]

    # The whole scene: master, video and subtitles made from the database; it plays as long
    # as its segments together.
    read = (await d.client.get(f"/v1/scenes/{scene['id']}")).json()
    assert read["playlist_url"].endswith(f"/v1/scenes/{scene['id']}/playlist.m3u8")
    scene_master = absolute(d.base, read["playlist_url"])
    assert "TYPE=SUBTITLES" in (await d.client.get(scene_master)).text
    total = sum(r["duration"] for r in results)
    assert (await probe(scene_master)).duration == pytest.approx(total, abs=1.0)
    scene_subs = await d.client.get(f"/v1/scenes/{scene['id']}/captions.m3u8")
    assert len(_entries(scene_subs.text)) == 2 and "#EXT-X-DISCONTINUITY" in scene_subs.text
    lengths = [float(x) for x in re.findall(r"#EXTINF:([0-9.]+)", scene_subs.text)]
    assert sum(lengths) == pytest.approx(total, abs=0.3)
    # ffmpeg 5.1 joins WebVTT files without applying their timestamp maps (players do): only
    # the rendition's length is its to judge.
    _, scene_subtitles_length = await _subtitle_cues(
        f"{d.base}/v1/scenes/{scene['id']}/captions.m3u8"
    )
    assert scene_subtitles_length == pytest.approx(total, abs=0.5)

    # A browser on another origin may fetch playlists (and, under S3, the bucket's objects).
    cors = await d.client.get(scene_master, headers={"Origin": "https://player.example"})
    assert cors.headers["access-control-allow-origin"] == "https://player.example"
    if d.s3 is not None:
        rules = d.s3.get_bucket_cors(Bucket=d.settings.s3_bucket)["CORSRules"]
        assert rules[0]["AllowedOrigins"] == ["https://player.example"]

    # Hidden: the segment stops playing at once, and the scene plays only what is left.
    async with d.app.state.db.transaction() as session:
        await session.execute(
            update(Segment).where(Segment.id == uuid.UUID(segment_id)).values(status="hidden")
        )
    for path in ("playlist.m3u8", "video.m3u8", "captions.m3u8", "video.mp4", "captions.vtt"):
        gone = await d.client.get(f"/v1/segments/{segment_id}/{path}")
        assert gone.status_code == 404, path
        assert gone.headers["content-type"].startswith("application/problem+json")
    if d.s3 is None:  # local objects are served by the API, which checks the segment is live
        # (the MP4: the marker line makes it this segment's own, where early chunks of two
        # renders of one scene can be identical, and so shared with a live segment)
        mp4 = await d.client.get(absolute(d.base, targets["video_url"]))
        assert mp4.status_code == 404
    assert (await probe(scene_master)).duration == pytest.approx(results[1]["duration"], abs=0.5)
