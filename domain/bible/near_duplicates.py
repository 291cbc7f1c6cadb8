"""One break, one violation: the text and the script often report the same act twice.

An inactive character who acts in the text is usually in the script's shots too, and a thread
the text starts again is usually changed by the script's delta. Both name the same bible entry;
the text's violation is the richer one (the sentence and the words, with offsets), so it stays
and the script's near-duplicates go.
"""

from __future__ import annotations

from collections.abc import Iterable

from domain.bible.schema import Violation

# Rules that report the same kind of break, from the text or from the script.
_SAME_BREAK = {
    "inactive_character": "inactive_character",
    "thread_revived": "closed_thread",
    "closed_thread": "closed_thread",
}


def merge_near_duplicates(violations: Iterable[Violation]) -> list[Violation]:
    """`violations` in order, without a script's violation the text already reports better."""
    found = list(violations)
    told = {
        (_SAME_BREAK[v.rule], v.entity)
        for v in found
        if v.span is not None and v.entity is not None and v.rule in _SAME_BREAK
    }
    return [
        v
        for v in found
        if v.span is not None or v.entity is None or (_SAME_BREAK.get(v.rule), v.entity) not in told
    ]
