"""OIDC_PROVIDERS: parsed into providers, and refused at start-up when malformed."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from api.app import create_app
from infra.oidc import parse_providers
from infra.settings import Settings


def test_providers_are_parsed_with_their_defaults() -> None:
    providers = parse_providers(
        '{"acme": {"issuer": "https://id.acme.example/", "client_id": "c", "client_secret": "s"}}'
    )
    acme = providers["acme"]
    assert acme.issuer == "https://id.acme.example"
    assert acme.discovery_url == "https://id.acme.example/.well-known/openid-configuration"
    assert acme.scope == "openid email profile"
    assert parse_providers("{}") == {}


@pytest.mark.parametrize(
    "config",
    [
        "[]",
        "not json",
        '{"Bad Name": {"issuer": "x", "client_id": "c", "client_secret": "s"}}',
        '{"acme": {"issuer": "https://id.acme.example", "client_id": "c"}}',
        '{"acme": "https://id.acme.example"}',
    ],
)
def test_a_malformed_configuration_stops_the_app_from_being_built(
    settings: Settings, config: str
) -> None:
    with pytest.raises(ValueError):
        parse_providers(config)
    with pytest.raises(ValueError):
        create_app(settings.model_copy(update={"oidc_providers": SecretStr(config)}))
