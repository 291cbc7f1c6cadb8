"""The labelled continuity corpus (tests/fixtures/continuity_corpus.json) and its scoring.

Shared by the corpus test and the `continuity` benchmark section. A break counts as caught only
when the checker names the bible entry the case says it breaks.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CORPUS = FIXTURES / "continuity_corpus.json"
# Written blind after the rules passed CORPUS (see the benchmark for what changed since).
HELD_OUT = FIXTURES / "continuity_heldout.json"
# Written blind by a second pass, before it changed any rule (measured blind: 70 of 92 right).
HELD_OUT_2 = FIXTURES / "continuity_heldout2.json"


@dataclass(frozen=True)
class Case:
    id: str
    category: str
    verdict: str  # "clean" or "break"
    text: str
    entity: str | None


@dataclass
class Score:
    """Per category: breaks caught, breaks missed, clean refused, clean passed."""

    caught: int = 0
    missed: int = 0
    refused: int = 0
    passed: int = 0

    @property
    def recall(self) -> float:
        return self.caught / max(1, self.caught + self.missed)

    @property
    def precision(self) -> float:
        return self.caught / max(1, self.caught + self.refused)

    @property
    def false_refusals(self) -> float:
        return self.refused / max(1, self.refused + self.passed)


def load(path: Path = CORPUS) -> tuple[dict[str, Any], int, list[Case]]:
    data = json.loads(path.read_text())
    if isinstance(data["bible"], str):  # a file of cases on another corpus's bible
        data["bible"] = json.loads((path.parent / data["bible"]).read_text())["bible"]
    cases = [
        Case(c["id"], c["category"], c["verdict"], c["text"], c.get("entity"))
        for c in data["cases"]
    ]
    return data["bible"], int(data["segment_number"]), cases


def score(
    cases: Iterable[Case], entities_of: Callable[[Case], set[str]]
) -> tuple[dict[str, Score], list[str]]:
    """Scores per category, and a line for each case the checker got wrong."""
    scores: dict[str, Score] = {}
    wrong = []
    for case in cases:
        found = entities_of(case)
        score = scores.setdefault(case.category, Score())
        if case.verdict == "break":
            if case.entity in found:
                score.caught += 1
            else:
                score.missed += 1
                wrong.append(f"{case.id} missed ({case.entity}): {case.text}")
        elif found:
            score.refused += 1
            wrong.append(f"{case.id} refused ({', '.join(sorted(found))}): {case.text}")
        else:
            score.passed += 1
    return scores, wrong
