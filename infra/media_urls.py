"""The one place media URLs are made, for local storage and S3 alike.

What the API hands out and the database keeps are stable API URLs (`/v1/segments/{id}/...`):
they never expire, so a job's result and its ETag stay put. Those routes answer with playlists
whose entries, or redirects whose targets, are object URLs made when the response is made:
the API's own /media route (local), a permanent URL under MEDIA_PUBLIC_BASE_URL, or a URL
signed for MEDIA_URL_SECONDS.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any

from infra.settings import Settings
from infra.storage import Storage

# A segment's URL fields: the field, the kind of media it needs, the file under the segment.
_FILES = (
    ("hls_playlist_url", "chunk", "playlist.m3u8"),
    ("video_url", "video", "video.mp4"),
    ("thumbnail_url", "thumbnail", "thumbnail.jpg"),
    ("captions_url", "captions", "captions.vtt"),
)


class MediaUrls:
    def __init__(self, settings: Settings, storage: Storage) -> None:
        self.base = settings.public_base_url.rstrip("/")
        self.storage = storage
        # A list page makes some sixty of these: the common starts are made once.
        self._scenes = self.api("/v1/scenes/")
        self._segments = self.api("/v1/segments/")

    def api(self, path: str) -> str:
        """A URL of this API (relative to the request's origin when PUBLIC_BASE_URL is empty)."""
        return f"{self.base}{path}"

    def object(self, key: str) -> str:
        """Where a player fetches a stored object, right now (signed on S3 unless public)."""
        return self.storage.url(key)

    def segment_thumbnail(self, segment_id: uuid.UUID | str) -> str:
        return f"{self._segments}{segment_id}/thumbnail.jpg"

    def scene_links(self, scene_id: uuid.UUID | str) -> dict[str, str]:
        """The URL fields of a scene: its whole-scene master playlist and its MP4 export."""
        return {
            "playlist_url": f"{self._scenes}{scene_id}/playlist.m3u8",
            "export_url": f"{self._scenes}{scene_id}/export.mp4",
        }

    def segment_links(self, segment_id: uuid.UUID | str, roles: Collection[str]) -> dict[str, Any]:
        """The contract's URL fields of a segment with media of the kinds in `roles`."""
        # The segment's URL made once, not once per file (a page of 20 made it 80 times).
        path = f"{self._segments}{segment_id}/"
        return {field: path + name if kind in roles else None for field, kind, name in _FILES}
