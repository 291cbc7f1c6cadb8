"""docs/DEPLOY.md lists every setting with its default; infra/deploy/ files are well formed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import SecretStr

from infra.settings import ROOT, Settings

DEPLOY_MD = ROOT / "docs" / "DEPLOY.md"
DEPLOY_DIR = ROOT / "infra" / "deploy"
TABLE = re.compile(r"<!-- settings -->\n(.*?)<!-- /settings -->", re.S)
# Defaults that depend on the machine (paths under the checkout) or are secrets: described in
# words, so only their presence is checked.
DESCRIBED = (Path, SecretStr)


def documented_settings() -> dict[str, str]:
    """Variable -> default cell of the settings table (backticks stripped)."""
    match = TABLE.search(DEPLOY_MD.read_text())
    assert match, "docs/DEPLOY.md has no <!-- settings --> table"
    rows: dict[str, str] = {}
    for line in match.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        name = cells[0].strip("`")
        assert name not in rows, f"{name} is listed twice"
        assert cells[2], f"{name} has no meaning"
        rows[name] = cells[1].replace("`", "")
    return rows


def rendered(default: Any) -> str:
    if default is None:
        return "unset"
    if isinstance(default, bool):
        return "true" if default else "false"
    if default == "":
        return "empty"
    return str(default)


def test_every_setting_is_documented_with_its_default() -> None:
    documented = documented_settings()
    fields = {field.alias or name: field for name, field in Settings.model_fields.items()}
    missing = sorted(set(fields) - set(documented))
    assert not missing, f"settings missing from docs/DEPLOY.md: {missing}"
    stale = sorted(set(documented) - set(fields))
    assert not stale, f"docs/DEPLOY.md lists variables that are not settings: {stale}"
    for alias, field in fields.items():
        if isinstance(field.default, DESCRIBED):
            assert documented[alias], alias
            continue
        assert documented[alias] == rendered(field.default), (
            f"{alias}: docs say {documented[alias]!r}, the default is {rendered(field.default)!r}"
        )


def compose() -> dict[str, Any]:
    document = yaml.safe_load((DEPLOY_DIR / "compose.yaml").read_text())
    assert isinstance(document, dict)
    return document


def test_compose_runs_migrate_then_api_and_worker_against_external_services() -> None:
    services = compose()["services"]
    assert set(services) == {"migrate", "api", "worker"}, "databases stay outside compose"
    assert "migrate" in " ".join(services["migrate"]["command"])
    for name in ("api", "worker"):
        service = services[name]
        condition = service["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully", name
        assert service["healthcheck"]["test"][0] == "CMD", name
        assert service["build"]["dockerfile"] == "infra/deploy/Dockerfile"
        assert any(e["path"] == "./storyloom.env" for e in service["env_file"]), name
    assert "/readyz" in " ".join(services["api"]["healthcheck"]["test"])
    assert services["api"]["command"][:2] == ["uvicorn", "api.app:create_app"]
    assert "--workers" not in services["api"]["command"], "one process per API container"
    assert services["worker"]["command"] == ["python", "-m", "worker.main"]
    assert " ".join(services["worker"]["healthcheck"]["test"][1:]) == (
        "arq --check worker.main.WorkerSettings"
    )


def test_the_env_example_names_only_settings_or_boto3_variables() -> None:
    aliases = {field.alias or name for name, field in Settings.model_fields.items()}
    names = set()
    for line in (DEPLOY_DIR / "storyloom.env.example").read_text().splitlines():
        match = re.match(r"^#?\s*([A-Z][A-Z0-9_]+)=", line)
        if match:
            names.add(match.group(1))
    unknown = sorted(n for n in names - aliases if not n.startswith("AWS_"))
    assert not unknown, f"not settings (typos?): {unknown}"
    assert {"DATABASE_URL", "REDIS_URL", "S3_BUCKET", "JWT_SECRET"} <= names


def test_the_image_is_python_slim_with_ffmpeg() -> None:
    dockerfile = (DEPLOY_DIR / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", dockerfile, re.M)
    assert re.search(r"apt-get install [^\n]*\bffmpeg\b", dockerfile)
    assert re.search(r"^USER storyloom$", dockerfile, re.M), "the processes run as non-root"
    copied = set(re.findall(r"^COPY (\w+) ", dockerfile, re.M))
    packages = {"api", "worker", "domain", "schemas", "infra", "migrations"}
    assert packages <= copied, f"not copied into the image: {sorted(packages - copied)}"
