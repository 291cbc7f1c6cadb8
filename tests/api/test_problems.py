"""Bad input of every generic kind gets RFC 9457 problem details, never a 500."""

from __future__ import annotations

import httpx

from tests.factories import Factory

PROBLEM = "application/problem+json"


def assert_problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    assert {"type", "title", "detail"} <= set(body)
    return body


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/auth/login", content=b'{"login": "a",', headers={"content-type": "application/json"}
    )
    assert_problem(response, 400)


async def test_wrong_types_and_missing_fields_point_at_the_field(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/v1/auth/login", json={"login": 5})
    body = assert_problem(response, 422)
    pointers = {e["pointer"] for e in body["errors"]}
    assert pointers == {"/login", "/password"}


async def test_a_body_that_is_not_an_object(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/auth/login", json=["login", "password"])
    assert_problem(response, 422)


async def test_unknown_fields_are_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/auth/login", json={"login": "a", "password": "b", "admin": True}
    )
    body = assert_problem(response, 422)
    assert body["errors"][0]["pointer"] == "/admin"


async def test_oversize_body_is_413_by_header_and_by_stream(
    client: httpx.AsyncClient, settings
) -> None:  # noqa: ANN001
    big = b'{"login": "' + b"a" * (settings.max_body_bytes + 10) + b'", "password": "x"}'
    declared = await client.post(
        "/v1/auth/login", content=big, headers={"content-type": "application/json"}
    )
    assert_problem(declared, 413)

    async def chunks():  # noqa: ANN202 - no Content-Length: the limit must hold while streaming
        for start in range(0, len(big), 65536):
            yield big[start : start + 65536]

    streamed = await client.post(
        "/v1/auth/login", content=chunks(), headers={"content-type": "application/json"}
    )
    assert_problem(streamed, 413)


async def test_nul_bytes_and_lone_surrogates_are_refused(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    account = await factory.account()
    nul = await client.patch("/v1/users/me", json={"bio": "a\u0000b"}, headers=account.headers)
    assert_problem(nul, 422)
    surrogate = await client.patch(
        "/v1/users/me",
        content=b'{"bio": "\\ud800"}',
        headers={**account.headers, "content-type": "application/json"},
    )
    assert_problem(surrogate, 422)
    me = await client.get("/v1/users/me", headers=account.headers)
    assert me.json()["bio"] is None


async def test_invalid_utf8_is_a_client_error(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/auth/login",
        content=b'{"login": "\xff\xfe", "password": "x"}',
        headers={"content-type": "application/json"},
    )
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"].startswith(PROBLEM)


async def test_unknown_route_and_wrong_method(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/v1/nothing-here"), 404)
    assert_problem(await client.delete("/v1/auth/login"), 405)


async def test_forged_and_malformed_tokens_are_401(client: httpx.AsyncClient) -> None:
    import jwt

    forged = jwt.encode({"sub": "x", "typ": "access"}, "another-secret-of-32-characters!!", "HS256")
    unsigned = jwt.encode({"sub": "x", "typ": "access"}, "", algorithm="none")
    for token in (forged, unsigned, "garbage", "a.b.c"):
        response = await client.get("/v1/users/me", headers={"Authorization": f"Bearer {token}"})
        assert_problem(response, 401)


async def test_expired_token_is_401(client: httpx.AsyncClient, settings, factory: Factory) -> None:  # noqa: ANN001
    from datetime import UTC, datetime, timedelta

    import jwt

    account = await factory.account()
    past = datetime.now(UTC) - timedelta(hours=1)
    token = jwt.encode(
        {
            "sub": account.id,
            "typ": "access",
            "role": "user",
            "iss": settings.jwt_issuer,
            "iat": past - timedelta(minutes=15),
            "exp": past,
        },
        settings.jwt_secret.get_secret_value(),
        algorithm=settings.jwt_algorithm,
    )
    response = await client.get("/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, 401)


async def test_responses_carry_a_request_id(client: httpx.AsyncClient) -> None:
    given = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = await client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert made.headers["x-request-id"] != "bad id with spaces"


async def test_readyz_reports_each_dependency(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"primary": True, "replica_router": True, "redis": True}
