"""Schema validation of the bible, and validate_change agreeing with a full validation."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.bible.delta import apply_delta
from domain.bible.validation import Violation, to_pointer, validate_bible, validate_change
from schemas.script import BibleDelta
from tests.domain.bible_strategies import changes, scenes
from tests.factories import large_bible, minimal_bible

FAST = settings(max_examples=60, deadline=None)


def rules_of(violations: list[Violation]) -> list[tuple[str, str]]:
    return [(v.pointer, v.rule) for v in violations]


def test_the_large_fixture_breaks_only_the_name_rules() -> None:
    """The realistic fixture reuses names and aliases ("Eli", "Mar"): a new bible like it is
    refused with every collision listed, while edits of a stored canon that already holds
    them are judged only on the names they give out."""
    bible = large_bible()
    found = validate_bible(bible, segment_count=201)
    assert found and {v.rule for v in found} == {"duplicate_active_name", "alias_collision"}
    assert ("/characters/0/aliases/1", "alias_collision") in rules_of(found)
    assert validate_bible(bible) == found
    assert validate_bible(bible, segment_count=201, previous=large_bible()) == []
    assert validate_change(large_bible(), bible, segment_count=201) == []


def test_the_minimal_bible_is_valid() -> None:
    assert validate_bible(minimal_bible(), segment_count=0) == []


def test_every_schema_violation_is_reported_with_its_pointer() -> None:
    bible = large_bible()
    bible["characters"][3]["isActive"] = "yes"
    bible["characters"][7]["canonicalName"] = "x" * 201
    bible["characters"][9]["relationships"][1]["targetEntityId"] = 7
    bible["characters"][11]["entityId"] = "Hero-1"  # the design pins ^char_[a-z0-9]+$
    del bible["plotThreads"][2]["status"]  # optional in the design
    bible["plotThreads"][4]["status"] = "open"  # not one of the design's three
    bible["timeline"]["majorEvents"][150]["segmentNumber"] = "3"
    bible["timeline"]["majorEvents"][151]["consequences"] = 7
    bible["styleGuide"]["colour"] = "teal"  # a field the design does not name: kept

    assert rules_of(validate_bible(bible, segment_count=201)) == [
        ("/characters/3/isActive", "schema:type"),
        ("/characters/7/canonicalName", "schema:maxLength"),
        ("/characters/9/relationships/1/targetEntityId", "schema:type"),
        ("/characters/11/entityId", "schema:pattern"),
        ("/timeline/majorEvents/150/segmentNumber", "schema:type"),
        ("/timeline/majorEvents/151/consequences", "schema:type"),
        ("/plotThreads/4/status", "schema:enum"),
    ]


def test_schema_errors_come_before_and_instead_of_rule_errors() -> None:
    bible = large_bible()
    bible["characters"].append(copy.deepcopy(bible["characters"][0]))  # a duplicate id
    bible.pop("setting")
    assert rules_of(validate_bible(bible)) == [("", "schema:required")]


def test_a_bible_that_is_not_an_object() -> None:
    assert rules_of(validate_bible([])) == [("", "schema:type")]
    assert rules_of(validate_change(minimal_bible(), "text")) == [("", "schema:type")]


def test_patterns_anchor_at_the_true_end_of_the_string() -> None:
    # Python's `$` matches before a final newline; JSON Schema's (ECMA 262) does not.
    bible = minimal_bible()
    bible["characters"][0]["entityId"] = "char_mara\n"
    assert rules_of(validate_bible(bible)) == [("/characters/0/entityId", "schema:pattern")]


def test_pointers_escape_tilde_and_slash() -> None:
    assert to_pointer(["setting", "a/b", "c~d", 3]) == "/setting/a~1b/c~0d/3"
    assert to_pointer([]) == ""


def test_validate_change_lists_every_error_of_the_change() -> None:
    before = large_bible()
    after = copy.deepcopy(before)
    after["characters"][5]["aliases"].append(3)
    after["timeline"]["majorEvents"].append({"segmentNumber": "202", "event": "x"})
    after["plotThreads"][0]["description"] = 7
    expected = [
        ("/characters/5/aliases/3", "schema:type"),
        ("/timeline/majorEvents/200/segmentNumber", "schema:type"),
        ("/plotThreads/0/description", "schema:type"),
    ]
    assert rules_of(validate_change(before, after)) == expected
    assert rules_of(validate_bible(after)) == expected


def test_validate_change_of_an_applied_delta() -> None:
    before = large_bible()
    delta = BibleDelta.model_validate(
        {
            "new_characters": [{"entityId": "char_wren", "canonicalName": "Wren Ash"}],
            "events": [{"event": "The bell rings twice."}],
            "thread_changes": [{"id": before["plotThreads"][-1]["id"], "status": "abandoned"}],
        }
    )
    assert validate_change(before, apply_delta(before, delta, 202), segment_count=202) == []
    assert rules_of(
        validate_change(before, apply_delta(before, delta, 203), segment_count=202)
    ) == [
        ("/characters/50/introducedInSegment", "future_segment"),
        ("/timeline/majorEvents/200/segmentNumber", "future_segment"),
    ]


def test_validate_change_sees_a_boolean_swapped_for_a_number() -> None:
    # True == 1 in Python: equality alone would call this character unchanged.
    before = large_bible()
    after = copy.deepcopy(before)
    after["characters"][2]["isActive"] = 1
    assert rules_of(validate_change(before, after)) == [("/characters/2/isActive", "schema:type")]


@FAST
@given(scenes(sparse=True))
def test_generated_bibles_are_valid(scene: tuple[dict[str, Any], int]) -> None:
    bible, segment_count = scene
    assert validate_bible(bible) == []
    assert validate_bible(bible, segment_count=segment_count, previous=copy.deepcopy(bible)) == []
    assert validate_change(bible, copy.deepcopy(bible), segment_count=segment_count) == []


@FAST
@given(scenes(), st.data())
def test_a_wrong_type_is_reported_at_its_pointer(
    scene: tuple[dict[str, Any], int], data: st.DataObject
) -> None:
    bible, segment_count = scene
    i = data.draw(st.integers(0, len(bible["characters"]) - 1))
    field, value = data.draw(
        st.sampled_from(
            [
                ("isActive", "true"),
                ("isActive", 1),  # == True, yet not a boolean
                ("introducedInSegment", "3"),
                ("introducedInSegment", False),
                ("aliases", "Mara"),
                ("entityId", 7),
            ]
        )
    )
    before = copy.deepcopy(bible)
    bible["characters"][i][field] = value
    expected = [(f"/characters/{i}/{field}", "schema:type")]
    assert rules_of(validate_bible(bible, segment_count=segment_count)) == expected
    assert rules_of(validate_change(before, bible, segment_count=segment_count)) == expected


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_validate_change_agrees_with_a_full_validation(data: st.DataObject) -> None:
    before, segment_count = data.draw(scenes(sparse=data.draw(st.booleans())))
    after = data.draw(changes(before))
    bound = data.draw(st.sampled_from([None, segment_count, segment_count + 3]))
    snapshot = copy.deepcopy(before)
    assert validate_change(before, after, segment_count=bound) == validate_bible(
        after, segment_count=bound, previous=before
    )
    assert before == snapshot


def _legacy() -> dict[str, Any]:
    """A bible stored before the design's schema: ids and a status the design refuses."""
    bible = minimal_bible()
    bible["characters"][0]["entityId"] = "Hero-1"
    bible["characters"].append({"entityId": "char_tobin", "canonicalName": "Tobin"})
    bible["characters"][1]["relationships"] = [{"targetEntityId": "Hero-1"}]
    bible["plotThreads"][0]["status"] = "open"
    return bible


