"""GET /media/{key}: only files of live content, and no key ever reaches outside the media root.

Segments are inserted with the keys the pipeline writes (scenes/<scene>/segments/<job>/...),
and their files are put in the test media directory; a secret sits beside that directory, and
partition archives inside it, where a careless route would serve them.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import text, update

from domain.scenes.models import Scene, Segment
from tests.factories import Factory

SECRET = "storyloom-secret-marker"
PLAYLIST = "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.0,\nseg_000.ts\n#EXT-X-ENDLIST\n"
PROBLEM = "application/problem+json"


async def asgi_get(app: Any, raw_path: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send `raw_path` exactly as given (no client-side normalization of dots or escapes)."""
    from urllib.parse import unquote_to_bytes

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": unquote_to_bytes(raw_path).decode("utf-8", "replace"),
        "raw_path": raw_path,
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"storyloom.test")],
        "client": ("127.0.0.1", 50000),
        "server": ("storyloom.test", 80),
    }
    sent: list[dict[str, Any]] = []
    requested, finished = False, asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await finished.wait()  # like a server: the client hangs up once the response is over
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            finished.set()

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], headers, body


async def published_segment(factory: Factory, *, with_row: bool = True) -> dict[str, Any]:
    """A scene with one segment whose media files are in storage, as the pipeline leaves it."""
    owner = await factory.account()
    scene = await factory.scene(owner, idea=await factory.idea_row(owner))
    job_id = uuid.uuid4()
    prefix = f"scenes/{scene['id']}/segments/{job_id}"
    media: Path = factory.app.state.settings.media_dir
    (media / prefix).mkdir(parents=True)
    (media / prefix / "index.m3u8").write_text(PLAYLIST)
    (media / prefix / "seg_000.ts").write_bytes(b"\x47" * 188)
    segment_id = None
    if with_row:
        async with factory.app.state.db.transaction() as session:
            segment = Segment(
                scene_id=uuid.UUID(scene["id"]),
                job_id=job_id,
                sequence=1,
                text="Mara rings the bell.",
                duration=4.0,
                hls_playlist_key=f"{prefix}/index.m3u8",
            )
            session.add(segment)
            await session.flush()
            segment_id = segment.id
    return {"scene_id": scene["id"], "segment_id": segment_id, "prefix": prefix}


async def set_status(factory: Factory, model: Any, row_id: Any, status: str) -> None:
    async with factory.app.state.db.transaction() as session:
        await session.execute(update(model).where(model.id == row_id).values(status=status))


@pytest.fixture(scope="module")
def planted(factory: Factory) -> Path:
    """A secret beside the media root and an archive inside it: neither may ever be served."""
    media: Path = factory.app.state.settings.media_dir
    (media.parent / "secret.txt").write_text(SECRET)
    (media / "archives" / "jobs").mkdir(parents=True, exist_ok=True)
    (media / "archives" / "jobs" / "jobs_p2026_01.csv.gz").write_text(SECRET)
    (media / ".env").write_text(SECRET)
    return media


async def test_files_of_a_live_segment_are_served(factory: Factory) -> None:
    live = await published_segment(factory)
    for name, expected in (("index.m3u8", PLAYLIST.encode()), ("seg_000.ts", b"\x47" * 188)):
        response = await factory.client.get(f"/media/{live['prefix']}/{name}")
        assert response.status_code == 200, response.text
        assert response.content == expected


@pytest.mark.parametrize(
    ("what", "status", "served"),
    [
        ("segment", "hidden", False),
        ("segment", "removed", False),
        ("scene", "hidden", False),
        ("scene", "removed", False),
        ("scene", "locked", True),
    ],
)
async def test_media_goes_dark_with_its_segment_or_scene(
    factory: Factory, what: str, status: str, served: bool
) -> None:
    live = await published_segment(factory)
    url = f"/media/{live['prefix']}/index.m3u8"
    assert (await factory.client.get(url)).status_code == 200
    if what == "segment":
        await set_status(factory, Segment, live["segment_id"], status)
    else:
        await set_status(factory, Scene, uuid.UUID(live["scene_id"]), status)
    response = await factory.client.get(url)
    assert response.status_code == (200 if served else 404), response.text
    if not served:
        assert response.headers["content-type"] == PROBLEM
        assert (
            await factory.client.get(url.replace("index.m3u8", "seg_000.ts"))
        ).status_code == 404


