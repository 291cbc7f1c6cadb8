"""Curated topics and their categories, and the review of users' topic proposals."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from domain import slugs
from domain.errors import Conflict, Forbidden, NotFound
from domain.notifications import service as notifications
from domain.notifications.events import PROPOSAL_DECIDED, Event
from domain.pagination import Page
from domain.topics import repository
from domain.topics.models import Category, ProposalStatus, Topic, TopicProposal
from domain.users.models import Role, User

TakenSlugs = Callable[[Sequence[str]], Awaitable[set[str]]]


@dataclass(frozen=True)
class TopicWithCategories:
    topic: Topic
    categories: list[Category]


def _is_admin(user: User | None) -> bool:
    return user is not None and Role(user.role).rank >= Role.ADMIN.rank


def _is_moderator(user: User | None) -> bool:
    return user is not None and Role(user.role).rank >= Role.MODERATOR.rank


async def _allocate_slug(
    session: AsyncSession,
    scope: str,
    *,
    name: str,
    explicit: str | None,
    fallback: str,
    taken: TakenSlugs,
) -> str:
    """An explicit slug must be free (else Conflict); a derived one gets `-2`, `-3`, ... if not."""
    base = explicit if explicit is not None else slugs.slugify(name, fallback=fallback)
    await repository.lock_slug(session, scope, base)
    if explicit is not None:
        if await taken([explicit]):
            raise Conflict(f"The slug {explicit!r} is already taken.", field="slug")
        return explicit
    start = 1
    while True:
        batch = slugs.candidates(base, start=start)
        used = await taken(batch)
        free = next((c for c in batch if c not in used), None)
        if free is not None:
            return free
        start += len(batch)


# Topics


async def list_topics(
    session: AsyncSession, *, limit: int | None, cursor: str | None
) -> Page[Topic]:
    """Active topics by display order."""
    return await repository.page_active_topics(session, limit=limit, cursor=cursor)


async def _visible_topic(session: AsyncSession, ref: str, viewer: User | None) -> Topic:
    # Anything that is not a slug (NUL bytes included) never reaches the database.
    topic = await repository.get_topic_by_slug(session, ref) if slugs.is_slug(ref) else None
    if topic is None:
        topic_id = _as_uuid(ref)
        topic = await repository.get_topic(session, topic_id) if topic_id else None
    if topic is None or (not topic.is_active and not _is_admin(viewer)):
        raise NotFound("No such topic.")
    return topic


def _as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


async def get_topic(session: AsyncSession, ref: str, viewer: User | None) -> TopicWithCategories:
    """A topic by slug (or id) with its categories; inactive ones only for admins."""
    topic = await _visible_topic(session, ref, viewer)
    categories = await repository.categories_of(
        session, topic.id, include_inactive=_is_admin(viewer)
    )
    return TopicWithCategories(topic=topic, categories=categories)


async def create_topic(
    session: AsyncSession,
    *,
    name: str,
    slug: str | None = None,
    description: str | None = None,
    display_order: int = 0,
    icon_url: str | None = None,
    is_curated: bool = True,
) -> Topic:
    """Create a topic; the slug is derived from the name when not given."""

    async def taken(candidates: Sequence[str]) -> set[str]:
        return await repository.taken_topic_slugs(session, candidates)

    chosen = await _allocate_slug(
        session, "topics", name=name, explicit=slug, fallback="topic", taken=taken
    )
    topic = Topic(
        name=name,
        slug=chosen,
        description=description,
        display_order=display_order,
        icon_url=icon_url,
        is_curated=is_curated,
    )
    return await repository.add_topic(session, topic)


TOPIC_FIELDS = frozenset(
    {"name", "slug", "description", "display_order", "is_active", "icon_url", "is_curated"}
)


async def update_topic(
    session: AsyncSession, topic_id: uuid.UUID, changes: dict[str, object]
) -> Topic:
    """Change a topic; a new slug must be free. Renaming keeps the slug (links stay valid)."""
    topic = await repository.get_topic(session, topic_id)
    if topic is None:
        raise NotFound("No such topic.")
    new_slug = changes.get("slug")
    if isinstance(new_slug, str) and new_slug != topic.slug:
        await repository.lock_slug(session, "topics", new_slug)
        if await repository.taken_topic_slugs(session, [new_slug], excluding=topic.id):
            raise Conflict(f"The slug {new_slug!r} is already taken.", field="slug")
    for field, value in changes.items():
        if field in TOPIC_FIELDS:
            setattr(topic, field, value)
    await session.flush()
    await session.refresh(topic)
    return topic


# Categories


async def create_category(
    session: AsyncSession,
    topic_id: uuid.UUID,
    *,
    name: str,
    slug: str | None = None,
    description: str | None = None,
    display_order: int = 0,
) -> tuple[Topic, Category]:
    """Add a category to a topic; its slug is unique within that topic."""
    topic = await repository.get_topic(session, topic_id)
    if topic is None:
        raise NotFound("No such topic.")

    async def taken(candidates: Sequence[str]) -> set[str]:
        return await repository.taken_category_slugs(session, topic.id, candidates)

    chosen = await _allocate_slug(
        session,
        f"categories:{topic.id}",
        name=name,
        explicit=slug,
        fallback="category",
        taken=taken,
    )
    category = Category(
        topic_id=topic.id,
        name=name,
        slug=chosen,
        description=description,
        display_order=display_order,
    )
    return topic, await repository.add_category(session, category)


async def get_category(
    session: AsyncSession, topic_ref: str, category_slug: str, viewer: User | None
) -> Category:
    """One category of a visible topic; inactive ones only for admins."""
    topic = await _visible_topic(session, topic_ref, viewer)
    category = (
        await repository.get_category_by_slug(session, topic.id, category_slug)
        if slugs.is_slug(category_slug)
        else None
    )
    if category is None or (not category.is_active and not _is_admin(viewer)):
        raise NotFound("No such category.")
    return category


# Proposals


async def propose_topic(
    session: AsyncSession, user: User, *, name: str, description: str
) -> TopicProposal:
    """Record a user's topic proposal for moderators to review."""
    proposal = TopicProposal(user_id=user.id, name=name, description=description)
    return await repository.add_proposal(session, proposal)


