"""A character's reference assets as local files, for a renderer to use.

The bible names them by URL (`referenceAssets.portraitUrl`, `voiceAnchorUrl`, `styleFrameUrl`,
all optional). `ReferenceAssets.local_file` fetches one safely (`asset_fetch.py`), checks that
it is what it claims to be by its first bytes (an image for a portrait or a style frame, audio
for a voice anchor), and keeps it in the work directory under the hash of its URL, so every
segment of a scene reuses one download. An asset that cannot be had is logged and answered with
None: a missing portrait must never fail a render.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import httpx

from infra.asset_fetch import AssetRefused, FetchLimits, fetch_asset
from infra.logging import get_logger
from infra.settings import Settings

log = get_logger("infra.reference_assets")


class AssetKind(StrEnum):
    PORTRAIT = "portraitUrl"
    VOICE_ANCHOR = "voiceAnchorUrl"
    STYLE_FRAME = "styleFrameUrl"


_IMAGES = {
    b"\x89PNG\r\n\x1a\n": ".png",
    b"\xff\xd8\xff": ".jpg",
    b"GIF87a": ".gif",
    b"GIF89a": ".gif",
}
MEDIA_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}
_AUDIO = {
    b"ID3": ".mp3",
    b"\xff\xfb": ".mp3",
    b"\xff\xf3": ".mp3",
    b"OggS": ".ogg",
    b"fLaC": ".flac",
}


def sniff(content: bytes, kind: AssetKind) -> str | None:
    """The file suffix of `content` when it is the media `kind` needs, else None."""
    riff = content[:4] == b"RIFF" and content[8:12]
    if kind is AssetKind.VOICE_ANCHOR:
        if riff == b"WAVE":
            return ".wav"
        return next((s for magic, s in _AUDIO.items() if content.startswith(magic)), None)
    if riff == b"WEBP":
        return ".webp"
    return next((s for magic, s in _IMAGES.items() if content.startswith(magic)), None)


def asset_url(character: Mapping[str, Any], kind: AssetKind) -> str | None:
    """The URL the character's bible entry gives for `kind`, if any."""
    assets = character.get("referenceAssets")
    url = assets.get(kind.value) if isinstance(assets, Mapping) else None
    return url if isinstance(url, str) and url.strip() else None


@dataclass
class ReferenceAssets:
    """Fetches and caches reference assets under `work_dir/reference-assets`."""

    work_dir: Path
    limits: FetchLimits
    transport: httpx.AsyncBaseTransport | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> ReferenceAssets:
        return cls(settings.work_dir, FetchLimits.from_settings(settings))

    @property
    def cache_dir(self) -> Path:
        return self.work_dir / "reference-assets"

    def _cached(self, url: str, kind: AssetKind) -> tuple[str, Path | None]:
        key = f"{kind.value}-{hashlib.sha256(url.encode()).hexdigest()}"
        found = sorted(self.cache_dir.glob(key + ".*")) if self.cache_dir.is_dir() else []
        return key, found[0] if found else None

    async def local_file(self, character: Mapping[str, Any], kind: AssetKind) -> Path | None:
        """A local copy of the character's `kind` asset, or None (none given, or refused)."""
        url = asset_url(character, kind)
        if url is None:
            return None
        key, cached = self._cached(url, kind)
        if cached is not None:
            return cached
        entity_id = character.get("entityId")
        try:
            fetched = await fetch_asset(url, self.limits, transport=self.transport)
        except AssetRefused as exc:
            log.warning(
                "reference_asset_refused", entity_id=entity_id, kind=kind.value, why=str(exc)
            )
            return None
        suffix = sniff(fetched.content, kind)
        if suffix is None:
            log.warning(
                "reference_asset_refused",
                entity_id=entity_id,
                kind=kind.value,
                why=f"not {'audio' if kind is AssetKind.VOICE_ANCHOR else 'an image'}",
                content_type=fetched.content_type,
            )
            return None
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        path = self.cache_dir / (key + suffix)
        # Written aside, then renamed: a concurrent reader sees the whole file or none.
        partial = path.with_name(f".{path.name}.{os.getpid()}.{id(fetched)}")
        partial.write_bytes(fetched.content)
        partial.replace(path)
        log.info(
            "reference_asset_cached",
            entity_id=entity_id,
            kind=kind.value,
            bytes=len(fetched.content),
        )
        return path

    async def reference_image(
        self, bible: Mapping[str, Any], present: Sequence[str]
    ) -> Path | None:
        """The portrait of the first character in `present` (entity ids) that has one, else a
        style frame (of a present character first); None when neither can be had."""
        characters = [c for c in bible.get("characters") or () if isinstance(c, Mapping)]
        by_id = {c.get("entityId"): c for c in characters}
        for entity_id in present:
            entry = by_id.get(entity_id)
            if entry is not None and (found := await self.local_file(entry, AssetKind.PORTRAIT)):
                return found
        ordered = sorted(characters, key=lambda c: c.get("entityId") not in present)
        for entry in ordered:
            if found := await self.local_file(entry, AssetKind.STYLE_FRAME):
                return found
        return None
