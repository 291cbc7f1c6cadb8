"""Search: stemming, typos, ranking, filters, pagination, visibility and hostile queries.

Every test builds its corpus in a topic of its own (or around words made up for the run), so
the other tests' rows in the shared database cannot change its answers.
"""

from __future__ import annotations

import random
import string
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text, update

from domain.ideas.models import Idea
from domain.scenes.models import Scene
from domain.search import repository
from domain.search.models import SearchWord
from domain.search.query import Terms
from domain.search.repository import Breadth, SearchFilter
from domain.topics.models import Category, Topic
from domain.users.models import User
from tests.factories import Account, Factory, unique

PROBLEM = "application/problem+json"


def made_up_word() -> str:
    """A word no other test writes: letters only, so it enters the vocabulary."""
    return "zq" + "".join(random.choices(string.ascii_lowercase, k=10))


@dataclass
class Corpus:
    """A topic with one category, an author, and helpers to add rows to it directly."""

    app: Any
    author: Account
    topic_id: str
    topic_slug: str
    category_id: str
    category_slug: str
    ideas: dict[str, str] = field(default_factory=dict)

    async def idea(
        self,
        name: str,
        title: str,
        prompt: str = "Nothing in particular happens here.",
        *,
        tags: list[str] | None = None,
        likes: int = 0,
        status: str = "active",
        review: str = "approved",
        category: bool = False,
    ) -> str:
        async with self.app.state.db.transaction() as session:
            idea = Idea(
                user_id=uuid.UUID(self.author.id),
                topic_id=uuid.UUID(self.topic_id),
                category_id=uuid.UUID(self.category_id) if category else None,
                title=title,
                prompt=prompt,
                tags=tags or [],
                status=status,
                review_status=review,
                like_count=likes,
            )
            session.add(idea)
            await session.flush()
            self.ideas[name] = str(idea.id)
            return str(idea.id)

    async def scene(
        self, idea_id: str, title: str, description: str = "Fog.", *, status: str = "active"
    ) -> str:
        async with self.app.state.db.transaction() as session:
            scene = Scene(
                idea_id=uuid.UUID(idea_id),
                user_id=uuid.UUID(self.author.id),
                title=title,
                description=description,
                status=status,
            )
            session.add(scene)
            await session.flush()
            return str(scene.id)


@pytest.fixture
async def corpus(app: Any, factory: Factory) -> Corpus:
    author = await factory.account()
    async with app.state.db.transaction() as session:
        topic = Topic(name=unique("Topic "), slug=unique("t"))
        session.add(topic)
        await session.flush()
        category = Category(topic_id=topic.id, name=unique("Cat "), slug=unique("c"))
        session.add(category)
        await session.flush()
        return Corpus(app, author, str(topic.id), topic.slug, str(category.id), category.slug)


async def search(client: httpx.AsyncClient, q: str, **params: Any) -> dict[str, Any]:
    response = await client.get("/v1/search", params={"q": q, "limit": 100, **params})
    assert response.status_code == 200, response.text
    return response.json()


async def found(client: httpx.AsyncClient, q: str, **params: Any) -> list[str]:
    return [item["id"] for item in (await search(client, q, **params))["items"]]


# Matching


async def test_stemming_finds_other_forms_of_a_word(
    client: httpx.AsyncClient, corpus: Corpus
) -> None:
    dragon = await corpus.idea("dragon", "The last dragon", "She hides in the hills.")
    runner = await corpus.idea("run", "Before dawn", "They run from the flood.")

    assert await found(client, "dragons", topic=corpus.topic_id) == [dragon]
    assert await found(client, "running", topic=corpus.topic_id) == [runner]
    assert await found(client, "Dragon", topic=corpus.topic_slug) == [dragon]


async def test_a_typo_still_finds_the_word(client: httpx.AsyncClient, corpus: Corpus) -> None:
    dragon = await corpus.idea("dragon", "The last dragon", "She hides in the hills.")
    await corpus.idea("other", "A quiet harbour", "Boats and gulls.")

    body = await search(client, "dragn", topic=corpus.topic_id)

    assert [item["id"] for item in body["items"]] == [dragon]
    # Two words, one misspelt: the correct one still has to match too.
    assert await found(client, "last dragn", topic=corpus.topic_id) == [dragon]
    assert await found(client, "harbour dragn", topic=corpus.topic_id) == []


