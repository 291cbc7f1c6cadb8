"""Defaults filled on write: what the design leaves optional and our readers rely on.

The design's schema requires only `characters`, `setting` and `timeline` (and `version`, which
the server stamps). A stored bible also always has `plotThreads` ([]), `styleGuide` ({}),
`timeline.majorEvents` ([]) and every character's `isActive` (true, the design's default).
Nothing the caller sent is changed or removed; every other optional field stays absent.
"""

from __future__ import annotations

from typing import Any


def with_defaults(data: dict[str, Any]) -> dict[str, Any]:
    """`data` (schema-valid) with the defaults filled in; `data` is not touched.

    Unchanged parts are shared with `data`, so bibles stay cheap immutable values.
    """
    result = dict(data)
    result.setdefault("plotThreads", [])
    result.setdefault("styleGuide", {})
    timeline = data["timeline"]
    if "majorEvents" not in timeline:
        result["timeline"] = {**timeline, "majorEvents": []}
    characters = data["characters"]
    if any("isActive" not in c for c in characters):
        result["characters"] = [
            c if "isActive" in c else {**c, "isActive": True} for c in characters
        ]
    return result
