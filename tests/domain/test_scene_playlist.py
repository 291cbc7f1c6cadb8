"""The scene playlist: segments' own media playlists joined with discontinuities."""

from __future__ import annotations

import uuid

from domain.scenes.models import Segment
from domain.scenes.service import scene_playlist

FIRST = """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:6
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:VOD
#EXTINF:6.000,
seg_000.ts
#EXTINF:5.200,
seg_001.ts
#EXT-X-ENDLIST
"""

SECOND = """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:8
#EXTINF:7.400,
chunks/a.ts
#EXTINF:1.0,
https://cdn.example.com/elsewhere/b.ts
#EXT-X-ENDLIST
"""


def segment(sequence: int, key: str | None) -> Segment:
    return Segment(
        id=uuid.uuid4(), scene_id=uuid.uuid4(), sequence=sequence, text="", hls_playlist_key=key
    )


def test_two_playlists_are_joined_with_absolute_uris() -> None:
    playlists = {"s/1/index.m3u8": FIRST, "s/2/index.m3u8": SECOND}
    text = scene_playlist(
        [segment(1, "s/1/index.m3u8"), segment(2, "s/2/index.m3u8")],
        playlists.get,
        lambda key: f"https://media.example.com/media/{key}",
    )
    assert text == (
        "#EXTM3U\n"
        "#EXT-X-VERSION:3\n"
        "#EXT-X-PLAYLIST-TYPE:VOD\n"
        "#EXT-X-TARGETDURATION:8\n"
        "#EXT-X-MEDIA-SEQUENCE:0\n"
        "#EXTINF:6.000,\n"
        "https://media.example.com/media/s/1/seg_000.ts\n"
        "#EXTINF:5.200,\n"
        "https://media.example.com/media/s/1/seg_001.ts\n"
        "#EXT-X-DISCONTINUITY\n"
        "#EXTINF:7.400,\n"
        "https://media.example.com/media/s/2/chunks/a.ts\n"
        "#EXTINF:1.0,\n"
        "https://cdn.example.com/elsewhere/b.ts\n"
        "#EXT-X-ENDLIST\n"
    )


def test_missing_and_master_playlists_are_skipped() -> None:
    master = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000\nlow/index.m3u8\n"
    playlists = {"a.m3u8": FIRST, "master.m3u8": master}
    text = scene_playlist(
        [
            segment(1, None),
            segment(2, "gone.m3u8"),
            segment(3, "master.m3u8"),
            segment(4, "a.m3u8"),
        ],
        playlists.get,
        lambda key: f"/media/{key}",
    )
    assert "#EXT-X-DISCONTINUITY" not in text
    assert [line for line in text.splitlines() if not line.startswith("#")] == [
        "/media/seg_000.ts",
        "/media/seg_001.ts",
    ]
    assert text.endswith("#EXT-X-ENDLIST\n")


def test_no_segments_gives_an_empty_vod_playlist() -> None:
    text = scene_playlist([], lambda key: None)
    assert text.splitlines() == [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-TARGETDURATION:1",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-ENDLIST",
    ]
