"""Every query lives in its area's repository (docs: STYLE.md, issue 18).

A module in domain/ (or api/) outside a `repository.py` or `<topic>_repository.py` file builds
no query: it calls no sqlalchemy select/insert/update/delete/text and no session or connection
execute/scalar/scalars/get/stream (nor a raw Runner's fetch/fetchrow/fetchval). Services and
rules call repository functions instead, so a newcomer finds every query of an area in one
place. The unit of work's own calls (add, flush, refresh) stay with the services.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# domain/ outside repositories, and api/ (routes, presenters, deps) altogether. worker/ runs its
# claims and reports through domain/jobs/run_repository; its recovery's queries are on their way.
SCANNED = (ROOT / "domain", ROOT / "api")

# Statement builders, wherever they are imported from (sqlalchemy, its postgresql dialect).
BUILDERS = {"select", "insert", "update", "delete", "text"}
# What runs a statement: AsyncSession / AsyncConnection methods, and infra.prepared.Runner's.
RUNNERS = {
    "execute",
    "scalar",
    "scalars",
    "stream",
    "stream_scalars",
    "fetch",
    "fetchrow",
    "fetchval",
}
# text() given to these keywords, or to these table-definition constructs, is DDL (a column
# default, an index expression or predicate), not a query.
DDL_KEYWORDS = {"server_default", "server_onupdate", "postgresql_where"}
DDL_CONSTRUCTS = {"Index", "CheckConstraint", "Computed", "mapped_column", "Column"}

# Modules that may build or run queries outside a repository file, each with its reason.
ALLOWED = {
    # The generic keyset pager: it runs the statement a repository built and hands it, adding
    # only the page bounds (issue 18 keeps it as it is; a repository of its own would be one
    # function that every repository would import instead).
    "domain/pagination.py": "the keyset pager runs statements that repositories build",
    # The search formula in SQL terms: expressions (tsqueries, ranks) that the search repository
    # composes into its statements; its one select() is a scalar subquery inside them, run never.
    "domain/search/query.py": "expressions the search repository composes; it runs nothing",
}


def _sqlalchemy_builders(tree: ast.Module) -> set[str]:
    """Local names of sqlalchemy's statement builders (`from sqlalchemy import text as sql`)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            names.update(a.asname or a.name for a in node.names if a.name in BUILDERS)
    return names


def _sqlalchemy_modules(tree: ast.Module) -> set[str]:
    """Local names bound to sqlalchemy modules (`import sqlalchemy as sa`)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(
                a.asname or a.name for a in node.names if a.name.split(".")[0] == "sqlalchemy"
            )
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            names.update(a.asname or a.name for a in node.names if a.name in {"sql", "postgresql"})
    return names


def _name(func: ast.expr) -> str:
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def _ddl_calls(tree: ast.Module) -> set[int]:
    """ids of the calls given to table definitions: column defaults, index expressions."""
    ddl: set[int] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        if _name(node.func) in DDL_CONSTRUCTS:
            ddl.update(id(a) for a in [*node.args, *(kw.value for kw in node.keywords)])
        ddl.update(id(kw.value) for kw in node.keywords if kw.arg in DDL_KEYWORDS)
    return ddl


def _receiver(node: ast.expr) -> str:
    """The last name of what a method is called on: `self.session` -> `session`."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


HANDLES = ("session", "conn", "connection", "db", "channel", "runner")


def _is_database_handle(name: str) -> bool:
    """`session`, `conn`, `read_db`...: not `session_outputs` (a dict)."""
    lowered = name.lower().lstrip("_")
    return lowered in HANDLES or lowered.endswith(tuple(f"_{h}" for h in HANDLES))


def queries_built(path: Path) -> list[str]:
    """`line: call` for every query the module builds or runs."""
    tree = ast.parse(path.read_text(), filename=str(path))
    builders, modules, ddl = _sqlalchemy_builders(tree), _sqlalchemy_modules(tree), _ddl_calls(tree)
    found: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or id(node) in ddl:
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in builders:
            found.append(f"{node.lineno}: {func.id}()")
        elif isinstance(func, ast.Attribute):
            owner = func.value
            if func.attr in BUILDERS and isinstance(owner, ast.Name) and owner.id in modules:
                found.append(f"{node.lineno}: {owner.id}.{func.attr}()")
            elif (func.attr in RUNNERS or func.attr == "get") and _is_database_handle(
                _receiver(owner)
            ):
                found.append(f"{node.lineno}: {_receiver(owner)}.{func.attr}()")
    return found


def is_repository(path: Path) -> bool:
    return path.name == "repository.py" or path.name.endswith("_repository.py")


MODULES = sorted(
    p
    for top in SCANNED
    for p in top.rglob("*.py")
    if not is_repository(p) and "__pycache__" not in p.parts
)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_module_outside_a_repository_builds_no_query(path: Path) -> None:
    if str(path.relative_to(ROOT)) in ALLOWED:
        pytest.skip(ALLOWED[str(path.relative_to(ROOT))])
    assert queries_built(path) == []


def test_every_allowlisted_module_still_exists_and_still_needs_it() -> None:
    for name in ALLOWED:
        assert queries_built(ROOT / name) != [], f"{name} builds no query: drop it from ALLOWED"


def test_the_check_sees_a_query() -> None:
    sample = ROOT / "domain" / "jobs" / "repository.py"
    assert queries_built(sample) != []
