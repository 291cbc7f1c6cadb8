"""Fast paths: the polled reads answered before FastAPI's routing, the same way it would."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response

from api.fast_routes import FastPaths, fast_path
from api.routes import jobs, ops
from tests.factories import Account, Factory


def _request(app: object, path: str, params: dict[str, str], headers: dict[str, str]) -> Request:
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": path,
            "query_string": b"",
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
            "path_params": params,
            "app": app,
        }
    )


async def _counted(request: Request) -> str:
    request.app.state.solved.append(request.url.path)
    return "full"


def _toy(fast_paths: bool) -> tuple[FastAPI, list[str]]:
    async def fast(request: Request) -> Response | None:
        if "x-conflict" in request.headers:
            raise HTTPException(409, "rendered by the app's handler")
        if "x-broken" in request.headers:
            raise RuntimeError("no handler: on to the server error middleware")
        return Response(b"fast") if "x-fast" in request.headers else None

    router = APIRouter()

    @router.get("/thing/{name}", response_model=str)
    @fast_path(fast)
    async def thing(name: str, value: Annotated[str, Depends(_counted)]) -> str:
        """A thing."""
        return value

    app = FastAPI()
    app.state.solved = []
    app.include_router(router)
    if fast_paths:
        app.add_middleware(FastPaths, routers=[router])
    return app, app.state.solved


async def test_a_fast_path_answers_first_and_leaves_the_rest_to_fastapi() -> None:
    app, solved = _toy(fast_paths=True)
    transport = httpx.ASGITransport(app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        fast = await c.get("/thing/a", headers={"X-Fast": "1"})
        full = await c.get("/thing/b")
        conflict = await c.get("/thing/c", headers={"X-Conflict": "1"})
        broken = await c.get("/thing/d", headers={"X-Broken": "1"})
        posted = await c.post("/thing/e", headers={"X-Fast": "1"})
    assert (fast.status_code, fast.content) == (200, b"fast")
    assert (full.status_code, full.json()) == (200, "full")
    assert conflict.status_code == 409
    assert conflict.json() == {"detail": "rendered by the app's handler"}
    assert broken.status_code == 500
    assert posted.status_code == 405
    assert solved == ["/thing/b"]  # the fast answers solved no dependency


def test_a_fast_path_leaves_the_openapi_document_as_it_was() -> None:
    assert _toy(fast_paths=True)[0].openapi() == _toy(fast_paths=False)[0].openapi()


async def test_a_fast_answer_is_labelled_with_its_route_template(
    app: Any, client: httpx.AsyncClient
) -> None:
    labels = {"method": "GET", "route": "/healthz", "status": "2xx"}
    name = "storyloom_http_request_duration_seconds_count"

    def count() -> float:
        return app.state.metrics.registry.get_sample_value(name, labels) or 0.0

    before = count()
    assert (await client.get("/healthz")).status_code == 200
    assert count() == before + 1


async def test_healthz_fast_answer_is_fastapis_byte_for_byte() -> None:
    plain = FastAPI()
    plain.get("/healthz")(ops.healthz)  # a plain APIRoute ignores the fast path
    async with httpx.AsyncClient(transport=httpx.ASGITransport(plain), base_url="http://t") as c:
        expected = await c.get("/healthz")
    answer = await ops._fast_healthz(_request(plain, "/healthz", {}, {}))
    assert answer.body == expected.content
    assert answer.headers["content-type"] == expected.headers["content-type"]


@pytest.fixture
async def polled(factory: Factory) -> tuple[Account, dict]:
    owner = await factory.account()
    return owner, await factory.job(owner, await factory.scene(owner))


async def test_job_poll_fast_answer_is_the_full_routes(
    app: object, client: httpx.AsyncClient, polled: tuple[Account, dict]
) -> None:
    owner, job = polled
    # A UUID without hyphens is valid, but not canonical: FastAPI's full route answers it.
    full = await client.get(f"/v1/jobs/{job['id'].replace('-', '')}", headers=owner.headers)
    assert full.status_code == 200
    request = _request(app, "/v1/jobs/x", {"job_id": job["id"]}, owner.headers)
    fast = await jobs._fast_poll(request)
    assert fast is not None and fast.status_code == 200
    assert fast.body == full.content
    assert fast.headers["etag"] == full.headers["etag"]
    assert fast.headers["cache-control"] == full.headers["cache-control"]
    revalidate = {**owner.headers, "If-None-Match": f'W/"0", {full.headers["etag"]}'}
    not_modified = await jobs._fast_poll(_request(app, "/", {"job_id": job["id"]}, revalidate))
    assert not_modified is not None and not_modified.status_code == 304
    assert not_modified.headers["etag"] == full.headers["etag"]


@pytest.mark.parametrize(
    ("job_id", "authorization"),
    [
        ("{id_without_hyphens}", "{token}"),
        ("not-a-uuid", "{token}"),
        ("{id}", None),
        ("{id}", "Bearer not-a-token"),
        ("{id}", "Basic {bare_token}"),
        ("{id}", "Bearer "),
    ],
)
async def test_job_poll_leaves_everything_unusual_to_fastapi(
    app: object, polled: tuple[Account, dict], job_id: str, authorization: str | None
) -> None:
    owner, job = polled
    token = owner.headers["Authorization"]
    values = {
        "id": job["id"],
        "id_without_hyphens": job["id"].replace("-", ""),
        "token": token,
        "bare_token": token.partition(" ")[2],
    }
    headers = {} if authorization is None else {"Authorization": authorization.format(**values)}
    request = _request(app, "/", {"job_id": job_id.format(**values)}, headers)
    assert await jobs._fast_poll(request) is None