async def test_a_typo_of_a_word_in_the_body_is_corrected_too(
    client: httpx.AsyncClient, corpus: Corpus
) -> None:
    word = made_up_word()
    idea = await corpus.idea("body", "Plain title", f"Somewhere a {word} waits.")
    typo = word[:5] + word[6:]  # one letter dropped from the middle

    assert await found(client, typo) == [idea]


async def test_new_words_enter_the_vocabulary_on_insert_and_edit(app: Any, corpus: Corpus) -> None:
    first, second = made_up_word(), made_up_word()
    idea_id = await corpus.idea("x", f"About {first}")
    async with app.state.db.transaction() as session:
        await session.execute(
            update(Idea).where(Idea.id == uuid.UUID(idea_id)).values(prompt=f"Then {second}.")
        )
    async with app.state.db.session() as session:
        words = set(
            await session.scalars(
                select(SearchWord.word).where(SearchWord.word.in_([first, second]))
            )
        )
    assert words == {first, second}


async def test_search_vectors_do_not_turn_every_update_into_a_change(
    app: Any, client: httpx.AsyncClient, corpus: Corpus
) -> None:
    old, new = made_up_word(), made_up_word()
    async with app.state.db.transaction() as session:
        idea_id = await session.scalar(
            text(
                "INSERT INTO ideas (user_id, topic_id, title, prompt, review_status, updated_at)"
                " VALUES (:user, :topic, :title, 'Text.', 'approved', '2000-01-01T00:00Z')"
                " RETURNING id"
            ),
            {"user": corpus.author.id, "topic": corpus.topic_id, "title": f"About {old}"},
        )
    year = text("SELECT extract(year FROM updated_at) FROM ideas WHERE id = :id")
    async with app.state.db.transaction() as session:
        await session.execute(
            text("UPDATE ideas SET title = title WHERE id = :id"), {"id": idea_id}
        )
        assert await session.scalar(year, {"id": idea_id}) == 2000
    async with app.state.db.transaction() as session:
        await session.execute(
            text("UPDATE ideas SET title = :title WHERE id = :id"),
            {"id": idea_id, "title": f"About {new}"},
        )
        assert await session.scalar(year, {"id": idea_id}) > 2000

    assert await found(client, new) == [str(idea_id)]
    assert await found(client, old) == []


# Ranking


async def test_a_title_hit_outranks_a_prompt_only_hit(
    client: httpx.AsyncClient, corpus: Corpus
) -> None:
    in_prompt = await corpus.idea(
        "prompt", "The north", "A dragon, a dragon, another dragon and one more dragon."
    )
    in_title = await corpus.idea("title", "Dragon of the north", "Cold wind.")
    in_tags = await corpus.idea("tags", "The south", "Warm wind.", tags=["dragon"])

    assert await found(client, "dragon", topic=corpus.topic_id) == [in_title, in_prompt, in_tags]


async def test_popularity_breaks_near_ties_and_the_id_breaks_exact_ties(
    client: httpx.AsyncClient, corpus: Corpus
) -> None:
    a = await corpus.idea("a", "Lantern festival", "Paper lights.")
    b = await corpus.idea("b", "Lantern market", "Paper lights.")

    assert await found(client, "lantern", topic=corpus.topic_id) == sorted([a, b], reverse=True)

    async with corpus.app.state.db.transaction() as session:
        await session.execute(
            update(Idea).where(Idea.id == uuid.UUID(min(a, b))).values(like_count=3)
        )
    body = await search(client, "lantern", topic=corpus.topic_id)
    assert [item["id"] for item in body["items"]] == [min(a, b), max(a, b)]
    assert body["items"][0]["score"] > body["items"][1]["score"]


