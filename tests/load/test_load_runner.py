"""The load test itself, run small: `make load` must keep working."""

from __future__ import annotations

from pathlib import Path

from tests.load.runner import load_settings, run
from tests.load.scenario import Shape
from tests.scratch import private_database


async def test_a_short_load_run_is_reported_without_errors(tmp_path: Path) -> None:
    shape = Shape(seconds=2, warmup=0.5, pollers=3, submitters=1, browsers=1, browse_pause=0.2)
    async with private_database("load_smoke") as url:
        report, errors = await run(shape, load_settings(url, tmp_path), tmp_path)
    assert errors == 0, report
    assert "| poll job | " in report and "| **all** | " in report
    assert (
        "The API's own request log" in report and "`GET /metrics` right after: answered" in report
    )
    assert "Errors: 0." in report
    assert "CPU per request of the API process: " in report and "not measured" not in report