async def list_proposals(
    session: AsyncSession, *, status: str | None, limit: int | None, cursor: str | None
) -> Page[TopicProposal]:
    """Proposals, newest first, optionally of one status."""
    return await repository.page_proposals(session, status=status, limit=limit, cursor=cursor)


async def get_proposal(
    session: AsyncSession, proposal_id: uuid.UUID, viewer: User
) -> TopicProposal:
    """A proposal, for its author or a moderator; others get NotFound (existence stays private)."""
    proposal = await repository.get_proposal(session, proposal_id)
    if proposal is None or (proposal.user_id != viewer.id and not _is_moderator(viewer)):
        raise NotFound("No such topic proposal.")
    return proposal


async def _pending_for_review(session: AsyncSession, proposal_id: uuid.UUID) -> TopicProposal:
    # The row lock makes a second, concurrent review wait and then see the decision.
    proposal = await repository.get_proposal(session, proposal_id, for_update=True)
    if proposal is None:
        raise NotFound("No such topic proposal.")
    if proposal.status != ProposalStatus.PENDING:
        raise Conflict(
            f"The proposal was already {proposal.status}.", current_status=proposal.status
        )
    return proposal


async def approve_proposal(
    session: AsyncSession, proposal_id: uuid.UUID, moderator: User, *, promote: bool
) -> TopicProposal:
    """Approve a pending proposal; with `promote`, also create a topic from it."""
    if not _is_moderator(moderator):
        raise Forbidden("This needs the moderator role.")
    proposal = await _pending_for_review(session, proposal_id)
    if promote:
        # A user's proposal, not an admin's curation: the design's is_curated = false.
        topic = await create_topic(
            session, name=proposal.name, description=proposal.description, is_curated=False
        )
        proposal.promoted_to_topic_id = topic.id
    proposal.status = ProposalStatus.APPROVED.value
    proposal.reviewed_by = moderator.id
    proposal.reviewed_at = datetime.now(UTC)
    await session.flush()
    await session.refresh(proposal)
    await _tell_proposer(session, proposal)
    return proposal


async def reject_proposal(
    session: AsyncSession, proposal_id: uuid.UUID, moderator: User, *, reason: str
) -> TopicProposal:
    """Reject a pending proposal with a reason the author can read."""
    if not _is_moderator(moderator):
        raise Forbidden("This needs the moderator role.")
    proposal = await _pending_for_review(session, proposal_id)
    proposal.status = ProposalStatus.REJECTED.value
    proposal.rejection_reason = reason
    proposal.reviewed_by = moderator.id
    proposal.reviewed_at = datetime.now(UTC)
    await session.flush()
    await session.refresh(proposal)
    await _tell_proposer(session, proposal)
    return proposal


async def _tell_proposer(session: AsyncSession, proposal: TopicProposal) -> None:
    data = {
        "proposal_id": str(proposal.id),
        "name": proposal.name,
        "status": proposal.status,
        "rejection_reason": proposal.rejection_reason,
        "promoted_to_topic_id": proposal.promoted_to_topic_id,
    }
    await notifications.tell(session, Event(PROPOSAL_DECIDED, data, [proposal.user_id]))
