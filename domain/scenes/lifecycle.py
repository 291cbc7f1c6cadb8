"""A scene's life after creation: edit, lock, archive, delete, restore; a segment withdrawn."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonpatch
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from domain.moderation.automatic import file_automatic_flag
from domain.moderation.models import TargetType
from domain.scenes import lifecycle_repository as repository
from domain.scenes import repository as scenes
from domain.scenes.access import HIDDEN_STATUSES, is_moderator
from domain.scenes.bible_service import check_bible
from domain.scenes.models import OWNER_STATUSES, Scene, SceneBible, SceneStatus, SegmentStatus
from domain.users.models import User
from infra.providers.moderation import ContentChecker

CLOSED = (SceneStatus.LOCKED.value, SceneStatus.ARCHIVED.value)


async def _owned(session: AsyncSession, scene_id: uuid.UUID, user: User) -> Scene:
    """The scene locked for change, for its owner or a moderator; deleted scenes are gone."""
    scene = await repository.lock_scene(session, scene_id)
    moderator = is_moderator(user)
    if scene is None or scene.deleted_at is not None:
        raise NotFound("No such scene.")
    if scene.status in HIDDEN_STATUSES and not moderator:
        raise NotFound("No such scene.")
    if scene.user_id != user.id and not moderator:
        raise Forbidden("Only the scene's owner or a moderator can change it.")
    return scene


async def update_scene(
    session: AsyncSession,
    user: User,
    scene_id: uuid.UUID,
    changes: dict[str, Any],
    checker: ContentChecker | None = None,
) -> Scene:
    """Edit title, description, status and cover; returns the scene as stored."""
    scene = await _owned(session, scene_id, user)
    if "status" in changes and changes["status"] != scene.status:
        _change_status(scene, changes["status"])
    # Also on a scene already closed: the owner who let its jobs finish may change their mind.
    if scene.status in CLOSED and changes.get("cancel_in_flight"):
        await repository.cancel_open_jobs(
            session, scene.id, f"Cancelled: the scene was {scene.status}."
        )
    if "cover_segment_id" in changes:
        segment_id = changes["cover_segment_id"]
        key = None
        if segment_id is not None:
            key = await repository.active_thumbnail(session, scene.id, segment_id)
            if key is None:
                raise InvalidInput(
                    "The cover must be an active segment of this scene with a thumbnail.",
                    [{"pointer": "/cover_segment_id", "message": "no such segment here"}],
                )
        scene.thumbnail_url = key
    text = {k: changes[k] for k in ("title", "description") if k in changes}
    if any(getattr(scene, k) != v for k, v in text.items()):
        for field, value in text.items():
            setattr(scene, field, value)
        if checker is not None:
            verdict = await checker.check(f"{scene.title}\n{scene.description}")
            if verdict is not None:
                await file_automatic_flag(session, TargetType.SCENE, scene.id, verdict)
    await session.flush()
    await session.refresh(scene)
    return scene


def _change_status(scene: Scene, status: str) -> None:
    if status not in OWNER_STATUSES:  # the wire model allows only these; a guard for callers
        raise InvalidInput("No such status.", [{"pointer": "/status", "message": status}])
    if scene.status in HIDDEN_STATUSES:
        raise Conflict(
            f"The scene is {scene.status} by moderation; a moderation decision changes that."
        )
    scene.status = status
    # Jobs submitted before this moment may still finish (finalization reads locked_at).
    scene.locked_at = datetime.now(UTC) if status in CLOSED else None


async def delete_scene(session: AsyncSession, user: User, scene_id: uuid.UUID) -> None:
    """Soft delete: gone from every public read at once; its jobs in flight are cancelled."""
    scene = await _owned(session, scene_id, user)
    scene.deleted_at = datetime.now(UTC)
    await repository.cancel_open_jobs(session, scene.id, "Cancelled: the scene was deleted.")
    await repository.count_scene_on_parents(session, scene.idea_id, scene.topic_id, -1)
    await session.flush()


async def restore_scene(
    session: AsyncSession, user: User, scene_id: uuid.UUID, *, retention_days: int
) -> Scene:
    """A moderator brings a deleted scene back within the retention window."""
    if not is_moderator(user):
        raise Forbidden("This needs the moderator role.")
    scene = await repository.lock_scene(session, scene_id)
    if scene is None:
        raise NotFound("No such scene.")
    if scene.deleted_at is None:
        raise Conflict("The scene is not deleted.")
    if scene.deleted_at < datetime.now(UTC) - timedelta(days=retention_days):
        raise Conflict(f"The scene was deleted more than {retention_days} days ago.")
    scene.deleted_at = None
    await repository.count_scene_on_parents(session, scene.idea_id, scene.topic_id, 1)
    await session.flush()
    await session.refresh(scene)
    return scene


async def withdraw_segment(session: AsyncSession, user: User, segment_id: uuid.UUID) -> None:
    """The contributor takes back the scene's last segment.

    The segment row is deleted (its sequence is free again), the counters go back, and the
    bible's head becomes a new version that undoes what the segment changed.
    """
    found = await repository.get_segment(session, segment_id)
    if found is None or found.status != SegmentStatus.ACTIVE.value:
        raise NotFound("No such segment.")
    scene = await repository.lock_scene(session, found.scene_id)
    hidden = scene is None or scene.deleted_at is not None or scene.status in HIDDEN_STATUSES
    if hidden and not is_moderator(user):
        raise NotFound("No such segment.")
    if found.user_id != user.id:
        raise Forbidden("Only the segment's contributor can withdraw it.")
    assert scene is not None
    # Read again under the scene's lock: a continuation may have been added meanwhile.
    segment = await repository.get_segment(session, segment_id)
    if segment is None or segment.sequence != scene.segment_count:
        raise Conflict("Only the scene's last segment can be withdrawn.")
    if scene.status in CLOSED or hidden:
        raise Conflict(f"The scene is {'deleted' if scene.deleted_at else scene.status}.")
    if await repository.count_open_jobs(session, scene.id):
        raise Conflict("Continuations of this scene are under way; withdraw when they end.")
    head = await _bible_without(session, scene, segment.bible_version)
    await repository.delete_segment(session, segment)
    await repository.recount_after_withdrawal(session, scene, segment.duration)
    if scene.thumbnail_url is not None and scene.thumbnail_url == segment.thumbnail_key:
        scene.thumbnail_url = None
    if head is not None:
        version = scene.bible_version + 1
        try:
            data = check_bible(
                head,
                segment_count=scene.segment_count - 1,
                previous=None,
                version=version,
                pointer_prefix="/bible",
            )
        except InvalidInput as exc:
            raise Conflict(
                "Undoing the segment's changes leaves a bible that breaks the rules; "
                "edit the bible first.",
                errors=exc.extra.get("errors", []),
            ) from None
        await scenes.add_bible_version(
            session,
            SceneBible(
                scene_id=scene.id,
                version=version,
                data=data,
                created_by=user.id,
                change_note=f"Segment {segment.sequence} withdrawn: its changes undone.",
            ),
        )
        if not await scenes.advance_head(session, scene.id, scene.bible_version, version):
            raise Conflict("The scene's bible changed meanwhile; try again.")
    await session.flush()


async def _bible_without(
    session: AsyncSession, scene: Scene, produced: int | None
) -> dict[str, Any] | None:
    """The head with the changes of version `produced` (the segment's) undone; None if none."""
    if produced is None or produced < 2:
        return None
    rows = await scenes.get_bible_versions(
        session, scene.id, [produced - 1, produced, scene.bible_version]
    )
    if produced - 1 not in rows or produced not in rows:
        return None
    undo = jsonpatch.make_patch(rows[produced].data, rows[produced - 1].data)
    try:
        return undo.apply(rows[scene.bible_version].data)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException):
        raise Conflict(
            "The bible was edited after this segment in a way its undoing collides with; "
            "edit the bible first."
        ) from None
