"""Reference images of the bible (portraits, style frames) that a render may draw.

A URL under `REFERENCE_ASSETS_BASE_URL` names a file inside `REFERENCE_ASSETS_DIR` and is read
from disk. Any other http(s) URL is fetched through the safe fetcher (`infra.asset_fetch`: public
addresses only unless `ASSET_FETCH_ALLOWED_NETWORKS` says otherwise, size and time limits) into
the render's work directory, once per render, before the stills are drawn. A URL that cannot be
had, or a file that is not an image Pillow opens, yields None and the renderer draws its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from PIL import Image, UnidentifiedImageError

from infra.asset_fetch import FetchLimits
from infra.reference_assets import AssetKind, asset_url
from infra.reference_assets import ReferenceAssets as Fetcher
from infra.settings import Settings

# Larger pictures are refused before decoding: a hostile file must not eat the worker's memory.
MAX_PIXELS = 40_000_000
MAX_BYTES = 20 * 1024 * 1024


class ReferenceAssets:
    def __init__(
        self,
        base_url: str | None = None,
        directory: Path | None = None,
        limits: FetchLimits | None = None,
        fetched: Mapping[str, Path] | None = None,
    ) -> None:
        """Without `limits` nothing is fetched: only the local directory is read."""
        self.base_url = (base_url or "").rstrip("/") + "/" if base_url else None
        self.directory = directory.resolve() if directory else None
        self.limits = limits
        self.fetched = dict(fetched or {})

    @classmethod
    def from_settings(cls, settings: Settings) -> ReferenceAssets:
        return cls(
            settings.reference_assets_base_url or None,
            settings.reference_assets_dir,
            FetchLimits.from_settings(settings),
        )

    async def fetching(
        self, bible: Mapping[str, Any], present: Sequence[str], work: Path
    ) -> ReferenceAssets:
        """These assets and the bible's remote images a render of `present` (entity ids) shows,
        fetched into `work`: their portraits and style frames, else the first other style frame."""
        if self.limits is None:
            return self
        fetcher = Fetcher(work, self.limits)
        characters = [c for c in bible.get("characters") or () if isinstance(c, Mapping)]
        shown = [c for c in characters if c.get("entityId") in present]
        wanted = [
            (c, kind)
            for c in shown
            for kind in (AssetKind.PORTRAIT, AssetKind.STYLE_FRAME)
            if self._remote(asset_url(c, kind))
        ]
        files = await asyncio.gather(*(fetcher.local_file(c, kind) for c, kind in wanted))
        fetched = {
            str(asset_url(c, kind)): path
            for (c, kind), path in zip(wanted, files, strict=True)
            if path is not None
        }
        if not any(asset_url(c, AssetKind.STYLE_FRAME) in fetched for c in shown):
            for other in characters:
                url = asset_url(other, AssetKind.STYLE_FRAME)
                if other in shown or not self._remote(url):
                    continue
                path = await fetcher.local_file(other, AssetKind.STYLE_FRAME)
                if path is not None:
                    fetched[str(url)] = path
                    break
        return ReferenceAssets(self.base_url, self.directory, None, {**self.fetched, **fetched})

    def _remote(self, url: str | None) -> bool:
        return url is not None and self.path_of(url) is None

    def path_of(self, url: str | None) -> Path | None:
        """The local file behind an allowed or fetched URL, never outside the directory."""
        if url in self.fetched:
            return self.fetched[url]
        if not url or self.base_url is None or self.directory is None:
            return None
        if not url.startswith(self.base_url):
            return None
        relative = unquote(urlsplit(url[len(self.base_url) :]).path)
        candidate = (self.directory / relative).resolve()
        if not candidate.is_relative_to(self.directory) or not candidate.is_file():
            return None
        return candidate

    def image(self, url: str | None) -> Image.Image | None:
        path = self.path_of(url)
        if path is None or path.stat().st_size > MAX_BYTES:
            return None
        try:
            with Image.open(path) as opened:
                if opened.width * opened.height > MAX_PIXELS:
                    return None
                return opened.convert("RGB")
        except (OSError, UnidentifiedImageError, Image.DecompressionBombError):
            return None