async def test_likes_do_not_bury_a_much_better_match(
    client: httpx.AsyncClient, corpus: Corpus
) -> None:
    title_hit = await corpus.idea("t", "Orchard thieves", "Night.")
    liked = await corpus.idea("p", "Night", "There was an orchard once.", likes=20)

    assert await found(client, "orchard", topic=corpus.topic_id) == [title_hit, liked]


# Filters


async def test_filters_combine_with_the_query(client: httpx.AsyncClient, corpus: Corpus) -> None:
    word = made_up_word()
    plain = await corpus.idea("plain", f"The {word}")
    in_category = await corpus.idea("cat", f"A {word}", category=True, tags=["noir", "rain"])
    tagged = await corpus.idea("tag", f"One {word}", tags=["noir"])

    assert set(await found(client, word)) == {plain, in_category, tagged}
    assert await found(client, word, category=corpus.category_id) == [in_category]
    assert await found(client, word, category=corpus.category_slug) == [in_category]
    assert await found(client, word, topic=corpus.topic_slug, category=corpus.category_slug) == [
        in_category
    ]
    assert set(await found(client, word, tag="noir")) == {in_category, tagged}
    assert await found(client, word, tag=["Noir", "rain"]) == [in_category]
    assert await found(client, word, topic=str(uuid.uuid4())) == []
    assert await found(client, word, topic="no-such-topic") == []


async def test_scenes_are_filtered_through_their_idea(
    client: httpx.AsyncClient, corpus: Corpus
) -> None:
    word = made_up_word()
    idea = await corpus.idea("i", "Harbour", tags=["sea"])
    scene = await corpus.scene(idea, f"The {word} bell", f"Fog and {word}.")

    body = await search(client, word, type="scene")
    assert [item["id"] for item in body["items"]] == [scene]
    hit = body["items"][0]
    assert hit["type"] == "scene"
    assert (hit["idea_id"], hit["topic_id"]) == (idea, corpus.topic_id)
    assert hit["snippet"]["highlights"] == [word]
    assert await found(client, word, type="scene", topic=corpus.topic_slug, tag="sea") == [scene]
    assert await found(client, word, type="scene", tag="land") == []
    # Scenes are not ideas.
    assert await found(client, word) == []


async def test_accounts_are_found_by_name_bio_and_a_misspelt_handle(
    app: Any, client: httpx.AsyncClient, factory: Factory
) -> None:
    word = made_up_word()
    account = await factory.account()
    async with app.state.db.transaction() as session:
        await session.execute(
            update(User)
            .where(User.id == uuid.UUID(account.id))
            .values(display_name=f"Captain {word.title()}", bio="Sails and charts ships.")
        )

    body = await search(client, word, type="user")
    assert [item["id"] for item in body["items"]] == [account.id]
    assert body["items"][0]["username"] == account.username
    assert account.id in await found(client, f"{word} ship", type="user")
    handle = account.username[:-1]  # the handle with its last character missing
    assert account.id in await found(client, handle, type="user")


# Pagination


