"""Serving the built web app (web/dist): hashed assets cached for good, the HTML shell never."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

IMMUTABLE = "public, max-age=31536000, immutable"
# Paths the API, docs and operations own: a miss there stays a problem-details 404, never the shell.
RESERVED_PREFIXES = ("/v1/", "/media/", "/assets/", "/docs", "/redoc", "/openapi.json")
RESERVED_PATHS = frozenset({"/v1", "/media", "/assets", "/metrics", "/healthz", "/readyz"})

NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Storyloom: web app not built</title></head>
<body><main>
<h1>The web app is not built yet</h1>
<p>The API is running (see <a href="/docs">/docs</a>), but the built web app
(<code>web/dist</code>, or <code>WEB_DIST_DIR</code>) is missing.</p>
<p>Build it with <code>make web</code>
(or <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>);
<code>make run</code> does this for you. It needs Node.js 20 and npm.</p>
</main></body></html>
"""

router = APIRouter(tags=["web"])


class ImmutableAssets(StaticFiles):
    """Vite's hashed files: a name never changes content, so browsers keep them for a year."""

    def _built(self) -> bool:
        return self.directory is not None and Path(self.directory).is_dir()

    async def check_config(self) -> None:
        # Before the first build there is no directory: a miss is a 404, not a 500.
        if self._built():
            await super().check_config()

    def file_response(self, *args: object, **kwargs: object) -> Response:
        response = super().file_response(*args, **kwargs)  # type: ignore[arg-type]
        response.headers["Cache-Control"] = IMMUTABLE
        return response


class Shell:
    """index.html, re-read only when the build replaced it (a rebuild renames every asset)."""

    def __init__(self, dist: Path) -> None:
        self.dist = dist
        self._cached: tuple[float, bytes] | None = None

    def html(self) -> bytes | None:
        index = self.dist / "index.html"
        try:
            mtime = index.stat().st_mtime
        except OSError:
            return None
        if self._cached is None or self._cached[0] != mtime:
            self._cached = (mtime, index.read_bytes())
        return self._cached[1]

    def response(self, method: str = "GET") -> Response:
        body = self.html()
        if body is None:
            return HTMLResponse(NOT_BUILT, headers={"Cache-Control": "no-cache"})
        return HTMLResponse(
            b"" if method == "HEAD" else body,
            headers={"Cache-Control": "no-cache", "Content-Length": str(len(body))},
        )


def is_app_route(scope: Scope) -> bool:
    """A browser navigating to a client-side route: GET/HEAD, wants HTML, not an API path."""
    if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
        return False
    path: str = scope["path"]
    if path in RESERVED_PATHS or path.startswith(RESERVED_PREFIXES):
        return False
    accept = dict(scope["headers"]).get(b"accept", b"").decode("latin-1")
    return "text/html" in accept


class ShellFallback:
    """The router's no-match handler: the shell for app routes, the usual 404 for the rest."""

    def __init__(self, shell: Shell, not_found: ASGIApp) -> None:
        self.shell = shell
        self.not_found = not_found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if is_app_route(scope):
            await self.shell.response(scope["method"])(scope, receive, send)
            return
        await self.not_found(scope, receive, send)


@router.get(
    "/",
    response_class=HTMLResponse,
    summary="The web app",
    responses={200: {"content": {"text/html": {}}, "description": "The web app's HTML shell"}},
)
async def web_app(request: Request) -> Response:
    """The web app's HTML shell (or how to build it, when web/dist is missing)."""
    shell: Shell = request.app.state.web_shell
    return shell.response(request.method)


def install_web_app(app: FastAPI, dist: Path) -> None:
    """Serves web/dist beside the API: /assets/*, / and the client-side routes."""
    shell = Shell(dist)
    app.state.web_shell = shell
    app.include_router(router)
    app.mount("/assets", ImmutableAssets(directory=dist / "assets", check_dir=False), name="assets")
    app.router.default = ShellFallback(shell, app.router.default)
