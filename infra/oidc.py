"""Sign-in through external OpenID Connect providers (authorization code flow with PKCE).

Authlib drives the OAuth 2 side (authorization URL with state, nonce and an S256 code
challenge; the code exchange with the verifier and client authentication); Authlib's JOSE
library, joserfc, verifies the ID token against the provider's published keys (JWKS): its
signature, issuer, audience, expiry and our nonce. Providers come from OIDC_PROVIDERS.

The flow's secrets (nonce, code verifier) wait in Redis under a digest of the state, for ten
minutes and one use; the browser holds the state in a cookie, so a callback carried to another
browser (login CSRF) fails.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oauth2.rfc6749.errors import OAuth2Error
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from infra.settings import Settings

PROVIDER_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
FLOW_SECONDS = 600
LOGIN_CODE_SECONDS = 60
METADATA_SECONDS = 3600
HTTP_TIMEOUT_SECONDS = 10.0
# Asymmetric only: an HS256 ID token would be signed with our client secret, which the
# provider's JWKS cannot vouch for.
ID_TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]


class OIDCError(Exception):
    """The provider's answer cannot be trusted or used; the message says why (never a secret)."""


@dataclass(frozen=True)
class OIDCProvider:
    name: str
    issuer: str
    client_id: str
    client_secret: str
    discovery_url: str
    scope: str = "openid email profile"


def parse_providers(config: str) -> dict[str, OIDCProvider]:
    """OIDC_PROVIDERS: a JSON object of providers by name; ValueError when malformed."""
    raw = json.loads(config or "{}")
    if not isinstance(raw, dict):
        raise ValueError("OIDC_PROVIDERS must be a JSON object")
    providers = {}
    for name, entry in raw.items():
        if not PROVIDER_NAME.match(name) or not isinstance(entry, dict):
            raise ValueError(f"OIDC_PROVIDERS: bad provider {name!r}")
        try:
            issuer = str(entry["issuer"]).rstrip("/")
            providers[name] = OIDCProvider(
                name=name,
                issuer=issuer,
                client_id=str(entry["client_id"]),
                client_secret=str(entry["client_secret"]),
                discovery_url=str(
                    entry.get("discovery_url") or f"{issuer}/.well-known/openid-configuration"
                ),
                scope=str(entry.get("scope") or "openid email profile"),
            )
        except KeyError as exc:
            raise ValueError(f"OIDC_PROVIDERS[{name!r}] lacks {exc.args[0]}") from None
    return providers


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Flow:
    """One sign-in under way: what the callback must find again."""

    provider: str
    nonce: str
    code_verifier: str


class FlowStore:
    """Flows under way and one-time login codes, in Redis, each usable once."""

    def __init__(self, redis: Any, namespace: str) -> None:
        self.redis = redis
        self.namespace = namespace

    def _key(self, kind: str, secret: str) -> str:
        return f"{self.namespace}:oidc:{kind}:{digest(secret)}"

    async def start(self, provider: str) -> tuple[str, Flow]:
        state = secrets.token_urlsafe(32)
        flow = Flow(provider, secrets.token_urlsafe(32), secrets.token_urlsafe(64))
        value = json.dumps(flow.__dict__)
        await self.redis.set(self._key("flow", state), value, ex=FLOW_SECONDS)
        return state, flow

    async def finish(self, state: str) -> Flow | None:
        raw = await self.redis.getdel(self._key("flow", state))
        return Flow(**json.loads(raw)) if raw else None

    async def new_login_code(self, user_id: str) -> str:
        code = secrets.token_urlsafe(32)
        await self.redis.set(self._key("code", code), user_id, ex=LOGIN_CODE_SECONDS)
        return code

    async def redeem_login_code(self, code: str) -> str | None:
        raw = await self.redis.getdel(self._key("code", code))
        return raw.decode() if isinstance(raw, bytes) else raw


