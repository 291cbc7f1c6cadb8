"""Continuity rules of a bible, beyond its schema. They assume the schema holds.

Names: a new bible (no `previous`) is checked whole, so every duplicate active name and every
alias collision is reported. An edit is judged only on the names it gives out (a character that
is new, renamed, given an alias, or reactivated): the realistic canon
(`scene_bible.large.json`) already holds homonyms such as "Eli" for two characters, and an
unrelated change to a stored canon must not fail on collisions it did not make.

The design leaves most fields optional: a relationship without a target, an event without a
segment number or a thread without an id has nothing to check, and is skipped. Rules run on a
bible with its defaults filled (`defaults.py`), so `isActive` and the lists are present.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from domain.bible.schema import Violation
from schemas.bible import CLOSED_THREAD_STATUSES, is_active

__all__ = ["CLOSED_THREAD_STATUSES", "continuity_violations", "name_key"]


@lru_cache(maxsize=65536)
def name_key(name: str) -> str:
    """Names compare case-insensitively, whatever their spacing."""
    return " ".join(name.split()).casefold()


def _ids(characters: Iterable[Any]) -> set[Any]:
    return {c.get("entityId") for c in characters if isinstance(c, dict)}


def duplicate_ids(characters: list[dict[str, Any]]) -> list[Violation]:
    seen: dict[str, int] = {}
    found = []
    for i, character in enumerate(characters):
        entity_id = character["entityId"]
        if entity_id in seen:
            found.append(
                Violation(
                    f"/characters/{i}/entityId",
                    f"entity id {entity_id!r} is already used by /characters/{seen[entity_id]}",
                    "duplicate_entity_id",
                )
            )
        else:
            seen[entity_id] = i
    return found


def removed_characters(characters: list[dict[str, Any]], previous: list[Any]) -> list[Violation]:
    """Ids are stable: a character may become inactive, never disappear or change id."""
    current = _ids(characters)
    return [
        Violation(
            f"/characters/{i}",
            f"character {old.get('entityId')!r} ({old.get('canonicalName')}) was removed or its "
            "id changed; mark it inactive instead",
            "character_removed",
        )
        for i, old in enumerate(previous)
        if isinstance(old, dict) and old.get("entityId") not in current
    ]


def _same_names(old: Any, new: dict[str, Any]) -> bool:
    return old is new or (
        isinstance(old, dict)
        and old.get("canonicalName") == new["canonicalName"]
        and old.get("aliases", []) == new.get("aliases", [])
        and is_active(old) == is_active(new)
    )


@dataclass
class _NameIndex:
    """Who holds each wanted name: as an active canonical name, any canonical name, an alias."""

    active: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    canonical: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    aliases: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))


def _changed(characters: list[dict[str, Any]], before: dict[Any, Any] | None) -> list[int]:
    """A new bible is checked whole; an edit only for the names it gives out, so a collision
    the canon already held does not block an unrelated change."""
    return [
        i
        for i, c in enumerate(characters)
        if before is None or not _same_names(before.get(c["entityId"]), c)
    ]


def _index_names(characters: list[dict[str, Any]], changed: list[int]) -> _NameIndex:
    # Only the names the changed characters hold can collide: index just those.
    wanted = set()
    for i in changed:
        wanted.add(name_key(characters[i]["canonicalName"]))
        wanted.update(name_key(a) for a in characters[i].get("aliases", ()))
    index = _NameIndex()
    for i, c in enumerate(characters):
        key = name_key(c["canonicalName"])
        if key in wanted:
            index.canonical[key].append(i)
            if is_active(c):
                index.active[key].append(i)
        for alias in {name_key(a) for a in c.get("aliases", ())} & wanted:
            index.aliases[alias].append(i)
    return index


def _others(holders: list[int], i: int) -> list[int]:
    return [j for j in holders if j != i]


def _canonical_collisions(
    i: int, c: dict[str, Any], old: dict[str, Any], index: _NameIndex
) -> list[Violation]:
    """A name newly given (or an active name newly activated) that another already holds."""
    key = name_key(c["canonicalName"])
    had_name = isinstance(old.get("canonicalName"), str) and name_key(old["canonicalName"]) == key
    found = []
    newly_active = is_active(c) and not (had_name and old.get("isActive", True) is True)
    if newly_active and (clash := _others(index.active[key], i)):
        found.append(
            Violation(
                f"/characters/{i}/canonicalName",
                f"{c['canonicalName']!r} is already the name of active character "
                f"/characters/{clash[0]}",
                "duplicate_active_name",
            )
        )
    if not had_name and (clash := _others(index.aliases[key], i)):
        found.append(
            Violation(
                f"/characters/{i}/canonicalName",
                f"{c['canonicalName']!r} is an alias of /characters/{clash[0]}",
                "alias_collision",
            )
        )
    return found


def _alias_collisions(
    i: int, c: dict[str, Any], old: dict[str, Any], index: _NameIndex
) -> list[Violation]:
    """New aliases that are another character's name or alias."""
    old_aliases = {name_key(a) for a in old.get("aliases", ()) if isinstance(a, str)}
    found = []
    for j, alias in enumerate(c.get("aliases", ())):
        key = name_key(alias)
        if key in old_aliases:
            continue
        if clash := _others(index.canonical[key], i) or _others(index.aliases[key], i):
            found.append(
                Violation(
                    f"/characters/{i}/aliases/{j}",
                    f"alias {alias!r} is already a name or alias of /characters/{clash[0]}",
                    "alias_collision",
                )
            )
    return found


