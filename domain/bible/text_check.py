"""A continuation's text checked against the bible it continues, as an editor would read it.

Three rules, each naming the sentence and the words that break which bible entry:
- an inactive character who speaks, acts or appears (a mere mention, memory or possessive of a
  thing is fine: `infra.providers.roles` reads who does what);
- a resolved or abandoned plot thread that the text starts again (remembering it is fine);
- an event placed before the bible's current point, or a segment number going backwards.

The per-bible structures (the name finder, thread and event keywords) are compiled once and
kept by the caller's version key, so one check stays well under a millisecond on a large bible.
Findings the rules are unsure of are marked `sure=False`: a second opinion may settle them
(`domain.bible.second_opinion`); without one the rules decide alone.
"""

from __future__ import annotations

import re
from collections import Counter, OrderedDict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from domain.bible.schema import TextSpan, Violation
from infra.providers.role_words import clause_before, remembered
from infra.providers.roles import Reader, Role, Sentence, quote_spans
from schemas.bible import CLOSED_THREAD_STATUSES, is_active


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


TEXT_POINTER = "/text"
_STEM = 4
# Words that say when, or what kind of matter, never which one.
_GENERIC = _word_set(
    "segment aftermath morning evening night nights days week weeks hour hours year years time "
    "last first next after before hunt search quest mystery matter affair case question "
    "that this with from into over about their there them they have"
)
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
_REVIVE = re.compile(
    r"\b(?:again|once\s+more|anew|re-?open\w*|resum\w*|restart\w*|reviv\w*|renew\w*"
    r"|back\s+on\s+the\s+trail|a\s+second\s+time|one\s+more\s+time"
    # Gone in the present: "The ledger's gone", "steals the ledger", "isn't over".
    r"|(?<=['’])s\s+(?:gone|missing)|is\s+(?:gone|missing)|are\s+(?:gone|missing)"
    r"|goes\s+missing|go\s+missing|steal(?:s|ing)?|is\s*n['’]t\s+over|is\s+not\s+over|not\s+over"
    r"|search(?:es|ing)\s+for|hunt(?:s|ing)\s+for|dives?\s+for|diving\s+for|looks?\s+for"
    r"|looking\s+for|to\s+(?:find|search|hunt|recover|look\s+for|dig\s+up|track\s+down)"
    r"|(?:starts?|begins?|began|started|starting)\s+(?:the\s+|a\s+new\s+|to\s+)?"
    r"(?:hunt|search|look))\b"
)  # matched against the lowercased sentence: a case-blind alternation is three times slower
_RETROSPECT = re.compile(
    r"\bhad\s+(?:been|\w+ed|\w+en|given)\b|\b(?:years|long|months|weeks|ages)\s+ago\b", re.I
)
# Given up, not started again: "has stopped looking for the bell", "Nobody is looking for it".
# Two of them cancel out: "won't stop searching for the bell" is the search going on.
_CEASED = re.compile(
    r"\b(?:stop(?:s|ped|ping)?|quit|quits|gave\s+up|gives?\s+up|giving\s+up|abandon\w*"
    r"|no\s+longer|never|not|nobody|no\s+one|forget|forgot|forgotten)\b|n['’]t\b",
    re.I,
)
_SEGMENT = re.compile(r"\bsegment\s+(?P<n>\d{1,6})\b", re.I)
_SINCE = re.compile(r"\b(?:since|after|from)\s+$", re.I)
# "where segment 12 ended": the point the story goes on from, not a place to go back to.
_ENDED = re.compile(r"\s+(?:ended|ends|left\s+off|leaves\s+off|closed|closes|finished|stopped)\b")
_BEFORE = re.compile(
    r"\b(?:before|on\s+the\s+eve\s+of|ahead\s+of|prior\s+to)\s+(?P<what>[^,.;:!?\"“”]{1,80})",
    re.I,
)


def _stems(text: str) -> set[str]:
    return {
        w.lower().rstrip("'’s")[:_STEM]
        for w in _WORD.findall(text)
        if len(w) >= 4 and w.lower() not in _GENERIC
    }


@dataclass(frozen=True)
class Finding:
    """A rule broken at text[start:end] (inside `sentence`); `sure` is the rules' confidence."""

    rule: str
    entity: str
    message: str
    start: int
    end: int
    sentence: Sentence
    sure: bool = True

    def violation(self, text: str) -> Violation:
        span = TextSpan(
            sentence=self.sentence.text,
            sentence_start=self.sentence.start,
            sentence_end=self.sentence.end,
            words=text[self.start : self.end],
            start=self.start,
            end=self.end,
        )
        return Violation(TEXT_POINTER, self.message, self.rule, entity=self.entity, span=span)


