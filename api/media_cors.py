"""CORS for media and playlists only: a player on another origin fetches them with no
credentials; the rest of the API keeps the browser's same-origin rule."""

from __future__ import annotations

import re

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

MEDIA_PATHS = re.compile(
    r"^(/media/|/v1/captions/|/v1/segments/[^/]+/[^/]+\.(m3u8|mp4|jpg|vtt)$"
    r"|/v1/scenes/[^/]+/(playlist|video|captions)\.m3u8$)"
)


class MediaCorsMiddleware:
    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=["GET", "HEAD"],
            allow_headers=["Range"],
            expose_headers=["Content-Length", "Content-Range"],
            max_age=3600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and MEDIA_PATHS.match(scope["path"]):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
