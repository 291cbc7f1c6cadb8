"""The continuity checker: precision and recall per category on the labelled corpus, and speed.

1. The corpus (tests/fixtures/continuity_corpus.json, 158 continuations, half clean, half
   breaks) and the two held-out sets (continuity_heldout.json, continuity_heldout2.json): a
   break is caught only when the checker names the bible entry it breaks. Precision is
   caught / (caught + clean texts refused), recall is caught / breaks.
2. One continuation checked against `scene_bible.large.json` (50 characters, 30 threads, 200
   events), with the bible's reading compiled once and kept by version (as the worker does),
   and with it compiled for every check.
"""

from __future__ import annotations

import os
from pathlib import Path

from domain.bible.text_check import check_text
from tests.benchmarks import measure, table
from tests.domain.continuity_corpus import CORPUS, HELD_OUT, HELD_OUT_2, load, score
from tests.factories import large_bible

# About 120 words a contributor might write on the large bible: names, aliases, an inactive
# character remembered, a quotation with its attribution after it, a pronoun, a thread word.
TEXT = (
    "Mara Hart walks the length of the bridge market while the fog lifts. She thinks of Theo "
    "Nakamura, and of the night the harbor burned.\n\n"
    '"We should have listened to him," Iris Castellanos says quietly. "Old Nakamura knew the '
    'tides better than any of us." Eli nods and hands her the ledger.\n\n'
    "Caspian Lindqvist counts the lanterns on the quay. He remembers the vault, the contract "
    "and the storm, and says nothing. Later, Noor Petrov unlocks the archive door and the "
    "council clerk follows her inside."
)


def _corpus(path: Path) -> str:
    bible, segment, cases = load(path)
    scores, wrong = score(
        cases, lambda case: {f.entity for f in check_text(case.text, bible, segment_number=segment)}
    )
    rows = [
        [
            category,
            str(s.caught + s.missed),
            str(s.refused + s.passed),
            f"{s.precision:.0%}",
            f"{s.recall:.0%}",
            f"{s.false_refusals:.0%}",
        ]
        for category, s in sorted(scores.items())
    ]
    total = sum(s.caught + s.missed + s.refused + s.passed for s in scores.values())
    lines = [
        f"{path.name}: {total} continuations. Target per category: recall >= 95%, clean "
        "refused <= 5%.",
        "",
        table(["category", "breaks", "clean", "precision", "recall", "clean refused"], rows),
    ]
    if wrong:
        lines += ["", "Wrong verdicts:", *(f"- {line}" for line in wrong)]
    return "\n".join(lines)


def _speed() -> str:
    bible = large_bible()
    words = len(TEXT.split())
    kept = measure(lambda: check_text(TEXT, bible, version=("bench", 1)), runs=2000, warmup=50)
    fresh = measure(lambda: check_text(TEXT, bible), runs=200)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    met = "met" if kept.p50 < 0.001 else "NOT met"
    return "\n\n".join(
        [
            table(
                ["check of one continuation (large bible)", "mean", "p50", "p99", "runs"],
                [
                    [f"{words} words, reading kept by version", *kept.cells()],
                    [f"{words} words, reading compiled each time", *fresh.cells()],
                ],
            ),
            f"Target < 1 ms per continuation (reading kept): {met} at the median. The mean and "
            f"p99 carry the machine's other processes (load average after the run: {load}).",
        ]
    )


def run() -> str:
    return "\n\n".join(
        [
            "### Verdicts on the corpus",
            _corpus(CORPUS),
            "### Verdicts on the held-out cases",
            "Written blind, after the rules passed the corpus. Measured blind first: 52 of 56 "
            "right (action: a pair 'Ines and Mara share' missed, 'had rowed' missed, 'The boat "
            "Elias built' refused; mention: 'talk about Elias until Elias himself sits' missed). "
            "The rules then learned pairs and the clause break at 'until', so those two cases "
            "are no longer blind; the other two ('had rowed', 'The boat Elias built') came "
            "right with the second pass's general rules ('By noon, ... had', relative clauses).",
            _corpus(HELD_OUT),
            "### Verdicts on the second held-out set",
            "Written blind by a second pass, which had read only the corpus and its bible, and "
            "committed before any rule changed. Measured blind first: 70 of 92 right (action 71% "
            "caught / 86% clean refused: past deeds in relative clauses such as 'the boots Elias "
            "gave him' and 'Years ago, Elias rowed' refused, 'had already tied her up' and a "
            "lowercase 'elias' missed; speech 86% / 43%: a dream's and a flashback's lines "
            "refused, 'before the storm' inside a quotation read as the narration's; mention "
            "71% / 0%: 'mourning Ines when Ines tapped' missed; alias 83% / 17%: an em-dash "
            "aside and 'thinks the Captain was right' wrong; pronoun 86% / 0%; thread 50% / 17%: "
            "'The ledger's gone', 'steals the ledger a second time', 'isn't over' missed, 'has "
            "stopped looking for the bell' refused; timeline 100% / 17%). The rules then learned "
            "those constructions in general form (flashback frames, relative clauses, single "
            "quotes, lowercase names where only a name fits, 'when' clauses, em-dash asides, "
            "opinions, cessation, quotations placing nothing), so this set is no longer blind.",
            _corpus(HELD_OUT_2),
            "### Speed",
            _speed(),
        ]
    )
