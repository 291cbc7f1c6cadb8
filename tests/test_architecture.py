"""The arrows point one way: the import-linter contracts of pyproject.toml, kept by the tree.

api and worker -> domain -> infra; schemas import nothing of ours; the domain names no web or
queue framework. A failure prints the import that breaks a contract, with its line.
"""

from __future__ import annotations

import ast
import importlib.util
import tomllib
from pathlib import Path
from typing import Any

import pytest
from importlinter.cli import lint_imports

from infra.settings import ROOT

CONFIG = ROOT / "pyproject.toml"
# Top-level packages that sit outside the layers: alembic's scripts and the tests themselves.
OUTSIDE_THE_LAYERS = {"migrations", "tests"}
# The process entry points: only they read the environment's settings; everything under them
# is handed its Settings (or the values it needs).
ENTRY_POINTS = {"api/app.py", "api/cli/main.py", "worker/main.py", "migrations/env.py"}


def contracts() -> dict[str, Any]:
    return dict(tomllib.loads(CONFIG.read_text())["tool"]["importlinter"])


def test_every_import_points_down_the_layers(capsys: pytest.CaptureFixture[str]) -> None:
    for package in contracts()["root_packages"]:
        # The tree under test, not another checkout an editable install points at.
        spec = importlib.util.find_spec(package)
        assert spec is not None and spec.origin is not None
        assert Path(spec.origin).parent == ROOT / package
    status = lint_imports(config_filename=str(CONFIG), no_cache=True, no_logo=True)
    report = capsys.readouterr().out
    assert status == 0, report
    assert "0 broken" in report


def settings_readers() -> set[str]:
    """Source files that import `get_settings` from infra.settings."""
    readers = set()
    for package in ["api", "worker", "domain", "infra", "schemas", "migrations"]:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.ImportFrom)
                    and node.module == "infra.settings"
                    and any(alias.name == "get_settings" for alias in node.names)
                ):
                    readers.add(path.relative_to(ROOT).as_posix())
    return readers


def test_only_entry_points_read_the_settings_from_the_environment() -> None:
    assert all((ROOT / entry).is_file() for entry in ENTRY_POINTS)
    assert settings_readers() - ENTRY_POINTS == set()


def test_every_source_package_is_under_the_contracts() -> None:
    packages = {init.parent.name for init in ROOT.glob("*/__init__.py")}
    assert packages - OUTSIDE_THE_LAYERS == set(contracts()["root_packages"])
