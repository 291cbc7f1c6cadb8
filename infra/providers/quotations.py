"""Quotations in a sentence and who each is attributed to: before, after or between its parts.

`"...," Mara said`, `"...," said Mara`, `Mara said, "..."`, `said Mara: "..."`, `Mara: "..."`,
with an adverb anywhere a writer puts one; a he/she is returned for the caller to resolve.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from infra.providers.role_words import SPEECH_VERBS
from infra.providers.text_rules import quotes_in


@dataclass(frozen=True)
class Found:
    """A character's name at text[start:end]."""

    start: int
    end: int
    entity_id: str


def attributed(text: str, start: int, end: int, names: list[Found]) -> tuple[int, int] | None:
    """Offsets of who the quotation text[start:end] is attributed to (`names`: text's)."""
    at = {f.start: f.end for f in names}
    ends = {f.end: f.start for f in names}
    # After: `"...," Mara said` or `"...," said Mara`.
    lead = _LEAD.match(text, end)
    position = lead.end() if lead else end
    who = _who_at(text, position, at)
    if who is not None and _speech_at(text, _skip_adverb(text, who[1])):
        return who
    verb = _speech_at(text, position)
    if verb is not None:
        who = _who_at(text, _space_after(text, verb), at)
        if who is not None:
            return who
    # Before: `Mara said, "..."`, `said Mara: "..."` or `Mara: "..."`.
    lo = max(0, start - 80, max((e for _, e in quote_spans(text) if e <= start), default=0))
    window = text[lo:start].rstrip()
    colon = window.endswith(":")
    window = window.rstrip(",:").rstrip()
    tail = lo + len(window)
    who = _who_ending(text, tail, ends)
    if who is not None:
        verb_end = _WORD_END.search(text, lo, who[0])
        if colon or (verb_end and verb_end.group(1).lower() in SPEECH_VERBS):
            return who
    verb_end = _WORD_END.search(text, lo, tail)
    if verb_end and verb_end.group(1).lower().endswith("ly"):
        verb_end = _WORD_END.search(text, lo, verb_end.start(1))
    if verb_end and verb_end.group(1).lower() in SPEECH_VERBS:
        before_verb = verb_end.start(1)
        adverb = _WORD_END.search(text, lo, before_verb)
        if adverb and adverb.group(1).lower().endswith("ly"):
            before_verb = adverb.start(1)
        who = _who_ending(text, len(text[:before_verb].rstrip()), ends)
        if who is not None:
            return who
    return None


_LEAD = re.compile(r"\s*[,.!?…—-]*\s*")


def _space_after(text: str, position: int) -> int:
    return position + len(text[position:]) - len(text[position:].lstrip())


_WORD_END = re.compile(r"([A-Za-z]+)\s*$")
_PRONOUN_AT = re.compile(r"(?:[Hh]e|[Ss]he)\b")


# 'Single-quoted lines': an opening mark before a word, a closing one after a word or its
# punctuation and before no letter (so "ledger's" and "It's" stay inside).
_SINGLE = re.compile(r"(?<![\w'’])['‘](?=[^\W\d_]).*?(?<=[\w,.!?…—-])['’](?!\w)")


def quote_spans(text: str) -> list[tuple[int, int]]:
    """Double-quoted and single-quoted lines, in order (double marks win an overlap)."""
    spans = [(s, e) for s, e, _ in quotes_in(text)]
    if "'" not in text and "‘" not in text:
        return spans
    for match in _SINGLE.finditer(text):
        if not any(s < match.end() and match.start() < e for s, e in spans):
            spans.append(match.span())
    return sorted(spans)


def _who_at(text: str, position: int, at: dict[int, int]) -> tuple[int, int] | None:
    if position in at:
        return position, at[position]
    pronoun = _PRONOUN_AT.match(text, position)
    return pronoun.span() if pronoun else None


def _who_ending(text: str, position: int, ends: dict[int, int]) -> tuple[int, int] | None:
    if position in ends:
        return ends[position], position
    start = position - 3 if text[position - 3 : position] in ("She", "she") else position - 2
    pronoun = start >= 0 and _PRONOUN_AT.fullmatch(text, start, position)
    if pronoun and (start == 0 or not text[start - 1].isalpha()):
        return start, position
    return None


def _skip_adverb(text: str, position: int) -> int:
    adverb = re.compile(r"\s+\w+ly\b").match(text, position)
    return adverb.end() if adverb else position


def _speech_at(text: str, position: int) -> int | None:
    """The end of the speech verb at text[position] (after spaces), if one is there."""
    word = re.compile(r"\s*([A-Za-z]+)").match(text, position)
    return word.end() if word and word.group(1).lower() in SPEECH_VERBS else None
