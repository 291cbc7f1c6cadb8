"""The built-in video provider: each shot becomes a colour card drawn and encoded by ffmpeg.

A render leaves `out.mp4`, `thumbnail.jpg` and a `render.done.json` marker in its directory;
the marker is written last (atomically), so a renderer that finds it after a crash returns the
finished files instead of encoding them again.
"""

from __future__ import annotations

import asyncio
import colorsys
import contextlib
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.media import (
    Caption,
    Card,
    CardStyle,
    MediaError,
    ProgressCallback,
    notify_progress,
    render_cards,
)
from infra.providers.base import ProviderError, RenderedVideo, UnknownVideo
from schemas.script import Script, Shot

PROVIDER = "local"
MODEL = "ffmpeg-cards-v1"
MP4_NAME = "out.mp4"
THUMBNAIL_NAME = "thumbnail.jpg"
_MANIFEST = "render.json"
_DONE = "render.done.json"
_TONES = (220.0, 246.9, 277.2, 329.6, 370.0)


@dataclass(frozen=True)
class Palette:
    backgrounds: tuple[str, ...]
    text: str
    accent: str


# Checked in order against the style guide text; the first palette whose keyword appears wins.
_KEYWORD_PALETTES: tuple[tuple[tuple[str, ...], Palette], ...] = (
    (
        ("noir", "black and white", "black-and-white", "monochrome"),
        Palette(("#101010", "#1b1b1b", "#262626"), "#e6e6e6", "#b8b8b8"),
    ),
    (("teal", "orange"), Palette(("#0f3b40", "#16474c", "#2a2119"), "#f2efe6", "#f0a35e")),
    (
        ("neon", "cyberpunk", "synthwave"),
        Palette(("#14062b", "#1d0b3a", "#07202e"), "#e9f7ff", "#ff4fd8"),
    ),
    (
        ("sepia", "vintage", "warm"),
        Palette(("#3b2a1a", "#4a3522", "#2e2015"), "#f4e7d1", "#e0b36a"),
    ),
    (
        ("pastel", "watercolor", "whimsical"),
        Palette(("#f3e6ee", "#e4eef3", "#eef3e4"), "#2b2b2b", "#8a4f7d"),
    ),
    (
        ("desaturated", "grey", "gray", "bleak"),
        Palette(("#2b2f33", "#363a3e", "#23272a"), "#e4e4e0", "#a9b4bd"),
    ),
)


def _hex(r: float, g: float, b: float) -> str:
    return "#" + "".join(f"{round(c * 255):02x}" for c in (r, g, b))


def palette_for(style: Mapping[str, Any]) -> Palette:
    """A deterministic palette from the style guide: keywords first, else a hash of its text."""
    text = " ".join(
        str(style.get(k) or "") for k in ("visualStyle", "tone", "genre", "narrativeStyle")
    ).lower()
    for keywords, palette in _KEYWORD_PALETTES:
        if any(word in text for word in keywords):
            return palette
    hue = int.from_bytes(hashlib.sha256(text.encode()).digest()[:2], "big") / 65535
    backgrounds = tuple(
        _hex(*colorsys.hls_to_rgb((hue + shift) % 1.0, light, 0.45))
        for shift, light in ((0.0, 0.16), (0.04, 0.21), (-0.04, 0.12))
    )
    accent = _hex(*colorsys.hls_to_rgb((hue + 0.5) % 1.0, 0.68, 0.7))
    return Palette(backgrounds, "#f2efe6", accent)


def captions_for(shot: Shot) -> list[Caption]:
    """Dialogue lines spread over the shot in proportion to their length."""
    if not shot.dialogue:
        return []
    lead = min(0.3, shot.duration * 0.1)
    span = max(shot.duration - lead - 0.1, 0.1)
    weights = [len(line.line.split()) + 1 for line in shot.dialogue]
    total, start, captions = sum(weights), lead, []
    for line, weight in zip(shot.dialogue, weights, strict=True):
        end = start + span * weight / total
        captions.append(
            Caption(start, max(end - 0.05, start + 0.05), f"{line.character}: {line.line}")
        )
        start = end
    return captions


