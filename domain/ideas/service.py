"""Ideas: who may see and change them, and the automatic content check on their text."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from domain.ideas import repository
from domain.ideas.models import ContentStatus, Idea, ReviewStatus
from domain.ideas.repository import IdeaFilter, IdeaSort
from domain.moderation.automatic import file_automatic_flag
from domain.moderation.models import TargetType
from domain.pagination import Page
from domain.users.models import Role, User
from infra.db import Database
from infra.logging import get_logger
from infra.providers.moderation import ContentChecker, ContentVerdict
from schemas.ideas import normalize_tag

log = get_logger("domain.ideas")
TEXT_FIELDS = ("title", "prompt", "tags")
EDITABLE_FIELDS = frozenset({"title", "prompt", "tags", "category_id"})


def is_moderator(user: User | None) -> bool:
    return user is not None and Role(user.role).rank >= Role.MODERATOR.rank


def is_public(idea: Idea) -> bool:
    return idea.status == ContentStatus.ACTIVE and idea.review_status == ReviewStatus.APPROVED


def can_see(idea: Idea, viewer: User | None) -> bool:
    """Public ideas for all; own ideas unless removed; everything for moderators."""
    if is_public(idea) or is_moderator(viewer):
        return True
    return viewer is not None and idea.user_id == viewer.id and idea.status != ContentStatus.REMOVED


def can_like(idea: Idea, user: User) -> bool:
    """Likes count only on live ideas: public ones, or the caller's own awaiting review."""
    if idea.status != ContentStatus.ACTIVE:
        return False
    return idea.review_status == ReviewStatus.APPROVED or idea.user_id == user.id


async def _check_text(
    checker: ContentChecker, title: str, prompt: str, tags: Sequence[str]
) -> ContentVerdict:
    verdict = await checker.check("\n".join([title, prompt, *tags]))
    if not verdict.passed:
        log.info("idea_held_for_review", severity=verdict.severity, categories=verdict.categories)
    return verdict


def _review_status(verdict: ContentVerdict) -> ReviewStatus:
    return ReviewStatus.APPROVED if verdict.passed else ReviewStatus.PENDING


async def _check_placement(
    session: AsyncSession, topic_id: uuid.UUID, category_id: uuid.UUID | None
) -> None:
    topic = await repository.get_topic(session, topic_id)
    if topic is None or not topic.is_active:
        raise InvalidInput(
            "The topic does not exist or is closed.",
            [{"pointer": "/topic_id", "message": "no active topic with this id"}],
        )
    if category_id is not None:
        await _require_category(session, topic_id, category_id)


async def _require_category(
    session: AsyncSession, topic_id: uuid.UUID, category_id: uuid.UUID
) -> None:
    category = await repository.get_category(session, category_id)
    if category is None or category.topic_id != topic_id or not category.is_active:
        raise InvalidInput(
            "The category does not belong to the idea's topic.",
            [
                {
                    "pointer": "/category_id",
                    "message": "no active category with this id in the topic",
                }
            ],
        )


async def create_idea(
    session: AsyncSession,
    checker: ContentChecker,
    author: User,
    *,
    topic_id: uuid.UUID,
    category_id: uuid.UUID | None,
    title: str,
    prompt: str,
    tags: list[str],
) -> Idea:
    """Post an idea; public at once when its text passes the content check, else flagged."""
    await _check_placement(session, topic_id, category_id)
    verdict = await _check_text(checker, title, prompt, tags)
    idea = Idea(
        user_id=author.id,
        topic_id=topic_id,
        category_id=category_id,
        title=title,
        prompt=prompt,
        tags=tags,
        status=ContentStatus.ACTIVE.value,
        review_status=_review_status(verdict).value,
    )
    idea = await repository.add(session, idea)
    await file_automatic_flag(session, TargetType.IDEA, idea.id, verdict)
    return idea


async def get_idea(session: AsyncSession, idea_id: uuid.UUID, viewer: User | None) -> Idea:
    idea = await repository.get(session, idea_id)
    if idea is None or not can_see(idea, viewer):
        raise NotFound("No such idea.")
    return idea


def split_ref(value: str | None) -> tuple[uuid.UUID | None, str | None]:
    """A filter value is an id when it parses as a UUID, else a slug."""
    if value is None:
        return None, None
    try:
        return uuid.UUID(value), None
    except ValueError:
        return None, value.strip().lower()


