"""Fetching a URL someone else wrote (a bible's reference assets) without becoming their proxy.

A bible's `portraitUrl`, `voiceAnchorUrl` and `styleFrameUrl` are user input. Fetched naively,
they would let anyone make the worker read the cloud metadata service, a database's HTTP port or
an admin page on the private network. So a fetch:

- speaks http or https only, and refuses URLs carrying credentials;
- resolves the host itself and refuses it unless *every* address it resolves to is public
  (not private, loopback, link-local, shared, reserved, multicast or unspecified, IPv4-mapped
  forms included), then connects to the address it checked, so a second DNS answer cannot
  swap in another one (https still verifies the certificate against the host name);
- follows redirects itself, each hop checked the same way, at most `max_redirects`;
- stops at `max_bytes` (by Content-Length, and while reading) and after `timeout_seconds` in all;
- ignores proxy settings from the environment (a proxy would connect where we did not check).

`ASSET_FETCH_ALLOWED_NETWORKS` exempts networks from the public-address rule (the tests' local
server, a trusted internal asset host); nothing else does.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from typing import Any

import httpx

from infra.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_DEFAULT_PORTS = {"http": 80, "https": 443}


class AssetRefused(Exception):
    """The URL may not be fetched, or what it answered is not acceptable."""


@dataclass(frozen=True)
class FetchLimits:
    max_bytes: int = 20 * 1024 * 1024
    timeout_seconds: float = 15.0
    max_redirects: int = 3
    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchLimits:
        return cls(
            max_bytes=settings.asset_fetch_max_bytes,
            timeout_seconds=settings.asset_fetch_timeout_seconds,
            max_redirects=settings.asset_fetch_max_redirects,
            allowed_networks=parse_networks(settings.asset_fetch_allowed_networks),
        )


@dataclass(frozen=True)
class FetchedAsset:
    url: str
    content: bytes
    content_type: str


def parse_networks(text: str) -> tuple[IPNetwork, ...]:
    """`"127.0.0.1/32, 10.0.0.0/8"` as networks; a bad entry is a configuration error."""
    return tuple(ipaddress.ip_network(part.strip()) for part in text.split(",") if part.strip())


def address_allowed(address: IPAddress, allowed: tuple[IPNetwork, ...] = ()) -> bool:
    """Public unicast addresses, and those of the explicitly allowed networks."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in allowed if network.version == address.version):
        return True
    return address.is_global and not address.is_multicast


async def resolve(host: str, port: int, limits: FetchLimits) -> str:
    """The address to connect to; refused unless every address of `host` is allowed."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except (socket.gaierror, UnicodeError) as exc:
        raise AssetRefused(f"cannot resolve {host!r}: {exc}") from None
    addresses = list(dict.fromkeys(str(info[4][0]).split("%", 1)[0] for info in infos))
    if not addresses:
        raise AssetRefused(f"{host!r} has no address")
    for text in addresses:
        if not address_allowed(ipaddress.ip_address(text), limits.allowed_networks):
            raise AssetRefused(f"{host!r} resolves to {text}, which is not a public address")
    return addresses[0]


def _checked_url(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise AssetRefused(f"not a URL: {exc}") from None
    if parsed.scheme not in _DEFAULT_PORTS:
        raise AssetRefused(f"only http and https URLs are fetched, not {parsed.scheme or url!r}")
    if not parsed.host:
        raise AssetRefused("the URL has no host")
    if parsed.userinfo:
        raise AssetRefused("URLs with credentials are not fetched")
    return parsed


async def fetch_asset(
    url: str, limits: FetchLimits, *, transport: httpx.AsyncBaseTransport | None = None
) -> FetchedAsset:
    """The body at `url` within `limits`, or AssetRefused saying why not."""
    try:
        async with asyncio.timeout(limits.timeout_seconds):
            return await _fetch(url, limits, transport)
    except TimeoutError:
        raise AssetRefused(f"no complete answer within {limits.timeout_seconds:g} s") from None


async def _fetch(
    url: str, limits: FetchLimits, transport: httpx.AsyncBaseTransport | None
) -> FetchedAsset:
    options: dict[str, Any] = {"follow_redirects": False, "trust_env": False}
    if transport is not None:
        options["transport"] = transport
    async with httpx.AsyncClient(timeout=limits.timeout_seconds, **options) as client:
        for _ in range(limits.max_redirects + 1):
            target = _checked_url(url)
            port = target.port or _DEFAULT_PORTS[target.scheme]
            address = await resolve(target.host, port, limits)
            # Connect to the address just checked; Host and SNI still name the host.
            pinned = target.copy_with(host=address)
            host_header = target.host if target.port is None else f"{target.host}:{target.port}"
            request = client.build_request(
                "GET",
                pinned,
                # identity: the limit counts the bytes we keep, never a compressed size.
                headers={
                    "Host": host_header,
                    "Accept": "image/*, audio/*",
                    "Accept-Encoding": "identity",
                },
                extensions={"sni_hostname": target.host} if target.scheme == "https" else {},
            )
            try:
                response = await client.send(request, stream=True)
            except httpx.HTTPError as exc:
                raise AssetRefused(f"fetching {target.host!r} failed: {exc!r}") from None
            try:
                if response.is_redirect:
                    location = response.headers.get("location", "")
                    url = str(target.join(location))
                    continue
                content = await _body(response, limits)
            finally:
                await response.aclose()
            return FetchedAsset(str(target), content, response.headers.get("content-type", ""))
    raise AssetRefused(f"more than {limits.max_redirects} redirects")


async def _body(response: httpx.Response, limits: FetchLimits) -> bytes:
    if response.status_code != 200:
        raise AssetRefused(f"the server answered {response.status_code}")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limits.max_bytes:
        raise AssetRefused(f"{declared} bytes is over the limit of {limits.max_bytes}")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in response.aiter_raw():
            size += len(chunk)
            if size > limits.max_bytes:
                raise AssetRefused(f"more than {limits.max_bytes} bytes")
            chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise AssetRefused(f"reading the answer failed: {exc!r}") from None
    return b"".join(chunks)
