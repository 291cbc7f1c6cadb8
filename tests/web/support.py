"""Helpers for the web app's tests: the web folder and npm's tools."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from infra.settings import ROOT

WEB = ROOT / "web"
NODE_BIN = WEB / "node_modules" / ".bin"


def npm_tool(name: str) -> Path:
    """A tool from web/node_modules; the test fails (not skips) when `make web` was not run."""
    if shutil.which("node") is None:
        pytest.fail("node is missing: install Node.js 20 and npm, then run `make web`")
    tool = NODE_BIN / name
    if not tool.exists():
        pytest.fail(f"{tool} is missing: run `make web` (npm ci in web/)")
    return tool


def run(args: list[str], timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "0", "CI": "1"}
    return subprocess.run(
        args, cwd=WEB, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