@dataclass(frozen=True)
class _Keyed:
    key: str
    label: str
    stems: frozenset[str]
    segment: int | None = None


class BibleReading:
    """What the text rules need from one bible, compiled once."""

    def __init__(self, bible: Mapping[str, Any]) -> None:
        characters = [c for c in bible.get("characters") or () if isinstance(c, Mapping)]
        self.reader = Reader.from_bible(bible)
        self.inactive = {
            str(c.get("entityId")): str(c.get("canonicalName"))
            for c in characters
            if not is_active(c)
        }
        self.status = {
            str(t.get("id")): str(t.get("status"))
            for t in bible.get("plotThreads") or ()
            if "id" in t
        }
        common = set().union(*(_stems(name) for name in self.reader.owner))
        setting = bible.get("setting") or {}
        common |= _stems(str(setting.get("primaryLocation") or ""))
        for location in setting.get("locations") or ():
            common |= _stems(str(location.get("name") or ""))
        self.closed = self._closed_threads(bible.get("plotThreads") or (), common)
        self.events, self.current = self._events(bible.get("timeline") or {}, common)
        counts = Counter(stem for event in self.events for stem in event.stems)
        self.everyday_event_words = {stem for stem, n in counts.items() if n > 2}

    def label(self, entity: str) -> str:
        """What an entity id stands for, in words."""
        if entity in self.inactive:
            return self.inactive[entity]
        thread = next((t for t in self.closed if t.key == entity), None)
        return thread.label if thread is not None else entity

    @staticmethod
    def _closed_threads(threads: Iterable[Any], common: set[str]) -> list[_Keyed]:
        stems = {str(t.get("id")): _stems(str(t.get("description") or "")) for t in threads}
        closed = []
        for thread in threads:
            key = str(thread.get("id"))
            if thread.get("status") not in CLOSED_THREAD_STATUSES or not key:
                continue
            # Only words no other thread and no name uses point at this thread.
            others = set().union(*(s for k, s in stems.items() if k != key))
            own = frozenset(stems[key] - others - common)
            label = str(thread.get("description") or key)
            closed.append(_Keyed(key, label, own | {key.lower()}, None))
        return closed

    @staticmethod
    def _events(timeline: Mapping[str, Any], common: set[str]) -> tuple[list[_Keyed], int]:
        events = []
        current = 0
        for event in timeline.get("majorEvents") or ():
            segment = event.get("segmentNumber")
            if isinstance(segment, int):
                current = max(current, segment)
            text = str(event.get("event") or "")
            events.append(_Keyed(text, text, frozenset(_stems(text) - common), segment))
        point = str(timeline.get("currentPoint") or "")
        stated = _SEGMENT.search(point)
        if stated:
            current = max(current, int(stated.group("n")))
        if point:
            events.append(_Keyed(point, point, frozenset(_stems(point) - common), current))
        return events, current


_CACHE: OrderedDict[Hashable, BibleReading] = OrderedDict()
_CACHE_SIZE = 64


def reading_of(bible: Mapping[str, Any], version: Hashable | None = None) -> BibleReading:
    """The compiled reading of `bible`, kept per `version` key (scene id and bible version)."""
    if version is None:
        return BibleReading(bible)
    found = _CACHE.get(version)
    if found is None:
        found = _CACHE[version] = BibleReading(bible)
        if len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    else:
        _CACHE.move_to_end(version)
    return found


def check_text(
    text: str,
    bible: Mapping[str, Any],
    *,
    segment_number: int | None = None,
    version: Hashable | None = None,
) -> list[Finding]:
    """Every finding of the rules on `text` (the continuation that becomes `segment_number`)."""
    reading = reading_of(bible, version)
    sentences = reading.reader.sentences(text)
    found = _inactive_roles(reading, reading.reader.roles(text, sentences))
    found += _revived_threads(reading, sentences)
    found += _timeline(reading, sentences, segment_number or reading.current + 1)
    return sorted(found, key=lambda f: (f.start, f.rule))


_DOING = {"speaks": "speaks", "acts": "acts", "appears": "appears"}


