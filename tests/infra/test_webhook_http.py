"""The webhook client's pieces: Standard Webhooks signatures and which addresses are refused."""

from __future__ import annotations

import pytest

from infra import webhook_http


def test_signature_matches_the_standard_webhooks_test_vector() -> None:
    # The reference implementations' own example (standard-webhooks, libraries' tests).
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    signature = webhook_http.sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert webhook_http.verify(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body, signature)
    assert not webhook_http.verify(secret, "msg_other", 1614265330, body, signature)
    assert not webhook_http.verify(
        secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265331, body, signature
    )


def test_new_secrets_are_fresh_and_well_formed() -> None:
    first, second = webhook_http.new_secret(), webhook_http.new_secret()
    assert first != second and first.startswith("whsec_")
    assert len(webhook_http._key(first)) == webhook_http.SECRET_BYTES


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("127.0.0.1", True),
        ("10.0.0.5", True),
        ("172.31.255.255", True),
        ("192.168.0.1", True),
        ("169.254.169.254", True),
        ("100.64.1.1", True),
        ("0.0.0.0", True),
        ("224.0.0.1", True),
        ("255.255.255.255", True),
        ("::1", True),
        ("::", True),
        ("fe80::1%eth0", True),
        ("fc00::1", True),
        ("::ffff:10.0.0.1", True),
        ("ff02::1", True),
        ("not an address", True),
        ("1.1.1.1", False),
        ("93.184.215.14", False),
        ("2606:4700:4700::1111", False),
    ],
)
def test_only_global_addresses_are_allowed(address: str, refused: bool) -> None:
    assert webhook_http.forbidden_address(address) is refused


async def test_a_name_resolving_to_loopback_is_refused() -> None:
    with pytest.raises(webhook_http.TargetRefused):
        await webhook_http.resolve_checked("localhost", 80, allow_private=False)
    assert await webhook_http.resolve_checked("localhost", 80, allow_private=True)


async def test_post_to_a_refused_target_never_connects() -> None:
    outcome = await webhook_http.post(
        "http://127.0.0.1:9/x",
        {},
        b"{}",
        allow_private=False,
        timeout_seconds=1,
        max_response_bytes=1024,
    )
    assert outcome.status_code is None and outcome.error and outcome.error.startswith("refused")
    assert not outcome.ok


async def test_an_endless_response_is_cut_at_the_limit() -> None:
    import asyncio

    import uvicorn

    from tests.webhooks.receiver import free_port

    async def endless(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
        while True:  # until the client hangs up (then send returns at once: yield anyway)
            await send({"type": "http.response.body", "body": b"x" * 65536, "more_body": True})  # type: ignore[operator]
            await asyncio.sleep(0.001)

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(endless, host="127.0.0.1", port=port, lifespan="off", log_level="error")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        outcome = await webhook_http.post(
            f"http://127.0.0.1:{port}/",
            {},
            b"{}",
            allow_private=True,
            timeout_seconds=5,
            max_response_bytes=128 * 1024,
        )
    finally:
        server.should_exit = True
        server.force_exit = True
        await asyncio.wait_for(task, 5)
    assert outcome.ok and outcome.status_code == 200
