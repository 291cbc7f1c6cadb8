"""Who speaks, who acts and who is only named in a text: a reading an editor would make.

Pure text rules over the characters' names (no bible judgement here: that is the checker's).
A name inside someone else's quotation, after a memory word ("thinks of", "remembers", "the
grave of"), before a past-only verb ("had", "used to", "died") or as a possessive of a thing is
a mention; a name that a verb follows, the attribution of a quotation, a speaker's cue
(`Elias: ...`), a presentation ("there stood Elias", "It's Elias.") or a he/she continuing the
last actor of the paragraph is a role. Every role carries character offsets into the text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from infra.providers.quotations import Found, attributed, quote_spans
from infra.providers.role_words import (
    ASIDE,
    BODY,
    CLAUSE_START,
    FRAMED_SENTENCE,
    FUNCTION,
    IRREGULAR_PAST,
    MEMORY,
    OPINION,
    PAST_ONLY,
    PERCEIVED,
    PLACED,
    PRESENCE_AFTER_BE,
    PRESENTED,
    PRONOUN_SUBJECT,
    PRONOUNS,
    RELATIVE_HEAD,
    SKIP,
    STATE_AFTER_BE,
    SUBORDINATE,
    TIME_HEAD,
    VERB,
    WORD_AFTER,
    clause_before,
)
from infra.providers.sentences import Sentence, sentences_of

__all__ = ["Found", "Kind", "Name", "Reader", "Role", "Sentence", "quote_spans", "sentences_of"]

Kind = Literal["speaks", "acts", "appears", "mentioned"]


@dataclass(frozen=True)
class Role:
    """`name` (a character's entity id) in `kind` at text[start:end]; `sure` is the rules' trust."""

    entity_id: str
    kind: Kind
    start: int
    end: int
    sentence: Sentence
    sure: bool = True
    via: str = ""


@dataclass(frozen=True)
class Name:
    entity_id: str
    names: tuple[str, ...]


def _name_pattern(name: str) -> str:
    # Articles match in any case ("The Captain" opens a sentence); the rest as the bible spells
    # it, so the alias "Reed" never finds the reed beds.
    words = name.split()
    return r"\s+".join(
        f"(?i:{w})" if w.lower() in ("the", "a", "an") else re.escape(w) for w in words
    )


class Reader:
    """Compiled once per cast: one expression finds every name, longest first."""

    def __init__(self, people: Iterable[Name]) -> None:
        self.owner: dict[str, str] = {}
        patterns: dict[str, str] = {}
        for person in people:
            for name in person.names:
                name = " ".join(name.split())
                if len(name) < 2 or name.lower() in FUNCTION:
                    continue
                self.owner.setdefault(_key(name), person.entity_id)
                patterns.setdefault(_key(name), _name_pattern(name))
        ordered = sorted(patterns, key=lambda k: (-len(k), k))
        names = "|".join(patterns[k] for k in ordered)
        self._finder = re.compile(rf"(?<![\w'’])(?:{names})(?!\w)") if names else None
        # A name typed in lowercase counts where only a name fits: opening a sentence, or
        # right after a quotation ('"Hand me the rope," elias muttered').
        self._lower = re.compile(rf"(?i:{names})(?!\w)") if names else None

    def find(self, text: str) -> list[Found]:
        """Every name in `text`, longest first."""
        if self._finder is None or self._lower is None:
            return []
        found = [
            Found(m.start(), m.end(), self.owner[_key(m.group(0))])
            for m in self._finder.finditer(text)
        ]
        lowered = [
            Found(m.start(), m.end(), self.owner[_key(m.group(0))])
            for at in _LOWER_START.finditer(text)
            if (m := self._lower.match(text, at.end()))
        ]
        return sorted(found + lowered, key=lambda f: f.start) if lowered else found

    @classmethod
    def from_bible(cls, bible: Mapping[str, Any]) -> Reader:
        """A reader of the bible's characters, by canonical name and aliases."""
        return cls(
            Name(str(c.get("entityId")), (str(c.get("canonicalName") or ""), *map(str, aliases)))
            for c in bible.get("characters") or ()
            if isinstance(c, Mapping) and isinstance(aliases := c.get("aliases") or (), list)
        )

    def entity(self, raw: str) -> str | None:
        return self.owner.get(_key(raw))

    def sentences(self, text: str) -> list[Sentence]:
        return sentences_of(text, self.entity)

    def roles(self, text: str, sentences: list[Sentence] | None = None) -> list[Role]:
        """Every role of every named character in `text` (cut into `sentences`), in order."""
        found: list[Role] = []
        paragraph, actors = -1, list[str]()
        for sentence in self.sentences(text) if sentences is None else sentences:
            if sentence.paragraph != paragraph:
                paragraph, actors = sentence.paragraph, []
            found += _SentenceReading(self, sentence, actors).roles()
        return found

    def attribution(
        self, text: str, start: int, end: int, names: list[Found]
    ) -> tuple[int, int] | None:
        """Offsets of who the quotation text[start:end] is attributed to (`names`: text's)."""
        return attributed(text, start, end, names)


_BACK_TO_NOW = re.compile(r";|\b(?:but\s+)?(?:now|today|tonight|this\s+morning)\b|\bbut\b", re.I)
# Where a lowercase word can only be a name: a line's start, or after a closing quotation.
_LOWER_START = re.compile(r"(?:^|[\"”'’]\s|[—–]\s?)[\s\"“‘'—–]*(?=[a-z])", re.M)


def _judged(right: str) -> bool:
    """`right` says what someone is or was, not where or what they are doing now."""
    be = re.match(r"\s*(?:is|was|are|were)\s+(?P<word>[A-Za-z]+)", right)
    if be is None:
        return False
    word = be.group("word").lower()
    return word not in PRESENCE_AFTER_BE and not word.endswith("ing")


def _key(name: str) -> str:
    return " ".join(name.split()).casefold()


class _SentenceReading:
    """One sentence read against the actors of its paragraph so far (updated in place)."""

    def __init__(self, reader: Reader, sentence: Sentence, actors: list[str]) -> None:
        self.reader = reader
        self.sentence = sentence
        self.text = sentence.text
        self.actors = actors
        self.quotes = quote_spans(self.text)
        # A frame holds until the sentence comes back to the present ("; tonight he is back",
        # "but now Elias stands"): names after that are read as any other.
        frame = FRAMED_SENTENCE.match(self.text)
        back = frame and _BACK_TO_NOW.search(self.text, frame.end())
        self.frame_end = (back.start() if back else len(self.text)) if frame else -1
        self.found: list[Role] = []

    def roles(self) -> list[Role]:
        if self.sentence.speaker is not None:
            entity = self.reader.entity(self.sentence.speaker)
            if entity is not None:
                self._add(entity, "speaks", 0, len(self.sentence.speaker), via="speaker cue")
                return self.found
        self.names = self.reader.find(self.text)
        taken = self._speakers()
        for name in self.names:
            if name.start in taken or self._quoted(name.start):
                continue
            kind, sure, via = self._kind(name.start, name.end)
            self._add(name.entity_id, kind, name.start, name.end, sure=sure, via=via)
        self._pronouns()
        self.found.sort(key=lambda r: r.start)
        return self.found

    def _add(
        self, entity: str, kind: Kind, start: int, end: int, *, sure: bool = True, via: str = ""
    ) -> None:
        at = self.sentence.start
        self.found.append(Role(entity, kind, at + start, at + end, self.sentence, sure, via))
        if kind != "mentioned":
            if entity in self.actors:
                self.actors.remove(entity)
            self.actors.append(entity)

    def _quoted(self, index: int) -> bool:
        return any(s <= index < e for s, e in self.quotes)

    def _speakers(self) -> set[int]:
        taken = set()
        for start, end in self.quotes:
            span = self.reader.attribution(self.text, start, end, self.names)
            if span is None or self._quoted(span[0]):
                continue
            raw = self.text[span[0] : span[1]]
            if raw.lower() in PRONOUNS:
                continue  # resolved with the other pronouns, from the paragraph's actors
            entity = self.reader.entity(raw)
            if span[0] < self.frame_end or MEMORY.search(self._clause_left(span[0])):
                continue  # a line spoken in a dream or a memory: "In the dream, Elias said, ..."
            if entity is not None:
                taken.add(span[0])
                self._add(entity, "speaks", *span, via="attribution")
        return taken

    def _clause_left(self, start: int) -> str:
        return clause_before(self.text, start)

    def _kind(self, start: int, end: int) -> tuple[Kind, bool, str]:
        left = self._clause_left(start)
        right = self.text[end:]
        if start < self.frame_end or MEMORY.search(left):
            return "mentioned", True, "memory"
        if SUBORDINATE.search(left):
            return "mentioned", True, "past event"
        possessive = re.match(r"['’]s?\b", right)
        if possessive:
            return self._possessive(left, right[possessive.end() :])
        if PRESENTED.search(left):
            return "appears", True, "presented"
        if PERCEIVED.search(left) and PLACED.match(right):
            return "appears", True, "seen"
        aside = ASIDE.match(right)  # "Elias Vane, dripping wet, fills the frame."
        if aside and self._verb_after(right[aside.end() :])[0] == "acts":
            return "acts", True, "verb"
        if re.match(r"\s*(?:,[^.!?]{0,40})?[.!?…]*\s*$", right) and (
            not left.strip() or re.search(r"[:—–]\s*$", self.text[:start])
        ):
            return "appears", False, "named alone"
        # "Ines and Mara share ...": the verb after the last name of the pair is theirs.
        pair = re.match(r"\s+(?:and|or)\s+", right)
        partner = pair and next((n for n in self.names if n.start == end + pair.end()), None)
        if partner:
            return self._verb_after(self.text[partner.end :])
        relative = RELATIVE_HEAD.search(left)
        if relative and self._relative(relative, right):
            return "mentioned", True, "past deed"
        kind = self._verb_after(right)
        if kind[2] == "past" and right.lstrip().startswith("had") and self._by_then(left):
            return "acts", True, "verb"  # "By noon, Elias had rowed out": the story's own past
        if kind[0] == "acts" and OPINION.search(left) and _judged(right):
            return "mentioned", True, "opinion"
        return kind

    @staticmethod
    def _relative(head: re.Match[str], right: str) -> bool:
        """Whether `right` tells a finished deed of the noun `head` ends on."""
        before = (head.group("before") or "").lower()
        if before in FUNCTION or (head.group("head") or "").lower() in TIME_HEAD:
            return False
        verb = WORD_AFTER.match(right)
        word = verb.group("word").lower() if verb else ""
        return word.endswith("ed") or word in IRREGULAR_PAST

    def _by_then(self, left: str) -> bool:
        return not left.strip() and re.match(r"\W*By\b", self.text) is not None

    def _possessive(self, left: str, rest: str) -> tuple[Kind, bool, str]:
        word = WORD_AFTER.match(rest)
        if word and word.group("word").lower() in BODY and CLAUSE_START.match(left):
            after = WORD_AFTER.match(rest, word.end())
            if after and after.group("word").lower() not in FUNCTION:
                return "acts", True, "body"
        return "mentioned", True, "possessive"

    def _verb_after(self, right: str) -> tuple[Kind, bool, str]:
        relative = re.match(r"\s*,\s*who\s+", right)
        if relative:
            right = right[relative.end() :]
        position = 0
        while True:
            match = WORD_AFTER.match(right, position)
            if match is None or match.start("word") - position > 2 and not relative:
                return "mentioned", True, "no verb"
            word = match.group("word")
            if word.lower() in SKIP or word.lower().endswith("ly") and word.lower() != "only":
                position = match.end()
                continue
            break
        lower = word.lower()
        if not word.islower() or lower in FUNCTION - {"was", "were", "is", "are"}:
            return "mentioned", True, "no verb"
        if lower in PAST_ONLY:
            return "mentioned", True, "past"
        if lower in ("is", "was", "are", "were"):
            state = WORD_AFTER.match(right, match.end())
            if state and state.group("word").lower() in STATE_AFTER_BE:
                return "mentioned", True, "past"
        return "acts", True, "verb"

    def _pronouns(self) -> None:
        narration = self.text
        for start, end in self.quotes:  # blank the quotations out, offsets kept
            narration = narration[:start] + " " * (end - start) + narration[end:]
        for match in PRONOUN_SUBJECT.finditer(narration):
            start = match.start("p")
            if start < self.frame_end or MEMORY.search(self._clause_left(start)) or not self.actors:
                continue
            following = match.group("next")
            attributed = re.fullmatch(VERB, following, re.I) is not None
            if following in FUNCTION and following not in ("was", "is") or following in PAST_ONLY:
                continue
            candidates = len(set(self.actors))
            self._add(
                self.actors[-1],
                "speaks" if attributed else "acts",
                start,
                match.end("p"),
                sure=candidates < 2,
                via=f"pronoun {match.group('p')!r}",
            )