async def test_pages_walk_every_hit_once_in_score_order(
    client: httpx.AsyncClient, corpus: Corpus
) -> None:
    word = made_up_word()
    expected = set()
    for n in range(23):
        prompt = f"{word} " * (1 + n % 4) + "and more."
        title = f"{word} {n}" if n % 3 else f"Number {n}"
        expected.add(await corpus.idea(str(n), title, prompt, likes=n % 5))

    seen: list[str] = []
    scores: list[float] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"q": word, "limit": 5}
        if cursor:
            params["cursor"] = cursor
        response = await client.get("/v1/search", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        seen += [item["id"] for item in body["items"]]
        scores += [item["score"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert pages == 5
    assert len(seen) == len(set(seen)) == 23
    assert set(seen) == expected
    assert scores == sorted(scores, reverse=True)


async def test_exact_ties_page_by_id_without_gaps_or_repeats(
    client: httpx.AsyncClient, corpus: Corpus
) -> None:
    word = made_up_word()
    ids = [await corpus.idea(str(n), f"The {word}", "Same text.") for n in range(7)]

    seen: list[str] = []
    cursor = None
    for _ in range(4):
        params: dict[str, Any] = {"q": word, "limit": 2, **({"cursor": cursor} if cursor else {})}
        body = (await client.get("/v1/search", params=params)).json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
    assert cursor is None
    assert seen == sorted(ids, reverse=True)


async def test_a_bad_or_foreign_cursor_is_a_problem(
    client: httpx.AsyncClient, corpus: Corpus
) -> None:
    for n in range(2):
        await corpus.idea(str(n), "Listed")
    listed = await client.get("/v1/ideas", params={"limit": 1, "topic": corpus.topic_id})
    foreign = listed.json()["next_cursor"]
    assert foreign is not None
    for cursor in ("garbage!", "W10", foreign):
        response = await client.get("/v1/search", params={"q": "x", "cursor": cursor})
        assert response.status_code == 422, (cursor, response.text)
        assert response.headers["content-type"].startswith(PROBLEM)
        assert response.json()["errors"][0]["pointer"] == "/cursor"


async def test_a_broad_query_ranks_its_most_liked_matches(app: Any, corpus: Corpus) -> None:
    word = made_up_word()
    liked = {n: await corpus.idea(str(n), f"{word} {n}", likes=n) for n in range(1, 6)}
    await corpus.idea("hidden", f"{word} hidden", likes=100, status="hidden")
    await corpus.idea("pending", f"{word} pending", likes=50, review="pending")
    where = SearchFilter(topic_id=uuid.UUID(corpus.topic_id))

    async def found(breadth: Breadth) -> list[str]:
        async with app.state.db.session() as session:
            rows = await repository.ideas(session, Terms(word), where, None, 20, breadth)
        return [str(row.id) for row in rows]

    assert await found(Breadth(-1, 100, 3)) == [liked[5], liked[4], liked[3]]
    # The walk stops after the two most liked visible ideas, matching or not.
    assert await found(Breadth(-1, 2, 10)) == [liked[5], liked[4]]
    assert await found(Breadth(10**6, 100, 3)) == [liked[n] for n in (5, 4, 3, 2, 1)]


async def test_a_broad_scene_query_keeps_to_listed_scenes_of_public_ideas(
    app: Any, corpus: Corpus
) -> None:
    word = made_up_word()
    public = await corpus.idea("public", "Public")
    hidden = await corpus.idea("hidden", "Hidden", status="hidden")
    listed = await corpus.scene(public, f"{word} one")
    await corpus.scene(public, f"{word} two", status="removed")
    await corpus.scene(hidden, f"{word} three")
    where = SearchFilter(topic_slug=corpus.topic_slug)

    async with app.state.db.session() as session:
        rows = await repository.scenes(session, Terms(word), where, None, 20, Breadth(-1, 10**6, 5))

    assert [str(row.id) for row in rows] == [listed]


async def test_the_match_estimate_comes_from_the_planner(app: Any, corpus: Corpus) -> None:
    async with app.state.db.session() as session:
        estimate = await session.scalar(
            text("SELECT search_match_estimate('ideas', to_tsquery('english', 'keeper'))")
        )
    assert isinstance(estimate, int) and estimate >= 1


# Visibility


async def test_hidden_removed_pending_and_banned_never_appear(
    app: Any, client: httpx.AsyncClient, corpus: Corpus, factory: Factory
) -> None:
    word = made_up_word()
    visible = await corpus.idea("ok", f"{word} visible")
    for status, review in [
        ("hidden", "approved"),
        ("removed", "approved"),
        ("active", "pending"),
        ("active", "rejected"),
    ]:
        await corpus.idea(
            status + review, f"{word} {status} {review}", status=status, review=review
        )
    hidden_idea = corpus.ideas["hiddenapproved"]
    listed = await corpus.scene(visible, f"{word} scene")
    locked = await corpus.scene(visible, f"{word} locked", status="locked")
    for status in ("hidden", "removed"):
        await corpus.scene(visible, f"{word} {status}", status=status)
    await corpus.scene(hidden_idea, f"{word} on a hidden idea")

    banned = await factory.account(banned=True)
    active = await factory.account()
    async with app.state.db.transaction() as session:
        await session.execute(
            update(User)
            .where(User.id.in_([uuid.UUID(banned.id), uuid.UUID(active.id)]))
            .values(bio=f"All about {word}.")
        )

    assert await found(client, word) == [visible]
    assert set(await found(client, word, type="scene")) == {listed, locked}
    assert await found(client, word, type="user") == [active.id]
    # Neither a signed-in owner nor the typo path sees more.
    typo = word[:5] + word[6:]
    assert await found(client, typo) == [visible]
    response = await client.get("/v1/search", params={"q": word}, headers=corpus.author.headers)
    assert [item["id"] for item in response.json()["items"]] == [visible]


# Bad and hostile input


@pytest.mark.parametrize("q", ["", "   ", "\t"])
async def test_an_empty_query_is_a_problem_with_a_pointer(
    client: httpx.AsyncClient, q: str
) -> None:
    response = await client.get("/v1/search", params={"q": q})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["errors"][0]["pointer"] == "/query/q"


async def test_missing_too_long_and_control_character_queries_are_problems(
    client: httpx.AsyncClient,
) -> None:
    for params in ({}, {"q": "a" * 201}, {"q": "dragon\x00"}, {"q": "a\nb"}):
        response = await client.get("/v1/search", params=params)
        assert response.status_code == 422, (params, response.text)
        assert response.json()["errors"][0]["pointer"] == "/query/q"
    # Surrounding spaces do not count towards the limit.
    assert (await client.get("/v1/search", params={"q": f"  {'a' * 200}  "})).status_code == 200


HOSTILE = [
    "'",
    '"',
    '"unterminated phrase',
    "dragon & castle",
    "dragon | castle",
    "!dragon",
    "dragon:*",
    "drag:* & !castle | (wizard",
    "<-> <2> <->",
    "'; DROP TABLE ideas; --",
    "1' OR '1'='1",
    "\\",
    "%_%",
    "-",
    "--",
    "- - -",
    "or",
    "or or or",
    "the and of",
    "(((",
    ")))",
    "ünïcödé 龍 🐉",
    "a" * 200,
    "dragn " * 33,
    "\u200b",
    "\ufeffdragon",
]


@pytest.mark.parametrize("q", HOSTILE)
@pytest.mark.parametrize("kind", ["idea", "scene", "user"])
async def test_hostile_queries_never_fail(client: httpx.AsyncClient, q: str, kind: str) -> None:
    response = await client.get("/v1/search", params={"q": q, "type": kind})
    assert response.status_code == 200 or 400 <= response.status_code < 500, response.text


async def test_bad_filters_are_problems(client: httpx.AsyncClient) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"q": "x", "type": "user", "topic": "any"}, "/query/type"),
        ({"q": "x", "type": "thing"}, "/query/type"),
        ({"q": "x", "tag": "Not a tag!"}, "/query/tag/0"),
        ({"q": "x", "tag": [f"t{n}" for n in range(11)]}, "/query/tag"),
        ({"q": "x", "topic": "../etc"}, "/query/topic"),
        ({"q": "x", "limit": 0}, "/query/limit"),
        ({"q": "x", "limit": 101}, "/query/limit"),
    ]
    for params, pointer in cases:
        response = await client.get("/v1/search", params=params)
        assert response.status_code == 422, (params, response.text)
        assert response.json()["errors"][0]["pointer"] == pointer, params


async def test_hits_carry_what_a_client_needs_to_link(
    client: httpx.AsyncClient, corpus: Corpus
) -> None:
    word = made_up_word()
    idea = await corpus.idea(
        "x",
        "Quiet title",
        f"Long ago, in a valley of {word}s, a child kept a secret.",
        tags=["myth"],
    )
    (hit,) = (await search(client, word))["items"]
    assert hit["type"] == "idea"
    assert hit["id"] == idea
    assert hit["topic_id"] == corpus.topic_id
    assert hit["tags"] == ["myth"]
    assert (hit["like_count"], hit["scene_count"]) == (0, 0)
    assert f"{word}s" in hit["snippet"]["text"]
    assert hit["snippet"]["highlights"] == [f"{word}s"]
    assert "\x02" not in hit["snippet"]["text"]
