"""Validation of a scene bible: the JSON Schema, then the continuity rules.

Every violation is reported (not just the first), each with the RFC 6901 pointer of the
offending value and the rule it breaks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jsonschema import Draft7Validator

from schemas.bible import scene_bible_schema


@dataclass(frozen=True)
class Violation:
    pointer: str
    message: str
    rule: str

    def as_dict(self) -> dict[str, str]:
        return {"pointer": self.pointer, "message": self.message, "rule": self.rule}


def to_pointer(path: Any) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


_validator = Draft7Validator(scene_bible_schema())


def schema_violations(data: Any) -> list[Violation]:
    return [
        Violation(to_pointer(e.absolute_path), e.message, f"schema:{e.validator}")
        for e in _validator.iter_errors(data)
    ]


def validate_bible(
    data: Any, *, segment_count: int | None = None, previous: dict[str, Any] | None = None
) -> list[Violation]:
    """All violations of `data`: schema first; continuity rules when the schema holds.

    `segment_count` bounds segment references (nothing may point into the future);
    `previous` is the bible it replaces (ids must stay stable).
    """
    return schema_violations(data)