def cards_for(script: Script, style: Mapping[str, Any]) -> tuple[list[Card], Palette]:
    palette = palette_for(style)
    cards = []
    for index, shot in enumerate(script.shots):
        pick = int.from_bytes(hashlib.sha256(shot.setting.encode()).digest()[:2], "big")
        cards.append(
            Card(
                duration=shot.duration,
                background=palette.backgrounds[pick % len(palette.backgrounds)],
                title=shot.setting,
                subtitle=" · ".join(shot.characters),
                body=shot.action,
                captions=captions_for(shot),
                tone_hz=_TONES[index % len(_TONES)],
            )
        )
    return cards, palette


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
    """Renders a script to an MP4 on this machine; the work happens in `wait()`."""

    provider = PROVIDER
    model = MODEL

    def __init__(
        self, *, width: int = 1280, height: int = 720, fps: int = 24, keyframe_seconds: int = 2
    ) -> None:
        self.width, self.height, self.fps = width, height, fps
        self.keyframe_seconds = keyframe_seconds
        self._jobs: dict[str, Path] = {}

    def video_id_for(self, script: Script, style: Mapping[str, Any], out_dir: Path) -> str:
        """Same script, style, format and directory -> same id; two jobs never share one."""
        payload = json.dumps(
            [
                script.model_dump(mode="json"),
                dict(style),
                self.width,
                self.height,
                self.fps,
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
    ) -> str:
        video_id = resume_id or self.video_id_for(script, style, out_dir)
        await asyncio.to_thread(out_dir.mkdir, parents=True, exist_ok=True)
        if self._finished(out_dir, video_id) is None:
            _write_json(
                out_dir / _MANIFEST,
                {
                    "video_id": video_id,
                    "script": script.model_dump(mode="json"),
                    "style": dict(style),
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

    def _finished(self, out_dir: Path, video_id: str) -> RenderedVideo | None:
        done = _read_json(out_dir / _DONE)
        mp4, thumbnail = out_dir / MP4_NAME, out_dir / THUMBNAIL_NAME
        if not done or done.get("video_id") != video_id:
            return None
        if not (mp4.is_file() and thumbnail.is_file()):
            return None
        return RenderedVideo(
            mp4=mp4,
            thumbnail=thumbnail,
            duration=float(done["duration"]),
            width=int(done["width"]),
            height=int(done["height"]),
            provider=PROVIDER,
            model=MODEL,
        )

    async def _render(
        self, out_dir: Path, video_id: str, on_progress: ProgressCallback | None
    ) -> RenderedVideo:
        manifest = _read_json(out_dir / _MANIFEST)
        if not manifest or manifest.get("video_id") != video_id:
            raise UnknownVideo(video_id)
        script = Script.model_validate(manifest["script"])
        cards, palette = cards_for(script, manifest.get("style") or {})
        style = CardStyle(
            width=self.width,
            height=self.height,
            fps=self.fps,
            keyframe_seconds=self.keyframe_seconds,
            text_color=palette.text,
            accent_color=palette.accent,
        )
        (out_dir / _DONE).unlink(missing_ok=True)
        partial_mp4 = out_dir / f".partial.{MP4_NAME}"
        partial_thumb = out_dir / f".partial.{THUMBNAIL_NAME}"
        try:
            result = await render_cards(cards, partial_mp4, partial_thumb, style, on_progress)
        except BaseException as exc:
            for leftover in (partial_mp4, partial_thumb):
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()
            if isinstance(exc, MediaError):
                raise ProviderError(f"local render failed: {exc}", code="render_failed") from exc
            raise
        os.replace(partial_mp4, out_dir / MP4_NAME)
        os.replace(partial_thumb, out_dir / THUMBNAIL_NAME)
        _write_json(
            out_dir / _DONE,
            {
                "video_id": video_id,
                "duration": result.duration,
                "width": self.width,
                "height": self.height,
            },
        )
        return RenderedVideo(
            mp4=out_dir / MP4_NAME,
            thumbnail=out_dir / THUMBNAIL_NAME,
            duration=result.duration,
            width=self.width,
            height=self.height,
            provider=PROVIDER,
            model=MODEL,
        )