def name_collisions(
    characters: list[dict[str, Any]], previous: list[Any] | None
) -> list[Violation]:
    """Active canonical names unique; an alias never another character's name or alias.

    With `previous`, only characters whose names changed are checked.
    """
    before = (
        {c.get("entityId"): c for c in previous if isinstance(c, dict)}
        if previous is not None
        else None
    )
    changed = _changed(characters, before)
    if not changed:
        return []
    index = _index_names(characters, changed)
    found = []
    for i in changed:
        c = characters[i]
        old = before.get(c["entityId"]) if before is not None else None
        old = old if isinstance(old, dict) else {}
        found += _canonical_collisions(i, c, old, index)
        found += _alias_collisions(i, c, old, index)
    return found


def dangling_relationships(
    characters: list[dict[str, Any]], only: Iterable[int] | None = None
) -> list[Violation]:
    ids = _ids(characters)
    found = []
    for i in range(len(characters)) if only is None else only:
        for j, relationship in enumerate(characters[i].get("relationships", ())):
            target = relationship.get("targetEntityId")
            if target is not None and target not in ids:
                found.append(
                    Violation(
                        f"/characters/{i}/relationships/{j}/targetEntityId",
                        f"no character has entity id {target!r}",
                        "dangling_relationship",
                    )
                )
    return found


def future_segments(
    characters: list[dict[str, Any]], events: list[dict[str, Any]], segment_count: int
) -> list[Violation]:
    """Nothing may point past the scene's last segment (segment 0 is the opening canon)."""
    found = [
        Violation(
            f"/characters/{i}/introducedInSegment",
            f"segment {c['introducedInSegment']} is beyond the scene's {segment_count} segments",
            "future_segment",
        )
        for i, c in enumerate(characters)
        if c.get("introducedInSegment", 0) > segment_count
    ]
    found += [
        Violation(
            f"/timeline/majorEvents/{i}/segmentNumber",
            f"segment {e['segmentNumber']} is beyond the scene's {segment_count} segments",
            "future_segment",
        )
        for i, e in enumerate(events)
        if e.get("segmentNumber", 0) > segment_count
    ]
    return found


def _descent(events: list[dict[str, Any]], i: int, before: int) -> Violation:
    return Violation(
        f"/timeline/majorEvents/{i}/segmentNumber",
        f"segment {events[i]['segmentNumber']} comes after segment "
        f"{events[before]['segmentNumber']}; the timeline never goes back",
        "timeline_decreasing",
    )


def decreasing_timeline(
    events: list[dict[str, Any]], only: Iterable[int] | None = None
) -> list[Violation]:
    """Each event whose segmentNumber is lower than that of the last numbered event before it.

    With `only` (changed positions), just those events and the numbered event following each.
    """
    found = []
    if only is None:
        last: int | None = None
        for i, event in enumerate(events):
            if "segmentNumber" in event:
                if last is not None and event["segmentNumber"] < events[last]["segmentNumber"]:
                    found.append(_descent(events, i, last))
                last = i
        return found
    indexes: set[int] = set()
    for i in only:
        if 0 <= i < len(events):
            indexes.add(i)
            following = _numbered(events, i + 1, 1)
            if following is not None:
                indexes.add(following)
    for i in sorted(indexes):
        before = _numbered(events, i - 1, -1)
        if (
            "segmentNumber" in events[i]
            and before is not None
            and events[i]["segmentNumber"] < events[before]["segmentNumber"]
        ):
            found.append(_descent(events, i, before))
    return found


def _numbered(events: list[dict[str, Any]], start: int, step: int) -> int | None:
    """The first event from `start` on (walking by `step`) that has a segment number."""
    i = start
    while 0 <= i < len(events):
        if "segmentNumber" in events[i]:
            return i
        i += step
    return None


def duplicate_thread_ids(threads: list[dict[str, Any]]) -> list[Violation]:
    seen: dict[str, int] = {}
    found = []
    for i, thread in enumerate(threads):
        if "id" not in thread:
            continue
        if thread["id"] in seen:
            found.append(
                Violation(
                    f"/plotThreads/{i}/id",
                    f"plot thread id {thread['id']!r} is already used by "
                    f"/plotThreads/{seen[thread['id']]}",
                    "duplicate_thread_id",
                )
            )
        else:
            seen[thread["id"]] = i
    return found


def _characters(data: Any) -> list[Any]:
    value = data.get("characters") if isinstance(data, dict) else None
    return value if isinstance(value, list) else []


def continuity_violations(
    data: dict[str, Any],
    *,
    segment_count: int | None = None,
    previous: dict[str, Any] | None = None,
) -> list[Violation]:
    """Every continuity rule over the whole bible (the schema must hold)."""
    characters = data["characters"]
    events = data["timeline"].get("majorEvents", [])
    before = _characters(previous) if previous is not None else None
    found = duplicate_ids(characters)
    if before is not None:
        found += removed_characters(characters, before)
    found += name_collisions(characters, before)
    found += dangling_relationships(characters)
    if segment_count is not None:
        found += future_segments(characters, events, segment_count)
    found += decreasing_timeline(events)
    found += duplicate_thread_ids(data.get("plotThreads", []))
    return found
