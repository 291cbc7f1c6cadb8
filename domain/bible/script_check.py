"""A script checked against the bible it continues: the same continuity, seen from the script.

Pointers point into the script (`/shots/2/characters/0`, `/bible_delta/thread_changes/0`).
Every violation is returned, not just the first.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from domain.bible.rules import CLOSED_THREAD_STATUSES, name_key
from domain.bible.schema import Violation
from schemas.bible import is_active
from schemas.script import BibleDelta, Script


def check_script(script: Script, bible: dict[str, Any]) -> list[Violation]:
    """Every continuity violation of `script` against the (valid) `bible`."""
    holders: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for character in bible["characters"]:
        names = {name_key(character["canonicalName"])}
        names.update(name_key(alias) for alias in character.get("aliases", ()))
        for key in names:
            holders[key].append(character)
    declared = {
        name_key(name)
        for new in script.bible_delta.new_characters
        for name in (new.canonicalName, *new.aliases)
    }

    def check_name(name: str, pointer: str, verb: str) -> Violation | None:
        key = name_key(name)
        if key in declared:
            return None
        if key not in holders:
            return Violation(
                pointer,
                f"{name!r} is neither a character of the bible nor declared new",
                "unknown_character",
            )
        if not any(is_active(c) for c in holders[key]):
            return Violation(
                pointer,
                f"{name!r} is inactive and cannot {verb}",
                "inactive_character",
                entity=holders[key][0].get("entityId"),
            )
        return None

    found: list[Violation | None] = []
    for i, shot in enumerate(script.shots):
        for j, name in enumerate(shot.characters):
            found.append(check_name(name, f"/shots/{i}/characters/{j}", "act"))
        for j, line in enumerate(shot.dialogue):
            found.append(check_name(line.character, f"/shots/{i}/dialogue/{j}/character", "speak"))
    violations = [v for v in found if v is not None]
    violations += _new_character_collisions(script.bible_delta, bible, holders)
    violations += _thread_changes(script.bible_delta, bible)
    return violations


def _new_character_collisions(
    delta: BibleDelta, bible: dict[str, Any], holders: dict[str, list[dict[str, Any]]]
) -> list[Violation]:
    """A new character takes an id and names nobody has, in the bible or earlier in the delta."""
    ids = {c["entityId"] for c in bible["characters"]}
    taken = dict.fromkeys(holders, "the bible")
    found = []
    for k, new in enumerate(delta.new_characters):
        at = f"/bible_delta/new_characters/{k}"
        if new.entityId in ids:
            found.append(
                Violation(
                    f"{at}/entityId",
                    f"entity id {new.entityId!r} is already used",
                    "duplicate_entity_id",
                )
            )
        ids.add(new.entityId)
        own = {name_key(new.canonicalName)} | {name_key(a) for a in new.aliases}
        for pointer, name in [
            (f"{at}/canonicalName", new.canonicalName),
            *((f"{at}/aliases/{m}", alias) for m, alias in enumerate(new.aliases)),
        ]:
            if (owner := taken.get(name_key(name))) is not None:
                found.append(
                    Violation(pointer, f"{name!r} is already a name in {owner}", "name_collision")
                )
        for key in own:
            taken.setdefault(key, at)
    return found


def _thread_changes(delta: BibleDelta, bible: dict[str, Any]) -> list[Violation]:
    """Threads change only if they exist and are still open: resolved ones do not advance."""
    status = {
        thread["id"]: thread.get("status")
        for thread in bible.get("plotThreads", ())
        if "id" in thread
    }
    found = []
    for k, change in enumerate(delta.thread_changes):
        at = f"/bible_delta/thread_changes/{k}"
        if change.id not in status:
            found.append(
                Violation(f"{at}/id", f"no plot thread has id {change.id!r}", "unknown_thread")
            )
        elif status[change.id] in CLOSED_THREAD_STATUSES:
            found.append(
                Violation(
                    at,
                    f"plot thread {change.id!r} is {status[change.id]} and cannot change",
                    "closed_thread",
                    entity=change.id,
                )
            )
    return found
