"""What a segment's captions must say: the dialogue of the script its text expands to.

The local expander is deterministic, so the script the worker made is made here again.
"""

from __future__ import annotations

from typing import Any

from infra.providers.base import ExpansionContext
from infra.providers.local_script import LocalScriptExpander
from infra.speech.voices import Cast
from tests.factories import minimal_bible


async def script_dialogue(text: str, bible: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    """(speaker's name in the bible, line) for each line of dialogue the script has."""
    bible = bible or minimal_bible()
    script = (await LocalScriptExpander().expand(text, ExpansionContext(bible=bible))).script
    cast = Cast.of(bible, script.bible_delta.new_characters)
    return [
        (cast.member(line.character).name, " ".join(line.line.split()))
        for shot in script.shots
        for line in shot.dialogue
    ]
