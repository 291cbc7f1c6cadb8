"""Which stored media the public may fetch: the files of live segments of visible scenes only."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import NotFound
from domain.media import repository as media_repository
from domain.media.store import OBJECT_PREFIX
from infra.storage import InvalidStorageKey, LocalStorage, Storage, content_type_for

# Segment media is written under scenes/<scene id>/segments/<job id>/ (worker/pipeline/runtime.py).
_SEGMENT_MEDIA = re.compile(
    r"^scenes/(?P<scene>[0-9a-f-]{36})/segments/(?P<job>[0-9a-f-]{36})/[^/]+$"
)


def segment_media_owner(key: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    """The (scene id, job id) a media key belongs to, or None for any other key."""
    match = _SEGMENT_MEDIA.match(key)
    if match is None:
        return None
    try:
        return uuid.UUID(match["scene"]), uuid.UUID(match["job"])
    except ValueError:
        return None


async def is_public_media(session: AsyncSession, key: str) -> bool:
    """Whether `key` is a file of an active segment of a listed scene (not hidden nor deleted).

    Everything else in the media directory (archives, work in progress, content taken down) is
    not public, whoever asks. A content-addressed object is public while a live segment uses it.
    """
    if key.startswith(OBJECT_PREFIX):
        return await media_repository.is_public_object(session, key)
    owner = segment_media_owner(key)
    if owner is None:
        return False
    scene_id, job_id = owner
    return await media_repository.is_public_segment_file(session, scene_id, job_id)


@dataclass(frozen=True)
class LocalMedia:
    path: Path
    content_type: str


async def local_public_media(session: AsyncSession, storage: Storage, key: str) -> LocalMedia:
    """The file of a public media key in the local media directory; NotFound for anything else.

    Keys can never reach outside the media directory; with object storage, players fetch from
    the bucket and nothing is served here.
    """
    if not isinstance(storage, LocalStorage):
        raise NotFound("Media is served from object storage.")
    try:
        path = storage.path(key)
    except InvalidStorageKey as exc:
        raise NotFound("No such media.") from exc
    if not await is_public_media(session, key):
        raise NotFound("No such media.")  # taken down, not yet published, or not content at all
    if not path.is_file():
        raise NotFound("No such media.")
    return LocalMedia(path, content_type_for(key))
