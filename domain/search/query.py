"""A search in SQL terms: its tsqueries, what a row must match and how a match is scored.

The numbers here are the ranking formula of domain.search.service's docstring.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from typing import Any

from sqlalchemy import ColumnElement, Double, cast, func, literal_column, select
from sqlalchemy.dialects.postgresql import TSQUERY, plainto_tsquery, websearch_to_tsquery

CONFIG = "english"
# ts_rank weights in {D, C, B, A} order: tags are C, bodies (prompt, description, bio) B,
# titles and names A. D is unused.
WEIGHTS: ColumnElement[Any] = literal_column("'{0.1, 0.2, 0.4, 1.0}'::float4[]")
# 32: rank / (rank + 1), so text relevance stays in [0, 1) and the popularity term's share of
# the score does not depend on how long a text is.
NORMALIZATION = 32
FUZZY_SHARE: ColumnElement[float] = literal_column("0.5::float8")
POPULARITY: ColumnElement[float] = literal_column("0.05::float8")
NAME_SHARE: ColumnElement[float] = literal_column("0.5::float8")


@dataclass(frozen=True)
class Terms:
    """The query as typed, and for typo correction one group per plain word: the word itself
    first, then the vocabulary words it may be a misspelling of. No groups: nothing to correct.
    """

    text: str
    groups: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class SearchQuery:
    """The tsqueries of one search: as typed, and with corrections (None: nothing corrected).

    Every value reaches PostgreSQL as a bound parameter of websearch_to_tsquery or
    plainto_tsquery, never as tsquery syntax, so no input can make the query fail to parse.
    """

    exact: ColumnElement[Any]
    fuzzy: ColumnElement[Any] | None

    @classmethod
    def of(cls, terms: Terms) -> SearchQuery:
        # websearch syntax ("quoted phrase", -not, or) is understood; anything else is words.
        exact = websearch_to_tsquery(CONFIG, terms.text)
        if not terms.groups:
            return cls(_once(exact), None)
        groups: list[ColumnElement[Any]] = []
        for group in terms.groups:
            words: list[ColumnElement[Any]] = [plainto_tsquery(CONFIG, word) for word in group]
            groups.append(reduce(_either, words))
        return cls(_once(exact), _once(reduce(_both, groups)))

    def either(self) -> ColumnElement[Any]:
        """What a row must match: the query as typed, or as corrected."""
        return self.exact if self.fuzzy is None else _once(_either(self.exact, self.fuzzy))

    def matches(self, vector: Any) -> ColumnElement[bool]:
        return vector.bool_op("@@")(self.either())

    def relevance(self, vector: Any) -> ColumnElement[float]:
        if self.fuzzy is None:
            return _rank(vector, self.exact)
        # A corrected hit counts half. (word_similarity of q and the title would rank typos
        # in titles better, but costs ~5 us a row.)
        return func.greatest(_rank(vector, self.exact), FUZZY_SHARE * _rank(vector, self.fuzzy))


def popularity(like_count: Any) -> ColumnElement[float]:
    return POPULARITY * func.ln(cast(1 + like_count, Double))


def name_likeness(name: Any, typed: Any) -> ColumnElement[float]:
    return NAME_SHARE * cast(func.similarity(name, typed), Double)


def _once(tsquery: ColumnElement[Any]) -> ColumnElement[Any]:
    # An uncorrelated scalar subquery: PostgreSQL computes it once per statement (an InitPlan)
    # and still uses it as an index condition, whether the plan is custom or generic.
    return select(tsquery).scalar_subquery()


def _rank(vector: Any, query: ColumnElement[Any]) -> ColumnElement[float]:
    return cast(func.ts_rank(WEIGHTS, vector, query, NORMALIZATION), Double)


def _either(a: ColumnElement[Any], b: ColumnElement[Any]) -> ColumnElement[Any]:
    return a.op("||", return_type=TSQUERY)(b)


def _both(a: ColumnElement[Any], b: ColumnElement[Any]) -> ColumnElement[Any]:
    return a.op("&&", return_type=TSQUERY)(b)
