"""The API serves web/dist: hashed assets cached for good, the shell never, API paths untouched."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from infra.settings import Settings

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


async def _client_for(settings: Settings, dist: Path) -> AsyncIterator[httpx.AsyncClient]:
    from api.app import create_app

    app = create_app(settings.model_copy(update={"web_dist_dir": dist}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://storyloom.test") as c:
            yield c


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text(
        '<!doctype html><div id="app"></div><script src="/assets/app-1a2b.js">'
    )
    (tmp_path / "assets" / "app-1a2b.js").write_text("console.log('storyloom')")
    return tmp_path


@pytest.fixture
async def web(settings: Settings, dist: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for c in _client_for(settings, dist):
        yield c


async def test_root_is_the_shell_and_never_cached(web: httpx.AsyncClient) -> None:
    for accept in (HTML, {"Accept": "*/*"}):
        r = await web.get("/", headers=accept)
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/html")
        assert r.headers["cache-control"] == "no-cache"
        assert '<div id="app">' in r.text


async def test_client_routes_get_the_shell(web: httpx.AsyncClient) -> None:
    for path in ("/scenes/7d1f", "/jobs/abc", "/login", "/me/jobs", "/account"):
        r = await web.get(path, headers=HTML)
        assert r.status_code == 200, path
        assert r.headers["cache-control"] == "no-cache"
        assert '<div id="app">' in r.text
    head = await web.head("/login", headers=HTML)
    assert head.status_code == 200 and head.content == b""


async def test_hashed_assets_are_immutable(web: httpx.AsyncClient) -> None:
    r = await web.get("/assets/app-1a2b.js")
    assert r.status_code == 200
    assert r.text == "console.log('storyloom')"
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    missing = await web.get("/assets/gone-0000.js", headers=HTML)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    escape = await web.get("/assets/..%2findex.html")
    assert escape.status_code == 404


async def test_api_paths_keep_working_beside_it(web: httpx.AsyncClient) -> None:
    assert (await web.get("/healthz", headers=HTML)).json()
    assert (await web.get("/openapi.json", headers=HTML)).json()["info"]["title"] == "Storyloom"
    assert "swagger" in (await web.get("/docs", headers=HTML)).text.lower()
    scenes = await web.get("/v1/scenes", headers=HTML)
    assert scenes.status_code == 200 and "items" in scenes.json()
    for path in ("/v1/nothing-here", "/v1", "/media/nothing.mp4", "/metricsx/../v1/x"):
        r = await web.get(path, headers=HTML)
        assert r.status_code == 404, path
        assert r.headers["content-type"].startswith("application/problem+json"), path


async def test_non_html_and_non_get_misses_stay_problems(web: httpx.AsyncClient) -> None:
    r = await web.get("/scenes/abc", headers={"Accept": "application/json"})
    assert r.status_code == 404
    assert r.json()["status"] == 404
    posted = await web.post("/scenes/abc", headers=HTML, json={})
    assert posted.status_code in (404, 405)
    assert posted.headers["content-type"].startswith("application/problem+json")
    # An API route's wrong method is still its own 405, not the shell.
    assert (await web.delete("/v1/scenes", headers=HTML)).status_code == 405


async def test_missing_build_says_how_to_build(settings: Settings, tmp_path: Path) -> None:
    async for web in _client_for(settings, tmp_path / "not-built"):
        r = await web.get("/", headers=HTML)
        assert r.status_code == 200
        assert "make web" in r.text and "not built" in r.text
        assert (await web.get("/scenes/x", headers=HTML)).status_code == 200
        assert (await web.get("/assets/app.js")).status_code == 404
        assert (await web.get("/healthz")).status_code == 200
