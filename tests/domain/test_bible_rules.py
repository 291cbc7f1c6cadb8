"""Continuity rules: each single rule-breaking mutation is reported at its exact pointer."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from domain.bible.validation import Violation, validate_bible, validate_change
from tests.domain.bible_strategies import scenes, unused_id, unused_name
from tests.factories import large_bible

FAST = settings(max_examples=50, deadline=None)


def found(after: dict[str, Any], before: dict[str, Any] | None, segment_count: int | None):
    """What a full validation and a change validation both report, as (pointer, rule)."""
    full = validate_bible(after, segment_count=segment_count, previous=before)
    if before is not None:
        assert validate_change(before, after, segment_count=segment_count) == full
    return [(v.pointer, v.rule) for v in full]


def pick(data: st.DataObject, items: list[Any]) -> int:
    return data.draw(st.integers(0, len(items) - 1))


@FAST
@given(scenes(), st.data())
def test_duplicate_entity_id(scene: tuple[dict[str, Any], int], data: st.DataObject) -> None:
    bible, segment_count = scene
    before = copy.deepcopy(bible)
    i = pick(data, bible["characters"])
    bible["characters"].append(
        {
            "entityId": bible["characters"][i]["entityId"],
            "canonicalName": unused_name(bible),
            "isActive": data.draw(st.booleans()),
        }
    )
    n = len(bible["characters"]) - 1
    expected = [(f"/characters/{n}/entityId", "duplicate_entity_id")]
    assert found(bible, None, segment_count) == expected
    assert found(bible, before, segment_count) == expected


@FAST
@given(scenes(), st.data())
def test_removed_character(scene: tuple[dict[str, Any], int], data: st.DataObject) -> None:
    bible, segment_count = scene
    before = copy.deepcopy(bible)
    i = pick(data, bible["characters"])
    gone = bible["characters"].pop(i)["entityId"]
    for character in bible["characters"]:
        character["relationships"] = [
            r for r in character["relationships"] if r["targetEntityId"] != gone
        ]
    assert found(bible, before, segment_count) == [(f"/characters/{i}", "character_removed")]
    assert found(bible, None, segment_count) == []


@FAST
@given(scenes(), st.data())
def test_changed_id_is_a_removal(scene: tuple[dict[str, Any], int], data: st.DataObject) -> None:
    bible, segment_count = scene
    before = copy.deepcopy(bible)
    i = pick(data, bible["characters"])
    old = bible["characters"][i]["entityId"]
    new = unused_id(bible)
    for character in bible["characters"]:
        for relationship in character["relationships"]:
            if relationship["targetEntityId"] == old:
                relationship["targetEntityId"] = new
    bible["characters"][i]["entityId"] = new
    assert found(bible, before, segment_count) == [(f"/characters/{i}", "character_removed")]


@FAST
@given(scenes(), st.data())
def test_duplicate_active_name(scene: tuple[dict[str, Any], int], data: st.DataObject) -> None:
    bible, segment_count = scene
    characters = bible["characters"]
    assume(len(characters) >= 2)
    i, j = data.draw(st.permutations(range(len(characters))))[:2]
    characters[i]["isActive"] = characters[j]["isActive"] = True
    before = copy.deepcopy(bible)
    characters[j]["canonicalName"] = f"  {characters[i]['canonicalName'].swapcase()} "
    assert found(bible, before, segment_count) == [
        (f"/characters/{j}/canonicalName", "duplicate_active_name")
    ]


@FAST
@given(scenes(), st.data())
def test_reactivation_into_a_duplicate_name(
    scene: tuple[dict[str, Any], int], data: st.DataObject
) -> None:
    bible, segment_count = scene
    characters = bible["characters"]
    assume(len(characters) >= 2)
    i, j = data.draw(st.permutations(range(len(characters))))[:2]
    characters[i]["isActive"], characters[j]["isActive"] = True, False
    characters[j]["canonicalName"] = characters[i]["canonicalName"].lower()
    before = copy.deepcopy(bible)
    assert found(before, None, segment_count) == []  # an inactive namesake is fine
    characters[j]["isActive"] = True
    assert found(bible, before, segment_count) == [
        (f"/characters/{j}/canonicalName", "duplicate_active_name")
    ]


@FAST
@given(scenes(), st.data())
def test_alias_collision(scene: tuple[dict[str, Any], int], data: st.DataObject) -> None:
    bible, segment_count = scene
    characters = bible["characters"]
    assume(len(characters) >= 2)
    i, j = data.draw(st.permutations(range(len(characters))))[:2]
    names = [characters[i]["canonicalName"], *characters[i]["aliases"]]
    before = copy.deepcopy(bible)
    characters[j]["aliases"].append(data.draw(st.sampled_from(names)).upper())
    k = len(characters[j]["aliases"]) - 1
    assert found(bible, before, segment_count) == [
        (f"/characters/{j}/aliases/{k}", "alias_collision")
    ]


@FAST
@given(scenes(), st.data())
def test_own_duplicate_alias_is_fine(
    scene: tuple[dict[str, Any], int], data: st.DataObject
) -> None:
    bible, segment_count = scene
    before = copy.deepcopy(bible)
    character = bible["characters"][pick(data, bible["characters"])]
    character["aliases"] += [character["canonicalName"], character["canonicalName"].lower()]
    assert found(bible, before, segment_count) == []


@FAST
@given(scenes(), st.data())
def test_dangling_relationship(scene: tuple[dict[str, Any], int], data: st.DataObject) -> None:
    bible, segment_count = scene
    before = copy.deepcopy(bible)
    i = pick(data, bible["characters"])
    relationships = bible["characters"][i]["relationships"]
    relationships.append({"targetEntityId": unused_id(bible, "ghost"), "relationshipType": "ally"})
    pointer = f"/characters/{i}/relationships/{len(relationships) - 1}/targetEntityId"
    assert found(bible, before, segment_count) == [(pointer, "dangling_relationship")]
    assert found(bible, None, segment_count) == [(pointer, "dangling_relationship")]


@FAST
@given(scenes(), st.data())
def test_future_introduction(scene: tuple[dict[str, Any], int], data: st.DataObject) -> None:
    bible, segment_count = scene
    before = copy.deepcopy(bible)
    i = pick(data, bible["characters"])
    bible["characters"][i]["introducedInSegment"] = segment_count + data.draw(st.integers(1, 5))
    expected = [(f"/characters/{i}/introducedInSegment", "future_segment")]
    assert found(bible, before, segment_count) == expected
    assert found(bible, None, segment_count) == expected
    assert found(bible, before, None) == []


@FAST
@given(scenes(), st.data())
def test_future_event(scene: tuple[dict[str, Any], int], data: st.DataObject) -> None:
    bible, segment_count = scene
    before = copy.deepcopy(bible)
    events = bible["timeline"]["majorEvents"]
    events.append({"segmentNumber": segment_count + 1, "event": "too soon"})
    expected = [(f"/timeline/majorEvents/{len(events) - 1}/segmentNumber", "future_segment")]
    assert found(bible, before, segment_count) == expected


@FAST
@given(scenes(), st.data())
def test_decreasing_timeline(scene: tuple[dict[str, Any], int], data: st.DataObject) -> None:
    bible, segment_count = scene
    events = bible["timeline"]["majorEvents"]
    candidates = [i for i in range(1, len(events)) if events[i - 1]["segmentNumber"] > 0]
    assume(candidates)
    i = data.draw(st.sampled_from(candidates))
    before = copy.deepcopy(bible)
    events[i]["segmentNumber"] = data.draw(st.integers(0, events[i - 1]["segmentNumber"] - 1))
    expected = [(f"/timeline/majorEvents/{i}/segmentNumber", "timeline_decreasing")]
    assert found(bible, before, segment_count) == expected
    assert found(bible, None, segment_count) == expected


@FAST
@given(scenes(), st.data())
def test_duplicate_thread_id(scene: tuple[dict[str, Any], int], data: st.DataObject) -> None:
    bible, segment_count = scene
    threads = bible["plotThreads"]
    assume(threads)
    before = copy.deepcopy(bible)
    duplicate = threads[pick(data, threads)]["id"]
    at = data.draw(st.integers(0, len(threads)))
    threads.insert(at, {"id": duplicate, "description": "again", "status": "active"})
    first = next(i for i, t in enumerate(threads) if t["id"] == duplicate)
    second = next(i for i, t in enumerate(threads) if t["id"] == duplicate and i != first)
    assert found(bible, before, segment_count) == [
        (f"/plotThreads/{second}/id", "duplicate_thread_id")
    ]


def test_the_fixture_homonyms_are_grandfathered_but_new_ones_are_not() -> None:
    before = large_bible()
    # Two active "Orin Whitlock"s and "Eli" for two characters are existing canon.
    assert [c["canonicalName"] for c in before["characters"]].count("Orin Whitlock") == 2
    assert validate_bible(before, previous=before) == []

    after = copy.deepcopy(before)
    after["characters"][34]["isActive"] = True  # the second "Rafael Petrov" comes back
    after["characters"][2]["aliases"].append("ELI")
    after["characters"].append(
        {"entityId": "char_orin99", "canonicalName": "orin whitlock", "isActive": True}
    )
    expected = [
        Violation(
            "/characters/2/aliases/2",
            "alias 'ELI' is already a name or alias of /characters/5",
            "alias_collision",
        ),
        Violation(
            "/characters/34/canonicalName",
            "'Rafael Petrov' is already the name of active character /characters/9",
            "duplicate_active_name",
        ),
        Violation(
            "/characters/50/canonicalName",
            "'orin whitlock' is already the name of active character /characters/13",
            "duplicate_active_name",
        ),
    ]
    assert validate_bible(after, segment_count=201, previous=before) == expected
    assert validate_change(before, after, segment_count=201) == expected


def test_a_character_may_become_inactive() -> None:
    before = large_bible()
    after = copy.deepcopy(before)
    after["characters"][0]["isActive"] = False
    assert validate_change(before, after) == []


def test_several_rule_violations_are_all_reported() -> None:
    before = large_bible()
    after = copy.deepcopy(before)
    after["characters"][1]["relationships"].append(
        {"targetEntityId": "char_nobody", "relationshipType": "ally"}
    )
    after["plotThreads"].append(dict(after["plotThreads"][0]))
    after["timeline"]["majorEvents"][10]["segmentNumber"] = 0
    assert [(v.pointer, v.rule) for v in validate_change(before, after, segment_count=201)] == [
        ("/characters/1/relationships/2/targetEntityId", "dangling_relationship"),
        ("/timeline/majorEvents/10/segmentNumber", "timeline_decreasing"),
        ("/plotThreads/30/id", "duplicate_thread_id"),
    ]
