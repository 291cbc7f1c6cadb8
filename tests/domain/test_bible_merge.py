"""Three-way merge: disjoint changes merge in any order, conflicts are reported, never applied."""

from __future__ import annotations

import bisect
import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.bible.defaults import with_defaults
from domain.bible.merge import Conflict, merge_bibles
from domain.bible.validation import validate_bible
from tests.domain.bible_strategies import scenes
from tests.factories import large_bible

FAST = settings(max_examples=60, deadline=None)


@st.composite
def stored_scenes(draw: st.DrawFn) -> tuple[dict[str, Any], int]:
    """Bibles as stored: full, or of the design's sparse variety with the defaults filled."""
    bible, segment_count = draw(scenes(sparse=draw(st.booleans())))
    return with_defaults(bible), segment_count


# Edits that touch one existing value each: a slot goes to one side only, so sides are disjoint.
SLOT_KINDS = ["describe", "toggle", "alias", "relate", "thread", "drop_place", "tone", "point"]


def _character(b: dict[str, Any], entity_id: str) -> dict[str, Any]:
    return next(c for c in b["characters"] if c["entityId"] == entity_id)


def apply(bible: dict[str, Any], edits: list[tuple[Any, ...]], side: str) -> dict[str, Any]:
    """`bible` with `side`'s edits, targets found by identity (so edits commute)."""
    b = copy.deepcopy(bible)
    for kind, target in edits:
        if kind == "describe":
            _character(b, target)["description"] = f"told by {side}"
        elif kind == "toggle":
            c = _character(b, target)
            c["isActive"] = not c["isActive"]
        elif kind == "alias":
            _character(b, target).setdefault("aliases", []).append(f"{side} alias")
        elif kind == "relate":
            _character(b, target).setdefault("relationships", []).append(
                {"targetEntityId": target, "relationshipType": f"{side} self"}
            )
        elif kind == "thread":
            t = next(t for t in b["plotThreads"] if t["id"] == target)
            t["status"] = "abandoned" if t.get("status") != "abandoned" else "active"
        elif kind == "drop_place":
            b["setting"]["locations"] = [
                p for p in b["setting"]["locations"] if p["name"] != target
            ]
        elif kind == "tone":
            b["styleGuide"]["tone"] = f"{side} tone"
        elif kind == "point":
            b["timeline"]["currentPoint"] = f"{side} point"
        elif kind == "add_character":
            b["characters"].append(
                {
                    # Longer than any generated id (10 characters after char_): never taken.
                    "entityId": f"char_{side}added{target:06d}",
                    "canonicalName": f"{side} {target}",
                    "isActive": True,
                }
            )
        elif kind == "add_event":
            events = b["timeline"]["majorEvents"]
            number, text = target
            event = {"segmentNumber": number, "event": f"{side} {text}"}
            if all(type(e.get("segmentNumber")) is int for e in events):
                at = bisect.bisect_right([e["segmentNumber"] for e in events], number)
                events.insert(at, event)
            else:  # the merge orders events by number only when all have one
                events.append(event)
        elif kind == "add_place":
            b["setting"].setdefault("locations", []).append({"name": f"{side} place {target}"})
    return b


