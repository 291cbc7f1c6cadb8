"""The text and the script reporting the same break give one violation, the text's."""

from __future__ import annotations

from domain.bible.near_duplicates import merge_near_duplicates
from domain.bible.script_check import check_script
from domain.bible.text_check import text_violations
from schemas.script import Script
from tests.domain.continuity_corpus import load

BIBLE, SEGMENT, _ = load()


def script(
    characters: list[str], speaker: str | None = None, threads: tuple[str, ...] = ()
) -> Script:
    dialogue = [{"character": speaker, "line": "Light the lamp."}] if speaker else []
    return Script.model_validate(
        {
            "title": "t",
            "shots": [
                {
                    "setting": "The Old Docks",
                    "action": "x",
                    "duration": 4,
                    "characters": characters,
                    "dialogue": dialogue,
                }
            ],
            "bible_delta": {"thread_changes": [{"id": t, "status": "active"} for t in threads]},
        }
    )


def test_the_text_s_violation_replaces_the_script_s_for_the_same_act() -> None:
    text = '"Light the lamp," Elias said. Mara reopens the hunt for the stolen ledger.'
    found = text_violations(text, BIBLE, segment_number=SEGMENT) + check_script(
        script(["Elias", "Mara"], speaker="Elias", threads=("stolen_ledger",)), BIBLE
    )
    assert len(found) == 5  # two of the text, three of the script (shot, line, thread)
    merged = merge_near_duplicates(found)
    assert [(v.pointer, v.rule, v.entity) for v in merged] == [
        ("/text", "inactive_character", "char_elias"),
        ("/text", "thread_revived", "stolen_ledger"),
    ]
    assert all(v.span is not None for v in merged)


def test_a_script_violation_the_text_does_not_report_stays() -> None:
    text = "Mara rows out past the breakwater."
    found = text_violations(text, BIBLE, segment_number=SEGMENT) + check_script(
        script(["Ines", "Mara"]), BIBLE
    )
    merged = merge_near_duplicates(found)
    assert [(v.pointer, v.rule, v.entity) for v in merged] == [
        ("/shots/0/characters/0", "inactive_character", "char_ines")
    ]
    # Elias in the text and Ines in the script are two breaks, not one.
    text = "Elias rows out past the breakwater."
    found = text_violations(text, BIBLE, segment_number=SEGMENT) + check_script(
        script(["Ines"]), BIBLE
    )
    assert len(merge_near_duplicates(found)) == 2
