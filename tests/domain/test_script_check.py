"""A script checked against its bible, and its delta applied to the bible."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.bible.defaults import with_defaults
from domain.bible.delta import apply_delta
from domain.bible.script_check import check_script
from domain.bible.validation import validate_bible, validate_change
from domain.errors import InvalidInput
from schemas.script import BibleDelta, Script
from tests.domain.bible_strategies import scenes, unused_id, unused_name
from tests.factories import large_bible


def script(shots: list[dict[str, Any]], delta: dict[str, Any] | None = None) -> Script:
    return Script.model_validate(
        {
            "title": "t",
            "shots": [
                {"setting": "The Old Docks", "action": "x", "duration": 4, **s} for s in shots
            ],
            "bible_delta": delta or {},
        }
    )


def found(violations: list[Any]) -> list[tuple[str, str]]:
    return [(v.pointer, v.rule) for v in violations]


def test_characters_are_found_by_name_or_alias_in_any_case() -> None:
    s = script(
        [
            {
                "characters": ["Mara Hart", "mara", "THE FERRY KEEPER", " Elias   Petrov "],
                "dialogue": [{"character": "eli", "line": "Who rang?"}],
            }
        ]
    )
    assert check_script(s, large_bible()) == []


def test_every_violation_of_a_script_is_listed() -> None:
    bible = large_bible()
    resolved = next(t["id"] for t in bible["plotThreads"] if t["status"] == "resolved")
    active = next(t["id"] for t in bible["plotThreads"] if t["status"] == "active")
    s = script(
        [
            {"characters": ["Mara Hart"]},
            {
                "characters": ["Nobody Known", "Theo Nakamura", "Wren Ash"],
                "dialogue": [
                    {"character": "Mara", "line": "a"},
                    {"character": "Delphine Okafor", "line": "b"},
                    {"character": "Wren", "line": "c"},
                    {"character": "Stranger", "line": "d"},
                ],
            },
        ],
        {
            "new_characters": [
                {"entityId": "char_wren", "canonicalName": "Wren Ash", "aliases": ["Wren"]},
                {"entityId": "char_mara00", "canonicalName": "Second Mara", "aliases": ["MAR"]},
                {"entityId": "char_wren", "canonicalName": "wren ash"},
            ],
            "thread_changes": [
                {"id": resolved, "status": "active"},
                {"id": "thread_nope", "status": "active"},
                {"id": active, "status": "resolved"},
            ],
        },
    )
    assert found(check_script(s, bible)) == [
        ("/shots/1/characters/0", "unknown_character"),
        ("/shots/1/characters/1", "inactive_character"),
        ("/shots/1/dialogue/1/character", "inactive_character"),
        ("/shots/1/dialogue/3/character", "unknown_character"),
        ("/bible_delta/new_characters/1/entityId", "duplicate_entity_id"),
        ("/bible_delta/new_characters/1/aliases/0", "name_collision"),
        ("/bible_delta/new_characters/2/entityId", "duplicate_entity_id"),
        ("/bible_delta/new_characters/2/canonicalName", "name_collision"),
        ("/bible_delta/thread_changes/0", "closed_thread"),
        ("/bible_delta/thread_changes/1/id", "unknown_thread"),
    ]


def test_a_name_shared_with_an_active_character_may_act() -> None:
    # "Mar" is Mara Hart (active) and Mara Whitlock (inactive): someone active answers to it.
    assert check_script(script([{"characters": ["Mar"]}]), large_bible()) == []
    # "Rafael" names only the inactive Rafael Petrov.
    assert found(check_script(script([{"characters": ["Rafael"]}]), large_bible())) == [
        ("/shots/0/characters/0", "inactive_character")
    ]


@settings(max_examples=50, deadline=None)
@given(scenes(sparse=True), st.data())
def test_scripts_using_the_bible_pass_and_their_delta_stays_valid(
    scene: tuple[dict[str, Any], int], data: st.DataObject
) -> None:
    # As stored: the design's sparse variety, with the defaults filled on write.
    bible, segment_count = with_defaults(scene[0]), scene[1]
    active = [c for c in bible["characters"] if c["isActive"]]
    names = [n for c in active for n in [c["canonicalName"], *c.get("aliases", [])]]
    new_name = unused_name(bible)
    cast = data.draw(st.lists(st.sampled_from([*names, new_name.lower()]), max_size=4))
    open_threads = [
        t["id"] for t in bible["plotThreads"] if t.get("status") not in ("resolved", "abandoned")
    ]
    s = script(
        [{"characters": cast, "dialogue": [{"character": n, "line": "..."} for n in cast]}],
        {
            "new_characters": [{"entityId": unused_id(bible), "canonicalName": new_name}],
            "events": [{"event": "it happens"}],
            "thread_changes": [{"id": t, "status": "resolved"} for t in open_threads[:1]],
            "current_point": "later",
        },
    )
    assert check_script(s, bible) == []
    after = apply_delta(bible, s.bible_delta, segment_count + 1)
    assert validate_change(bible, after, segment_count=segment_count + 1) == []
    assert validate_bible(after, segment_count=segment_count + 1, previous=bible) == []


def test_apply_delta_builds_the_next_canon_without_touching_the_input() -> None:
    before = large_bible()
    snapshot = copy.deepcopy(before)
    thread = next(t for t in before["plotThreads"] if t["status"] == "active")
    at = before["plotThreads"].index(thread)
    delta = BibleDelta.model_validate(
        {
            "new_characters": [
                {
                    "entityId": "char_wren",
                    "canonicalName": "Wren Ash",
                    "aliases": ["Wren"],
                    "description": "A bell-ringer.",
                }
            ],
            "events": [
                {
                    "event": "The bell rings twice.",
                    "consequences": ["The docks wake.", "Gulls scatter."],
                },
                {"event": "Fog lifts."},
            ],
            "thread_changes": [{"id": thread["id"], "status": "resolved", "description": "Done."}],
            "current_point": "Segment 202",
        }
    )
    after = apply_delta(before, delta, 202)

    assert before == snapshot
    assert after["characters"][-1] == {
        "entityId": "char_wren",
        "canonicalName": "Wren Ash",
        "aliases": ["Wren"],
        "description": "A bell-ringer.",
        "introducedInSegment": 202,
        "isActive": True,
    }
    assert after["timeline"]["majorEvents"][-2:] == [
        {
            "segmentNumber": 202,
            "event": "The bell rings twice.",
            # The design's form: one string.
            "consequences": "The docks wake. Gulls scatter.",
        },
        {"segmentNumber": 202, "event": "Fog lifts."},
    ]
    assert after["timeline"]["currentPoint"] == "Segment 202"
    assert after["plotThreads"][at] == {
        "id": thread["id"],
        "description": "Done.",
        "status": "resolved",
    }
    assert after["plotThreads"][:at] == before["plotThreads"][:at]
    assert after["plotThreads"][at + 1 :] == before["plotThreads"][at + 1 :]
    assert len(after["characters"]) == 51 and len(after["timeline"]["majorEvents"]) == 202
    assert validate_bible(after, segment_count=202, previous=before) == []


def test_an_empty_delta_changes_nothing() -> None:
    before = large_bible()
    assert apply_delta(before, BibleDelta(), 202) == before


def test_apply_delta_refuses_an_unknown_thread() -> None:
    delta = BibleDelta.model_validate({"thread_changes": [{"id": "ghost", "status": "active"}]})
    with pytest.raises(InvalidInput) as error:
        apply_delta(large_bible(), delta, 202)
    assert error.value.extra["errors"][0]["pointer"] == "/bible_delta/thread_changes/0/id"
