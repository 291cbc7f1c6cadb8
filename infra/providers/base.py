"""The two provider seams of the pipeline: text -> script, and script -> video.

Built-in providers (local_script, local_video) and remote ones (OpenAI) implement these; the
pipeline stages only ever see the protocols and the dataclasses below.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from infra.media import ProgressCallback
from schemas.script import Script

__all__ = [
    "ExpandedScript",
    "ExpansionContext",
    "ProgressCallback",
    "ProviderError",
    "RenderedVideo",
    "ScriptExpander",
    "UnknownVideo",
    "VideoRenderer",
]


class ProviderError(Exception):
    """A provider failed; `code` lands in the job's error_code, `retryable` drives the retry."""

    def __init__(self, message: str, *, code: str = "provider_error", retryable: bool = False):
        super().__init__(message)
        self.code = code
        self.retryable = retryable


class UnknownVideo(ProviderError):
    """`wait()` was given an id this provider never accepted (or has forgotten)."""

    def __init__(self, video_id: str) -> None:
        super().__init__(f"unknown video id {video_id!r}", code="unknown_video", retryable=False)


@dataclass(frozen=True)
class ExpansionContext:
    """What a provider may know besides the text; `recent_scripts` are oldest first."""

    bible: Mapping[str, Any]
    summary: str | None = None
    recent_scripts: list[dict[str, Any]] = field(default_factory=list)
    segment_number: int = 1
    target_duration: float | None = None


@dataclass(frozen=True)
class ExpandedScript:
    script: Script
    provider: str
    model: str
    prompt_version: str
    # The provider's id of the answer (a completion id), for the ledger; not part of the script.
    request_id: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class RenderedVideo:
    mp4: Path
    thumbnail: Path
    duration: float
    width: int
    height: int
    provider: str
    model: str
    # WebVTT cues of the spoken lines (speaker as the cue's voice), timed to the speech;
    # None when the provider makes no captions.
    captions: Path | None = None


@runtime_checkable
class ScriptExpander(Protocol):
    async def expand(self, text: str, context: ExpansionContext) -> ExpandedScript:
        """Turn a contributor's continuation into a structured script and bible delta."""
        ...


@runtime_checkable
class VideoRenderer(Protocol):
    """Two steps so the provider's id can be stored on the job before any waiting.

    After a crash the stage calls `submit` again with `resume_id=` the stored id: the provider
    must then reuse that id and must not start (or pay for) the work a second time.
    """

    async def submit(
        self,
        script: Script,
        style: Mapping[str, Any],
        out_dir: Path,
        *,
        resume_id: str | None = None,
        bible: Mapping[str, Any] | None = None,
    ) -> str:
        """Start (or re-attach to) a render into `out_dir`; return the provider's video id.

        `style` is the bible's styleGuide; `bible` the whole bible, for the characters
        (voices, portraits) and the setting a narrated render needs.
        """
        ...

    async def wait(
        self, video_id: str, *, on_progress: ProgressCallback | None = None
    ) -> RenderedVideo:
        """Block until the video is ready, reporting 0..1 progress; return the files."""
        ...
