"""Playlists made from media rows: master, video (discontinuous between segments), captions."""

from __future__ import annotations

import uuid

from domain.media import playlists
from domain.media.repository import SegmentFiles


def files(sequence: int, chunks: list[float], captions: bool = False) -> SegmentFiles:
    return SegmentFiles(
        segment_id=uuid.uuid4(),
        sequence=sequence,
        duration=sum(chunks),
        chunks=[(f"objects/{sequence}{i}.ts", d) for i, d in enumerate(chunks)],
        video=f"objects/{sequence}.mp4",
        thumbnail=f"objects/{sequence}.jpg",
        captions=f"objects/{sequence}.vtt" if captions else None,
    )


def url(key: str) -> str:
    return f"https://cdn.example/{key}?sig"


def test_a_master_names_its_subtitles_only_when_there_are_captions() -> None:
    with_captions = playlists.master("video.m3u8", "captions.m3u8").splitlines()
    assert with_captions[0] == "#EXTM3U"
    media = [line for line in with_captions if line.startswith("#EXT-X-MEDIA:")]
    assert media == [
        '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",LANGUAGE="en",NAME="English",DEFAULT=NO,'
        'AUTOSELECT=YES,FORCED=NO,URI="captions.m3u8"'
    ]
    welsh = playlists.master("video.m3u8", "c.m3u8", playlists.CaptionsLanguage("cy", "Cymraeg"))
    assert 'LANGUAGE="cy",NAME="Cymraeg"' in welsh
    assert with_captions[-2:] == [
        '#EXT-X-STREAM-INF:BANDWIDTH=2000000,SUBTITLES="subs"',
        "video.m3u8",
    ]
    plain = playlists.master("video.m3u8", None)
    assert "SUBTITLES" not in plain and plain.splitlines()[-1] == "video.m3u8"


def test_the_video_playlist_joins_segments_with_a_discontinuity() -> None:
    text = playlists.video([files(1, [6.0, 5.2]), files(2, [7.4, 1.0])], url)
    lines = text.splitlines()
    assert "#EXT-X-TARGETDURATION:8" in lines and "#EXT-X-PLAYLIST-TYPE:VOD" in lines
    assert [line for line in lines if not line.startswith("#")] == [
        url(k) for k in ("objects/10.ts", "objects/11.ts", "objects/20.ts", "objects/21.ts")
    ]
    assert lines.count("#EXT-X-DISCONTINUITY") == 1
    assert lines.index("#EXT-X-DISCONTINUITY") == lines.index(url("objects/20.ts")) - 2
    assert lines[-1] == "#EXT-X-ENDLIST"


def test_unplayable_segments_are_left_out() -> None:
    text = playlists.video([files(1, []), files(2, [2.0])], url)
    assert "#EXT-X-DISCONTINUITY" not in text
    assert [line for line in text.splitlines() if not line.startswith("#")] == [
        url("objects/20.ts")
    ]


def test_captions_last_as_long_as_their_segment_and_gaps_are_blank() -> None:
    text = playlists.captions(
        [files(1, [2.0, 1.5]), files(2, [2.0, 2.0, 0.25], captions=True)], url, "/blank.vtt"
    )
    lines = text.splitlines()
    assert [line for line in lines if line.startswith("#EXTINF")] == [
        "#EXTINF:3.500000,",
        "#EXTINF:4.250000,",
    ]
    assert [line for line in lines if not line.startswith("#")] == [
        "/blank.vtt",
        url("objects/2.vtt"),
    ]
    assert "#EXT-X-TARGETDURATION:5" in lines and lines.count("#EXT-X-DISCONTINUITY") == 1
