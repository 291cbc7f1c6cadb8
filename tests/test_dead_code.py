"""No dead code in the application: vulture is clean, and its whitelist names only live things."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WHITELIST = ROOT / "tests" / "dead_code_whitelist.py"
PACKAGES = ("api", "worker", "domain", "infra", "schemas")


def test_vulture_finds_no_dead_code() -> None:
    # Paths, decorators skipped and the whitelist come from [tool.vulture] in pyproject.toml.
    result = subprocess.run(
        [sys.executable, "-m", "vulture"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, (
        "Dead code (delete it; only a name used where vulture cannot see it goes in "
        f"{WHITELIST.relative_to(ROOT)}):\n{result.stdout}{result.stderr}"
    )


def whitelisted() -> list[str]:
    tree = ast.parse(WHITELIST.read_text())
    return [
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "_"
    ]


def test_every_whitelisted_name_is_still_defined() -> None:
    """A name whose code went away leaves the whitelist too, or it would hide a new dead one."""
    source = "\n".join(
        path.read_text() for package in PACKAGES for path in (ROOT / package).rglob("*.py")
    )
    gone = [name for name in whitelisted() if not re.search(rf"\b{re.escape(name)}\b", source)]
    assert whitelisted()
    assert not gone, f"no longer in the code, remove from the whitelist: {gone}"