async def test_files_that_are_not_published_content_are_never_served(
    factory: Factory, planted: Path
) -> None:
    unpublished = await published_segment(factory, with_row=False)  # uploaded, not finalized
    for key in ("archives/jobs/jobs_p2026_01.csv.gz", f"{unpublished['prefix']}/index.m3u8"):
        assert (planted / key).is_file()
        response = await factory.client.get(f"/media/{key}")
        assert response.status_code == 404, key
        assert SECRET.encode() not in response.content


async def test_hostile_media_paths_never_escape_or_fail(factory: Factory, planted: Path) -> None:
    live = await published_segment(factory)
    prefix = live["prefix"]
    raw_paths = [
        "/media/../secret.txt",
        "/media/../../etc/passwd",
        "/media/%2e%2e/secret.txt",
        "/media/%2e%2e%2fsecret.txt",
        "/media/..%2fsecret.txt",
        "/media/%252e%252e%252fsecret.txt",
        "/media/..%5csecret.txt",
        "/media/%5c..%5c..%5csecret.txt",
        "/media/\\..\\secret.txt",
        f"/media/{prefix}/../../../../../secret.txt",
        f"/media/{prefix}/..%2f..%2f..%2f..%2f..%2fsecret.txt",
        f"/media/{prefix}/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/secret.txt",
        "/media//etc/passwd",
        "/media/%2fetc%2fpasswd",
        "/media/.env",
        "/media/%00",
        f"/media/{prefix}/index.m3u8%00.txt",
        "/media/" + quote("\u2025/\u2025/secret.txt"),
        "/media/" + quote("\uff0e\uff0e\uff0fsecret.txt"),
        "/media/%ff%fe",
        "/media/%c0%ae%c0%ae/secret.txt",  # overlong UTF-8 dots
        "/media/" + quote("'; DROP TABLE segments;--"),
        "/media/" + "a/" * 700 + "x",
        "/media/file:///etc/passwd",
    ]
    wrong = []
    for raw in raw_paths:
        status, headers, body = await asgi_get(factory.app, raw.encode("latin-1", "replace"))
        if not 400 <= status < 500 or SECRET.encode() in body or b"root:" in body:
            wrong.append(f"{raw}: {status} {body[:120]!r}")
        elif headers.get("content-type") != PROBLEM:
            wrong.append(f"{raw}: {status} is not problem details")
    assert not wrong, "\n".join(wrong)


async def test_a_content_addressed_object_is_public_while_a_live_segment_uses_it(
    factory: Factory,
) -> None:
    from tests.api.test_scenes import add_segment
    from tests.media_rows import attach_media

    owner = await factory.account()
    scene = await factory.scene(owner, idea=await factory.idea_row(owner))
    segment = await add_segment(factory.app, scene["id"], 1)
    keys = await attach_media(factory.app, segment.id, chunks=[2.0], captions=True)
    urls = [f"/media/{key}" for group in keys.values() for key in group]
    for url in urls:
        assert (await factory.client.get(url)).status_code == 200, url

    # A second, hidden segment sharing the first one's chunk: still served (the first is live).
    other = await add_segment(factory.app, scene["id"], 2, status="hidden")
    async with factory.app.state.db.transaction() as session:
        await session.execute(
            text(
                "INSERT INTO segment_media (segment_id, segment_created_at, role, position,"
                " object_sha256, duration) SELECT :id, :at, role, position, object_sha256,"
                " duration FROM segment_media WHERE segment_id = :first AND role = 'chunk'"
            ),
            {"id": other.id, "at": other.created_at, "first": segment.id},
        )
    assert (await factory.client.get(urls[0])).status_code == 200

    await set_status(factory, Segment, segment.id, "hidden")
    for url in urls:
        response = await factory.client.get(url)
        assert response.status_code == 404 and response.headers["content-type"] == PROBLEM

    # Stored but referenced by nothing (an upload not yet finalized): not public either.
    await factory.app.state.storage.put_bytes("objects/ab/" + "c" * 62 + ".ts", b"\x47" * 188)
    assert (await factory.client.get("/media/objects/ab/" + "c" * 62 + ".ts")).status_code == 404
