"""The front end's own logic (job follower, token refresh, SSE parser) under vitest, from pytest."""

from __future__ import annotations

import re

from tests.web.support import npm_tool, run


def test_vitest_suite_passes() -> None:
    result = run([str(npm_tool("vitest")), "run", "--reporter=verbose"])
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    passed = re.search(r"Tests\s+(\d+) passed", output)
    assert passed and int(passed.group(1)) >= 10, output[-2000:]
