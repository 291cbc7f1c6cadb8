"""Reference images of the bible (portraits, style frames) that this machine may read.

Fetching remote images is another issue's work: a URL is readable here only when it starts
with `REFERENCE_ASSETS_BASE_URL` and names a file inside `REFERENCE_ASSETS_DIR`. Anything else,
or a file that is not an image Pillow opens, yields None and the renderer draws its own.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from PIL import Image, UnidentifiedImageError

from infra.settings import Settings

# Larger pictures are refused before decoding: a hostile file must not eat the worker's memory.
MAX_PIXELS = 40_000_000
MAX_BYTES = 20 * 1024 * 1024


class ReferenceAssets:
    def __init__(self, base_url: str | None = None, directory: Path | None = None) -> None:
        self.base_url = (base_url or "").rstrip("/") + "/" if base_url else None
        self.directory = directory.resolve() if directory else None

    @classmethod
    def from_settings(cls, settings: Settings) -> ReferenceAssets:
        return cls(settings.reference_assets_base_url or None, settings.reference_assets_dir)

    def path_of(self, url: str | None) -> Path | None:
        """The local file behind an allowed URL, never outside the directory."""
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
