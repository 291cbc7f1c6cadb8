"""Stage 2: the script and its delta are checked against the bible before any video is paid for.

The continuation's own text is read too (who acts, which threads reopen, where in time), so a
break the script writer smoothed over is still caught, with the words that break it.
"""

from __future__ import annotations

from typing import Any

from domain.bible.delta import apply_delta
from domain.bible.near_duplicates import merge_near_duplicates
from domain.bible.script_check import check_script
from domain.bible.second_opinion import settle
from domain.bible.text_check import check_text, reading_of
from domain.bible.validation import validate_bible
from domain.jobs.failures import ContinuityViolation
from worker.pipeline.runtime import StageRun


async def run(stage: StageRun) -> dict[str, Any]:
    script = stage.script
    text = stage.job.text
    reading = reading_of(stage.bible, (stage.job.scene_id, stage.job.bible_version))
    findings = check_text(
        text,
        stage.bible,
        segment_number=stage.segment_number,
        version=(stage.job.scene_id, stage.job.bible_version),
    )
    findings = await settle(findings, text, reading, stage.runtime.reviewer)
    violations = merge_near_duplicates(
        [f.violation(text) for f in findings] + check_script(script, stage.bible)
    )
    if not violations:
        after = apply_delta(stage.bible, script.bible_delta, stage.segment_number)
        violations = validate_bible(after, segment_count=stage.segment_number, previous=stage.bible)
    if violations:
        raise ContinuityViolation(
            f"The continuation breaks the scene's continuity ({len(violations)} problems).",
            {"violations": [v.as_dict() for v in violations]},
        )
    return {"violations": 0, "shots": len(script.shots), "duration": script.duration}
