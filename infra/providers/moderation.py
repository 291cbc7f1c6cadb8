"""The automatic content check run on user text before it goes public.

`LocalContentChecker` is the built-in default: a term list per category, extended by
`settings.moderation_terms`, matched case-insensitively on word boundaries. It catches the
cheap disguises (repeated letters, common leetspeak, fullwidth letters) and nothing clever;
anything it flags goes to a moderator rather than being refused outright. Which checker serves
a deployment is `infra.providers.registry.content_checker`'s choice.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from infra.settings import Settings

Severity = Literal["none", "mild", "severe"]
_RANK: dict[str, int] = {"none": 0, "mild": 1, "severe": 2}
CUSTOM_CATEGORY = "custom"


def worst_severity(severities: Iterable[Severity]) -> Severity:
    return max(severities, key=_RANK.__getitem__)


@dataclass(frozen=True)
class ContentVerdict:
    severity: Severity
    categories: list[str] = field(default_factory=list)
    matches: list[str] = field(default_factory=list)
    # The provider's id of the check (a moderation id), for the ledger; not part of the verdict.
    request_id: str | None = field(default=None, compare=False)

    @property
    def passed(self) -> bool:
        return self.severity == "none"


class ContentChecker(Protocol):
    async def check(self, text: str) -> ContentVerdict: ...


@dataclass(frozen=True)
class Term:
    text: str
    severity: Literal["mild", "severe"]
    category: str


def _terms(category: str, severity: Literal["mild", "severe"], words: Sequence[str]) -> list[Term]:
    return [Term(w, severity, category) for w in words]


# Tame placeholders: enough to exercise the pipeline; operators extend via MODERATION_TERMS.
DEFAULT_TERMS: tuple[Term, ...] = (
    *_terms("self_harm", "severe", ["kill yourself", "kys", "end your life"]),
    *_terms(
        "threat",
        "severe",
        ["i will kill you", "i'll kill you", "i am going to kill you", "i will hurt you"],
    ),
    *_terms(
        "profanity",
        "mild",
        ["fuck", "fucking", "fucker", "motherfucker", "shit", "bullshit", "asshole", "bitch"],
    ),
    *_terms("insult", "mild", ["bastard", "dumbass", "jackass"]),
)

# Characters commonly swapped in for letters; only letters in a term get these classes.
_LOOKALIKES: dict[str, str] = {
    "a": "a4@",
    "b": "b8",
    "e": "e3",
    "g": "g9",
    "i": "i1!|",
    "l": "l1|",
    "o": "o0",
    "s": "s5$",
    "t": "t7+",
}
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u2060\ufeff]")
_SEPARATOR = r"[\W_]+"


def parse_terms(configured: str) -> list[Term]:
    """`"term, other:severe"` -> terms; a missing or unknown suffix means mild."""
    terms = []
    for raw in configured.split(","):
        entry = raw.strip()
        if not entry:
            continue
        word, _, suffix = entry.rpartition(":")
        if word and suffix.strip().lower() in ("mild", "severe"):
            severity: Literal["mild", "severe"] = (
                "severe" if suffix.strip().lower() == "severe" else "mild"
            )
            terms.append(Term(word.strip().lower(), severity, CUSTOM_CATEGORY))
        else:
            terms.append(Term(entry.lower(), "mild", CUSTOM_CATEGORY))
    return [t for t in terms if t.text]


def _char_pattern(char: str, count: int) -> str:
    """One run of `count` equal characters; any run may be stretched ("fuuuck")."""
    if char.isspace():
        return _SEPARATOR
    if char in "'\u2019":
        # An apostrophe inside a term ("i'll") is optional and may be either kind.
        return "['\u2019]?"
    cls = _LOOKALIKES.get(char, char)
    atom = f"[{re.escape(cls)}]" if len(cls) > 1 else re.escape(char)
    return f"{atom}{{{count},}}" if count > 1 else f"{atom}+"


def term_pattern(term: str) -> str:
    words = term.lower().split()
    parts = []
    for word in words:
        runs = [(m.group(0)[0], len(m.group(0))) for m in re.finditer(r"(.)\1*", word)]
        parts.append("".join(_char_pattern(c, n) for c, n in runs))
    return _SEPARATOR.join(parts)


def normalize(text: str) -> str:
    """Fold fullwidth and compatibility forms, drop invisible characters, lowercase."""
    return _INVISIBLE.sub("", unicodedata.normalize("NFKC", text)).casefold()


class LocalContentChecker:
    """Term matching in-process; compiled once, safe to share across requests."""

    def __init__(self, terms: Iterable[Term] = DEFAULT_TERMS) -> None:
        unique: dict[str, Term] = {}
        for term in terms:
            current = unique.get(term.text)
            if current is None or _RANK[term.severity] > _RANK[current.severity]:
                unique[term.text] = term
        self.terms: list[Term] = list(unique.values())
        # Longest first, so "motherfucker" wins over "fucker" at the same position.
        ordered = sorted(enumerate(self.terms), key=lambda it: -len(it[1].text))
        alternatives = [f"(?P<t{i}>{term_pattern(t.text)})" for i, t in ordered]
        self._regex = (
            re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)")
            if alternatives
            else None
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalContentChecker:
        return cls([*DEFAULT_TERMS, *parse_terms(settings.moderation_terms)])

    def check_sync(self, text: str) -> ContentVerdict:
        if self._regex is None or not text:
            return ContentVerdict("none")
        hits: dict[str, Term] = {}
        for match in self._regex.finditer(normalize(text)):
            term = self.terms[int(str(match.lastgroup)[1:])]
            hits.setdefault(term.text, term)
        if not hits:
            return ContentVerdict("none")
        severity = worst_severity(t.severity for t in hits.values())
        categories = sorted({t.category for t in hits.values()})
        return ContentVerdict(severity, categories, list(hits))

    async def check(self, text: str) -> ContentVerdict:
        return self.check_sync(text)
