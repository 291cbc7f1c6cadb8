"""A text cut into sentences that keep their character offsets, and `Name: line` cues."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from infra.providers.text_rules import split_sentences

_SCRIPT_LINE = re.compile(r"^[ \t]*([^\W\d_][\w'’. -]{0,60}?)[ \t]*:[ \t]+(?![\"“])\S")


@dataclass(frozen=True)
class Sentence:
    """A sentence of the text with its offsets; `speaker` for a `Name: words` line."""

    start: int
    end: int
    text: str
    paragraph: int
    speaker: str | None = None


def sentences_of(text: str, named: Callable[[str], object] = bool) -> list[Sentence]:
    """The sentences of `text` with offsets; a `Name: words` line is one if `named(Name)`."""
    found: list[Sentence] = []
    number, previous_end = -1, None
    for line in re.finditer(r"[^\n]*\S[^\n]*", text):
        gap = text[previous_end : line.start()] if previous_end is not None else "\n\n"
        if gap.count("\n") >= 2:  # a blank line (or only spaces) between: a new paragraph
            number += 1
        previous_end = line.end()
        script = _SCRIPT_LINE.match(line.group(0))
        if script and named(script.group(1).strip()):
            at = line.start() + script.start(1)
            body = line.group(0).strip()
            found.append(Sentence(at, at + len(body), body, number, script.group(1).strip()))
        else:
            found += _prose(line.group(0), line.start(), number)
    return found


def _prose(line: str, offset: int, paragraph: int) -> list[Sentence]:
    found, cursor = [], 0
    # split_sentences folds runs of spaces: where there are none, each piece is found as is.
    folded = " ".join(line.split()) == line.strip()
    for sentence in split_sentences(line):
        if folded:
            at = line.find(sentence, cursor)
            span = (at, at + len(sentence)) if at >= 0 else None
        else:
            pattern = r"\s+".join(re.escape(w) for w in sentence.split())
            match = re.compile(pattern).search(line, cursor)
            span = match.span() if match else None
        if span is None:
            continue
        found.append(
            Sentence(offset + span[0], offset + span[1], line[span[0] : span[1]], paragraph)
        )
        cursor = span[1]
    return found
