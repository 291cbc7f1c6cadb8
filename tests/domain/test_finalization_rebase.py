"""The rebase path of finalization reads the continuation's text against the newer bible."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from domain.bible.delta import apply_delta
from domain.jobs.failures import ContinuityViolation
from domain.jobs.finalization import rebase_bible
from schemas.script import Script
from tests.domain.continuity_corpus import load

BIBLE, SEGMENT, _ = load()
SCRIPT = Script.model_validate(
    {
        "title": "t",
        "shots": [
            {"setting": "The Old Docks", "action": "x", "duration": 4, "characters": ["Mara"]}
        ],
        "bible_delta": {},
    }
)


def head_with_jonah_gone() -> dict[str, Any]:
    """The head after an edit made while the job ran: Jonah left the harbor meanwhile."""
    head = copy.deepcopy(BIBLE)
    for character in head["characters"]:
        if character["entityId"] == "char_jonah":
            character["isActive"] = False
    return head


def rebase(text: str) -> dict[str, Any]:
    ours = apply_delta(BIBLE, SCRIPT.bible_delta, SEGMENT)
    return rebase_bible(BIBLE, ours, head_with_jonah_gone(), SCRIPT, SEGMENT, text)


def test_a_character_made_inactive_meanwhile_fails_the_rebased_continuation() -> None:
    with pytest.raises(ContinuityViolation) as failure:
        rebase('Mara waits at the pier. "Cast off," Jonah shouts, and he rows out.')
    violations = failure.value.details["violations"]
    [first, *_] = violations
    assert first["pointer"] == "/text"
    assert first["rule"] == "inactive_character"
    assert first["entity"] == "char_jonah"
    assert first["words"] == "Jonah"


def test_a_continuation_that_only_remembers_him_is_rebased() -> None:
    merged = rebase("Mara thinks of Jonah and rows out alone.")
    assert (
        next(c for c in merged["characters"] if c["entityId"] == "char_jonah")["isActive"] is False
    )
