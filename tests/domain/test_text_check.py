"""The continuation's text against the bible: who acts, which threads reopen, where in time."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from domain.bible.text_check import check_text, reading_of, text_violations
from schemas.jobs import ContinuityViolationOut
from tests.domain.continuity_corpus import HELD_OUT, HELD_OUT_2, Case, load, score
from tests.factories import large_bible

BIBLE, SEGMENT, CASES = load()


def entities(text: str, bible: dict[str, Any] = BIBLE) -> set[str]:
    return {f.entity for f in check_text(text, bible, segment_number=SEGMENT)}


def test_the_corpus_is_large_half_clean_and_covers_every_category() -> None:
    assert len(CASES) >= 150
    categories = {c.category for c in CASES}
    assert categories == {"speech", "action", "mention", "alias", "pronoun", "thread", "timeline"}
    for category in categories:
        verdicts = [c.verdict for c in CASES if c.category == category]
        assert verdicts.count("break") == verdicts.count("clean")


def test_breaks_are_caught_and_clean_texts_pass_in_every_category() -> None:
    scores, wrong = score(CASES, lambda case: entities(case.text))
    for category, s in scores.items():
        assert s.recall >= 0.95, (category, wrong)
        assert s.false_refusals <= 0.05, (category, wrong)


@pytest.mark.parametrize("path", [HELD_OUT, HELD_OUT_2], ids=lambda p: p.name)
def test_the_held_out_sets_meet_the_target_in_every_category(path: Any) -> None:
    bible, segment, cases = load(path)
    assert {c.category for c in cases} == {c.category for c in CASES}
    scores, wrong = score(
        cases, lambda case: {f.entity for f in check_text(case.text, bible, segment_number=segment)}
    )
    for category, s in scores.items():
        assert s.recall >= 0.95, (category, wrong)
        assert s.false_refusals <= 0.05, (category, wrong)


def test_a_violation_names_the_sentence_the_words_and_their_offsets() -> None:
    text = 'Mara waits at the pier.\n\n"Get the boats in," Old Vane growled. Jonah obeys.'
    [violation] = text_violations(text, BIBLE, segment_number=SEGMENT)
    found = violation.as_dict()
    assert found["pointer"] == "/text"
    assert found["rule"] == "inactive_character"
    assert found["entity"] == "char_elias"
    assert "'Elias Vane' is inactive but speaks" in found["message"]
    assert found["words"] == "Old Vane" == text[found["start"] : found["end"]]
    sentence = text[found["sentence_start"] : found["sentence_end"]]
    assert sentence == found["sentence"] == '"Get the boats in," Old Vane growled.'
    # The wire contract documented in the OpenAPI document holds every field given.
    assert set(found) == set(ContinuityViolationOut.model_fields)
    assert ContinuityViolationOut.model_validate(found).model_dump() == found


def test_a_pronoun_continues_the_paragraph_s_last_actor_only() -> None:
    acted = "A knock at the door. Elias. He stands there dripping."
    appears, violation = text_violations(acted, BIBLE, segment_number=SEGMENT)
    assert "'Elias Vane' is inactive but appears" in appears.message
    assert "'Elias Vane' is inactive but acts here (as 'He')" in violation.message
    assert violation.span is not None and violation.span.words == "He"
    # A new paragraph starts again: "He" has no actor there to continue.
    [appears] = text_violations("Out of the fog came Elias.\n\nHe sits.", BIBLE)
    assert appears.span is not None and appears.span.words == "Elias"
    assert entities("Mara looks at the sea where Elias died. She sits.") == set()


def test_thread_and_timeline_messages_say_what_broke() -> None:
    [thread] = text_violations("Mara reopens the hunt for the stolen ledger.", BIBLE)
    assert thread.rule == "thread_revived" and thread.entity == "stolen_ledger"
    assert "is resolved" in thread.message and "'reopens'" in thread.message
    [back] = text_violations("Segment 4: Jonah mends a net.", BIBLE, segment_number=13)
    assert back.rule == "timeline_backwards"
    assert "segment 4 is before this segment (13)" in back.message
    [before] = text_violations("The day before the storm, Jonah hides.", BIBLE)
    assert "'Elias Vane drowns in the storm' (segment 12)" in before.message


@pytest.mark.parametrize(
    ("text", "broken"),
    [
        ("Long ago, Elias carved his name into the mast.", set()),
        ("In her dream Elias drowned, but now Elias stands at her door.", {"char_elias"}),
        ("Jonah keeps the knife Elias gave him.", set()),
        ("Jonah takes the knife Elias gives him.", {"char_elias"}),
        ("The moment Elias walked in, the room fell silent.", {"char_elias"}),
        ("At the door Elias stopped and listened.", {"char_elias"}),
        ("By dawn, Ines had come back to the harbor office.", {"char_ines"}),
        ("'Come here,' said Elias.", {"char_elias"}),
        ("'Elias would have known,' Jonah said.", set()),
        ('"Look out," elias shouts.', {"char_elias"}),
        ("Mara believes Elias was a good man.", set()),
        ("They say Elias is back.", {"char_elias"}),
        ("Segment 13 begins where segment 12 ended.", set()),
        ('"Before the storm, we had a lamp," Mara said.', set()),
    ],
)
def test_when_a_name_is_the_story_s_present_and_when_only_its_past(
    text: str, broken: set[str]
) -> None:
    assert entities(text) == broken


@pytest.mark.parametrize(
    ("text", "revived"),
    [
        ("Nobody is looking for the bell anymore.", False),
        ("Jonah will never search for the bell again.", False),
        ("Tobias has stopped looking for the bell.", False),
        ("Jonah won't stop searching for the bell.", True),  # two negations: it goes on
        ("Jonah is looking for the bell.", True),
    ],
)
def test_a_search_given_up_is_not_started_again(text: str, revived: bool) -> None:
    assert ("drowned_bell" in entities(text)) is revived


def test_one_common_word_does_not_name_a_long_event() -> None:
    # The large bible's 200 events share "clock" and "debt" with everyday sentences.
    bible = large_bible()
    assert check_text("Before the clock strikes, Mara Hart buys bread.", bible) == []
    assert check_text("Before the debt is paid, Mara Hart worries.", bible) == []
    assert entities("Just before the ledger is found, Jonah hides a copy.") == {"timeline"}


def test_the_default_next_segment_follows_the_bible_s_current_point() -> None:
    assert entities("Segment 12. Mara waits.") == {"timeline"}
    assert check_text("Segment 13. Mara waits.", BIBLE) == []


def test_readings_are_kept_per_version_and_rebuilt_for_a_new_one() -> None:
    first = reading_of(BIBLE, ("scene", 1))
    assert reading_of(BIBLE, ("scene", 1)) is first
    assert reading_of(BIBLE, ("scene", 2)) is not first
    assert reading_of(BIBLE) is not reading_of(BIBLE)


def test_a_large_bible_and_odd_input_never_fail() -> None:
    bible = large_bible()
    for text in ["", "   ", '"', "“unclosed", ":", "Segment 99999999999.", "a" * 5000]:
        check_text(text, bible)
    assert check_text("Mara Hart walks to the docks.", bible, version=("large", 1)) == []


# Properties -------------------------------------------------------------------------------

_TAKEN = {w.lower()[:4] for w in re.findall(r"[A-Za-z]+", json.dumps(BIBLE))}
_TAKEN |= {w.lower()[:4] for c in CASES for w in re.findall(r"[A-Za-z]+", c.text)}
names = st.from_regex(r"[BDGKPTZ][aeiou][rlnm][a-z]{1,5}", fullmatch=True).filter(
    lambda n: n.lower()[:4] not in _TAKEN
)


def renamed(case: Case, old: str, new: str) -> tuple[dict[str, Any], str]:
    pattern = re.compile(rf"\b{old}\b")
    bible = json.loads(pattern.sub(new, json.dumps(BIBLE)))
    return bible, pattern.sub(new, case.text)


@settings(max_examples=150, deadline=None)
@given(
    case=st.sampled_from(CASES),
    old=st.sampled_from(["Elias", "Vane", "Mara", "Ines", "Jonah", "Tobias"]),
    new=names,
)
def test_renaming_a_character_consistently_never_changes_a_verdict(
    case: Case, old: str, new: str
) -> None:
    bible, text = renamed(case, old, new)
    assert entities(text, bible) == entities(case.text)


UNRELATED = [
    "The wind picks up over the water.",
    "Gulls wheel above the masts.",
    "Jonah coils a rope on the deck.",
    '"Tea?" Tobias asks.',
    "Mara pulls her collar up.",
    "Rain drums on the roof of the harbor office.",
    "Somewhere a dog barks twice.",
]


@settings(max_examples=150, deadline=None)
@given(
    case=st.sampled_from([c for c in CASES if c.verdict == "clean"]),
    sentence=st.sampled_from(UNRELATED),
    where=st.integers(min_value=0, max_value=1_000),
    paragraph=st.booleans(),
)
def test_an_unrelated_clean_sentence_never_makes_a_clean_text_a_violation(
    case: Case, sentence: str, where: int, paragraph: bool
) -> None:
    # Sentence boundaries of the case (and its ends) are where a contributor would add one.
    cuts = [0, len(case.text)] + [m.end() for m in re.finditer(r"[.!?”\"] (?=[A-Z\"“])", case.text)]
    cut = sorted(set(cuts))[where % len(set(cuts))]
    glue = "\n\n" if paragraph else " "
    text = (case.text[:cut].rstrip() + glue + sentence + glue + case.text[cut:].lstrip()).strip()
    assume(text != case.text)
    assert entities(text) == set(), text


@pytest.mark.parametrize(
    "text",
    [
        "Elias Vane walks in.",
        '"Back," said Old Vane.',
        "Out of the fog came Elias.",
    ],
)
def test_an_active_character_of_the_same_text_passes(text: str) -> None:
    bible = copy.deepcopy(BIBLE)
    bible["characters"][1]["isActive"] = True
    assert entities(text, bible) == set()
    assert entities(text) == {"char_elias"}
