"""Every search query: typo corrections from the vocabulary, and ranked pages of hits.

One statement per page, in three layers:
- candidates. Scoring costs a heap visit and a ts_rank per match, ~2 us; a common word matches
  a fifth of 100,000 ideas (~50 ms). So the planner's estimate of the match count (from the
  lexeme statistics ANALYZE keeps, via search_match_estimate) picks one of two branches: up
  to EXACT_LIMIT estimated matches, every match, read through the GIN index; past it, the
  first BROAD_CANDIDATES matches among the most liked rows, walking the (like_count, id) index
  (for a common word a few thousand rows at most, never more than WALK_LIMIT). PostgreSQL runs
  only the chosen branch: each has a one-time filter on the estimate, computed once in a CTE.
  The threshold is ours: left to itself, the planner walks for a word in 5% of the rows and
  visits 20,000 where the GIN index would read 5,000.
- page: the candidates scored (see domain.search.service), cut after the cursor, one page
  plus one long.
- the page joined back for its columns, with ts_headline on those rows only.
Each tsquery is an uncorrelated scalar subquery: computed once per statement (an InitPlan),
yet an index condition. Nothing depends on the planner knowing the query's words, so a
generic plan of the prepared statement is as good as a custom one.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Double,
    Row,
    Select,
    bindparam,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    tuple_,
    union_all,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ts_headline
from sqlalchemy.ext.asyncio import AsyncSession

from domain.ideas.models import Idea
from domain.ideas.repository import publicly_visible
from domain.scenes.models import Scene
from domain.scenes.repository import listed
from domain.search.query import CONFIG, SearchQuery, Terms, name_likeness, popularity
from domain.topics.models import Category, Topic
from domain.users.models import User

# ts_headline parses the whole text it is given; a 20,000-character prompt costs ~1 ms, so
# the snippet is cut from the opening only.
HEADLINE_SOURCE_CHARS = 2000
MARK_START, MARK_END = "\x02", "\x03"
HEADLINE_OPTIONS = (
    f"MaxFragments=1, MaxWords=30, MinWords=12, StartSel={MARK_START}, StopSel={MARK_END}"
)
CORRECTIONS_PER_WORD = 3
# See the module docstring. For ideas, the two branches cost about the same (~9 ms) where a
# word matches ~4.5% of 100,000 rows: 4,500 rows scored, or 200 / 4.5% = 4,400 rows walked.
# A scene match costs twice as much (its idea is looked up for visibility and filters): the
# branches meet at ~2,000 of 20,000 scenes. The walk stops at WALK_LIMIT rows, where a word
# just past EXACT_LIMIT has its 200 matches; it only goes further on a wrong estimate.
EXACT_LIMIT = {"ideas": 4000, "scenes": 2000}
WALK_LIMIT = {"ideas": 5000, "scenes": 2000}
BROAD_CANDIDATES = 200

# The closest vocabulary words of each query word the vocabulary does not know. `%` (trigram
# similarity above pg_trgm.similarity_threshold, 0.3) is served by ix_search_words_trgm.
_CORRECTIONS = text(
    """
    SELECT t.token, c.word
    FROM unnest(CAST(:tokens AS text[])) AS t(token)
    CROSS JOIN LATERAL (
        SELECT w.word FROM search_words AS w
        WHERE w.word % t.token
        ORDER BY w.word <-> t.token, w.word
        LIMIT :per_word
    ) AS c
    WHERE NOT EXISTS (SELECT 1 FROM search_words AS k WHERE k.word = t.token)
    """
)


@dataclass(frozen=True)
class SearchFilter:
    """Filters on the idea (of a scene). topic and category are each an id or a slug."""

    topic_id: uuid.UUID | None = None
    topic_slug: str | None = None
    category_id: uuid.UUID | None = None
    category_slug: str | None = None
    tags: tuple[str, ...] = ()


After = tuple[float, uuid.UUID]


async def corrections(session: AsyncSession, tokens: Sequence[str]) -> dict[str, list[str]]:
    """For each token missing from the vocabulary, its closest known words, closest first."""
    if not tokens:
        return {}
    rows = await session.execute(
        _CORRECTIONS, {"tokens": list(tokens), "per_word": CORRECTIONS_PER_WORD}
    )
    found: dict[str, list[str]] = {}
    for token, word in rows.all():
        found.setdefault(token, []).append(word)
    return found


def _inline(name: str, value: int) -> BindParameter[int]:
    # Inline, as in domain.pagination: a LIMIT the planner knows.
    return bindparam(name, value, literal_execute=True)


@dataclass(frozen=True)
class Breadth:
    """Where ranking every match gives way to the most liked ones (see the module docstring)."""

    exact_limit: int
    walk_limit: int
    broad_candidates: int = BROAD_CANDIDATES


def _is_broad(table: str, query: SearchQuery, exact_limit: int) -> ColumnElement[bool]:
    """Whether the planner expects more than `exact_limit` rows of `table` to match."""
    target: ColumnElement[Any] = literal_column(f"'{table}'::regclass")
    estimate = select(func.search_match_estimate(target, query.either()).label("rows")).cte(
        "estimate"
    )
    return select(estimate.c.rows).scalar_subquery() > exact_limit


def _most_liked(matched: Select[Any] | Any, head: Any, breadth: Breadth) -> Any:
    """The first matches of the walk over `head` (most liked first), as a subquery."""
    return (
        matched.order_by(head.c.like_count.desc(), head.c.id.desc())
        .limit(_inline("broad_candidates", breadth.broad_candidates))
        .subquery("many")
    )


def _idea_filters(where: SearchFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    topic_ids = None
    if where.topic_id is not None:
        conditions.append(Idea.topic_id == where.topic_id)
    elif where.topic_slug is not None:
        topic_ids = select(Topic.id).where(Topic.slug == where.topic_slug)
        conditions.append(Idea.topic_id.in_(topic_ids))
    if where.category_id is not None:
        conditions.append(Idea.category_id == where.category_id)
    elif where.category_slug is not None:
        # Category slugs are unique per topic only; with no topic, any topic's category matches.
        categories = select(Category.id).where(Category.slug == where.category_slug)
        if where.topic_id is not None:
            categories = categories.where(Category.topic_id == where.topic_id)
        elif topic_ids is not None:
            categories = categories.where(Category.topic_id.in_(topic_ids))
        conditions.append(Idea.category_id.in_(categories))
    if where.tags:
        # `@>` against an array literal is what the GIN index on tags serves.
        conditions.append(Idea.tags.op("@>")(postgresql.array(list(where.tags))))
    return conditions


def _one_page(
    matched: Select[Any], score: ColumnElement[float], key: Any, after: After | None, size: int
) -> Any:
    """`matched` (selecting `key` as id) scored, cut after the cursor, one page plus one long."""
    stmt = matched.add_columns(score.label("score"))
    if after is not None:
        stmt = stmt.where(tuple_(score, key) < tuple_(literal(after[0], Double), literal(after[1])))
    ordered = stmt.order_by(score.desc(), key.desc())
    return ordered.limit(_inline("page_limit", size + 1)).subquery("page")


def _headline(source: Any, query: ColumnElement[Any]) -> ColumnElement[str]:
    return ts_headline(CONFIG, func.left(source, HEADLINE_SOURCE_CHARS), query, HEADLINE_OPTIONS)


async def ideas(
    session: AsyncSession,
    terms: Terms,
    where: SearchFilter,
    after: After | None,
    size: int,
    breadth: Breadth | None = None,
) -> Sequence[Row[Any]]:
    """Public ideas matching the terms, best first, from `after`."""
    query = SearchQuery.of(terms)
    breadth = breadth or Breadth(EXACT_LIMIT["ideas"], WALK_LIMIT["ideas"])
    broad = _is_broad("ideas", query, breadth.exact_limit)
    rows = select(Idea.id, Idea.search_vector, Idea.like_count).where(
        publicly_visible(), *_idea_filters(where)
    )
    few = rows.where(query.matches(Idea.search_vector), ~broad)
    # The walk follows the (like_count, id) index; each row it yields is checked against the
    # query, and it stops once enough have passed.
    head = (
        rows.order_by(Idea.like_count.desc(), Idea.id.desc())
        .limit(_inline("walk_limit", breadth.walk_limit))
        .subquery("head")
    )
    many = _most_liked(
        select(head).where(query.matches(head.c.search_vector), broad), head, breadth
    )
    found = union_all(few, select(many)).subquery("candidates").c
    score = query.relevance(found.search_vector) + popularity(found.like_count)
    page = _one_page(select(found.id), score, found.id, after, size)
    stmt = (
        select(
            page.c.score,
            Idea.id,
            Idea.title,
            Idea.user_id,
            Idea.topic_id,
            Idea.category_id,
            Idea.tags,
            Idea.like_count,
            Idea.scene_count,
            Idea.created_at,
            _headline(Idea.prompt, query.either()).label("headline"),
        )
        .join(Idea, Idea.id == page.c.id)
        .order_by(page.c.score.desc(), page.c.id.desc())
    )
    return (await session.execute(stmt)).all()


async def scenes(
    session: AsyncSession,
    terms: Terms,
    where: SearchFilter,
    after: After | None,
    size: int,
    breadth: Breadth | None = None,
) -> Sequence[Row[Any]]:
    """Listed scenes of public ideas matching the terms, best first, from `after`."""
    query = SearchQuery.of(terms)
    breadth = breadth or Breadth(EXACT_LIMIT["scenes"], WALK_LIMIT["scenes"])
    broad = _is_broad("scenes", query, breadth.exact_limit)
    idea_visible = [publicly_visible(), *_idea_filters(where)]
    few = (
        select(Scene.id, Scene.search_vector, Scene.like_count)
        .join(Idea, Idea.id == Scene.idea_id)
        .where(query.matches(Scene.search_vector), listed(), ~broad)
        .where(*idea_visible)
    )
    # The walk follows the (like_count, id) index of scenes alone; the idea is looked up for
    # the rows that match, and the walk stops once enough have passed.
    head = (
        select(Scene.id, Scene.search_vector, Scene.like_count, Scene.idea_id)
        .where(listed())
        .order_by(Scene.like_count.desc(), Scene.id.desc())
        .limit(_inline("walk_limit", breadth.walk_limit))
        .subquery("head")
    )
    matched = (
        select(head.c.id, head.c.search_vector, head.c.like_count)
        .join(Idea, Idea.id == head.c.idea_id)
        .where(query.matches(head.c.search_vector), broad, *idea_visible)
    )
    found = union_all(few, select(_most_liked(matched, head, breadth))).subquery("candidates").c
    score = query.relevance(found.search_vector) + popularity(found.like_count)
    page = _one_page(select(found.id), score, found.id, after, size)
    stmt = (
        select(
            page.c.score,
            Scene.id,
            Scene.title,
            Scene.idea_id,
            Idea.topic_id,
            Scene.user_id,
            Scene.status,
            Scene.like_count,
            Scene.segment_count,
            Scene.total_duration,
            Scene.created_at,
            _headline(Scene.description, query.either()).label("headline"),
        )
        .join(Scene, Scene.id == page.c.id)
        .join(Idea, Idea.id == Scene.idea_id)
        .order_by(page.c.score.desc(), page.c.id.desc())
    )
    return (await session.execute(stmt)).all()


async def users(
    session: AsyncSession, terms: Terms, after: After | None, size: int
) -> Sequence[Row[Any]]:
    """Active accounts matching the terms or with a username like the query, best first.

    Every match is scored: accounts have no popularity to walk, and their vectors are short.
    """
    query = SearchQuery.of(terms)
    typed = func.lower(literal(terms.text))
    # `%` on username is served by ix_users_username_trgm: handles are not words to stem.
    name_like = User.username.op("%")(typed)
    name_score = name_likeness(User.username, typed)
    score = func.greatest(query.relevance(User.search_vector), name_score)
    matched = select(User.id).where(
        or_(query.matches(User.search_vector), name_like), User.is_active.is_(True)
    )
    page = _one_page(matched, score, User.id, after, size)
    stmt = (
        select(
            page.c.score,
            User.id,
            User.username,
            User.display_name,
            User.avatar_url,
            _headline(User.bio, query.either()).label("headline"),
        )
        .join(User, User.id == page.c.id)
        .order_by(page.c.score.desc(), page.c.id.desc())
    )
    return (await session.execute(stmt)).all()
