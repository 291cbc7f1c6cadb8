"""The bible's JSON Schema, compiled once at import: a fast yes/no check, then every error.

fastjsonschema answers "valid?" quickly; only when it says no does the (slower) jsonschema
Draft7Validator walk the document again to collect every violation with its pointer. Both are
built from a copy of the schema whose `$ref`s are inlined: fastjsonschema turns each `$ref` into
a function call that formats its error prefix eagerly, which made it 7x slower on a large bible.

Besides the whole document, the schema is cut into a "shell" (everything except the items of the
four big lists) and one schema per list item, so a change can be checked item by item.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import fastjsonschema
from jsonschema import Draft7Validator, validators
from jsonschema.exceptions import ValidationError

from schemas.bible import scene_bible_schema


@dataclass(frozen=True)
class TextSpan:
    """Where in the continuation a violation lies: character offsets, so a page can underline."""

    sentence: str
    sentence_start: int
    sentence_end: int
    words: str
    start: int
    end: int


@dataclass(frozen=True)
class Violation:
    pointer: str
    message: str
    rule: str
    # Set for violations found in the continuation's text (pointer "/text"): the bible entry
    # broken and the words that break it. Older consumers read only the three fields above.
    entity: str | None = None
    span: TextSpan | None = None

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "pointer": self.pointer,
            "message": self.message,
            "rule": self.rule,
        }
        if self.entity is not None:
            found["entity"] = self.entity
        if self.span is not None:
            found.update(asdict(self.span))
        return found


def to_pointer(path: Iterable[Any]) -> str:
    """RFC 6901: `~` and `/` inside a reference token are escaped as `~0` and `~1`."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def _property_ranks(node: Any, ranks: dict[str, int]) -> dict[str, int]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties":
                for name in value:
                    ranks.setdefault(name, len(ranks))
            _property_ranks(value, ranks)
    elif isinstance(node, list):
        for item in node:
            _property_ranks(item, ranks)
    return ranks


# Fields sort in the schema's order (characters before setting before timeline...).
_RANKS = _property_ranks(scene_bible_schema(), {})


def _pointer_key(pointer: str) -> tuple[tuple[int, int, str], ...]:
    return tuple(
        (0, int(t), "") if t.isdigit() else (1, _RANKS.get(t, len(_RANKS)), t)
        for t in pointer.split("/")[1:]
    )


def ordered(violations: Iterable[Violation]) -> list[Violation]:
    """Document order (fields as the schema lists them, items by index), for every entry point."""
    return sorted(violations, key=lambda v: (_pointer_key(v.pointer), v.rule, v.message))


def _inline_refs(node: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            return _inline_refs(definitions[name], definitions)
        return {
            key: _inline_refs(value, definitions)
            for key, value in node.items()
            if key not in ("definitions", "$id", "$schema")
        }
    if isinstance(node, list):
        return [_inline_refs(item, definitions) for item in node]
    return node


# JSON Schema patterns are ECMA 262, where `$` is the end of the string. Python's `$` also
# matches before a final newline; fastjsonschema rewrites it to `\Z`, and so must we, or the
# two validators would disagree on "char_a\n".
_DOLLAR = re.compile(r"(?<!\\)\$")
_patterns: dict[str, re.Pattern[str]] = {}


def _ecma_pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[Any]:
    if not validator.is_type(instance, "string"):
        return
    compiled = _patterns.get(pattern)
    if compiled is None:
        compiled = _patterns[pattern] = re.compile(_DOLLAR.sub(r"\\Z", pattern))
    if not compiled.search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


_Draft7 = validators.extend(Draft7Validator, {"pattern": _ecma_pattern})

# (path of the list, in the whole document) for the lists checked item by item.
LIST_PATHS: dict[str, tuple[str, ...]] = {
    "characters": ("characters",),
    "locations": ("setting", "locations"),
    "events": ("timeline", "majorEvents"),
    "threads": ("plotThreads",),
}


def _schema_at(schema: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    node = schema
    for key in path:
        node = node["properties"][key]
    return node


class CompiledSchema:
    """One (sub-)schema: a compiled fast check and a Draft7Validator for the details."""

    def __init__(self, schema: dict[str, Any]) -> None:
        # use_default=False: fastjsonschema would otherwise write `default`s into the
        # instance it checks; defaults are filled on write, on a copy (`defaults.py`).
        self._fast: Callable[[Any], Any] = fastjsonschema.compile(schema, use_default=False)
        self._full = _Draft7(schema)

    def is_valid(self, instance: Any) -> bool:
        try:
            self._fast(instance)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    def violations(self, instance: Any, prefix: tuple[Any, ...] = ()) -> list[Violation]:
        """Every violation; [] at once when the fast check passes."""
        if self.is_valid(instance):
            return []
        # Draft7 is the authority: should the two ever disagree, its (empty) answer stands.
        return [_violation(error, prefix) for error in self._full.iter_errors(instance)]


def _violation(error: ValidationError, prefix: tuple[Any, ...]) -> Violation:
    return Violation(
        to_pointer((*prefix, *error.absolute_path)), error.message, f"schema:{error.validator}"
    )


_ROOT = _inline_refs(scene_bible_schema(), scene_bible_schema()["definitions"])
_SHELL = copy.deepcopy(_ROOT)
for _path in LIST_PATHS.values():
    _schema_at(_SHELL, _path).pop("items")

DOCUMENT = CompiledSchema(_ROOT)
SHELL = CompiledSchema(_SHELL)
ITEMS = {
    name: CompiledSchema(_schema_at(_ROOT, path)["items"]) for name, path in LIST_PATHS.items()
}


def schema_violations(data: Any) -> list[Violation]:
    """Every schema violation of a whole bible, in document order."""
    return ordered(DOCUMENT.violations(data))


def list_at(data: Any, path: tuple[str, ...]) -> list[Any] | None:
    """The list at `path`, or None when a parent is not an object (the shell reports that)."""
    node = data
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node if isinstance(node, list) else None
