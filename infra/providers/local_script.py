"""The built-in script expander: rules, no model. Same text and bible in, same script out.

The text is cut into sentences (never inside a quotation), sentences are grouped into shots,
quoted speech becomes dialogue with its speaker found by attribution ("Mara said", "said Mara",
"Mara: ..."), characters are found by canonical name or alias, new ones are taken from cues
("a stranger named Jonah", "Jonah, a fisherman"), and durations come from word counts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from infra.providers.base import ExpandedScript, ExpansionContext, ProviderError
from infra.providers.roles import Reader
from infra.providers.text_rules import (
    Cast,
    Person,
    Unit,
    clip,
    declare_new_characters,
    location_finder,
    quotes_in,
    thread_changes,
    units_of,
    word_count,
)
from schemas.script import (
    BibleDelta,
    DialogueLine,
    NewCharacter,
    Script,
    Shot,
    TimelineEvent,
)

PROVIDER = "local"
MODEL = "local-rules-v1"
PROMPT_VERSION = "local-v1"
WORDS_PER_SECOND = 2.6
LINE_PAUSE_SECONDS = 0.4
MIN_SHOT_SECONDS, MAX_SHOT_SECONDS = 2.0, 12.0
MAX_SHOTS = 12
MAX_SENTENCES_PER_SHOT = 3
MAX_WORDS_PER_SHOT = 40
UNKNOWN_LOCATION = "Unknown location"


class LocalScriptExpander:
    """Deterministic expansion of a continuation against the scene bible."""

    provider = PROVIDER
    model = MODEL
    prompt_version = PROMPT_VERSION

    async def expand(self, text: str, context: ExpansionContext) -> ExpandedScript:
        script = expand_text(text, context)
        return ExpandedScript(script, PROVIDER, MODEL, PROMPT_VERSION)


def expand_text(text: str, context: ExpansionContext) -> Script:
    bible = context.bible
    units = units_of(text)
    if not units:
        raise ProviderError("the continuation has no text to expand", code="script_invalid")
    known = Cast.from_bible(bible)
    new_people = declare_new_characters(text, units, known, bible)
    cast = known.with_people([person for person, _ in new_people])
    find_location = location_finder(bible)

    shots: list[Shot] = []
    setting = _previous_setting(context) or _default_setting(bible)
    # Inactive characters enter a shot only if the text has them act, not merely named.
    acting = {r.entity_id for r in Reader.from_bible(bible).roles(text) if r.kind != "mentioned"}
    state = _Speakers(cast, acting)
    for group in _group(units):
        shot_text = " ".join(unit.text for unit in group)
        setting = find_location(shot_text) or setting
        shots.append(state.shot(group, setting))
    shots = _timed(shots, context.target_duration)

    first = clip(_plain(units[0].text), 500)
    changes = thread_changes(units, bible)
    consequences = [f"{change.id} is now {change.status}" for change in changes]
    consequences += [f"{person.canonical} appears" for person, _ in new_people]
    delta = BibleDelta(
        new_characters=[
            NewCharacter(
                entityId=person.entity_id,
                canonicalName=person.canonical,
                aliases=person.names[1:],
                description=description,
            )
            for person, description in new_people
        ],
        events=[TimelineEvent(event=first, consequences=consequences[:50])],
        thread_changes=changes,
        current_point=clip(_plain(units[-1].text), 300) or None,
    )
    title = clip(f"Segment {context.segment_number}: {clip(first, 80)}", 200)
    return Script(title=title, shots=shots, bible_delta=delta)


def _plain(sentence: str) -> str:
    return re.sub(r"\s+", " ", sentence).strip()


def _previous_setting(context: ExpansionContext) -> str | None:
    for script in reversed(context.recent_scripts):
        shots = script.get("shots") if isinstance(script, Mapping) else None
        if shots and isinstance(shots[-1], Mapping) and shots[-1].get("setting"):
            return clip(str(shots[-1]["setting"]), 200)
    return None


def _default_setting(bible: Mapping[str, Any]) -> str:
    setting = bible.get("setting") or {}
    primary = setting.get("primaryLocation")
    if primary:
        return clip(str(primary), 200)
    for location in setting.get("locations") or []:
        if location.get("name"):
            return clip(str(location["name"]), 200)
    return UNKNOWN_LOCATION


def _group(units: list[Unit]) -> list[list[Unit]]:
    """Shots of 1..3 sentences that never cross a paragraph, then merged down to MAX_SHOTS."""
    groups: list[list[Unit]] = []
    for unit in units:
        current = groups[-1] if groups else None
        if (
            current is None
            or current[-1].paragraph != unit.paragraph
            or len(current) >= MAX_SENTENCES_PER_SHOT
            or sum(word_count(u.text) for u in current) + word_count(unit.text) > MAX_WORDS_PER_SHOT
        ):
            groups.append([unit])
        else:
            current.append(unit)
    while len(groups) > MAX_SHOTS:
        sizes = [sum(word_count(u.text) for u in group) for group in groups]
        pair = min(range(len(groups) - 1), key=lambda i: sizes[i] + sizes[i + 1])
        groups[pair : pair + 2] = [groups[pair] + groups[pair + 1]]
    return groups


def _shot_seconds(shot: Shot) -> float:
    seconds = word_count(shot.action) / WORDS_PER_SECOND
    for line in shot.dialogue:
        seconds += word_count(line.line) / WORDS_PER_SECOND + LINE_PAUSE_SECONDS
    return seconds


def _timed(shots: list[Shot], target: float | None) -> list[Shot]:
    raw = [_shot_seconds(shot) for shot in shots]
    scale = target / sum(raw) if target and sum(raw) > 0 else 1.0
    return [
        shot.model_copy(
            update={
                "duration": round(min(max(seconds * scale, MIN_SHOT_SECONDS), MAX_SHOT_SECONDS), 1)
            }
        )
        for shot, seconds in zip(shots, raw, strict=True)
    ]


class _Speakers:
    """Walks the shots in order, remembering who was last named and who last spoke."""

    def __init__(self, cast: Cast, acting: set[str]) -> None:
        self.cast = cast
        self.acting = acting
        self.last_person: Person | None = None
        self.last_speaker: tuple[int, Person] | None = None

    def shot(self, units: list[Unit], setting: str) -> Shot:
        present: list[Person] = []
        narration: list[str] = []
        dialogue: list[DialogueLine] = []
        for unit in units:
            speaker = self.cast.named(unit.speaker) if unit.speaker is not None else None
            if speaker is not None:
                self._spoke(unit.paragraph, speaker, present)
                dialogue.append(
                    DialogueLine(character=speaker.canonical, line=clip(unit.line or "", 2000))
                )
            else:
                self._sentence(unit, present, narration, dialogue)
        action = " ".join(narration).strip()
        if not action:
            speakers = list(dict.fromkeys(line.character for line in dialogue))
            verb = "speaks" if len(speakers) < 2 else "talk"
            action = f"{' and '.join(speakers) or 'Someone'} {verb}."
        return Shot(
            setting=setting,
            characters=[p.canonical for p in present][:50],
            action=clip(action, 4000),
            dialogue=dialogue[:100],
            duration=MIN_SHOT_SECONDS,
        )

    def _spoke(self, paragraph: int, person: Person, present: list[Person]) -> None:
        self.last_speaker = (paragraph, person)
        self.last_person = person
        if person not in present:
            present.append(person)

    def _sentence(
        self, unit: Unit, present: list[Person], narration: list[str], dialogue: list[DialogueLine]
    ) -> None:
        sentence = unit.text
        quotes = quotes_in(sentence)
        found = self.cast.find(sentence)
        mentions = [(s, p) for s, _, p in found if not any(a <= s < b for a, b, _ in quotes)]
        for _, _, person in found:
            if self._may_act(person) and person not in present:
                present.append(person)
        for start, end, line in quotes:
            who = self._speaker(unit, start, end, mentions)
            if who is None:
                narration.append(f"“{clip(line, 2000)}”")
                continue
            self._spoke(unit.paragraph, who, present)
            dialogue.append(DialogueLine(character=who.canonical, line=clip(line, 2000)))
        if mentions:
            self.last_person = mentions[-1][1]
        rest = self.cast.narration(sentence, quotes)
        if rest:
            narration.append(rest)

    def _may_act(self, person: Person) -> bool:
        # Inactive characters may be remembered; they only count as present when they act.
        return person.active or person.entity_id in self.acting

    def _speaker(
        self, unit: Unit, start: int, end: int, mentions: list[tuple[int, Person]]
    ) -> Person | None:
        """Attribution, else the last person named before the quote, else who spoke last."""
        attribution = self.cast.attribution(unit.text, start, end)
        if attribution is not None and attribution.person is not None:
            return attribution.person
        mentions = [(at, person) for at, person in mentions if self._may_act(person)]
        before = [person for at, person in mentions if at < start]
        if before:
            return before[-1]
        if attribution is None:
            after = [person for at, person in mentions if at >= end]
            if after:
                return after[0]
            if self.last_speaker is not None and self.last_speaker[0] == unit.paragraph:
                return self.last_speaker[1]
        return self.last_person or self.cast.first_active()
