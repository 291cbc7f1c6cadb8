"""Stage 1: the contributor's text becomes a structured script and a bible delta."""

from __future__ import annotations

from typing import Any

from domain.jobs.failures import ContentPolicy
from domain.moderation.automatic import file_automatic_flag
from infra.providers.base import ExpansionContext
from worker.pipeline.runtime import StageRun, input_hash


async def run(stage: StageRun) -> dict[str, Any]:
    verdict = await stage.runtime.checker.check(stage.job.text)
    if verdict.severity == "severe":
        raise ContentPolicy(
            "The continuation breaks the content policy.",
            {"categories": list(verdict.categories)},
        )
    if verdict.severity == "mild":
        # Let it through, but put it in front of a moderator.
        async with stage.runtime.db.transaction() as session:
            await file_automatic_flag(
                session,
                "scene",
                stage.job.scene_id,
                verdict,
                context=f"Continuation job {stage.job.id}.",
            )
    context = stage.job.context_data
    expansion = ExpansionContext(
        bible=stage.bible,
        summary=context.get("summary"),
        recent_scripts=context.get("recent_scripts", []),
        segment_number=stage.segment_number,
    )
    await stage.progress(10, "Writing the script.")
    expanded = await stage.runtime.expander.expand(stage.job.text, expansion)
    return {
        "script": expanded.script.model_dump(mode="json"),
        "provider": expanded.provider,
        "model": expanded.model,
        "prompt_version": expanded.prompt_version,
        "input_hash": input_hash(
            stage.job.text,
            stage.job.bible_version,
            context.get("summary"),
            context.get("recent_scripts", []),
            expanded.provider,
            expanded.model,
            expanded.prompt_version,
        ),
        "content_severity": verdict.severity,
    }
