"""A scene's bible: versions that are never rewritten, edited under optimistic locking.

`scenes.bible_version` is the head. An edit names the version it was based on (If-Match);
the head moves only by a conditional UPDATE in the same transaction as the INSERT of the new
version, so under any race exactly one writer wins each version.
"""

from __future__ import annotations

import copy
import re
import uuid
from typing import Any

import jsonpatch
from sqlalchemy.ext.asyncio import AsyncSession

from domain.bible.defaults import with_defaults
from domain.bible.validation import Violation, to_pointer, validate_bible
from domain.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
)
from domain.pagination import Page
from domain.scenes import repository
from domain.scenes.access import HIDDEN_STATUSES, get_visible_scene, is_moderator
from domain.scenes.models import Scene, SceneBible, SceneStatus
from domain.users.models import User

_ENTITY_TAG = re.compile(r'^(?:W/)?"?(\d{1,9})"?$')


def etag(version: int) -> str:
    return f'"{version}"'


def _bad_text(value: str) -> str | None:
    # PostgreSQL's jsonb holds any text but \u0000 (and lone surrogates, which are no UTF-8):
    # everything else, control characters included, is kept as the design's schema allows.
    if "\x00" in value:
        return "NUL characters (\\u0000) cannot be stored"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode text"
    return None


def _text_violations(value: Any, path: list[Any]) -> list[Violation]:
    found: list[Violation] = []
    if isinstance(value, str):
        problem = _bad_text(value)
        if problem:
            found.append(Violation(to_pointer(path), problem, "text:invalid"))
    elif isinstance(value, dict):
        for key, item in value.items():
            problem = _bad_text(key)
            if problem:
                found.append(Violation(to_pointer([*path, key]), f"key: {problem}", "text:invalid"))
            found.extend(_text_violations(item, [*path, key]))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_text_violations(item, [*path, index]))
    return found


def check_bible(
    data: dict[str, Any],
    *,
    segment_count: int,
    previous: dict[str, Any] | None,
    version: int,
    pointer_prefix: str,
) -> dict[str, Any]:
    """The canon to store as `version`, or InvalidInput listing every violation.

    The server owns the `version` field inside the canon, so it always names its own row;
    the defaults (`domain/bible/defaults.py`) are filled in. Nothing else the caller sent is
    changed: unknown fields and the form of `consequences` are kept.
    """
    violations = _text_violations(data, [])
    if not violations:
        # Validated as sent: a `version` that is not an integer is refused, as the design does.
        violations = validate_bible(data, segment_count=segment_count, previous=previous)
    if violations:
        raise InvalidInput(
            "The bible breaks the schema or the continuity rules.",
            [{**v.as_dict(), "pointer": pointer_prefix + v.pointer} for v in violations],
        )
    return with_defaults({**copy.deepcopy(data), "version": version})


def parse_if_match(header: str | None) -> list[int]:
    """The versions an If-Match names: `"3"`, `W/"3"` and bare `3`, comma-separated."""
    if header is None or not header.strip():
        raise PreconditionRequired("Send If-Match with the bible version your change is based on.")
    if header.strip() == "*":
        raise PreconditionRequired("If-Match must name a bible version, not `*`.")
    versions = []
    for token in header.split(","):
        match = _ENTITY_TAG.match(token.strip())
        if match:
            versions.append(int(match.group(1)))
    return versions


async def _stale(session: AsyncSession, scene_id: uuid.UUID, named: list[int]) -> Exception:
    """412 naming the head, with the JSON Patch from the caller's base to it when known."""
    current = await repository.head_version(session, scene_id) or 1
    bases = [v for v in named if 1 <= v < current]
    patch: list[dict[str, Any]] | None = None
    base = max(bases) if bases else None
    if base is not None:
        rows = await repository.get_bible_versions(session, scene_id, [base, current])
        if base in rows and current in rows:
            patch = jsonpatch.make_patch(rows[base].data, rows[current].data).patch
    error = PreconditionFailed(
        f"The bible is at version {current}; rebase your change and retry.",
        current_version=current,
        base_version=base,
        patch=patch,
    )
    error.headers = {"ETag": etag(current)}
    return error


async def _editable_scene(session: AsyncSession, scene_id: uuid.UUID, user: User) -> Scene:
    scene = await repository.get_scene(session, scene_id)
    moderator = is_moderator(user)
    if (
        scene is None
        or scene.status == SceneStatus.REMOVED.value
        or scene.deleted_at is not None
        or (scene.status in HIDDEN_STATUSES and not moderator)
    ):
        raise NotFound("No such scene.")
    if scene.user_id != user.id and not moderator:
        raise Forbidden("Only the scene's owner or a moderator can edit its bible.")
    if scene.status in (SceneStatus.LOCKED, SceneStatus.ARCHIVED) and not moderator:
        raise Conflict(f"The scene is {scene.status}.")
    return scene


async def update_bible(
    session: AsyncSession,
    scene_id: uuid.UUID,
    user: User,
    *,
    if_match: str | None,
    data: dict[str, Any],
    change_note: str | None,
) -> SceneBible:
    """Store `data` as the next version if the caller's base is still the head."""
    scene = await _editable_scene(session, scene_id, user)
    named = parse_if_match(if_match)
    head = scene.bible_version
    if head not in named:
        raise await _stale(session, scene_id, named)
    base = await repository.get_bible_version(session, scene_id, head)
    stamped = check_bible(
        data,
        segment_count=scene.segment_count,
        previous=base.data if base is not None else None,
        version=head + 1,
        pointer_prefix="/data",
    )
    if not await repository.advance_head(session, scene_id, head, head + 1):
        raise await _stale(session, scene_id, named)
    return await repository.add_bible_version(
        session,
        SceneBible(
            scene_id=scene_id,
            version=head + 1,
            data=stamped,
            created_by=user.id,
            change_note=change_note,
        ),
    )


async def get_version(
    session: AsyncSession, scene_id: uuid.UUID, viewer: User | None, version: int | None = None
) -> SceneBible:
    """One version of the scene's bible; the head when `version` is None."""
    scene = await get_visible_scene(session, scene_id, viewer)
    row = await repository.get_bible_version(session, scene_id, version or scene.bible_version)
    if row is None:
        raise NotFound(f"The scene has no bible version {version}.")
    return row


async def page_versions(
    session: AsyncSession,
    scene_id: uuid.UUID,
    viewer: User | None,
    *,
    limit: int | None,
    cursor: str | None,
) -> Page[SceneBible]:
    """The history, oldest first, without the data."""
    await get_visible_scene(session, scene_id, viewer)
    return await repository.page_bible_versions(session, scene_id, limit=limit, cursor=cursor)


async def diff(
    session: AsyncSession, scene_id: uuid.UUID, viewer: User | None, start: int, end: int
) -> list[dict[str, Any]]:
    """The RFC 6902 patch that turns version `start` into version `end`."""
    await get_visible_scene(session, scene_id, viewer)
    rows = await repository.get_bible_versions(session, scene_id, [start, end])
    missing = [v for v in (start, end) if v not in rows]
    if missing:
        raise NotFound(f"The scene has no bible version {missing[0]}.")
    return jsonpatch.make_patch(rows[start].data, rows[end].data).patch
