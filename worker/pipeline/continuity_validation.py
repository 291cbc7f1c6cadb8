"""Stage 2: the script and its delta are checked against the bible before any video is paid for."""

from __future__ import annotations

from typing import Any

from domain.bible.delta import apply_delta
from domain.bible.script_check import check_script
from domain.bible.validation import validate_bible
from domain.jobs.failures import ContinuityViolation
from worker.pipeline.runtime import StageRun


async def run(stage: StageRun) -> dict[str, Any]:
    script = stage.script
    violations = check_script(script, stage.bible)
    if not violations:
        after = apply_delta(stage.bible, script.bible_delta, stage.segment_number)
        violations = validate_bible(after, segment_count=stage.segment_number, previous=stage.bible)
    if violations:
        raise ContinuityViolation(
            f"The continuation breaks the scene's continuity ({len(violations)} problems).",
            {"violations": [v.as_dict() for v in violations]},
        )
    return {"violations": 0, "shots": len(script.shots), "duration": script.duration}
