"""HLS playlists made from the database's media rows, never from stored playlists or listings.

A segment and a whole scene are each a master playlist: one video rendition and, when there
are captions, a WebVTT subtitles rendition (one subtitle file per segment, as long as the
segment's chunks). The scene's media playlists put a discontinuity between segments.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from domain.media.repository import SegmentFiles

# A nominal figure (the renditions are the only ones, nothing is chosen by it).
BANDWIDTH = 2_000_000
BLANK_VTT = "WEBVTT\n\n"


@dataclass(frozen=True)
class CaptionsLanguage:
    """The language of a subtitles rendition: a BCP 47 tag and the name a player lists."""

    tag: str = "en"
    name: str = "English"


def master(
    video_uri: str, captions_uri: str | None, language: CaptionsLanguage = CaptionsLanguage()
) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-INDEPENDENT-SEGMENTS"]
    stream = f"#EXT-X-STREAM-INF:BANDWIDTH={BANDWIDTH}"
    if captions_uri is not None:
        lines.append(
            f'#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",LANGUAGE="{language.tag}",'
            f'NAME="{language.name}",DEFAULT=NO,AUTOSELECT=YES,FORCED=NO,URI="{captions_uri}"'
        )
        stream += ',SUBTITLES="subs"'
    return "\n".join([*lines, stream, video_uri]) + "\n"


def _media(parts: Sequence[Sequence[tuple[str, float]]]) -> str:
    """A VOD media playlist of `parts` (each a list of (uri, seconds)), discontinuous between."""
    body: list[str] = []
    longest = 1.0
    for index, entries in enumerate(parts):
        if index:
            body.append("#EXT-X-DISCONTINUITY")
        for uri, seconds in entries:
            body.append(f"#EXTINF:{seconds:.6f},")
            body.append(uri)
            longest = max(longest, seconds)
    head = [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        f"#EXT-X-TARGETDURATION:{math.ceil(longest)}",
        "#EXT-X-MEDIA-SEQUENCE:0",
    ]
    return "\n".join([*head, *body, "#EXT-X-ENDLIST"]) + "\n"


def video(segments: Sequence[SegmentFiles], url: Callable[[str], str]) -> str:
    """The chunks of every playable segment, in order."""
    return _media([[(url(key), d) for key, d in s.chunks] for s in segments if s.playable])


def captions(segments: Sequence[SegmentFiles], url: Callable[[str], str], blank_uri: str) -> str:
    """One subtitle file per playable segment, lasting as long as its chunks; a segment
    without captions gets a blank one, so the cues of the next stay in place."""
    return _media(
        [
            [(url(s.captions) if s.captions else blank_uri, sum(d for _, d in s.chunks))]
            for s in segments
            if s.playable
        ]
    )
