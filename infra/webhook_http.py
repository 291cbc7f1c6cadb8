"""Sending one webhook: Standard Webhooks signatures, and a client that cannot be aimed inward.

The target's host is resolved here and every address checked before anything connects; the
connection then goes to the checked address (the Host header and TLS server name keep the
URL's host), so a DNS answer that changes between check and connect (rebinding) cannot
redirect it. Redirects are never followed, and a response is read only up to a limit.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import ipaddress
import secrets
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 24


class TargetRefused(Exception):
    """The URL's host is, or resolves to, an address webhooks may not reach."""


def new_secret() -> str:
    """A fresh signing secret, `whsec_<base64>`."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(secret: str, message_id: str, timestamp: int, body: bytes, header: str) -> bool:
    """Whether any `v1` signature in `header` (space-separated) matches."""
    expected = sign(secret, message_id, timestamp, body)
    return any(hmac.compare_digest(expected, part) for part in header.split(" ") if part)


def forbidden_address(address: str) -> bool:
    """Private, loopback, link-local, multicast, reserved or unspecified: anything not global."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return True
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is loopback too
    return not ip.is_global or ip.is_multicast


async def resolve_checked(host: str, port: int, *, allow_private: bool) -> list[str]:
    """Every address `host` resolves to; TargetRefused when any of them is forbidden."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise TargetRefused(f"the host {host!r} does not resolve") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise TargetRefused(f"the host {host!r} does not resolve")
    if not allow_private:
        bad = [a for a in addresses if forbidden_address(a)]
        if bad:
            raise TargetRefused(f"the host {host!r} resolves to a non-public address ({bad[0]})")
    return addresses


def check_url_shape(url: str) -> str | None:
    """Why `url` cannot be a webhook target (scheme, host, credentials), or None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "not a valid URL"
    if parts.scheme not in ("http", "https"):
        return "the scheme must be http or https"
    if not parts.hostname:
        return "the URL needs a host"
    if parts.username is not None or parts.password is not None:
        return "credentials in the URL are not allowed"
    if port == 0:
        return "port 0 is not allowed"
    return None


@dataclass(frozen=True)
class Outcome:
    """One attempt: the response code (None when there was no response) and what went wrong."""

    status_code: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


async def post(
    url: str,
    headers: dict[str, str],
    body: bytes,
    *,
    allow_private: bool,
    timeout_seconds: float,
    max_response_bytes: int,
) -> Outcome:
    """POST `body` to `url` at a checked address; never raises for the target's behaviour."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = await resolve_checked(host, port, allow_private=allow_private)
    except TargetRefused as exc:
        return Outcome(None, f"refused: {exc}")
    target = httpx.URL(url).copy_with(host=addresses[0])
    host_header = parts.netloc.rsplit("@", 1)[-1]
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    try:
        async with asyncio.timeout(timeout_seconds):
            async with httpx.AsyncClient(
                follow_redirects=False, timeout=timeout_seconds, trust_env=False
            ) as client:
                request = client.build_request(
                    "POST",
                    target,
                    content=body,
                    headers={**headers, "host": host_header},
                    extensions=extensions,
                )
                response = await client.send(request, stream=True)
                try:
                    read = 0
                    async for chunk in response.aiter_raw():
                        read += len(chunk)
                        if read >= max_response_bytes:
                            break  # the code is what counts; the rest is not our business
                finally:
                    await response.aclose()
    except TimeoutError:
        return Outcome(None, f"timed out after {timeout_seconds:g}s")
    except httpx.HTTPError as exc:
        return Outcome(None, f"{type(exc).__name__}: {exc}"[:500])
    except OSError as exc:
        return Outcome(None, f"{type(exc).__name__}: {exc}"[:500])
    error = None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
    return Outcome(response.status_code, error)
