"""Text rules of the built-in expander: sentences, quotations, names, locations, threads.

Plain regular expressions over the text and the bible; no randomness and no iteration over
unordered sets, so the same input always gives the same answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from schemas.script import ThreadChange


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


SPEECH_VERBS = _words(
    "said says say asked asks replied replies whispered whispers shouted shouts called calls "
    "murmured murmurs muttered mutters answered answers cried cries added adds continued "
    "snapped snaps yelled yells told tells warned warns admitted admits insisted insists "
    "demanded demands explained explains breathed hissed growled laughed sighed began begins"
)
# Lowercased words that open sentences capitalised but never name anyone.
NOT_NAMES = frozenset(
    _words(
        "a an the and but or so yet for nor if then than when while where what who whom whose "
        "why how this that these those there here it its he she they we you i his her their "
        "our your my me him them us no not yes oh ah at in on by of to from with without into "
        "onto over under after before behind beyond across through until since as because "
        "although though now later soon still suddenly meanwhile finally outside inside "
        "somewhere nowhere above below again once twice yesterday today tomorrow tonight "
        "morning evening night everyone someone nobody nothing everything something every each "
        "all both some many most few one two three first last next another other such only "
        "even just also perhaps maybe monday tuesday wednesday thursday friday saturday sunday "
        "january february march april may june july august september october november "
        "december god sir madam lady lord mr mrs ms dr captain old young"
    )
)
PRONOUNS = ("he", "she", "they", "i", "we")
_ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "st", "capt", "prof", "sr", "jr", "mt", "vs", "etc"}
_WORD = re.compile(r"[^\W_][\w'’-]*")
_CAP_WORD = r"[A-ZÀ-ÖØ-Þ][\w'’-]*"
_CAP = rf"{_CAP_WORD}(?:[ \t]+{_CAP_WORD}){{0,2}}"
_VERB = "(?i:" + "|".join(SPEECH_VERBS) + ")"
_SENTENCE_MARK = re.compile(r'["“.!?…]')
_QUOTES = re.compile(r'"([^"]*)(?:"|$)|“([^”]*)(?:”|$)')
_SCRIPT_LINE = re.compile(r"^\s*([^\W\d_][\w'’. -]{0,60}?)\s*:\s+(?![\"“])(\S.*)$")
_NAMED_CUE = re.compile(
    rf"(?:\b(?P<desc>(?i:an?|the|one|his|her|their)\s+(?:[\w'’-]+\s+){{0,3}}?))?"
    rf"(?i:named|called)\s+(?P<name>{_CAP})"
)
_APPOSITIVE_CUE = re.compile(
    rf"(?<![\w'’-])(?P<name>{_CAP}),\s+(?P<desc>(?i:an?)\s+[^,.;:!?\"“”]{{2,80}})"
)
_RESOLVE = re.compile(r"\b(?:resolv\w*|solv(?:e|es|ed)|settle[sd]?|answer(?:s|ed))\b", re.I)
_ABANDON = re.compile(r"\b(?:abandon\w*|gives? up|gave up|forsak\w*)\b", re.I)
_DORMANT = re.compile(r"\b(?:dormant|sets? aside|shelved|on hold)\b", re.I)


def clip(text: str, limit: int) -> str:
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0] if " " in text[: limit - 1] else text[: limit - 1]
    return cut.rstrip(" ,;:") + "…"


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


def _is_name_word(word: str) -> bool:
    return word[:1].isupper() and word.lower() not in NOT_NAMES and not word.lower().endswith("ly")


@dataclass(frozen=True)
class Unit:
    """A sentence of prose, or a script-style line `Name: words` (speaker and line set)."""

    text: str
    paragraph: int
    speaker: str | None = None
    line: str | None = None


def units_of(text: str) -> list[Unit]:
    units: list[Unit] = []
    paragraphs = [p for p in re.split(r"\n\s*\n", text.replace("\r\n", "\n")) if p.strip()]
    for number, paragraph in enumerate(paragraphs):
        prose: list[str] = []
        for raw_line in paragraph.split("\n"):
            script = _SCRIPT_LINE.match(raw_line)
            if script:
                units.extend(Unit(s, number) for s in split_sentences(" ".join(prose)))
                prose = []
                units.append(
                    Unit(raw_line.strip(), number, script.group(1), script.group(2).strip())
                )
            elif raw_line.strip():
                prose.append(raw_line.strip())
        units.extend(Unit(s, number) for s in split_sentences(" ".join(prose)))
    return units


def _attribution_follows(text: str, index: int) -> bool:
    return bool(re.match(rf"\s+(?:[\w'’.-]+\s+){{0,3}}{_VERB}\b", text[index : index + 80]))


def _boundary(text: str, index: int, *, any_case: bool = False) -> bool:
    """Whether a sentence may end at `index`: end of text, or a space and a fresh start."""
    if index >= len(text):
        return True
    rest = text[index:].lstrip()
    if not (text[index].isspace() and rest):
        return False
    return any_case or rest[0].isupper() or rest[0] in "\"“‘'(" or rest[0].isdigit()


def split_sentences(paragraph: str) -> list[str]:
    """Sentences of a paragraph; terminal punctuation inside a quotation never ends one."""
    text = re.sub(r"\s+", " ", paragraph).strip()
    sentences, start, index, closer = [], 0, 0, None
    while index < len(text):
        # Jump to the next character that matters: the closing quote, or an opener or an end.
        if closer is not None:
            index = text.find(closer, index)
        else:
            found_at = _SENTENCE_MARK.search(text, index)
            index = found_at.start() if found_at else -1
        if index < 0:
            break
        char = text[index]
        if closer is not None:
            if char == closer:
                closer = None
                ends = index > 0 and text[index - 1] in ".!?…"
                if (
                    ends
                    and _boundary(text, index + 1)
                    and not _attribution_follows(text, index + 1)
                ):
                    sentences.append(text[start : index + 1])
                    start = index + 1
        elif char in '"“':
            closer = '"' if char == '"' else "”"
        elif char in ".!?…":
            end = index + 1
            while end < len(text) and text[end] in ".!?…)’'":
                end += 1
            found = re.search(r"(\w+)$", text[start:index]) if char == "." else None
            word = found.group(1) if found else ""
            # "Dr. Vale", "T. Nakamura": never an end; "p.m. today": only before a capital.
            initial = word.lower() in _ABBREVIATIONS or (len(word) == 1 and word.isupper())
            if not initial and _boundary(text, end, any_case=len(word) != 1):
                sentences.append(text[start:end])
                start = index = end
                continue
        index += 1
    sentences.append(text[start:])
    return [s.strip() for s in sentences if s.strip()]


def quotes_in(sentence: str) -> list[tuple[int, int, str]]:
    """(start, end, inner text) of each non-empty quotation."""
    found = []
    for match in _QUOTES.finditer(sentence):
        inner = match.group(1) if match.group(1) is not None else match.group(2) or ""
        inner = inner.strip().rstrip(",").strip()
        if re.search(r"\w", inner):
            found.append((match.start(), match.end(), inner))
    return found


@dataclass(frozen=True)
class Person:
    canonical: str
    entity_id: str
    names: tuple[str, ...]
    active: bool = True


@dataclass(frozen=True)
class Attribution:
    raw: str
    person: Person | None
    pronoun: bool


class Cast:
    """The characters a text may name, and the expressions that find them."""

    def __init__(self, people: Iterable[Person]) -> None:
        self.people = list(people)
        self.by_name: dict[str, Person] = {}
        for person in self.people:
            for name in person.names:
                self.by_name.setdefault(name.lower(), person)
        names = sorted(self.by_name, key=lambda n: (-len(n), n))
        known = "|".join(re.escape(n) for n in names)
        self._finder = re.compile(rf"(?<!\w)(?:{known})(?!\w)", re.I) if known else None
        name = (
            f"(?:(?i:{known})|{_CAP}|(?i:{'|'.join(PRONOUNS)}))"
            if known
            else (f"(?:{_CAP}|(?i:{'|'.join(PRONOUNS)}))")
        )
        self._after = re.compile(
            rf"^\s*[,.!?…—-]*\s*(?:(?P<a>{name})\s+(?:\w+ly\s+)?{_VERB}|{_VERB}\s+(?P<b>{name}))(?!\w)"
        )
        self._before = re.compile(
            rf"(?:(?P<a>{name})\s+(?:\w+ly\s+)?{_VERB}(?:\s+\w+ly)?|{_VERB}\s+(?P<b>{name})"
            rf"|(?P<c>{name})\s*:)\s*[,:]?\s*$"
        )
        self._only_after = re.compile(self._after.pattern + r"(?:\s+\w+ly)?[\s,.!?…;:—-]*$")

    @classmethod
    def from_bible(cls, bible: Mapping[str, Any]) -> Cast:
        people = []
        for character in bible.get("characters") or []:
            canonical = str(character.get("canonicalName") or "").strip()
            if not canonical:
                continue
            aliases = [str(a).strip() for a in character.get("aliases") or []]
            # An alias made only of common words ("The") would match every sentence.
            usable = [
                a
                for a in aliases
                if len(a) > 1 and not all(w.lower() in NOT_NAMES for w in a.split())
            ]
            people.append(
                Person(
                    canonical=canonical,
                    entity_id=str(character.get("entityId") or ""),
                    names=(canonical, *usable),
                    active=character.get("isActive", True) is not False,
                )
            )
        return cls(people)

    def with_people(self, extra: Iterable[Person]) -> Cast:
        return Cast([*self.people, *extra])

    def find(self, text: str) -> list[tuple[int, int, Person]]:
        if self._finder is None:
            return []
        return [
            (m.start(), m.end(), self.by_name[m.group(0).lower()])
            for m in self._finder.finditer(text)
        ]

    def named(self, raw: str) -> Person | None:
        """The character called exactly `raw` (any case)."""
        return self.by_name.get(raw.strip().lower())

    def lookup(self, raw: str) -> Person | None:
        """The character called `raw`, else the last one named inside it ("Then Mara")."""
        raw = raw.strip()
        person = self.by_name.get(raw.lower())
        if person is None:
            found = self.find(raw)
            person = found[-1][2] if found else None
        return person

    def first_active(self) -> Person | None:
        return next((p for p in self.people if p.active), None)

    def attribution(self, sentence: str, start: int, end: int) -> Attribution | None:
        """Who a quotation at sentence[start:end] is attributed to, from the words around it."""
        match = self._after.match(sentence[end : end + 80]) or self._before.search(
            sentence[max(0, start - 80) : start]
        )
        if match is None:
            return None
        raw = next(g for g in match.groups() if g)
        pronoun = raw.lower() in PRONOUNS
        return Attribution(raw, None if pronoun else self.lookup(raw), pronoun)

    def narration(self, sentence: str, quotes: list[tuple[int, int, str]]) -> str:
        """The sentence without its quotations and the bare attributions around them."""
        pieces, previous = [], 0
        for start, end, _ in quotes:
            pieces.append(sentence[previous:start])
            previous = end
        pieces.append(sentence[previous:])
        kept = []
        for index, piece in enumerate(pieces):
            if index > 0 and self._only_after.match(piece):
                continue
            if index < len(pieces) - 1 and self._before.fullmatch(piece.strip() + " ") is not None:
                continue
            kept.append(piece.strip(" ,;:—-"))
        text = re.sub(r"\s+([,.;:!?])", r"\1", re.sub(r"\s+", " ", " ".join(kept))).strip()
        # A clause cut off by a quotation ("waited, and") should not end on its conjunction.
        text = re.sub(r"[\s,;:—-]*\b(?:and|but|or|then|as)[\s,;:—-]*$", "", text, flags=re.I)
        if not re.search(r"\w", text):
            return ""
        if quotes and not sentence[: quotes[0][0]].strip():
            text = text[0].upper() + text[1:]  # it began after a quotation: "..." she left.
        return text if text[-1] in ".!?…" else text.rstrip(",;:") + "."


def unknown_name(raw: str, cast: Cast, bible: Mapping[str, Any]) -> str | None:
    """The plausible new name inside `raw` (leading common and place words dropped), if any."""
    if cast.lookup(raw) is not None:
        return None
    places = {
        w.lower()
        for loc in (bible.get("setting") or {}).get("locations") or []
        for w in str(loc.get("name", "")).split()
    }
    words = raw.split()
    while words and (not _is_name_word(words[0]) or words[0].lower() in places):
        words.pop(0)
    if not words or not all(_is_name_word(w) for w in words):
        return None
    return " ".join(words)


def _slug(name: str) -> str:
    # The design's entity ids are `char_` and lowercase letters and digits only.
    return re.sub(r"[^a-z0-9]+", "", name.lower())[:50] or "new"


def declare_new_characters(
    text: str, units: list[Unit], known: Cast, bible: Mapping[str, Any]
) -> list[tuple[Person, str]]:
    """New characters: names introduced by a cue, and unknown speakers of quoted lines."""
    candidates: list[tuple[str, str]] = []
    for match in _NAMED_CUE.finditer(text):
        candidates.append((match.group("name"), (match.group("desc") or "").strip()))
    for match in _APPOSITIVE_CUE.finditer(text):
        candidates.append((match.group("name"), match.group("desc").strip()))
    for unit in units:
        for start, end, _ in quotes_in(unit.text):
            attribution = known.attribution(unit.text, start, end)
            if attribution and attribution.person is None and not attribution.pronoun:
                candidates.append((attribution.raw, "Speaks in this segment."))

    taken_ids = {str(c.get("entityId")) for c in bible.get("characters") or []}
    declared: list[tuple[Person, str]] = []
    cast = known
    for raw, description in candidates:
        name = unknown_name(raw, cast, bible)
        if name is None:
            continue
        base = f"char_{_slug(name)}"
        entity_id, suffix = base, 2
        while entity_id in taken_ids:
            entity_id, suffix = f"{base}{suffix}", suffix + 1
        taken_ids.add(entity_id)
        first = name.split()[0]
        aliases = (first,) if " " in name and cast.lookup(first) is None else ()
        person = Person(canonical=name, entity_id=entity_id, names=(name, *aliases))
        text_description = description[:1].upper() + description[1:] if description else ""
        declared.append((person, clip(text_description, 500)))
        cast = cast.with_people([person])
    return declared


def location_finder(bible: Mapping[str, Any]) -> Callable[[str], str | None]:
    """A function giving the bible location first mentioned in a text ("The " optional)."""
    variants: dict[str, str] = {}
    for location in (bible.get("setting") or {}).get("locations") or []:
        name = str(location.get("name") or "").strip()
        if len(name) < 3:
            continue
        variants.setdefault(name.lower(), name)
        short = re.sub(r"^(?i:the)\s+", "", name)
        if len(short) >= 3 and short.lower() not in NOT_NAMES:
            variants.setdefault(short.lower(), name)
    if not variants:
        return lambda text: None
    ordered = sorted(variants, key=lambda n: (-len(n), n))
    pattern = re.compile(rf"(?<!\w)(?:{'|'.join(re.escape(v) for v in ordered)})(?!\w)", re.I)

    def find(text: str) -> str | None:
        match = pattern.search(text)
        return variants[match.group(0).lower()] if match else None

    return find


def _keywords(text: str) -> list[str]:
    return list(
        dict.fromkeys(
            w.lower() for w in _WORD.findall(text) if len(w) >= 4 and w.lower() not in NOT_NAMES
        )
    )


def _closing_verdict(sentence: str) -> str | None:
    """The status a sentence closes a thread with (resolved, abandoned), if it closes one."""
    if _RESOLVE.search(sentence):
        return "resolved"
    return "abandoned" if _ABANDON.search(sentence) else None


def _names_thread(thread_id: str, sentence: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(thread_id)}(?![\w-])", sentence, re.I) is not None


def _best_described(threads: list[Mapping[str, Any]], sentence: str) -> Mapping[str, Any] | None:
    """The open thread whose description the sentence shares the most keywords with, if enough."""
    best: tuple[int, Mapping[str, Any]] | None = None
    said = set(_keywords(sentence))
    for thread in threads:
        if thread.get("status") not in ("open", "active", "dormant"):
            continue
        words = _keywords(str(thread.get("description") or ""))
        overlap = len(set(words) & said)
        if (
            overlap >= 2
            and overlap * 2 >= min(len(words), 6)
            and (best is None or overlap > best[0])
        ):
            best = (overlap, thread)
    return best[1] if best is not None else None


def thread_changes(units: list[Unit], bible: Mapping[str, Any]) -> list[ThreadChange]:
    """Threads named by id (status from the verbs around), or clearly resolved/abandoned."""
    changes: dict[str, ThreadChange] = {}
    threads = [
        t
        for t in bible.get("plotThreads") or []
        if re.fullmatch(r"[A-Za-z0-9_-]{1,64}", str(t.get("id", "")))
    ]
    for unit in units:
        sentence = unit.text
        verdict = _closing_verdict(sentence)
        # The design knows no "dormant": a thread set aside keeps the status it has.
        set_aside = verdict is None and _DORMANT.search(sentence) is not None
        named = [t for t in threads if _names_thread(str(t["id"]), sentence)]
        for thread in named:
            target = verdict or "active"
            if target != thread.get("status") and not set_aside:
                changes[str(thread["id"])] = ThreadChange(
                    id=str(thread["id"]), status=target, description=clip(sentence, 1000)
                )
        described = (
            _best_described([t for t in threads if t not in named], sentence) if verdict else None
        )
        if described is not None and verdict is not None:
            thread_id = str(described["id"])
            changes.setdefault(
                thread_id,
                ThreadChange(id=thread_id, status=verdict, description=clip(sentence, 1000)),
            )  # type: ignore[arg-type]
    return list(changes.values())