class OIDCClient:
    """One provider: its discovery document and keys (cached), the code flow, the ID token."""

    def __init__(self, provider: OIDCProvider, redirect_uri: str) -> None:
        self.provider = provider
        self.redirect_uri = redirect_uri
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None

    def _oauth(self) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.provider.client_id,
            client_secret=self.provider.client_secret,
            scope=self.provider.scope,
            redirect_uri=self.redirect_uri,
            code_challenge_method="S256",
            timeout=HTTP_TIMEOUT_SECONDS,
        )

    async def _get(self, url: str) -> Any:
        try:
            async with self._oauth() as http:
                return await http.request("GET", url, withhold_token=True)
        except Exception as exc:  # any transport failure is the provider being unreachable
            raise OIDCError(f"the provider is unreachable: {type(exc).__name__}") from None

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None or time.monotonic() - self._metadata_at > METADATA_SECONDS:
            response = await self._get(self.provider.discovery_url)
            if response.status_code != 200:
                raise OIDCError(f"discovery answered {response.status_code}")
            data = response.json()
            if str(data.get("issuer", "")).rstrip("/") != self.provider.issuer:
                raise OIDCError("the discovery document names another issuer")
            self._metadata, self._metadata_at = data, time.monotonic()
        return self._metadata

    async def authorization_url(self, state: str, flow: Flow) -> str:
        endpoint = (await self.metadata())["authorization_endpoint"]
        async with self._oauth() as oauth:
            url, _ = oauth.create_authorization_url(
                endpoint, state=state, nonce=flow.nonce, code_verifier=flow.code_verifier
            )
        return str(url)

    async def exchange(self, code: str, flow: Flow) -> dict[str, Any]:
        """The provider's tokens for this code; the provider checks the PKCE verifier."""
        endpoint = (await self.metadata())["token_endpoint"]
        try:
            async with self._oauth() as oauth:
                token = await oauth.fetch_token(
                    endpoint, code=code, code_verifier=flow.code_verifier
                )
        except OAuth2Error as exc:
            raise OIDCError(f"the provider refused the code: {exc.error}") from None
        except Exception as exc:  # transport failures, a body that is not a token
            raise OIDCError(f"the code exchange failed: {type(exc).__name__}") from None
        if not token.get("id_token"):
            raise OIDCError("the provider returned no ID token")
        return dict(token)

    async def _key_set(self, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh:
            uri = (await self.metadata())["jwks_uri"]
            response = await self._get(uri)
            if response.status_code != 200:
                raise OIDCError(f"the JWKS answered {response.status_code}")
            self._keys = KeySet.import_key_set(response.json())
        return self._keys

    async def verify_id_token(self, id_token: str, nonce: str) -> dict[str, Any]:
        """The ID token's claims once its signature, issuer, audience, expiry and nonce hold."""
        try:
            try:
                token = jwt.decode(id_token, await self._key_set(), algorithms=ID_TOKEN_ALGORITHMS)
            except JoseError:
                # The provider may have rotated its keys since we fetched them: one refetch.
                keys = await self._key_set(refresh=True)
                token = jwt.decode(id_token, keys, algorithms=ID_TOKEN_ALGORITHMS)
            jwt.JWTClaimsRegistry(
                leeway=60,
                iss={"essential": True, "value": self.provider.issuer},
                aud={"essential": True, "value": self.provider.client_id},
                sub={"essential": True},
                exp={"essential": True},
                iat={"essential": True},
            ).validate(token.claims)
        except (JoseError, ValueError) as exc:
            raise OIDCError(f"the ID token does not verify: {type(exc).__name__}") from None
        claims = dict(token.claims)
        if not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
            raise OIDCError("the ID token's nonce is not this sign-in's")
        return claims


class OIDCRegistry:
    """The configured providers' clients, built once per process."""

    def __init__(self, settings: Settings) -> None:
        self.providers = parse_providers(settings.oidc_providers.get_secret_value())
        self.base = settings.links_base_url
        self._clients: dict[str, OIDCClient] = {}

    def client(self, name: str) -> OIDCClient | None:
        provider = self.providers.get(name)
        if provider is None:
            return None
        if name not in self._clients:
            redirect = f"{self.base}/v1/auth/oidc/{name}/callback"
            self._clients[name] = OIDCClient(provider, redirect)
        return self._clients[name]
