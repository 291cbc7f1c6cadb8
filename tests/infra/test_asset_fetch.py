"""The reference-asset fetcher against a real local HTTP server: allowed only by the setting,
refused without it (before any connection), and bounded in scheme, size, time and redirects."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.asset_fetch import (
    AssetRefused,
    FetchLimits,
    address_allowed,
    fetch_asset,
    parse_networks,
)
from infra.reference_assets import AssetKind, ReferenceAssets
from infra.settings import Settings
from tests.infra.asset_server import PNG, WAV, AssetServer, serving

LOOPBACK_ONE = parse_networks("127.0.0.1/32")
ALLOWED = FetchLimits(max_bytes=4096, timeout_seconds=1.0, allowed_networks=LOOPBACK_ONE)
PUBLIC_ONLY = FetchLimits(max_bytes=4096, timeout_seconds=1.0)


@pytest.fixture(scope="module")
def server() -> Iterator[AssetServer]:
    with serving("127.0.0.1") as running:
        yield running


@pytest.fixture(scope="module")
def other() -> Iterator[AssetServer]:
    """A second loopback address, outside the allowed network."""
    with serving("127.0.0.2") as running:
        yield running


async def test_the_setting_allows_the_local_server(server: AssetServer) -> None:
    fetched = await fetch_asset(server.url("/portrait.png"), ALLOWED)
    assert fetched.content == PNG
    assert fetched.content_type == "image/png"
    # Connected to the checked address, still naming the host the URL gave.
    assert server.requests[-1] == ("/portrait.png", f"127.0.0.1:{server.port}")


async def test_without_the_setting_a_local_address_is_refused_unasked(server: AssetServer) -> None:
    before = len(server.requests)
    for url in (
        server.url("/portrait.png"),
        f"http://localhost:{server.port}/portrait.png",
        f"http://[::ffff:127.0.0.1]:{server.port}/portrait.png",
    ):
        with pytest.raises(AssetRefused, match="not a public address"):
            await fetch_asset(url, PUBLIC_ONLY)
    assert len(server.requests) == before  # never contacted


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:10.0.0.1",
        "::",
        "ff02::1",
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert not address_allowed(ipaddress.ip_address(address))


def test_public_addresses_pass() -> None:
    for address in ("93.184.215.14", "2606:4700:4700::1111", "::ffff:8.8.8.8"):
        assert address_allowed(ipaddress.ip_address(address))
    assert address_allowed(ipaddress.ip_address("10.0.0.7"), parse_networks("10.0.0.0/8"))


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://127.0.0.1/portrait.png",
        "s3://bucket/portrait.png",
        "gopher://127.0.0.1:70/",
        "data:image/png;base64,AAAA",
        "portrait.png",
        "http:///portrait.png",
        "http://user:secret@127.0.0.1/portrait.png",
        "http://no-such-host.invalid/portrait.png",
    ],
)
async def test_other_schemes_credentials_and_unknown_hosts_are_refused(url: str) -> None:
    with pytest.raises(AssetRefused):
        await fetch_asset(url, ALLOWED)


async def test_the_size_limit_holds_declared_or_not(server: AssetServer) -> None:
    with pytest.raises(AssetRefused, match="5000 bytes is over the limit of 4096"):
        await fetch_asset(server.url("/big"), ALLOWED)
    with pytest.raises(AssetRefused, match="more than 4096 bytes"):
        await fetch_asset(server.url("/big-chunked"), ALLOWED)


async def test_the_time_limit_holds_for_a_slow_answer(server: AssetServer) -> None:
    started = time.monotonic()
    with pytest.raises(AssetRefused, match="within 1 s"):
        await fetch_asset(server.url("/slow"), ALLOWED)
    assert time.monotonic() - started < 2.5


async def test_error_statuses_are_refused(server: AssetServer) -> None:
    with pytest.raises(AssetRefused, match="answered 404"):
        await fetch_asset(server.url("/missing"), ALLOWED)


async def test_redirects_are_followed_and_each_hop_is_checked(
    server: AssetServer, other: AssetServer
) -> None:
    server.redirect_to = server.url("/portrait.png")
    assert (await fetch_asset(server.url("/redirect"), ALLOWED)).content == PNG

    # A redirect to an address outside the allowed network is refused before it is contacted.
    server.redirect_to = other.url("/portrait.png")
    with pytest.raises(AssetRefused, match="127.0.0.2, which is not a public address"):
        await fetch_asset(server.url("/redirect"), ALLOWED)
    assert other.requests == []

    server.redirect_to = "file:///etc/passwd"
    with pytest.raises(AssetRefused, match="only http and https"):
        await fetch_asset(server.url("/redirect"), ALLOWED)

    server.redirect_to = "/redirect-again"  # a loop
    with pytest.raises(AssetRefused, match="more than 3 redirects"):
        await fetch_asset(server.url("/redirect"), ALLOWED)


def test_the_limits_come_from_the_settings() -> None:
    settings = Settings(
        ASSET_FETCH_MAX_BYTES=2048,
        ASSET_FETCH_TIMEOUT_SECONDS=2,
        ASSET_FETCH_MAX_REDIRECTS=1,
        ASSET_FETCH_ALLOWED_NETWORKS="127.0.0.1/32, 10.0.0.0/8",
    )
    limits = FetchLimits.from_settings(settings)
    assert (limits.max_bytes, limits.timeout_seconds, limits.max_redirects) == (2048, 2.0, 1)
    assert [str(n) for n in limits.allowed_networks] == ["127.0.0.1/32", "10.0.0.0/8"]
    assert FetchLimits.from_settings(Settings()).allowed_networks == ()  # refused by default
    with pytest.raises(ValueError, match="ASSET_FETCH_ALLOWED_NETWORKS"):
        Settings(ASSET_FETCH_ALLOWED_NETWORKS="127.0.0.1/32, localhost")


async def test_a_renderer_gets_local_files_cached_in_the_work_dir(
    server: AssetServer, tmp_path: Path
) -> None:
    assets = ReferenceAssets(tmp_path, ALLOWED)
    bible: dict[str, Any] = {
        "characters": [
            {
                "entityId": "char_mara",
                "canonicalName": "Mara",
                "referenceAssets": {
                    "portraitUrl": server.url("/portrait.png"),
                    "voiceAnchorUrl": server.url("/voice.wav"),
                    "styleFrameUrl": server.url("/page.html"),
                },
            },
            {"entityId": "char_tobin", "canonicalName": "Tobin"},
        ]
    }
    mara, tobin = bible["characters"]
    portrait = await assets.local_file(mara, AssetKind.PORTRAIT)
    assert portrait is not None and portrait.suffix == ".png" and portrait.read_bytes() == PNG
    assert portrait.parent == tmp_path / "reference-assets"
    voice = await assets.local_file(mara, AssetKind.VOICE_ANCHOR)
    assert voice is not None and voice.suffix == ".wav" and voice.read_bytes() == WAV

    fetched = len(server.requests)
    again = await assets.local_file(mara, AssetKind.PORTRAIT)
    assert again == portrait and len(server.requests) == fetched  # from the cache

    # An HTML page is no style frame; a character without assets has none; neither fails.
    assert await assets.local_file(mara, AssetKind.STYLE_FRAME) is None
    assert await assets.local_file(tobin, AssetKind.PORTRAIT) is None
    # A portrait that is audio is refused too.
    tobin["referenceAssets"] = {"portraitUrl": server.url("/voice.wav")}
    assert await assets.local_file(tobin, AssetKind.PORTRAIT) is None


async def test_the_reference_image_is_a_present_portrait_else_a_style_frame(
    server: AssetServer, tmp_path: Path
) -> None:
    bible: dict[str, Any] = {
        "characters": [
            {"entityId": "char_a", "referenceAssets": {"portraitUrl": server.url("/page.html")}},
            {"entityId": "char_b", "referenceAssets": {"styleFrameUrl": server.url("/frame.png")}},
            {"entityId": "char_c", "referenceAssets": {"portraitUrl": server.url("/portrait.png")}},
        ]
    }
    assets = ReferenceAssets(tmp_path, ALLOWED)
    # char_a's portrait is no image, so char_c's (present, later) is taken.
    found = await assets.reference_image(bible, ["char_a", "char_c"])
    assert found is not None and found.read_bytes() == PNG and found.name.startswith("portraitUrl")
    # Nobody present with a portrait: the style frame.
    frame = await assets.reference_image(bible, ["char_b"])
    assert frame is not None and frame.name.startswith("styleFrameUrl")
    assert await assets.reference_image({"characters": bible["characters"][:1]}, []) is None


async def test_without_the_setting_the_renderer_gets_nothing(
    server: AssetServer, tmp_path: Path
) -> None:
    assets = ReferenceAssets(tmp_path, PUBLIC_ONLY)
    character = {"entityId": "char_a", "referenceAssets": {"portraitUrl": server.url("/x.png")}}
    before = len(server.requests)
    assert await assets.local_file(character, AssetKind.PORTRAIT) is None
    assert len(server.requests) == before
    assert not (tmp_path / "reference-assets").exists()
