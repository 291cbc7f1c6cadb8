"""Validation of a scene bible: the JSON Schema, then the continuity rules.

Every violation is reported (not just the first), each with the RFC 6901 pointer of the
offending value and the rule it breaks, in document order.

`validate_bible` checks a whole bible. `validate_change` checks a new bible against the valid
one it replaces and looks only at what changed: items identical (`is`) or equal to their
previous selves are not validated again, and only the rules of changed sections run. Both give
the same answer whenever `previous` is itself valid (a stored head always is).

The continuity rules see the bible with its defaults filled (`defaults.py`). Two values the
design refuses stay accepted where `previous` already held them (bibles stored before the
design's schema was adopted): a character's entity id outside `^char_[a-z0-9]+$` (ids are stable:
renaming would break every reference to it), and a thread's status outside the design's three
while that thread keeps it. New ids and changed statuses must follow the design.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from domain.bible import rules
from domain.bible.defaults import with_defaults
from domain.bible.schema import (
    ITEMS,
    LIST_PATHS,
    SHELL,
    Violation,
    list_at,
    ordered,
    schema_violations,
    to_pointer,
)

__all__ = ["Violation", "schema_violations", "to_pointer", "validate_bible", "validate_change"]


def validate_bible(
    data: Any, *, segment_count: int | None = None, previous: dict[str, Any] | None = None
) -> list[Violation]:
    """All violations of `data`: schema first; continuity rules when the schema holds.

    `segment_count` bounds segment references (nothing may point into the future);
    `previous` is the bible it replaces (ids must stay stable, names newly taken unambiguous).
    """
    found = _grandfathered(schema_violations(data), data, previous)
    if found:
        return found
    return ordered(
        rules.continuity_violations(
            with_defaults(data), segment_count=segment_count, previous=previous
        )
    )


def _grandfathered(
    found: list[Violation], data: Any, previous: dict[str, Any] | None
) -> list[Violation]:
    """`found` less the legacy ids and thread statuses `previous` already held."""
    if not found or previous is None:
        return found
    old_ids = {c.get("entityId") for c in list_at(previous, ("characters",)) or () if _obj(c)}
    old_threads = {
        (t.get("id"), t.get("status")) for t in list_at(previous, ("plotThreads",)) or () if _obj(t)
    }
    kept = []
    for violation in found:
        token = violation.pointer.split("/")
        where = (*token[1::2], violation.rule) if len(token) == 4 and token[2].isdigit() else ()
        if where == ("characters", "entityId", "schema:pattern"):
            legacy = data["characters"][int(token[2])]["entityId"] in old_ids
        elif where == ("plotThreads", "status", "schema:enum"):
            thread = data["plotThreads"][int(token[2])]
            key = (thread.get("id"), thread["status"])
            # Only strings were ever stored: a list or an object here is simply refused.
            legacy = all(isinstance(v, str) for v in key) and key in old_threads
        else:
            legacy = False
        if not legacy:
            kept.append(violation)
    return kept


def _obj(value: Any) -> bool:
    return isinstance(value, dict)


# Equality treats True as 1: after `==` says "unchanged", make sure no boolean and number
# swapped places in the only fields of a valid item that hold either.
def _character_types(item: dict[str, Any]) -> bool:
    return (
        type(item.get("isActive", True)) is bool
        and type(item.get("introducedInSegment")) is not bool
    )


def _event_types(item: dict[str, Any]) -> bool:
    return type(item.get("segmentNumber")) is not bool


def _no_numbers(item: dict[str, Any]) -> bool:
    return True


def _scalar(value: Any) -> Any:
    return value if isinstance(value, str | int) and not isinstance(value, bool) else None


def _event_key(item: Any) -> Any:
    if not isinstance(item, dict):
        return None
    number, event = _scalar(item.get("segmentNumber")), _scalar(item.get("event"))
    return None if number is None or event is None else (number, event)


def _field_key(field: str) -> Callable[[Any], Any]:
    return lambda item: _scalar(item.get(field)) if isinstance(item, dict) else None


_KINDS: dict[str, tuple[Callable[[Any], Any], Callable[[dict[str, Any]], bool]]] = {
    "characters": (_field_key("entityId"), _character_types),
    "locations": (_field_key("name"), _no_numbers),
    "events": (_event_key, _event_types),
    "threads": (_field_key("id"), _no_numbers),
}


class _ListChange:
    """How one list moved: items at a changed position, and items new in content."""

    def __init__(self, kind: str, items: list[Any], old: list[Any]) -> None:
        key, types_ok = _KINDS[kind]

        def same(item: Any, before: Any) -> bool:
            return item is before or (item == before and types_ok(item))

        self.resized = len(items) != len(old)
        self.moved = [i for i, item in enumerate(items) if i >= len(old) or not same(item, old[i])]
        self.changed = self.moved
        if self.moved and self.moved[0] < len(old):
            # Not a mere append: items that only shifted (something was inserted or removed
            # before them) were valid where they were. Appended items are simply checked.
            by_key = {k: item for item in old if (k := key(item)) is not None}
            self.changed = [
                i
                for i in self.moved
                if (before := by_key.get(key(items[i]))) is None or not same(items[i], before)
            ]

    def __bool__(self) -> bool:
        return self.resized or bool(self.moved)


def validate_change(
    previous: dict[str, Any], data: Any, *, segment_count: int | None = None
) -> list[Violation]:
    """The violations of `data`, replacing the valid bible `previous`, checking what changed."""
    found = SHELL.violations(data)
    changes: dict[str, _ListChange] = {}
    for kind, path in LIST_PATHS.items():
        items = list_at(data, path)
        if items is None:
            continue
        change = changes[kind] = _ListChange(kind, items, list_at(previous, path) or [])
        for i in change.changed:
            found += ITEMS[kind].violations(items[i], (*path, i))
    found = _grandfathered(found, data, previous)
    if found:
        return ordered(found)
    return ordered(_changed_rules(previous, with_defaults(data), changes, segment_count))


def _changed_rules(
    previous: dict[str, Any],
    data: dict[str, Any],
    changes: dict[str, _ListChange],
    segment_count: int | None,
) -> list[Violation]:
    characters = data["characters"]
    events = data["timeline"]["majorEvents"]
    found: list[Violation] = []
    if characters_changed := changes["characters"]:
        before = list_at(previous, LIST_PATHS["characters"]) or []
        found += rules.duplicate_ids(characters)
        found += rules.removed_characters(characters, before)
        found += rules.name_collisions(characters, before)
        # Unless an id went away, only the changed characters' relationships can dangle.
        kept_ids = {c.get("entityId") for c in before if isinstance(c, dict)} <= {
            c["entityId"] for c in characters
        }
        found += rules.dangling_relationships(
            characters, characters_changed.moved if kept_ids else None
        )
    if segment_count is not None:
        # Cheap enough to run whole, and then a smaller segment_count is caught too.
        found += rules.future_segments(characters, events, segment_count)
    if events_changed := changes.get("events"):
        # A descent needs a changed item on one side of it (the previous timeline had none);
        # the rule also checks the numbered event that follows each changed one.
        found += rules.decreasing_timeline(events, events_changed.moved)
    if changes.get("threads"):
        found += rules.duplicate_thread_ids(data["plotThreads"])
    return found
