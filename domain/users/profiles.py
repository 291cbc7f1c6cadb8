"""Public profiles: a contributor's account, counts, scenes and segments, as anyone sees them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from domain.pagination import Page
from domain.scenes.models import Scene, Segment
from domain.users import profile_repository as repository
from domain.users.models import User
from domain.users.profile_repository import ProfileCounts
from domain.users.service import get_public


@dataclass(frozen=True)
class Profile:
    user: User
    counts: ProfileCounts


async def get_profile(session: AsyncSession, username: str) -> Profile:
    """An active account with its public idea, scene and segment counts."""
    user = await get_public(session, username)
    return Profile(user, await repository.counts(session, user.id))


async def page_scenes(
    session: AsyncSession, username: str, *, limit: int | None, cursor: str | None
) -> Page[Scene]:
    """The scenes the contributor started that are listed publicly, newest first."""
    user = await get_public(session, username)
    return await repository.page_scenes(session, user.id, limit=limit, cursor=cursor)


async def page_segments(
    session: AsyncSession, username: str, *, limit: int | None, cursor: str | None
) -> Page[Segment]:
    """The contributor's active segments in listed scenes, newest first."""
    user = await get_public(session, username)
    return await repository.page_segments(session, user.id, limit=limit, cursor=cursor)