@st.composite
def disjoint_edits(draw: st.DrawFn, bible: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    targets = {
        "describe": [c["entityId"] for c in bible["characters"]],
        "toggle": [c["entityId"] for c in bible["characters"]],
        "alias": [c["entityId"] for c in bible["characters"]],
        "relate": [c["entityId"] for c in bible["characters"]],
        "thread": [t["id"] for t in bible["plotThreads"]],
        "drop_place": [p["name"] for p in bible["setting"].get("locations", [])],
        "tone": [None],
        "point": [None],
    }
    slots = [(kind, t) for kind in SLOT_KINDS for t in targets[kind]]
    chosen = draw(st.lists(st.sampled_from(slots), unique=True, max_size=6)) if slots else []
    sides = draw(st.lists(st.booleans(), min_size=len(chosen), max_size=len(chosen)))
    edits: tuple[list[Any], list[Any]] = ([], [])
    for slot, first in zip(chosen, sides, strict=True):
        edits[0 if first else 1].append(slot)
    top = max([0, *(e.get("segmentNumber", 0) for e in bible["timeline"]["majorEvents"])])
    for side_edits in edits:
        for n in range(draw(st.integers(0, 2))):
            side_edits.append(("add_character", n))
        for n in range(draw(st.integers(0, 3))):
            side_edits.append(("add_event", (draw(st.integers(max(0, top - 2), top + 2)), n)))
        for n in range(draw(st.integers(0, 1))):
            side_edits.append(("add_place", n))
    return edits


def either(merged: Any, ab: Any, ba: Any) -> bool:
    """`merged` is both changes applied, each list in one order or the other (a before b, or b
    before a: the merge puts first the side whose added keys sort first)."""
    if ab == ba:
        return merged == ab
    if isinstance(ab, dict) and isinstance(ba, dict) and isinstance(merged, dict):
        return merged.keys() == ab.keys() == ba.keys() and all(
            either(merged[k], ab[k], ba[k]) for k in ab
        )
    return merged in (ab, ba)


@FAST
@given(stored_scenes(), st.data())
def test_disjoint_changes_merge_in_any_order(
    scene: tuple[dict[str, Any], int], data: st.DataObject
) -> None:
    base, _ = scene
    ours_edits, theirs_edits = data.draw(disjoint_edits(base))
    ours, theirs = apply(base, ours_edits, "a"), apply(base, theirs_edits, "b")
    snapshots = copy.deepcopy((base, ours, theirs))

    one, other = merge_bibles(base, ours, theirs), merge_bibles(base, theirs, ours)

    assert one.conflicts == [] and other.conflicts == []
    assert one.merged == other.merged
    both = (
        apply(apply(base, ours_edits, "a"), theirs_edits, "b"),
        apply(apply(base, theirs_edits, "b"), ours_edits, "a"),
    )
    assert either(one.merged, *both)
    assert (base, ours, theirs) == snapshots


@FAST
@given(stored_scenes(), st.data())
def test_a_conflicting_change_is_reported_never_applied(
    scene: tuple[dict[str, Any], int], data: st.DataObject
) -> None:
    base, _ = scene
    ours_edits, theirs_edits = data.draw(disjoint_edits(base))
    ours, theirs = apply(base, ours_edits, "a"), apply(base, theirs_edits, "b")
    i = data.draw(st.integers(0, len(base["characters"]) - 1))
    entity_id = base["characters"][i]["entityId"]
    how = data.draw(st.sampled_from(["both edit", "edit and remove"]))
    # Both sides set the same field differently, or one edits what the other removed.
    _character(ours, entity_id)["description"] = "from ours"
    if how == "both edit":
        _character(theirs, entity_id)["description"] = "from theirs"
        expected = Conflict(
            f"/characters/{i}/description",
            base["characters"][i].get("description"),
            "from ours",
            "from theirs",
        )
    else:
        theirs["characters"] = [c for c in theirs["characters"] if c["entityId"] != entity_id]
        expected = Conflict(
            f"/characters/{i}", base["characters"][i], _character(ours, entity_id), None
        )

    result = merge_bibles(base, ours, theirs)
    assert result.merged is None
    assert result.conflicts == [expected]
    swapped = merge_bibles(base, theirs, ours)
    assert swapped.merged is None
    assert swapped.conflicts == [
        Conflict(expected.pointer, expected.base, expected.theirs, expected.ours)
    ]


@FAST
@given(stored_scenes(), st.data())
def test_identical_changes_on_both_sides_apply_once(
    scene: tuple[dict[str, Any], int], data: st.DataObject
) -> None:
    base, _ = scene
    edits, _ = data.draw(disjoint_edits(base))
    ours = apply(base, edits, "same")
    result = merge_bibles(base, ours, copy.deepcopy(ours))
    assert result.conflicts == []
    assert result.merged == ours


def test_events_appended_on_both_sides_are_kept_in_segment_order() -> None:
    base = large_bible()
    ours = copy.deepcopy(base)
    theirs = copy.deepcopy(base)
    ours["timeline"]["majorEvents"] += [
        {"segmentNumber": 202, "event": "ours first"},
        {"segmentNumber": 204, "event": "ours second"},
    ]
    theirs["timeline"]["majorEvents"].append({"segmentNumber": 203, "event": "theirs"})
    ours["characters"][0]["description"] = "ours"
    theirs["characters"][1]["description"] = "theirs"
    ours["version"], theirs["version"] = 4, 6

    result = merge_bibles(base, ours, theirs)

    assert result.conflicts == []
    merged = result.merged
    assert merged is not None
    assert [e["event"] for e in merged["timeline"]["majorEvents"][-3:]] == [
        "ours first",
        "theirs",
        "ours second",
    ]
    assert merged["timeline"]["majorEvents"][:200] == base["timeline"]["majorEvents"]
    assert merged["characters"][0]["description"] == "ours"
    assert merged["characters"][1]["description"] == "theirs"
    assert merged["version"] == 6  # the server's row number, not canon: never a conflict
    assert validate_bible(merged, segment_count=204, previous=base) == []


def test_both_sides_adding_the_same_alias_keep_it_once() -> None:
    base = large_bible()
    ours, theirs = copy.deepcopy(base), copy.deepcopy(base)
    ours["characters"][3]["aliases"] = ["Cas", "Lind"]
    theirs["characters"][3]["aliases"] = ["Lind"]
    theirs["characters"][3]["traits"] = ["calm"]
    merged = merge_bibles(base, ours, theirs).merged
    assert merged is not None
    assert merged["characters"][3]["aliases"] == ["Lind", "Cas"] or merged["characters"][3][
        "aliases"
    ] == ["Cas", "Lind"]
    assert merged["characters"][3]["traits"] == ["calm"]


def test_the_same_new_character_with_different_details_conflicts_on_the_detail() -> None:
    base = large_bible()
    ours, theirs = copy.deepcopy(base), copy.deepcopy(base)
    new = {"entityId": "char_wren", "canonicalName": "Wren Ash", "isActive": True}
    ours["characters"].append({**new, "description": "a bell-ringer"})
    theirs["characters"].append({**new, "description": "a smuggler", "traits": ["quiet"]})
    result = merge_bibles(base, ours, theirs)
    assert result.merged is None
    assert result.conflicts == [
        Conflict("/characters/50/description", None, "a bell-ringer", "a smuggler")
    ]
