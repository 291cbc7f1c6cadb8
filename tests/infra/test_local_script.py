"""The built-in script expander: real shots from the text and the bible, deterministically."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from infra.providers.base import ExpansionContext, ProviderError, ScriptExpander
from infra.providers.local_script import (
    MAX_SHOT_SECONDS,
    MAX_SHOTS,
    MIN_SHOT_SECONDS,
    PROMPT_VERSION,
    WORDS_PER_SECOND,
    LocalScriptExpander,
)
from infra.providers.text_rules import split_sentences
from schemas.script import Script
from tests.factories import large_bible, minimal_bible

STORY = (
    "The fog thickened over the Old Docks as Mara lit the lantern. "
    '"Who rang the bell?" Mara asked. A stranger named Jonah Reyes stepped out of the mist.\n\n'
    '"I did," said Jonah. "It was the only way to wake you."\n'
    "Mara: You could have knocked.\n"
    "She turned away. “Go home,” she whispered. Jonah smiled.\n\n"
    "Later, Elsie, a fisherman's daughter, ran down the pier."
)


def bible_with_bell_tower() -> dict[str, Any]:
    bible = minimal_bible()
    bible["setting"]["locations"].append({"name": "The Bell Tower", "description": "High."})
    bible["characters"].append(
        {
            "entityId": "char_theo",
            "canonicalName": "Theo Brand",
            "aliases": ["Theo", "the bell ringer", "The"],
            "description": "Gone.",
            "traits": [],
            "relationships": [],
            "introducedInSegment": 0,
            "isActive": False,
        }
    )
    return bible


async def expand(text: str, bible: dict[str, Any] | None = None, **context: Any) -> Script:
    result = await LocalScriptExpander().expand(
        text, ExpansionContext(bible=bible or minimal_bible(), **context)
    )
    assert result.provider == "local"
    assert result.prompt_version == PROMPT_VERSION == "local-v1"
    return result.script


def all_lines(script: Script) -> list[tuple[str, str]]:
    return [(line.character, line.line) for shot in script.shots for line in shot.dialogue]


def test_is_a_script_expander() -> None:
    assert isinstance(LocalScriptExpander(), ScriptExpander)


async def test_same_input_gives_the_same_script() -> None:
    bible = large_bible()
    first = await expand(STORY, bible, segment_number=7)
    second = await expand(STORY, copy.deepcopy(bible), segment_number=7)
    assert first == second
    assert first.model_dump_json() == second.model_dump_json()


async def test_dialogue_is_split_out_with_its_speakers() -> None:
    script = await expand(STORY)
    assert all_lines(script) == [
        ("Mara Hart", "Who rang the bell?"),
        ("Jonah Reyes", "I did"),
        ("Jonah Reyes", "It was the only way to wake you."),
        ("Mara Hart", "You could have knocked."),
        ("Mara Hart", "Go home"),  # "she" -> the last person named
    ]
    # Quoted speech leaves the action text; the bare attribution goes with it.
    for shot in script.shots:
        assert '"' not in shot.action and "“" not in shot.action
        assert "said Jonah" not in shot.action


async def test_script_style_lines_need_an_exact_name() -> None:
    script = await expand("Mara looked at the clock: it was late.\nMara: We leave at dawn.")
    assert all_lines(script) == [("Mara Hart", "We leave at dawn.")]
    assert script.shots[0].action == "Mara looked at the clock: it was late."


async def test_new_characters_are_declared_from_cues() -> None:
    script = await expand(STORY)
    new = {c.canonicalName: c for c in script.bible_delta.new_characters}
    assert list(new) == ["Jonah Reyes", "Elsie"]
    assert new["Jonah Reyes"].entityId == "char_jonahreyes"
    assert new["Jonah Reyes"].aliases == ["Jonah"]
    assert new["Jonah Reyes"].description == "A stranger"
    assert new["Elsie"].entityId == "char_elsie"
    assert new["Elsie"].description == "A fisherman's daughter"
    assert "Elsie" in script.shots[-1].characters
    # Known characters are never declared again.
    assert "Mara Hart" not in new and "Mara" not in new


async def test_unknown_speaker_is_declared_and_ids_do_not_collide() -> None:
    bible = minimal_bible()
    bible["characters"][0]["entityId"] = "char_ossian"  # the slug the new one would take
    script = await expand('"Stand back," Ossian shouted. Mara did not move.', bible)
    [new] = script.bible_delta.new_characters
    assert new.canonicalName == "Ossian"
    assert new.entityId == "char_ossian2"
    assert all_lines(script) == [("Ossian", "Stand back")]


async def test_names_and_aliases_are_found_longest_first_case_insensitively() -> None:
    bible = bible_with_bell_tower()
    bible["characters"].append(
        {
            "entityId": "char_mar",
            "canonicalName": "Mara Hartley",
            "aliases": [],
            "description": "",
            "traits": [],
            "relationships": [],
            "introducedInSegment": 0,
            "isActive": True,
        }
    )
    script = await expand("MARA HARTLEY waved. Then mara smiled. Marathon runners passed.", bible)
    # "Mara Hartley" wins over the alias "Mara" inside it; "Marathon" is not "Mara".
    assert script.shots[0].characters == ["Mara Hartley", "Mara Hart"]


async def test_common_word_aliases_and_inactive_characters() -> None:
    bible = bible_with_bell_tower()
    script = await expand("The wind rose. Mara remembered Theo and the old days.", bible)
    # "The" is an alias of Theo but matches nothing; Theo is inactive and only remembered.
    assert script.shots[0].characters == ["Mara Hart"]
    acting = await expand('Theo climbed the stairs. "I am back," said the bell ringer.', bible)
    assert acting.shots[0].characters == ["Theo Brand"]
    assert all_lines(acting) == [("Theo Brand", "I am back")]


async def test_setting_from_locations_then_previous_then_primary() -> None:
    bible = bible_with_bell_tower()
    text = "Mara waited.\n\nShe climbed the bell tower.\n\nThe rope was cold."
    script = await expand(text, bible)
    assert [shot.setting for shot in script.shots] == [
        "The Old Docks",  # nothing named: the primary location
        "The Bell Tower",  # named, in any case, without its "The"
        "The Bell Tower",  # the previous shot's
    ]
    previous = {"shots": [{"setting": "The Bell Tower"}]}
    script = await expand("Mara waited.", bible, recent_scripts=[previous])
    assert script.shots[0].setting == "The Bell Tower"


async def test_durations_follow_word_counts() -> None:
    ten_words = "One two three four five six seven eight nine ten."
    script = await expand(f"{ten_words} {ten_words}")
    assert script.shots[0].duration == pytest.approx(round(20 / WORDS_PER_SECOND, 1))

    short = await expand("Mara waits.")
    assert short.shots[0].duration == MIN_SHOT_SECONDS

    narrated = await expand(ten_words)
    spoken = await expand(f'{ten_words} "{ten_words[:-1]}," Mara said.')
    # The dialogue adds its words (and a pause); the bare attribution adds nothing.
    assert narrated.shots[0].duration == pytest.approx(round(10 / WORDS_PER_SECOND, 1))
    assert spoken.shots[0].duration == pytest.approx(round(20 / WORDS_PER_SECOND + 0.4, 1))

    long = await expand(" ".join(["word"] * 45) + ".")
    assert long.shots[0].duration == MAX_SHOT_SECONDS

    aimed = await expand(f"{ten_words}\n\n{ten_words}", target_duration=5.0)
    assert sum(shot.duration for shot in aimed.shots) == pytest.approx(5.0, abs=0.11)


async def test_shots_group_sentences_and_are_capped() -> None:
    script = await expand("One. Two. Three. Four. Five.\n\nSix.")
    assert [shot.action for shot in script.shots] == ["One. Two. Three.", "Four. Five.", "Six."]
    text = "\n\n".join(f"Paragraph {i} is here." for i in range(40))
    many = await expand(text)
    assert len(many.shots) == MAX_SHOTS
    joined = " ".join(shot.action for shot in many.shots)
    assert all(f"Paragraph {i} is here." in joined for i in range(40))


def test_sentences_never_split_inside_quotes_or_after_initials() -> None:
    text = '"Wait. Not yet!" Mara said. Dr. Vale met T. Nakamura at 3.15 p.m. today. Done?'
    assert split_sentences(text) == [
        '"Wait. Not yet!" Mara said.',
        "Dr. Vale met T. Nakamura at 3.15 p.m. today.",
        "Done?",
    ]


async def test_event_threads_and_current_point() -> None:
    bible = minimal_bible()
    # No status (optional in the design): naming the thread makes it active.
    bible["plotThreads"].append({"id": "thread_2", "description": "The lost key."})
    bible["plotThreads"].append({"id": "thread_3", "description": "Debts.", "status": "active"})
    text = (
        "Mara found the ledger. At last she resolves who rings the bell. "
        "The hunt for thread_2 goes on. She abandons thread_3 for good."
    )
    script = await expand(text, bible)
    changes = {c.id: c.status for c in script.bible_delta.thread_changes}
    assert changes == {"thread_1": "resolved", "thread_2": "active", "thread_3": "abandoned"}
    [event] = script.bible_delta.events
    assert event.event == "Mara found the ledger."
    assert script.bible_delta.current_point == "She abandons thread_3 for good."
    assert script.title.startswith("Segment 1: Mara found the ledger.")

    quiet = await expand("Mara slept.", bible)
    assert quiet.bible_delta.thread_changes == []


async def test_large_bible_and_awkward_text() -> None:
    text = (
        "The ferry keeper said: \"100% sure: C:\\path 'quoted' 🙂\". Mar shrugged.\n\n"
        "Theo Nakamura\twaited\x0b by The Contract Gardens #1… and then nothing"
    )
    script = await expand(text, large_bible())
    assert all_lines(script) == [("Mara Hart", "100% sure: C:\\path 'quoted' 🙂")]
    assert script.shots[0].characters == ["Mara Hart"]
    assert script.shots[-1].setting == "The Contract Gardens #1"
    Script.model_validate(script.model_dump())


async def test_empty_text_is_refused() -> None:
    with pytest.raises(ProviderError) as caught:
        await expand("   \n\n  ")
    assert caught.value.code == "script_invalid" and not caught.value.retryable


async def test_remembered_inactive_characters_stay_out_of_the_shots() -> None:
    # The corpus's clean texts name the dead and the departed only in memories, other people's
    # lines and possessives: the script must not make them act, or the checker refuses it.
    from domain.bible.script_check import check_script
    from tests.domain.continuity_corpus import load

    bible, _, cases = load()
    for case in cases:
        if case.verdict == "clean":
            script = await expand(case.text, bible)
            assert check_script(script, bible) == [], case.text
    acting = await expand('Jonah remembered what Elias used to say: "Trust the tide."', bible)
    assert all_lines(acting) == [("Jonah Reed", "Trust the tide.")]