def _inactive_roles(reading: BibleReading, roles: Iterable[Role]) -> list[Finding]:
    found = []
    for role in roles:
        name = reading.inactive.get(role.entity_id)
        if name is None or role.kind == "mentioned":
            continue
        how = f" (as {role.via.removeprefix('pronoun ')})" if role.via.startswith("pronoun") else ""
        found.append(
            Finding(
                "inactive_character",
                role.entity_id,
                f"{name!r} is inactive but {_DOING[role.kind]} here{how}: {role.sentence.text}",
                role.start,
                role.end,
                role.sentence,
                role.sure,
            )
        )
    return found


def _revived_threads(reading: BibleReading, sentences: Iterable[Sentence]) -> list[Finding]:
    if not reading.closed:
        return []
    found = []
    for sentence in sentences:
        lowered = sentence.text.lower()
        cue = _REVIVE.search(lowered) if len(lowered) == len(sentence.text) else None
        if cue is None or remembered(sentence.text, cue.start()):
            continue
        if len(_CEASED.findall(clause_before(sentence.text, cue.start()))) % 2:
            continue
        if _RETROSPECT.search(sentence.text):
            continue
        words = {
            w.lower().rstrip("'’s")[:_STEM]: w for w in reversed(_WORD.findall(sentence.text))
        } | {w.lower(): w for w in re.findall(r"[\w-]+", sentence.text)}
        for thread in reading.closed:
            hits = [words[s] for s in thread.stems if s in words]
            if not hits:
                continue
            at = sentence.text.find(hits[0])
            status = reading.status.get(thread.key, "closed")
            found.append(
                Finding(
                    "thread_revived",
                    thread.key,
                    f"plot thread {thread.key!r} ({thread.label}) is {status}; "
                    f"{cue.group(0)!r} starts it again: {sentence.text}",
                    sentence.start + at,
                    sentence.start + at + len(hits[0]),
                    sentence,
                )
            )
    return found


def _timeline(
    reading: BibleReading, sentences: Iterable[Sentence], segment_number: int
) -> list[Finding]:
    found = []
    for sentence in sentences:
        text = sentence.text
        for ref in _SEGMENT.finditer(text):
            number = int(ref.group("n"))
            if (
                number >= segment_number
                or remembered(text, ref.start())
                or _spoken(text, ref.start())
            ):
                continue
            if _SINCE.search(text[: ref.start()]) or _ENDED.match(text, ref.end()):
                continue
            found.append(
                _timeline_finding(
                    sentence,
                    ref.start(),
                    ref.end(),
                    f"segment {number} is before this segment ({segment_number}); "
                    f"the timeline never goes back: {text}",
                )  # fmt: skip
            )
        for before in _BEFORE.finditer(text):
            if remembered(text, before.start()) or _spoken(text, before.start()):
                continue
            event = _event_named(reading, before.group("what"))
            if event is None:
                continue
            at = f" (segment {event.segment})" if event.segment is not None else ""
            found.append(
                _timeline_finding(
                    sentence,
                    before.start(),
                    before.end(),
                    f"placed before {event.label!r}{at}, which the story is already past: {text}",
                )  # fmt: skip
            )
    return found


def _spoken(text: str, at: int) -> bool:
    """Whether text[at] is inside a quotation: a character speaking of the past places nothing."""
    return any(s <= at < e for s, e in quote_spans(text))


def _event_named(reading: BibleReading, words: str) -> _Keyed | None:
    """The bible event `words` name: by two of its words, or by one few events share.

    A large bible's events share "debt" or "clock" with many an innocent "before the clock
    strikes"; "the storm" that one event (and the current point) speak of is that event.
    """
    stems = _stems(words)
    named = [
        e
        for e in reading.events
        if len(shared := e.stems & stems) >= 2 or shared - reading.everyday_event_words
    ]
    return max(named, key=lambda e: len(e.stems & stems), default=None)


def _timeline_finding(sentence: Sentence, start: int, end: int, message: str) -> Finding:
    return Finding(
        "timeline_backwards",
        "timeline",
        message,
        sentence.start + start,
        sentence.start + end,
        sentence,
    )


def text_violations(
    text: str,
    bible: Mapping[str, Any],
    *,
    segment_number: int | None = None,
    version: Hashable | None = None,
) -> list[Violation]:
    """The rules' verdict alone: every finding, sure or not, as a violation."""
    findings = check_text(text, bible, segment_number=segment_number, version=version)
    return [f.violation(text) for f in findings]
