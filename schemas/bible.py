"""The scene bible's JSON Schema, loaded once, and readings every consumer shares.

The bible follows the design's schema, where most fields are optional and
`timeline.majorEvents[].consequences` is one string (ours used to be a list: both are accepted
and stored as sent). Readers go through these helpers rather than indexing fields directly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).with_name("scene_bible.schema.json")
CLOSED_THREAD_STATUSES = frozenset({"resolved", "abandoned"})


@lru_cache
def scene_bible_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text())


def consequences_of(event: Mapping[str, Any]) -> list[str]:
    """An event's consequences as a list, whether stored as the design's string or as a list."""
    value = event.get("consequences")
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def is_active(character: Mapping[str, Any]) -> bool:
    """The design's default: a character without `isActive` is active."""
    return character.get("isActive", True) is not False