def test_a_new_bible_follows_the_design() -> None:
    assert rules_of(validate_bible(_legacy())) == [
        ("/characters/0/entityId", "schema:pattern"),
        ("/plotThreads/0/status", "schema:enum"),
    ]


def test_a_stored_legacy_id_and_status_stay_acceptable_while_kept() -> None:
    stored = _legacy()
    edit = copy.deepcopy(stored)
    edit["characters"][0]["description"] = "Rewritten."
    edit["plotThreads"][0]["description"] = "Still ringing."
    assert validate_change(stored, edit) == []
    assert validate_bible(edit, previous=stored) == []

    renamed = copy.deepcopy(edit)
    renamed["characters"].append({"entityId": "Hero-2", "canonicalName": "Ada"})
    renamed["plotThreads"][0]["status"] = "dormant"
    expected = [
        ("/characters/2/entityId", "schema:pattern"),
        ("/plotThreads/0/status", "schema:enum"),
    ]
    assert rules_of(validate_change(stored, renamed)) == expected
    assert rules_of(validate_bible(renamed, previous=stored)) == expected

    odd = copy.deepcopy(edit)
    odd["plotThreads"][0].update(id=["thread_1"], status=["open"])  # unhashable, never legacy
    assert ("/plotThreads/0/status", "schema:enum") in rules_of(validate_change(stored, odd))
    assert ("/plotThreads/0/id", "schema:type") in rules_of(validate_bible(odd, previous=stored))

    closed = copy.deepcopy(edit)
    closed["plotThreads"][0]["status"] = "resolved"
    assert validate_change(stored, closed) == []


def test_the_design_defaults_are_what_the_rules_see() -> None:
    bible: dict[str, Any] = {
        "version": 3,
        "characters": [
            {"entityId": "char_a", "canonicalName": "Ada"},
            {"entityId": "char_b", "canonicalName": "ada", "isActive": False},
            {"entityId": "char_c", "canonicalName": "ADA"},
        ],
        "setting": {},
        "timeline": {},
    }
    # isActive defaults to true: the first and third are both active and share a name.
    assert rules_of(validate_bible(bible)) == [
        ("/characters/0/canonicalName", "duplicate_active_name"),
        ("/characters/2/canonicalName", "duplicate_active_name"),
    ]
    bible["characters"][2]["isActive"] = False
    assert validate_bible(bible) == []


def test_events_without_a_segment_number_are_skipped_by_the_timeline_rules() -> None:
    events = [
        {"segmentNumber": 3, "event": "a"},
        {"event": "undated"},
        {"segmentNumber": 2, "event": "b"},
        {"event": "undated", "consequences": "a string, as the design has it"},
        {"segmentNumber": 9, "event": "c", "consequences": ["or a list"]},
    ]
    bible: dict[str, Any] = {"characters": [], "setting": {}, "timeline": {"majorEvents": events}}
    expected = [
        ("/timeline/majorEvents/2/segmentNumber", "timeline_decreasing"),
        ("/timeline/majorEvents/4/segmentNumber", "future_segment"),
    ]
    assert rules_of(validate_bible(bible, segment_count=5)) == expected
    before = copy.deepcopy(bible)
    before["timeline"]["majorEvents"][2]["segmentNumber"] = 4
    assert rules_of(validate_change(before, bible, segment_count=5)) == expected
