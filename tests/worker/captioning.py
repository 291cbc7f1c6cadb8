"""A renderer that adds WebVTT captions to the real render, for tests of their publishing."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from infra.providers.base import RenderedVideo

CUES = [(0.5, 1.5, "<v Mara>Who rang the bell?"), (2.0, 3.0, "<v Narrator>Nobody answers.")]


def webvtt(cues: list[tuple[float, float, str]]) -> str:
    def stamp(seconds: float) -> str:
        return f"00:00:{int(seconds):02d}.{round((seconds % 1) * 1000):03d}"

    blocks = [f"{stamp(a)} --> {stamp(b)}\n{text}" for a, b, text in cues]
    return "WEBVTT\n\n" + "\n\n".join(blocks) + "\n"


class CaptioningRenderer:
    """The real renderer; its video comes back with a captions file beside the MP4."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def wait(self, video_id: str, **kwargs: Any) -> RenderedVideo:
        video: RenderedVideo = await self.inner.wait(video_id, **kwargs)
        captions = video.mp4.with_name("captions.vtt")
        captions.write_text(webvtt(CUES), encoding="utf-8")
        return replace(video, captions=captions)
