"""Segments stored before content addressing get media rows and play from the database."""

from __future__ import annotations

import uuid

import httpx

from domain.media.backfill import backfill, playlist_chunks
from domain.scenes.models import Segment
from infra.settings import Settings
from tests.factories import Factory

OLD_PLAYLIST = (
    "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:VOD\n"
    "#EXTINF:2.000000,\nseg_000.ts\n#EXTINF:1.250000,\nseg_001.ts\n#EXT-X-ENDLIST\n"
)


def test_playlist_entries_resolve_beside_the_playlist_and_nowhere_else() -> None:
    assert playlist_chunks("scenes/a/segments/b/index.m3u8", OLD_PLAYLIST) == [
        ("scenes/a/segments/b/seg_000.ts", 2.0),
        ("scenes/a/segments/b/seg_001.ts", 1.25),
    ]
    for entry in ("../../../etc/passwd", "/abs.ts", "https://elsewhere/x.ts"):
        try:
            playlist_chunks("a/index.m3u8", f"#EXTINF:1.0,\n{entry}\n")
        except ValueError:
            continue
        raise AssertionError(f"{entry} was accepted")


async def test_a_legacy_segment_plays_after_the_backfill(
    client: httpx.AsyncClient, factory: Factory, settings: Settings
) -> None:
    owner = await factory.account()
    scene = await factory.scene(owner, idea=await factory.idea_row(owner))
    prefix = f"scenes/{scene['id']}/segments/{uuid.uuid4()}"
    storage = factory.app.state.storage
    await storage.put_bytes(f"{prefix}/index.m3u8", OLD_PLAYLIST.encode())
    for index in range(2):
        await storage.put_bytes(f"{prefix}/seg_00{index}.ts", bytes([0x47, index]) * 94)
    await storage.put_bytes(f"{prefix}/video.mp4", b"\x00\x00\x00\x18ftypmp42" + prefix.encode())
    await storage.put_bytes(f"{prefix}/thumbnail.jpg", b"\xff\xd8" + prefix.encode())
    async with factory.app.state.db.transaction() as session:
        segment = Segment(
            scene_id=uuid.UUID(scene["id"]),
            sequence=1,
            text="Mara rings the bell.",
            duration=3.25,
            hls_playlist_key=f"{prefix}/index.m3u8",
            video_key=f"{prefix}/video.mp4",
            thumbnail_key=f"{prefix}/thumbnail.jpg",
        )
        session.add(segment)
        await session.flush()
        segment_id = segment.id
    assert (await client.get(f"/v1/segments/{segment_id}/video.m3u8")).status_code == 404

    result = await backfill(factory.app.state.db, storage)
    assert segment_id in result.done
    video = await client.get(f"/v1/segments/{segment_id}/video.m3u8")
    assert video.status_code == 200
    uris = [line for line in video.text.splitlines() if not line.startswith("#")]
    assert [(await client.get(u)).content for u in uris] == [
        bytes([0x47, 0]) * 94,
        bytes([0x47, 1]) * 94,
    ]
    assert "#EXTINF:1.250000," in video.text
    mp4 = await client.get(f"/v1/segments/{segment_id}/video.mp4")
    assert mp4.status_code == 307 and mp4.headers["location"].startswith(
        f"{settings.public_base_url}/media/objects/"
    )
    again = await backfill(factory.app.state.db, storage)  # idempotent: nothing left to do
    assert segment_id not in again.done and segment_id not in again.skipped
