"""Routes are thin: schema in -> domain service -> schema out (docs: STYLE.md, issue 18).

A route module imports no infra (api/deps.py wires it), no repository (services read through
them), and no other route module (shared renderings live in api/presenters).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROUTES = Path(__file__).resolve().parents[2] / "api" / "routes"


def imported_modules(path: Path) -> list[str]:
    """Every module the file imports, `from a.b import c` also counted as `a.b.c`."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            found.extend(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def forbidden(module: str) -> bool:
    last = module.rsplit(".", 1)[-1]
    return (
        module == "infra"
        or module.startswith("infra.")
        or module.startswith("api.routes.")
        or last == "repository"
        or last.endswith("_repository")
    )


@pytest.mark.parametrize("path", sorted(ROUTES.glob("*.py")), ids=lambda p: p.name)
def test_a_route_module_imports_no_infra_repository_or_other_route(path: Path) -> None:
    assert [m for m in imported_modules(path) if forbidden(m)] == []