def list_filter(topic: str | None, category: str | None, tag: str | None) -> IdeaFilter:
    """A list's filters: topic and category by id or slug, the tag in stored form."""
    stored_tag = None
    if tag is not None:
        stored_tag = normalize_tag(tag)
        if stored_tag is None:
            raise InvalidInput(
                "The tag filter is not a valid tag.",
                [{"pointer": "/query/tag", "message": "not a valid tag"}],
            )
    topic_id, topic_slug = split_ref(topic)
    category_id, category_slug = split_ref(category)
    return IdeaFilter(topic_id, topic_slug, category_id, category_slug, stored_tag)


async def list_ideas(
    session: AsyncSession,
    viewer: User | None,
    *,
    topic: str | None,
    category: str | None,
    tag: str | None,
    sort: IdeaSort,
    limit: int | None,
    cursor: str | None,
) -> Page[Idea]:
    """Visible ideas, newest or most liked first; topic and category by id or slug."""
    return await repository.page(
        session,
        viewer_id=viewer.id if viewer else None,
        where=list_filter(topic, category, tag),
        sort=sort,
        limit=limit,
        cursor=cursor,
    )


async def list_idea_rows(
    db: Database,
    viewer: User | None,
    *,
    where: IdeaFilter,
    sort: IdeaSort,
    limit: int | None,
    cursor: str | None,
    after: int | None,
) -> Page[Any]:
    """Like list_ideas, as rows of IdeaOut's columns, read where `Database.reading(after)`
    would read (no session: the list is read by everyone, all the time)."""
    return await repository.page_rows(
        db,
        viewer_id=viewer.id if viewer else None,
        where=where,
        sort=sort,
        limit=limit,
        cursor=cursor,
        after_lsn=after,
    )


async def _owned_for_update(session: AsyncSession, idea_id: uuid.UUID, user: User) -> Idea:
    idea = await repository.get_for_update(session, idea_id)
    if idea is None or not can_see(idea, user):
        raise NotFound("No such idea.")
    if idea.user_id != user.id:
        raise Forbidden("Only the author can change this idea.")
    return idea


async def update_idea(
    session: AsyncSession,
    checker: ContentChecker,
    user: User,
    idea_id: uuid.UUID,
    changes: dict[str, Any],
) -> Idea:
    """Edit the author's idea; changed text is checked again and may go back to review."""
    idea = await _owned_for_update(session, idea_id, user)
    changes = {k: v for k, v in changes.items() if k in EDITABLE_FIELDS}
    new_category = changes.get("category_id")
    if new_category is not None and new_category != idea.category_id:
        await _require_category(session, idea.topic_id, new_category)
    text_changed = any(
        field in changes and changes[field] != getattr(idea, field) for field in TEXT_FIELDS
    )
    for field, value in changes.items():
        setattr(idea, field, value)
    # A moderator's rejection stands; otherwise the new text decides, as it did at creation.
    if text_changed and idea.review_status != ReviewStatus.REJECTED:
        verdict = await _check_text(checker, idea.title, idea.prompt, idea.tags)
        idea.review_status = _review_status(verdict).value
        await file_automatic_flag(session, TargetType.IDEA, idea.id, verdict)
    return await repository.save(session, idea)


async def remove_idea(session: AsyncSession, user: User, idea_id: uuid.UUID) -> None:
    """Soft-delete an idea (its author, or a moderator, as for scenes): it disappears everywhere
    but the row stays, restorable by a moderator within the retention window."""
    idea = await repository.get_for_update(session, idea_id)
    # Deleted already, or removed by a moderation decision (reversed there, not here): gone.
    if idea is None or idea.status == ContentStatus.REMOVED or not can_see(idea, user):
        raise NotFound("No such idea.")
    if idea.user_id != user.id and not is_moderator(user):
        raise Forbidden("Only the idea's author or a moderator can delete it.")
    idea.status = ContentStatus.REMOVED.value
    idea.deleted_at = datetime.now(UTC)
    await session.flush()


async def restore_idea(
    session: AsyncSession, user: User, idea_id: uuid.UUID, *, retention_days: int
) -> Idea:
    """A moderator brings back an idea its author deleted, within the retention window."""
    if not is_moderator(user):
        raise Forbidden("This needs the moderator role.")
    idea = await repository.get_for_update(session, idea_id)
    if idea is None:
        raise NotFound("No such idea.")
    if idea.status != ContentStatus.REMOVED or idea.deleted_at is None:
        # Removed by a moderation decision (no deleted_at): that decision is reversed there.
        raise Conflict("The idea was not deleted by its author.")
    if idea.deleted_at < datetime.now(UTC) - timedelta(days=retention_days):
        raise Conflict(f"The idea was deleted more than {retention_days} days ago.")
    idea.status = ContentStatus.ACTIVE.value
    idea.deleted_at = None
    return await repository.save(session, idea)
