"""The findings the rules are unsure of, settled by a second opinion when one is configured.

Sure findings stand as they are, and so does every finding when there is no reviewer (no
`OPENAI_API_KEY`): the built-in rules decide alone. A reviewer that fails for good leaves the
rules' verdict; one that may recover (timeout, 429, 5xx) fails the stage, which retries.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from domain.bible.text_check import BibleReading, Finding
from infra.providers.base import ProviderError
from infra.providers.openai_continuity import ContinuityReviewer, Question


async def settle(
    findings: list[Finding],
    text: str,
    reading: BibleReading,
    reviewer: Callable[[], ContinuityReviewer | None],
) -> list[Finding]:
    """`findings` with each unsure one kept or dropped as the reviewer judges it.

    `reviewer` is called only if some finding is unsure, so no client is built otherwise.
    """
    if all(f.sure for f in findings):
        return findings
    judge = reviewer()
    if judge is None:
        return findings
    try:
        return [f for f in [await _judged(f, text, reading, judge) for f in findings] if f]
    finally:
        await judge.aclose()


async def _judged(
    finding: Finding, text: str, reading: BibleReading, judge: ContinuityReviewer
) -> Finding | None:
    """The finding as the reviewer judges it (None: consistent after all)."""
    if finding.sure:
        return finding
    question = Question(
        text=text,
        sentence=finding.sentence.text,
        entity=finding.entity,
        entity_name=reading.label(finding.entity),
        rule=finding.rule,
        rules_say=finding.message,
    )
    try:
        opinion = await judge.review(question)
    except ProviderError as exc:
        if exc.retryable:
            raise
        return finding
    if opinion.verdict == "consistent":
        return None
    message = f"{finding.message} (second opinion: {opinion.reason})"
    return dataclasses.replace(finding, message=message, sure=True)
