"""What every stage needs: the job as loaded, its work directory, and the outside world."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from domain.jobs import run_repository
from domain.jobs.models import Job
from infra.db import Database
from infra.packaging import HlsPackager
from infra.prepared import Channel
from infra.providers.base import ScriptExpander, VideoRenderer
from infra.providers.moderation import ContentChecker
from infra.providers.openai_continuity import ContinuityReviewer
from infra.settings import Settings
from infra.storage import Storage
from schemas.script import Script


@dataclass
class Runtime:
    """Built once per worker process (on_startup) and shared by every job."""

    settings: Settings
    db: Database
    storage: Storage
    expander: ScriptExpander
    renderer: VideoRenderer
    checker: ContentChecker
    # Builds the continuity second opinion (None: the rules decide alone); each use closes it.
    reviewer: Callable[[], ContinuityReviewer | None] = lambda: None
    # One per worker: jobs whose packaging overlaps share an ffmpeg process.
    packager: HlsPackager = field(default_factory=HlsPackager)


@dataclass
class StageRun:
    """One job passing through the stages; `outputs` holds what finished stages recorded.

    `channel` is the connection that holds the job's lock: the run's statements go through it.
    """

    runtime: Runtime
    channel: Channel
    job: Job
    outputs: dict[str, Any]
    progress: Callable[[int, str], Awaitable[None]]

    @property
    def job_id(self) -> uuid.UUID:
        return self.job.id

    @property
    def bible(self) -> dict[str, Any]:
        return self.job.context_data.get("bible", {})

    @property
    def segment_number(self) -> int:
        return int(self.job.context_data.get("segment_count", 0)) + 1

    @cached_property
    def work_dir(self) -> Path:
        path = self.runtime.settings.work_dir / str(self.job.id)
        path.mkdir(parents=True, exist_ok=True)
        return path

    @cached_property
    def script(self) -> Script:
        """The expanded script, validated once per run (three stages read it)."""
        return Script.model_validate(self.outputs["script_expansion"]["script"])

    async def save_video_id(self, video_id: str) -> None:
        await run_repository.save_video_id(self.channel, self.job, video_id, "Rendering the video.")
        self.job.provider_video_id = video_id


def input_hash(*parts: Any) -> str:
    """A stable digest of everything a provider saw, so a segment can be reproduced."""
    payload = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def build_runtime(settings: Settings) -> Runtime:
    """The providers the settings select (OpenAI with a key, else built-in), each behind the
    provider ledger, and storage."""
    from domain.operations.metered import (
        Ledger,
        LedgeredChecker,
        LedgeredExpander,
        LedgeredRenderer,
        LedgeredReviewer,
    )
    from domain.operations.metered_speech import meter_speech
    from infra.providers import registry
    from infra.storage import storage_from_settings

    client = registry.openai_client(settings) if registry.uses_openai(settings) else None
    db = Database(settings)
    ledger = Ledger(db)  # every provider call goes through it, recorded in one place
    storage = storage_from_settings(settings)
    renderer = registry.video_renderer(settings, client=client)
    meter_speech(renderer, ledger, storage)

    def reviewer() -> ContinuityReviewer | None:
        # Its own client each time: the stage closes the reviewer when it is done with it.
        inner = registry.continuity_reviewer(settings)
        return LedgeredReviewer(inner, ledger) if inner is not None else None

    return Runtime(
        settings=settings,
        db=db,
        storage=storage,
        expander=LedgeredExpander(registry.script_expander(settings, client=client), ledger),
        renderer=LedgeredRenderer(renderer, ledger),
        checker=LedgeredChecker(registry.content_checker(settings, client=client), ledger),
        reviewer=reviewer,
        packager=HlsPackager(ffmpeg=settings.ffmpeg_binary),
    )
