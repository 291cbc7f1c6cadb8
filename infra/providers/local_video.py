"""The built-in video provider: a narrated, captioned segment composed on this machine.

Speech comes from Flite (infra/speech), pictures from Pillow and ffmpeg (infra/compose). A
render leaves `out.mp4`, `thumbnail.jpg`, `captions.vtt` and a `render.done.json` marker in its
directory; the marker is written last (atomically), so a renderer that finds it after a crash
returns the finished files instead of encoding them again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from infra.compose.assets import ReferenceAssets
from infra.compose.look import Palette, palette_for, scene_context
from infra.compose.render import ComposeOptions, compose
from infra.media import MediaError, ProgressCallback, notify_progress
from infra.providers.base import ProviderError, RenderedVideo, UnknownVideo
from infra.settings import Settings
from infra.speech.engines import FliteEngine, SpeechEngine, SpeechError
from schemas.script import Script

__all__ = ["MODEL", "PROVIDER", "LocalVideoRenderer", "Palette", "palette_for", "scene_context"]

PROVIDER = "local"
MODEL = "flite-composed-v1"
MP4_NAME = "out.mp4"
THUMBNAIL_NAME = "thumbnail.jpg"
CAPTIONS_NAME = "captions.vtt"
_MANIFEST = "render.json"
_DONE = "render.done.json"


def _write_json(path: Path, data: dict[str, Any]) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(json.dumps(data, sort_keys=True))
    os.replace(temp, path)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class LocalVideoRenderer:
    """Renders a script to a narrated MP4 on this machine; the work happens in `wait()`."""

    provider = PROVIDER
    model = MODEL

    def __init__(
        self,
        *,
        width: int = 1280,
        height: int = 720,
        fps: int = 24,
        keyframe_seconds: int = 2,
        preset: str = "ultrafast",
        burn_in_captions: bool = False,
        score_volume: float = 0.5,
        assets: ReferenceAssets | None = None,
        engine: SpeechEngine | None = None,
        ffmpeg: str = "",
    ) -> None:
        self.options = ComposeOptions(
            width=width,
            height=height,
            fps=fps,
            keyframe_seconds=keyframe_seconds,
            preset=preset,
            burn_in_captions=burn_in_captions,
            score_volume=score_volume,
            ffmpeg=ffmpeg,
        )
        self.width, self.height, self.fps = width, height, fps
        self.assets = assets or ReferenceAssets()
        self._engine = engine
        self._jobs: dict[str, Path] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalVideoRenderer:
        return cls(
            width=settings.video_width,
            height=settings.video_height,
            fps=settings.video_fps,
            preset=settings.video_x264_preset,
            burn_in_captions=settings.burn_in_captions,
            score_volume=settings.score_volume,
            assets=ReferenceAssets.from_settings(settings),
            ffmpeg=settings.ffmpeg_binary,
        )

    @property
    def engine(self) -> SpeechEngine:
        if self._engine is None:
            try:
                self._engine = FliteEngine()
            except SpeechError as exc:
                raise ProviderError(str(exc), code="speech_unavailable") from exc
        return self._engine

    def video_id_for(
        self,
        script: Script,
        style: Mapping[str, Any],
        out_dir: Path,
        bible: Mapping[str, Any] | None = None,
    ) -> str:
        """Same script, scene, style, format and directory -> same id; two jobs never share one."""
        payload = json.dumps(
            [
                script.model_dump(mode="json"),
                dict(style),
                scene_context(bible),
                [self.width, self.height, self.fps, self.options.burn_in_captions],
                str(out_dir.resolve()),
            ],
            sort_keys=True,
            default=str,
        )
        return "local-" + hashlib.sha256(payload.encode()).hexdigest()[:24]

    async def submit(
        self,
        script: Script,
        style: Mapping[str, Any],
        out_dir: Path,
        *,
        resume_id: str | None = None,
        bible: Mapping[str, Any] | None = None,
    ) -> str:
        video_id = resume_id or self.video_id_for(script, style, out_dir, bible)
        await asyncio.to_thread(out_dir.mkdir, parents=True, exist_ok=True)
        if self._finished(out_dir, video_id) is None:
            _write_json(
                out_dir / _MANIFEST,
                {
                    "video_id": video_id,
                    "script": script.model_dump(mode="json"),
                    "style": dict(style),
                    "scene": scene_context(bible),
                },
            )
        self._jobs[video_id] = out_dir
        return video_id

    async def wait(
        self, video_id: str, *, on_progress: ProgressCallback | None = None
    ) -> RenderedVideo:
        out_dir = self._jobs.get(video_id)
        if out_dir is None:
            raise UnknownVideo(video_id)
        finished = self._finished(out_dir, video_id)
        if finished is None:
            finished = await self._render(out_dir, video_id, on_progress)
        elif on_progress is not None:
            await notify_progress(on_progress, 1.0)
        return finished

    def _rendered(self, out_dir: Path, duration: float, width: int, height: int) -> RenderedVideo:
        return RenderedVideo(
            mp4=out_dir / MP4_NAME,
            thumbnail=out_dir / THUMBNAIL_NAME,
            duration=duration,
            width=width,
            height=height,
            provider=PROVIDER,
            model=MODEL,
            captions=out_dir / CAPTIONS_NAME,
        )

    def _finished(self, out_dir: Path, video_id: str) -> RenderedVideo | None:
        done = _read_json(out_dir / _DONE)
        if not done or done.get("video_id") != video_id:
            return None
        names = (MP4_NAME, THUMBNAIL_NAME, CAPTIONS_NAME)
        if not all((out_dir / name).is_file() for name in names):
            return None
        return self._rendered(
            out_dir, float(done["duration"]), int(done["width"]), int(done["height"])
        )

    async def _render(
        self, out_dir: Path, video_id: str, on_progress: ProgressCallback | None
    ) -> RenderedVideo:
        manifest = _read_json(out_dir / _MANIFEST)
        if not manifest or manifest.get("video_id") != video_id:
            raise UnknownVideo(video_id)
        script = Script.model_validate(manifest["script"])
        (out_dir / _DONE).unlink(missing_ok=True)
        partials = tuple(out_dir / f".partial.{name}" for name in (MP4_NAME, THUMBNAIL_NAME))
        partial_vtt = out_dir / f".partial.{CAPTIONS_NAME}"
        try:
            result = await compose(
                script,
                manifest.get("scene") or {},
                manifest.get("style") or {},
                self.engine,
                self.assets,
                self.options,
                out_dir / "parts",
                (partials[0], partials[1], partial_vtt),
                on_progress,
            )
        except BaseException as exc:
            for leftover in (*partials, partial_vtt):
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()
            if isinstance(exc, MediaError | SpeechError):
                raise ProviderError(f"local render failed: {exc}", code="render_failed") from exc
            raise
        os.replace(partials[0], out_dir / MP4_NAME)
        os.replace(partials[1], out_dir / THUMBNAIL_NAME)
        os.replace(partial_vtt, out_dir / CAPTIONS_NAME)
        _write_json(
            out_dir / _DONE,
            {
                "video_id": video_id,
                "duration": result.duration,
                "width": self.width,
                "height": self.height,
            },
        )
        # The spoken lines were kept only for a render that had to start over.
        await asyncio.to_thread(shutil.rmtree, out_dir / "parts", True)
        return self._rendered(out_dir, result.duration, self.width, self.height)
