"""Starter topics: what a new platform offers before its admins have curated any.

A person who starts Storyloom for the first time (`make run`) and opens the web app must be able
to write an idea at once, and an idea needs a topic. `seed_starter_topics` gives an empty
platform a few curated topics, each with two categories; once any topic exists (an admin's, or
these) it does nothing, so it is safe to run at every start.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from domain.topics import repository, service
from domain.topics.models import Topic

# (name, description, categories), in the order Discover shows them.
STARTER_TOPICS: tuple[tuple[str, str, tuple[str, str]], ...] = (
    ("Mystery", "Secrets, clues and the people who chase them.", ("Detective", "Small town")),
    ("Science fiction", "Futures, machines and far places.", ("Space", "Near future")),
    ("Fantasy", "Magic, myths and other worlds.", ("Quest", "Fairy tale")),
    ("Drama", "People, choices and what they cost.", ("Family", "Coming of age")),
    ("Comedy", "Things going wrong, funnily.", ("Everyday", "Absurd")),
)


async def seed_starter_topics(session: AsyncSession) -> list[Topic]:
    """Create the starter topics when the platform has none; the topics created (or [])."""
    await repository.lock_slug(session, "topics", "starter")  # one seeding at a time
    if await repository.any_topic(session):
        return []
    created = []
    for order, (name, description, categories) in enumerate(STARTER_TOPICS):
        topic = await service.create_topic(
            session, name=name, description=description, display_order=order, is_curated=True
        )
        for position, category in enumerate(categories):
            await service.create_category(session, topic.id, name=category, display_order=position)
        created.append(topic)
    return created
