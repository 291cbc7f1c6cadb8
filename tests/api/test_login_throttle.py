"""Sign-in throttling: failed attempts per account and per address, in the run's real Redis.

The apps here are built from the session's settings with tiny limits; every test signs in
from addresses of its own, so neither the tests nor the rest of the suite share a counter.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from domain.users import service as users_service
from infra.settings import Settings
from tests.factories import PASSWORD, Factory, client_from, unique

ACCOUNT_LIMIT, ADDRESS_LIMIT, WINDOW = 3, 5, 60
WRONG = "not the password at all"


async def _started(settings: Settings, **limits: int) -> AsyncIterator[Any]:
    from api.app import create_app

    application = create_app(settings.model_copy(update=limits))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="module")
async def throttled_app(settings: Settings) -> AsyncIterator[Any]:
    async for application in _started(
        settings,
        login_failures_per_account=ACCOUNT_LIMIT,
        login_failures_per_address=ADDRESS_LIMIT,
        login_failure_window_seconds=WINDOW,
    ):
        yield application


@pytest.fixture(scope="module")
async def short_window_app(settings: Settings) -> AsyncIterator[Any]:
    async for application in _started(
        settings, login_failures_per_account=2, login_failure_window_seconds=1
    ):
        yield application


def new_address() -> str:
    raw = uuid.uuid4().bytes
    return f"10.{raw[0]}.{raw[1]}.{raw[2]}"


class Caller:
    """Signs in to one app from one client address, by JSON or by the OAuth2 form."""

    def __init__(self, app: Any, address: str) -> None:
        self.app, self.address = app, address

    async def login(self, login: str, password: str, *, form: bool = False) -> httpx.Response:
        async with client_from(self.app, self.address) as c:
            if form:
                return await c.post(
                    "/v1/auth/token", data={"username": login, "password": password}
                )
            return await c.post("/v1/auth/login", json={"login": login, "password": password})


@pytest.fixture
def caller(throttled_app: Any) -> Callable[[], Caller]:
    return lambda: Caller(throttled_app, new_address())


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every password hash check the sign-in service makes, observed (not replaced)."""
    seen: list[str] = []
    real = users_service.verify_password

    def spy(password: str, password_hash: str | None) -> bool:
        seen.append(password)
        return real(password, password_hash)

    monkeypatch.setattr(users_service, "verify_password", spy)
    return seen


async def new_user(factory: Factory) -> str:
    return (await factory.account()).username


def assert_throttled(response: httpx.Response, window: int = WINDOW) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= window
    body = response.json()
    assert body["status"] == 429 and body["retry_after"] == retry_after


async def test_the_nth_failure_is_429_and_then_even_the_right_password_is_refused(
    factory: Factory, caller: Callable[[], Caller], verifications: list[str]
) -> None:
    username = await new_user(factory)
    client = caller()
    for _ in range(ACCOUNT_LIMIT - 1):
        assert (await client.login(username, WRONG)).status_code == 401
    last = await client.login(username.upper(), WRONG)  # the same account, normalized
    assert_throttled(last)
    assert int(last.headers["retry-after"]) >= WINDOW - 5

    verifications.clear()
    for form in (False, True):
        assert_throttled(await client.login(f" {username} ", PASSWORD, form=form))
    assert verifications == [], "a refused attempt must not reach the password hash"


async def test_unknown_accounts_are_throttled_like_known_ones(
    caller: Callable[[], Caller], verifications: list[str]
) -> None:
    client, ghost = caller(), unique("ghost")
    statuses = [(await client.login(ghost, WRONG)).status_code for _ in range(ACCOUNT_LIMIT)]
    assert statuses == [401] * (ACCOUNT_LIMIT - 1) + [429]
    verifications.clear()
    assert_throttled(await client.login(ghost, WRONG))
    assert verifications == []


async def test_a_throttled_account_leaves_other_accounts_and_addresses_alone(
    factory: Factory, caller: Callable[[], Caller]
) -> None:
    victim, bystander = await new_user(factory), await new_user(factory)
    attacker, elsewhere = caller(), caller()
    for _ in range(ACCOUNT_LIMIT):
        await attacker.login(victim, WRONG)
    assert_throttled(await attacker.login(victim, PASSWORD))

    assert (await elsewhere.login(bystander, PASSWORD)).status_code == 200
    assert (await attacker.login(bystander, PASSWORD)).status_code == 200
    # The account's counter follows the account to any address.
    assert_throttled(await elsewhere.login(victim, PASSWORD))


async def test_an_address_is_throttled_across_many_accounts(
    factory: Factory, caller: Callable[[], Caller]
) -> None:
    sprayer, elsewhere = caller(), caller()
    targets = [await new_user(factory) for _ in range(ADDRESS_LIMIT + 1)]
    statuses = [(await sprayer.login(t, WRONG)).status_code for t in targets[:ADDRESS_LIMIT]]
    assert statuses == [401] * (ADDRESS_LIMIT - 1) + [429]
    assert_throttled(await sprayer.login(targets[-1], PASSWORD, form=True))
    # Each account has one failure only, far from its own limit.
    assert (await elsewhere.login(targets[0], PASSWORD)).status_code == 200


async def test_a_success_clears_the_account_counter(
    factory: Factory, caller: Callable[[], Caller]
) -> None:
    username, client = await new_user(factory), caller()
    for _ in range(2):
        for _ in range(ACCOUNT_LIMIT - 1):
            assert (await client.login(username, WRONG)).status_code == 401
        assert (await client.login(username, PASSWORD)).status_code == 200
    # Four failures and two successes: the address counts the failures only (4 < 5).
    assert (await client.login(unique("ghost"), WRONG)).status_code == 429


async def test_parallel_guesses_cannot_overshoot_the_limit(
    factory: Factory, caller: Callable[[], Caller], verifications: list[str]
) -> None:
    username, client = await new_user(factory), caller()
    verifications.clear()
    responses = await asyncio.gather(*(client.login(username, WRONG) for _ in range(12)))
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {401, 429} and statuses.count(401) <= ACCOUNT_LIMIT - 1
    # Each guess reserved its failure before hashing: no more checks than the limit allows.
    assert len(verifications) == ACCOUNT_LIMIT


async def test_counters_expire_after_the_window(factory: Factory, short_window_app: Any) -> None:
    username, client = await new_user(factory), Caller(short_window_app, new_address())
    assert (await client.login(username, WRONG)).status_code == 401
    assert_throttled(await client.login(username, WRONG), window=1)
    await asyncio.sleep(1.3)
    assert (await client.login(username, PASSWORD)).status_code == 200


async def test_sign_in_without_redis_is_503_not_500(
    client: httpx.AsyncClient, factory: Factory, app: Any
) -> None:
    from arq.connections import ArqRedis

    from tests.worker.processes import free_port

    account = await factory.account()
    live_queue, live_throttle = app.state.queue, getattr(app.state, "login_throttle", None)
    app.state.queue = ArqRedis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5)
    app.state.login_throttle = None
    try:
        response = await client.post(
            "/v1/auth/login", json={"login": account.username, "password": PASSWORD}
        )
    finally:
        await app.state.queue.aclose()
        app.state.queue, app.state.login_throttle = live_queue, live_throttle
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "retry-after" in response.headers
