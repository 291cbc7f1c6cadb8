"""Three-way merge of bible changes: rebase a continuation's canon when the head moved on.

Objects merge key by key. Lists merge item by item, items matched by identity: characters by
entityId, plot threads by id, locations by name, timeline events by (segmentNumber, event), and
any other list (aliases, traits, relationships...) by content. A change made on one side only is
applied; the same change on both sides is applied once; different changes to the same value,
or a change to something the other side removed, are conflicts, and then nothing is merged.

Items added on both sides are all kept; whichever side's additions sort first by key go first,
so merge(base, a, b) == merge(base, b, a). Timeline events end up ordered by segmentNumber.
The merge is structural: validate its result (a merged canon can still break a rule).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from domain.bible.schema import to_pointer


@dataclass(frozen=True)
class Conflict:
    """Both sides changed the value at `pointer` differently; None stands for absent.

    The pointer locates list items by their index in base, or in ours for items base lacks.
    """

    pointer: str
    base: Any
    ours: Any
    theirs: Any

    def as_dict(self) -> dict[str, Any]:
        return {
            "pointer": self.pointer,
            "base": self.base,
            "ours": self.ours,
            "theirs": self.theirs,
        }


@dataclass(frozen=True)
class MergeResult:
    merged: dict[str, Any] | None
    conflicts: list[Conflict]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def _field(name: str) -> Callable[[Any], Any]:
    return lambda item: item.get(name) if isinstance(item, dict) else None


def _event_key(item: Any) -> Any:
    return (item.get("segmentNumber"), item.get("event")) if isinstance(item, dict) else None


_IDENTITY: dict[tuple[str, ...], Callable[[Any], Any]] = {
    ("characters",): _field("entityId"),
    ("plotThreads",): _field("id"),
    ("setting", "locations"): _field("name"),
    ("timeline", "majorEvents"): _event_key,
}
_EVENTS = ("timeline", "majorEvents")


def _keys(items: list[Any], path: tuple[str, ...]) -> list[Any] | None:
    """Each item's identity, or None when two items share one (the list merges as a whole)."""
    identity = _IDENTITY.get(path)
    if identity is None:
        # Anything else matches by content; a repeated item is its nth occurrence.
        seen: dict[str, int] = {}
        keys: list[Any] = []
        for item in items:
            text = json.dumps(item, sort_keys=True)
            keys.append((text, seen.get(text, 0)))
            seen[text] = seen.get(text, 0) + 1
        return keys
    keys = [identity(item) for item in items]
    try:
        return keys if None not in keys and len(set(keys)) == len(keys) else None
    except TypeError:  # an unhashable identity: not a valid bible
        return None


class _Merger:
    def __init__(self) -> None:
        self.conflicts: list[Conflict] = []

    def conflict(self, pointer: list[Any], base: Any, ours: Any, theirs: Any) -> Any:
        self.conflicts.append(
            Conflict(
                to_pointer(pointer),
                *(None if value is MISSING else value for value in (base, ours, theirs)),
            )
        )
        return ours

    def value(
        self, pointer: list[Any], path: tuple[str, ...], base: Any, ours: Any, theirs: Any
    ) -> Any:
        if ours == theirs:
            return ours
        if ours == base:
            return theirs
        if theirs == base:
            return ours
        # Both sides added the same key or item: merge it as if base held it empty.
        if base is MISSING:
            base = {} if isinstance(ours, dict) else [] if isinstance(ours, list) else base
        if all(isinstance(v, dict) for v in (base, ours, theirs)):
            return self.merge_object(pointer, path, base, ours, theirs)
        if all(isinstance(v, list) for v in (base, ours, theirs)):
            return self.merge_list(pointer, path, base, ours, theirs)
        return self.conflict(pointer, base, ours, theirs)

    def merge_object(
        self,
        pointer: list[Any],
        path: tuple[str, ...],
        base: dict[str, Any],
        ours: dict[str, Any],
        theirs: dict[str, Any],
    ) -> dict[str, Any]:
        merged = {}
        for key in {**base, **ours, **theirs}:
            value = self.value(
                [*pointer, key],
                (*path, key),
                base.get(key, MISSING),
                ours.get(key, MISSING),
                theirs.get(key, MISSING),
            )
            if value is not MISSING:
                merged[key] = value
        return merged

    def merge_list(
        self,
        pointer: list[Any],
        path: tuple[str, ...],
        base: list[Any],
        ours: list[Any],
        theirs: list[Any],
    ) -> list[Any]:
        base_keys, our_keys, their_keys = (_keys(side, path) for side in (base, ours, theirs))
        if base_keys is None or our_keys is None or their_keys is None:
            return self.conflict(pointer, base, ours, theirs)
        sides = [
            dict(zip(base_keys, base, strict=True)),
            dict(zip(our_keys, ours, strict=True)),
            dict(zip(their_keys, theirs, strict=True)),
        ]
        where = {
            k: i for side_keys in (their_keys, our_keys, base_keys) for i, k in enumerate(side_keys)
        }
        merged = {}
        for key in {**sides[1], **sides[2], **sides[0]}:
            value = self.value(
                [*pointer, where.get(key, 0)],
                path,
                *(side.get(key, MISSING) for side in sides),
            )
            if value is not MISSING:
                merged[key] = value
        order = _order(base_keys, our_keys, their_keys, merged)
        if order is None:
            self.conflict(pointer, base, ours, theirs)
            return ours
        items = [merged[key] for key in order]
        if path == _EVENTS and all(
            isinstance(e, dict) and type(e.get("segmentNumber")) is int for e in items
        ):
            items.sort(key=lambda event: event["segmentNumber"])
        return items


def _order(
    base_keys: list[Any], our_keys: list[Any], their_keys: list[Any], merged: dict[Any, Any]
) -> list[Any] | None:
    """Kept items in base order unless one side reordered them; then both sides' additions.

    None when both sides reordered the kept items differently.
    """
    in_base = set(base_keys)
    kept = [k for k in base_keys if k in merged]
    ours_kept = [k for k in our_keys if k in merged and k in in_base]
    theirs_kept = [k for k in their_keys if k in merged and k in in_base]
    if ours_kept == kept:
        order = theirs_kept
    elif theirs_kept in (kept, ours_kept):
        order = ours_kept
    else:
        return None
    added = sorted(
        ([k for k in side if k in merged and k not in in_base] for side in (our_keys, their_keys)),
        key=lambda ks: json.dumps(ks, default=str),
    )
    first = set(added[0])
    return order + added[0] + [k for k in added[1] if k not in first]


def merge_bibles(base: dict[str, Any], ours: dict[str, Any], theirs: dict[str, Any]) -> MergeResult:
    """Both sides' changes to `base` in one bible, or the conflicts between them."""
    merger = _Merger()
    # `version` names the stored row, not canon: the server stamps it again.
    versions = [v for v in (ours.get("version"), theirs.get("version")) if isinstance(v, int)]
    strip = {"version"}
    merged = merger.merge_object(
        [],
        (),
        {k: v for k, v in base.items() if k not in strip},
        {k: v for k, v in ours.items() if k not in strip},
        {k: v for k, v in theirs.items() if k not in strip},
    )
    if merger.conflicts:
        return MergeResult(None, merger.conflicts)
    if versions:
        merged["version"] = max(versions)
    return MergeResult(merged, [])
