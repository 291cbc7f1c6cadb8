"""Search: what a query means, which hits it may return, and in what order.

Ranking. Every hit gets

    score = relevance + 0.05 * ln(1 + like_count)        (users: no popularity term)

where relevance is ts_rank with weights title/name 1.0, body 0.4, tags 0.2 and
normalization 32 (rank / (rank + 1), so it stays below 1):

- exact:   ts_rank(search_vector, websearch_to_tsquery('english', q)). English stemming, so
           "dragons" finds "dragon". ts_rank counts a word's best-weighted occurrence in full
           and further ones with shrinking weight, so a title hit outranks any number of
           mentions in a prompt (ts_rank_cd would add them up).
- typo:    a plain word of q that the vocabulary of written words does not hold gets its
           closest vocabulary words by trigram similarity (pg_trgm, up to 3) as alternatives,
           and relevance = max(exact, 0.5 * ts_rank(search_vector, corrected)).
- users:   max(exact, 0.5 * similarity(username, q)), so a handle is found by its shape.

ln keeps a viral item from burying a much better match: going from 0 to 37 likes is worth as
much as a title hit over a prompt-only hit (0.38 against 0.20). Ties go to the larger id.

Which matches are scored: all of them while the planner expects at most a few thousand; for
a broader query, its 200 most liked matches (see domain.search.repository), which keeps
every search near 10 ms at 100,000 ideas but ends a common word's pages at 200 hits.
Pages continue strictly after the cursor's (score, id); a like landing between two page
requests can move an item across the boundary, as with any popularity order.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import InvalidInput
from domain.ideas.service import split_ref
from domain.pagination import Page, clamp_limit, cursor_after, page_of
from domain.search import repository
from domain.search.query import Terms
from domain.search.repository import MARK_END, MARK_START, After, SearchFilter
from schemas.ideas import normalize_tag

SearchType = Literal["idea", "scene", "user"]

# Words the vocabulary can hold (see migration 0003): letters only, 3..32 of them.
_WORD = re.compile(r"[^\W\d_]{3,32}")
# Phrases, exclusions and `or` mean the user wrote query syntax; rewriting their words would
# change what they asked for, so such queries are taken as typed.
_SYNTAX = re.compile(r'"|(?:^|\s)-\w|(?:^|\s)or(?:\s|$)', re.IGNORECASE)
MAX_CORRECTED_WORDS = 8
MAX_TAGS = 10


@dataclass(frozen=True)
class Snippet:
    text: str
    highlights: tuple[str, ...]


@dataclass(frozen=True)
class IdeaHit:
    id: uuid.UUID
    score: float
    title: str
    snippet: Snippet | None
    user_id: uuid.UUID
    topic_id: uuid.UUID
    category_id: uuid.UUID | None
    tags: list[str]
    like_count: int
    scene_count: int
    created_at: datetime
    type: Literal["idea"] = "idea"


@dataclass(frozen=True)
class SceneHit:
    id: uuid.UUID
    score: float
    title: str
    snippet: Snippet | None
    idea_id: uuid.UUID
    topic_id: uuid.UUID
    user_id: uuid.UUID
    status: str
    like_count: int
    segment_count: int
    total_duration: float
    created_at: datetime
    type: Literal["scene"] = "scene"


@dataclass(frozen=True)
class UserHit:
    id: uuid.UUID
    score: float
    username: str
    display_name: str | None
    avatar_url: str | None
    snippet: Snippet | None
    type: Literal["user"] = "user"


Hit = IdeaHit | SceneHit | UserHit


def plain_words(q: str) -> list[str]:
    """The words of q worth correcting, in order, without repeats; none for query syntax."""
    if _SYNTAX.search(q):
        return []
    words = dict.fromkeys(w.lower() for w in _WORD.findall(q))
    return list(words)[:MAX_CORRECTED_WORDS]


async def terms_for(session: AsyncSession, q: str) -> Terms:
    """q with, for each word the vocabulary does not know, the words it may be a typo of."""
    words = plain_words(q)
    fixes = await repository.corrections(session, words)
    if not fixes:
        return Terms(q)
    # Every word of q stays in the query (known ones alone), so the AND still holds.
    return Terms(q, tuple((word, *fixes.get(word, ())) for word in words))


def split_headline(headline: str | None) -> Snippet | None:
    """ts_headline's output, markers taken out: the plain text and the words it marked."""
    if not headline:
        return None
    marked = re.findall(f"{MARK_START}(.*?){MARK_END}", headline, flags=re.DOTALL)
    plain = headline.replace(MARK_START, "").replace(MARK_END, "")
    return Snippet(plain, tuple(dict.fromkeys(marked)))


def _filters(
    kind: SearchType, topic: str | None, category: str | None, tags: Sequence[str]
) -> SearchFilter:
    if kind == "user" and (topic or category or tags):
        raise InvalidInput(
            "Accounts have no topic, category or tags.",
            [{"pointer": "/query/type", "message": "filters apply to ideas and scenes"}],
        )
    if len(tags) > MAX_TAGS:
        raise InvalidInput(
            "Too many tag filters.",
            [{"pointer": "/query/tag", "message": f"at most {MAX_TAGS} tags"}],
        )
    stored: list[str] = []
    for index, tag in enumerate(tags):
        normal = normalize_tag(tag)
        if normal is None:
            raise InvalidInput(
                "A tag filter is not a valid tag.",
                [{"pointer": f"/query/tag/{index}", "message": "not a valid tag"}],
            )
        stored.append(normal)
    topic_id, topic_slug = split_ref(topic)
    category_id, category_slug = split_ref(category)
    return SearchFilter(
        topic_id, topic_slug, category_id, category_slug, tuple(dict.fromkeys(stored))
    )


# Not `paginate`: the cursor condition and LIMIT sit inside the scored subquery, so that
# ts_headline runs on one page of rows only (see domain.search.repository).
_KEY_TYPES = (float, uuid.UUID)


def _after(cursor: str | None) -> After | None:
    after = cursor_after(cursor, _KEY_TYPES)
    return None if after is None else (after[0], after[1])


def _hit(kind: SearchType, row: Row[Any]) -> Hit:
    fields = dict(row._mapping)
    fields["snippet"] = split_headline(fields.pop("headline"))
    if kind == "idea":
        return IdeaHit(**fields)
    if kind == "scene":
        return SceneHit(**fields)
    return UserHit(**fields)


async def search(
    session: AsyncSession,
    *,
    q: str,
    kind: SearchType,
    topic: str | None,
    category: str | None,
    tags: Sequence[str],
    limit: int | None,
    cursor: str | None,
) -> Page[Hit]:
    """Visible ideas, scenes or accounts matching q, best first (see the module docstring)."""
    where = _filters(kind, topic, category, tags)
    after = _after(cursor)
    size = clamp_limit(limit)
    terms = await terms_for(session, q)
    if kind == "idea":
        rows = await repository.ideas(session, terms, where, after, size)
    elif kind == "scene":
        rows = await repository.scenes(session, terms, where, after, size)
    else:
        rows = await repository.users(session, terms, after, size)
    return page_of([_hit(kind, row) for row in rows], size, lambda hit: [hit.score, hit.id])
