"""The secrets that ship in infra/settings.py serve development and tests, and nothing else."""

from __future__ import annotations

import re
from typing import get_args

import pytest
from pydantic import SecretStr, ValidationError

from infra.crypto import generate_key_entry
from infra.settings import ENVS_WITH_DEVELOPMENT_SECRETS, Settings

# A real value for every secret that ships with a development default. A new one must be added
# here, which is the reminder that production refuses it until it is set.
REAL_VALUES = {
    "JWT_SECRET": "production-secret-" + "x" * 32,
    "SECRETS_ENCRYPTION_KEYS": generate_key_entry("prod"),
}
ENVS = get_args(Settings.model_fields["env"].annotation)
REFUSING_ENVS = [env for env in ENVS if env not in ENVS_WITH_DEVELOPMENT_SECRETS]


def test_every_secret_like_setting_is_typed_secret() -> None:
    """Typed SecretStr, a secret is hidden from logs and reprs, and found by the refusal below."""
    named = [n for n in Settings.model_fields if re.search(r"(secret|password|token|keys?)$", n)]
    assert len(named) >= 6
    for name in named:
        annotation = Settings.model_fields[name].annotation
        assert SecretStr in (annotation, *get_args(annotation)), name


def test_every_shipped_secret_is_known() -> None:
    shipped = Settings.development_secrets()
    assert set(shipped) >= {"jwt_secret", "secrets_encryption_keys"}
    assert set(shipped.values()) == set(REAL_VALUES)
    assert REFUSING_ENVS == ["production"]


@pytest.mark.parametrize("env", REFUSING_ENVS)
@pytest.mark.parametrize("variable", sorted(REAL_VALUES))
def test_a_shipped_secret_is_refused_outside_development_and_test(env: str, variable: str) -> None:
    others = {name: value for name, value in REAL_VALUES.items() if name != variable}
    with pytest.raises(ValidationError, match=f"{variable} must be set outside development"):
        Settings.model_validate({"STORYLOOM_ENV": env, **others})
    # Set, it is taken.
    settings = Settings.model_validate({"STORYLOOM_ENV": env, **REAL_VALUES})
    field = next(n for n, v in Settings.development_secrets().items() if v == variable)
    assert getattr(settings, field).get_secret_value() == REAL_VALUES[variable]


@pytest.mark.parametrize("env", ENVS_WITH_DEVELOPMENT_SECRETS)
def test_development_and_test_run_on_the_shipped_secrets(env: str) -> None:
    settings = Settings.model_validate({"STORYLOOM_ENV": env})
    for field in Settings.development_secrets():
        shipped = Settings.model_fields[field].default.get_secret_value()
        assert getattr(settings, field).get_secret_value() == shipped


def test_the_captions_language_is_a_tag_and_a_name_a_playlist_can_quote() -> None:
    settings = Settings.model_validate(
        {"CAPTIONS_LANGUAGE": "pt-BR", "CAPTIONS_LANGUAGE_NAME": "Português"}
    )
    assert (settings.captions_language, settings.captions_language_name) == ("pt-BR", "Português")
    for bad in ({"CAPTIONS_LANGUAGE": 'en",X="1'}, {"CAPTIONS_LANGUAGE_NAME": 'Eng"lish'}):
        with pytest.raises(ValidationError):
            Settings.model_validate(bad)
