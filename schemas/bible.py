"""The scene bible's JSON Schema, loaded once."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).with_name("scene_bible.schema.json")


@lru_cache
def scene_bible_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text())
