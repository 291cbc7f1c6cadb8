"""Every query on topics, categories and topic proposals."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.pagination import Page, paginate
from domain.topics.models import Category, Topic, TopicProposal


async def lock_slug(session: AsyncSession, scope: str, slug: str) -> None:
    """Serialize slug allocation for one base slug until the transaction ends.

    Two requests deriving the same slug then see each other's row instead of colliding.
    """
    await session.execute(
        select(func.pg_advisory_xact_lock(func.hashtextextended(f"{scope}:{slug}", 0)))
    )


# Topics


async def get_topic(session: AsyncSession, topic_id: uuid.UUID) -> Topic | None:
    return await session.get(Topic, topic_id)


async def get_topic_by_slug(session: AsyncSession, slug: str) -> Topic | None:
    return await session.scalar(select(Topic).where(Topic.slug == slug))


async def page_active_topics(
    session: AsyncSession, *, limit: int | None, cursor: str | None
) -> Page[Topic]:
    stmt = select(Topic).where(Topic.is_active)
    return await paginate(
        session,
        stmt,
        [Topic.display_order.expression, Topic.id.expression],
        limit=limit,
        cursor=cursor,
        descending=False,
    )


async def any_topic(session: AsyncSession) -> bool:
    """Whether any topic exists, active or not."""
    return bool(await session.scalar(select(select(Topic.id).exists())))


async def taken_topic_slugs(
    session: AsyncSession, slugs: Sequence[str], *, excluding: uuid.UUID | None = None
) -> set[str]:
    stmt = select(Topic.slug).where(Topic.slug.in_(slugs))
    if excluding is not None:
        stmt = stmt.where(Topic.id != excluding)
    return set((await session.scalars(stmt)).all())


async def add_topic(session: AsyncSession, topic: Topic) -> Topic:
    session.add(topic)
    await session.flush()
    await session.refresh(topic)
    return topic


# Categories


async def categories_of(
    session: AsyncSession, topic_id: uuid.UUID, *, include_inactive: bool
) -> list[Category]:
    stmt = select(Category).where(Category.topic_id == topic_id)
    if not include_inactive:
        stmt = stmt.where(Category.is_active)
    stmt = stmt.order_by(Category.display_order, Category.name, Category.id)
    return list((await session.scalars(stmt)).all())


async def get_category_by_slug(
    session: AsyncSession, topic_id: uuid.UUID, slug: str
) -> Category | None:
    return await session.scalar(
        select(Category).where(Category.topic_id == topic_id, Category.slug == slug)
    )


async def taken_category_slugs(
    session: AsyncSession, topic_id: uuid.UUID, slugs: Sequence[str]
) -> set[str]:
    stmt = select(Category.slug).where(Category.topic_id == topic_id, Category.slug.in_(slugs))
    return set((await session.scalars(stmt)).all())


async def add_category(session: AsyncSession, category: Category) -> Category:
    session.add(category)
    await session.flush()
    await session.refresh(category)
    return category


# Proposals


async def get_proposal(
    session: AsyncSession, proposal_id: uuid.UUID, *, for_update: bool = False
) -> TopicProposal | None:
    stmt = select(TopicProposal).where(TopicProposal.id == proposal_id)
    if for_update:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def page_proposals(
    session: AsyncSession, *, status: str | None, limit: int | None, cursor: str | None
) -> Page[TopicProposal]:
    stmt = select(TopicProposal)
    if status is not None:
        stmt = stmt.where(TopicProposal.status == status)
    return await paginate(
        session,
        stmt,
        [TopicProposal.created_at.expression, TopicProposal.id.expression],
        limit=limit,
        cursor=cursor,
        descending=True,
    )


async def add_proposal(session: AsyncSession, proposal: TopicProposal) -> TopicProposal:
    session.add(proposal)
    await session.flush()
    await session.refresh(proposal)
    return proposal
