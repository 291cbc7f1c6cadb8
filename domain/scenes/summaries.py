"""Scene summaries: older segments compressed into prose so a job's context stays bounded.

A summary always covers sequences 1..to_sequence (each new one folds in the previous one),
and the most recent segments stay out of it: the pipeline passes them verbatim as scripts.
"""

from __future__ import annotations

import re
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from domain.jobs.repository import latest_summary
from domain.scenes import summary_repository
from domain.scenes.lifecycle_repository import lock_scene
from domain.scenes.models import SceneSummary

MAX_SUMMARY_CHARS = 4000
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def _gist(text: str, script: dict) -> str:
    events = [e.get("event", "") for e in script.get("bible_delta", {}).get("events", [])]
    first = next((e for e in events if e), None) or _SENTENCE.split(text.strip(), 1)[0]
    return first.strip()


def compose(previous: str | None, gists: list[tuple[int, str]]) -> str:
    """Fold new segments' gists into the previous summary, keeping the newest when too long."""
    lines = [previous] if previous else []
    lines += [f"{sequence}. {gist}" for sequence, gist in gists]
    text = "\n".join(lines)
    if len(text) > MAX_SUMMARY_CHARS:
        text = "…" + text[-(MAX_SUMMARY_CHARS - 1) :]
    return text


async def scenes_needing_summary(
    session: AsyncSession, threshold: int, keep_recent: int, limit: int = 50
) -> list[uuid.UUID]:
    """Scenes whose segments beyond their summary and the `keep_recent` newest reach `threshold`."""
    return await summary_repository.scenes_needing_summary(session, threshold, keep_recent, limit)


async def summarise_scene(
    session: AsyncSession, scene_id: uuid.UUID, keep_recent: int
) -> SceneSummary | None:
    """Write the next summary of the scene, covering all but its `keep_recent` newest segments."""
    scene = await lock_scene(session, scene_id)
    if scene is None:
        return None
    latest = await latest_summary(session, scene_id)
    start = (latest.to_sequence if latest else 0) + 1
    end = scene.segment_count - keep_recent
    if end < start:
        return None
    rows = await summary_repository.active_scripts_between(session, scene_id, start, end)
    summary = SceneSummary(
        scene_id=scene_id,
        from_sequence=1,
        to_sequence=end,
        summary=compose(
            latest.summary if latest else None,
            [(r.sequence, _gist(r.text, r.script or {})) for r in rows],
        ),
    )
    return await summary_repository.add_summary(session, summary)
