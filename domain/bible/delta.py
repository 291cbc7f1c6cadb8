"""Applying a script's BibleDelta to a bible: the canon after a segment."""

from __future__ import annotations

from typing import Any

from domain.errors import InvalidInput
from schemas.script import BibleDelta


def apply_delta(bible: dict[str, Any], delta: BibleDelta, segment_number: int) -> dict[str, Any]:
    """The bible after `delta`, produced by segment `segment_number`; `bible` is not touched.

    The result shares every unchanged item with `bible` (treat bibles as immutable values):
    that keeps this cheap and lets `validate_change` skip the shared items by identity.
    An event's consequences are written in the design's form, one string.
    """
    result = dict(bible)
    if delta.new_characters:
        result["characters"] = [
            *bible["characters"],
            *(
                {
                    "entityId": new.entityId,
                    "canonicalName": new.canonicalName,
                    "aliases": list(new.aliases),
                    **({"description": new.description} if new.description else {}),
                    "introducedInSegment": segment_number,
                    "isActive": True,
                }
                for new in delta.new_characters
            ),
        ]
    if delta.events or delta.current_point is not None:
        timeline = result["timeline"] = dict(bible["timeline"])
        if delta.events:
            timeline["majorEvents"] = [
                *timeline.get("majorEvents", ()),
                *(
                    {
                        "segmentNumber": segment_number,
                        "event": event.event,
                        **(
                            {"consequences": _one_string(event.consequences)}
                            if event.consequences
                            else {}
                        ),
                    }
                    for event in delta.events
                ),
            ]
        if delta.current_point is not None:
            timeline["currentPoint"] = delta.current_point
    if delta.thread_changes:
        result["plotThreads"] = _change_threads(bible.get("plotThreads", []), delta)
    return result


def _one_string(consequences: list[str]) -> str:
    """The design's form: sentences joined by a space, fragments by a semicolon."""
    if all(c.rstrip().endswith((".", "!", "?", "…")) for c in consequences):
        return " ".join(c.strip() for c in consequences)
    return "; ".join(c.strip() for c in consequences)


def _change_threads(threads: list[dict[str, Any]], delta: BibleDelta) -> list[dict[str, Any]]:
    position = {thread["id"]: i for i, thread in enumerate(threads) if "id" in thread}
    changed = list(threads)
    for k, change in enumerate(delta.thread_changes):
        if change.id not in position:
            raise InvalidInput(
                "The script changes a plot thread the bible does not have.",
                [
                    {
                        "pointer": f"/bible_delta/thread_changes/{k}/id",
                        "message": f"no plot thread has id {change.id!r}",
                        "rule": "unknown_thread",
                    }
                ],
            )
        i = position[change.id]
        changed[i] = {**changed[i], "status": change.status}
        if change.description is not None:
            changed[i]["description"] = change.description
    return changed
