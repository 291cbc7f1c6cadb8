"""The built-in content check: severities, categories, disguises and configured terms."""

from __future__ import annotations

import pytest

from infra.providers.moderation import (
    DEFAULT_TERMS,
    LocalContentChecker,
    Term,
    parse_terms,
)
from infra.providers.registry import content_checker
from infra.settings import Settings


@pytest.fixture(scope="module")
def checker() -> LocalContentChecker:
    return LocalContentChecker()


@pytest.mark.parametrize(
    "text",
    [
        "A lighthouse keeper finds a letter in a bottle.",
        "The bitchiest shiitake kills yourselves",  # terms inside longer words do not count
        "",
    ],
)
async def test_clean_text_passes(checker: LocalContentChecker, text: str) -> None:
    verdict = await checker.check(text)
    assert verdict.severity == "none"
    assert verdict.passed
    assert verdict.categories == [] and verdict.matches == []


async def test_profanity_is_mild(checker: LocalContentChecker) -> None:
    verdict = await checker.check("What the Shit is this")
    assert verdict.severity == "mild"
    assert verdict.categories == ["profanity"]
    assert verdict.matches == ["shit"]
    assert not verdict.passed


async def test_threats_are_severe_and_outrank_mild_terms(checker: LocalContentChecker) -> None:
    verdict = await checker.check("Shit. I will kill you, then KILL YOURSELF.")
    assert verdict.severity == "severe"
    assert verdict.categories == ["profanity", "self_harm", "threat"]
    assert set(verdict.matches) == {"shit", "i will kill you", "kill yourself"}


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("fuuuuck that", "fuck"),
        ("k1ll y0urs3lf", "kill yourself"),
        ("kill-yourself", "kill yourself"),
        ("kill   yourself", "kill yourself"),
        ("$h1t happens", "shit"),
        ("\uff46\uff55\uff43\uff4b", "fuck"),  # fullwidth letters
        ("f\u200buck", "fuck"),  # zero-width space inside the word
        ("Ill kill you", "i'll kill you"),
        ("i\u2019ll kill you", "i'll kill you"),
    ],
)
async def test_minimal_obfuscation_is_seen_through(
    checker: LocalContentChecker, text: str, term: str
) -> None:
    verdict = await checker.check(text)
    assert term in verdict.matches


async def test_a_longer_term_wins_over_its_suffix(checker: LocalContentChecker) -> None:
    assert (await checker.check("motherfucker")).matches == ["motherfucker"]


def test_parse_terms_reads_severity_suffixes() -> None:
    terms = parse_terms(" Dragonfire , spoiler:severe,,meh:mild, a:b:severe, odd:thing ")
    assert terms == [
        Term("dragonfire", "mild", "custom"),
        Term("spoiler", "severe", "custom"),
        Term("meh", "mild", "custom"),
        Term("a:b", "severe", "custom"),
        Term("odd:thing", "mild", "custom"),
    ]


async def test_configured_terms_extend_the_defaults() -> None:
    settings = Settings.model_validate({"MODERATION_TERMS": "dragonfire, spoiler alert:severe"})
    checker = content_checker(settings)
    mild = await checker.check("Beware the DRAGONFIRE!")
    severe = await checker.check("Spoiler   alert: the butler did it")
    default = await checker.check("shit")
    assert (mild.severity, mild.categories, mild.matches) == ("mild", ["custom"], ["dragonfire"])
    assert (severe.severity, severe.matches) == ("severe", ["spoiler alert"])
    assert default.severity == "mild"
    assert (await checker.check("dragonfires")).severity == "none"


def test_a_configured_term_can_raise_a_default_terms_severity() -> None:
    checker = LocalContentChecker([*DEFAULT_TERMS, *parse_terms("shit:severe")])
    assert checker.check_sync("shit").severity == "severe"


def test_regex_metacharacters_in_terms_are_literal() -> None:
    checker = LocalContentChecker(parse_terms("a.b, (x)"))
    assert checker.check_sync("axb").passed
    assert checker.check_sync("a.b").severity == "mild"


def test_no_terms_means_everything_passes() -> None:
    assert LocalContentChecker([]).check_sync("fuck").passed
