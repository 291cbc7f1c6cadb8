"""Remote video rendering over the `/v1/videos` protocol, through the openai SDK.

OpenAI's own Sora API shut down on 2026-09-24; gateways still serve the protocol, so this
provider talks to whatever `OPENAI_BASE_URL` names. A render costs money, hence the rules:
`submit` returns the provider's id before any waiting (the stage stores it on the job), a
resumed `submit` re-attaches to that id instead of creating again, and finished files are kept
with a marker so a crash after the download does not even download twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import openai
from openai import AsyncOpenAI
from openai.types.video import Video

from infra.asset_fetch import FetchLimits
from infra.compose.look import scene_context
from infra.compose.voiceover import SCENE_NAME, narrate_clip
from infra.media import MediaError, ProgressCallback, notify_progress, probe, run_ffmpeg
from infra.providers.base import ProviderError, RenderedVideo, UnknownVideo
from infra.providers.openai_client import provider_error
from infra.reference_assets import MEDIA_TYPES, ReferenceAssets
from infra.settings import Settings
from infra.speech.engines import SpeechEngine, SpeechError
from infra.speech.openai_speech import OpenAISpeechEngine
from infra.speech.voices import Cast
from schemas.script import Script

# Deliberate: the protocol outlives OpenAI's own endpoint, and the SDK warns on every call.
warnings.filterwarnings("ignore", message="The Sora API", category=DeprecationWarning)

PROVIDER = "openai"
MP4_NAME = "out.mp4"
THUMBNAIL_NAME = "thumbnail.jpg"
CAPTIONS_NAME = "captions.vtt"
MAX_PROMPT_CHARS = 4000
_DONE = "openai.done.json"
# Share of the progress bar the remote render gets; the download and probe take the rest.
_RENDER_SHARE = 0.9
_RETRYABLE_FAILURES = frozenset(
    {"internal_error", "server_error", "rate_limit_exceeded", "service_unavailable", "timeout"}
)


def build_prompt(script: Script, style: Mapping[str, Any]) -> str:
    """One text prompt from the style guide and the shots, in order, clipped to the limit."""
    look = "; ".join(
        f"{label}: {style[key]}"
        for key, label in (("visualStyle", "visual style"), ("tone", "tone"), ("genre", "genre"))
        if style.get(key)
    )
    lines = [f"Style - {look}."] if look else []
    if script.title:
        lines.append(f"Title: {script.title}.")
    lines.append(f"{len(script.shots)} shots, about {script.duration:g} seconds, in this order:")
    for number, shot in enumerate(script.shots, 1):
        line = f"Shot {number} ({shot.duration:g}s) at {shot.setting}"
        if shot.characters:
            line += f", with {', '.join(shot.characters)}"
        line += f": {shot.action}"
        line += "".join(f' {d.character} says: "{d.line}"' for d in shot.dialogue)
        lines.append(" ".join(line.split()))
    prompt = "\n".join(lines)
    return prompt if len(prompt) <= MAX_PROMPT_CHARS else prompt[: MAX_PROMPT_CHARS - 1] + "…"


def clip_seconds(duration: float, allowed: Sequence[int]) -> int:
    """The shortest clip length the provider offers that holds `duration`, else the longest."""
    options = sorted(allowed)
    return next((s for s in options if s >= math.ceil(duration - 1e-6)), options[-1])


def parse_seconds(configured: str | Sequence[int]) -> tuple[int, ...]:
    if isinstance(configured, str):
        values = tuple(int(part) for part in configured.split(",") if part.strip())
    else:
        values = tuple(int(v) for v in configured)
    if not values or min(values) <= 0:
        raise ValueError(f"clip lengths must be positive seconds, got {configured!r}")
    return values


def _failure(video: Video) -> ProviderError:
    error = video.error
    message = error.message if error else "no reason given"
    code = error.code if error else ""
    headers = {k.lower() for k in (error.headers or {})} if error else set()
    retryable = code in _RETRYABLE_FAILURES or bool(headers & {"retry-after", "retry-after-ms"})
    return ProviderError(
        f"video {video.id} failed: {message}" + (f" ({code})" if code else ""),
        code="video_failed",
        retryable=retryable,
    )


def _write_json(path: Path, data: dict[str, Any]) -> None:
    partial = path.with_name(f".partial.{path.name}")
    partial.write_text(json.dumps(data))
    os.replace(partial, path)


class OpenAIVideoRenderer:
    """A VideoRenderer that has a remote service render, then downloads and probes the result."""

    provider = PROVIDER

    def __init__(
        self,
        client: AsyncOpenAI,
        *,
        model: str,
        size: str,
        allowed_seconds: Sequence[int],
        poll_interval: float,
        max_wait: float,
        transient_errors: int = 3,
        download_timeout: float = 600.0,
        speech: SpeechEngine | None = None,
        ffmpeg: str = "",
        asset_limits: FetchLimits | None = None,
    ) -> None:
        """`ffmpeg` is FFMPEG_BINARY (empty: the bundled build, else PATH's); without
        `asset_limits` the bible's reference assets are not fetched."""
        self.client = client
        self.asset_limits = asset_limits
        # Without an engine the clip is kept as the provider made it, with no captions.
        self.speech = speech
        self.model = model
        self.size = size
        self.allowed_seconds = parse_seconds(allowed_seconds)
        self.poll_interval = poll_interval
        self.max_wait = max_wait
        self.transient_errors = transient_errors
        self.download_timeout = download_timeout
        self.ffmpeg = ffmpeg
        self._jobs: dict[str, Path] = {}

    @classmethod
    def from_settings(cls, settings: Settings, client: AsyncOpenAI) -> OpenAIVideoRenderer:
        return cls(
            client,
            model=settings.openai_video_model,
            size=settings.openai_video_size,
            allowed_seconds=parse_seconds(settings.openai_video_seconds),
            poll_interval=settings.openai_video_poll_seconds,
            max_wait=settings.openai_video_max_wait_seconds,
            speech=OpenAISpeechEngine(client, model=settings.openai_speech_model),
            ffmpeg=settings.ffmpeg_binary,
            asset_limits=FetchLimits.from_settings(settings),
        )

    async def submit(
        self,
        script: Script,
        style: Mapping[str, Any],
        out_dir: Path,
        *,
        resume_id: str | None = None,
        bible: Mapping[str, Any] | None = None,
    ) -> str:
        """Create the render, or re-attach to `resume_id` without paying for it again.

        The one exception: a resumed render that failed for a transient reason is created
        anew (a failed render costs nothing) and the new id is returned, for the stage to store.
        """
        await asyncio.to_thread(out_dir.mkdir, parents=True, exist_ok=True)
        scene = {"script": script.model_dump(mode="json"), "scene": scene_context(bible)}
        await asyncio.to_thread(_write_json, out_dir / SCENE_NAME, scene)
        retry_of = None
        if resume_id is not None:
            self._jobs[resume_id] = out_dir
            if self._finished(out_dir, resume_id) is not None:
                return resume_id
            video = await self._retrieve(resume_id)
            if video.status != "failed" or not _failure(video).retryable:
                return resume_id
            retry_of = resume_id
        reference = await self._reference(script, bible, out_dir)
        video_id = await self._create(script, style, out_dir, retry_of, reference)
        self._jobs[video_id] = out_dir
        return video_id

    async def _reference(
        self, script: Script, bible: Mapping[str, Any] | None, out_dir: Path
    ) -> Path | None:
        """The image the render should follow: a present character's portrait or a style frame."""
        if self.asset_limits is None or not bible:
            return None
        present = [m.entity_id for m in Cast.of(bible).appearing(script.shots)]
        return await ReferenceAssets(out_dir, self.asset_limits).reference_image(bible, present)

    async def wait(
        self, video_id: str, *, on_progress: ProgressCallback | None = None
    ) -> RenderedVideo:
        """Poll until the render completes, then download it; progress only ever grows."""
        out_dir = self._jobs.get(video_id)
        if out_dir is None:
            raise UnknownVideo(video_id)
        finished = self._finished(out_dir, video_id)
        if finished is None:
            video = await self._poll(video_id, on_progress)
            finished = await self._download(video, out_dir)
        if on_progress is not None:
            await notify_progress(on_progress, 1.0)
        return finished

    async def _create(
        self,
        script: Script,
        style: Mapping[str, Any],
        out_dir: Path,
        retry_of: str | None,
        reference: Path | None,
    ) -> str:
        prompt = build_prompt(script, style)
        seconds = str(clip_seconds(script.duration, self.allowed_seconds))
        # Honoured by servers that support it: a create whose answer was lost is not billed twice.
        request = [self.model, prompt, seconds, self.size, str(out_dir), retry_of]
        if reference is not None:
            request.append(reference.name)
        key = hashlib.sha256(json.dumps(request).encode()).hexdigest()
        options: dict[str, Any] = {}
        if reference is not None:
            content = await asyncio.to_thread(reference.read_bytes)
            options["input_reference"] = (reference.name, content, MEDIA_TYPES[reference.suffix])
        try:
            video = await self.client.videos.create(
                prompt=prompt,
                model=self.model,
                seconds=cast(Any, seconds),
                size=cast(Any, self.size),
                **options,
                extra_headers={"Idempotency-Key": f"storyloom-{key[:48]}"},
            )
        except openai.OpenAIError as exc:
            raise provider_error(exc, "video submission", code="video_submit_failed") from exc
        if video.status == "failed":
            raise _failure(video)
        return video.id

    async def _retrieve(self, video_id: str) -> Video:
        try:
            return await self.client.videos.retrieve(video_id)
        except openai.NotFoundError as exc:
            raise UnknownVideo(video_id) from exc
        except openai.OpenAIError as exc:
            raise provider_error(exc, f"video {video_id} status", code="video_poll_failed") from exc

    async def _poll(self, video_id: str, on_progress: ProgressCallback | None) -> Video:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_wait
        reported, transient = 0.0, 0
        while True:
            video = await self._retrieve_tolerating_blips(video_id, transient)
            if video is None:
                transient += 1
            else:
                transient = 0
                if video.status == "completed":
                    return video
                if video.status == "failed":
                    raise _failure(video)
                fraction = min(max(video.progress or 0, 0), 99) / 100 * _RENDER_SHARE
                if fraction > reported and on_progress is not None:
                    reported = fraction
                    await notify_progress(on_progress, fraction)
            if loop.time() >= deadline:
                raise ProviderError(
                    f"video {video_id} not ready after {self.max_wait:g}s",
                    code="video_timeout",
                    retryable=True,
                )
            await asyncio.sleep(self.poll_interval)

    async def _retrieve_tolerating_blips(self, video_id: str, blips_so_far: int) -> Video | None:
        """None for a transient error while waiting: a blip should not cost a stage retry."""
        try:
            return await self._retrieve(video_id)
        except UnknownVideo:
            raise
        except ProviderError as exc:
            if not exc.retryable or blips_so_far >= self.transient_errors:
                raise
            return None

    async def _download(self, video: Video, out_dir: Path) -> RenderedVideo:
        mp4, thumbnail = out_dir / MP4_NAME, out_dir / THUMBNAIL_NAME
        partial_mp4 = out_dir / f".partial.{MP4_NAME}"
        try:
            await self._fetch(video.id, "video", partial_mp4)
            try:
                info = await probe(partial_mp4)
            except MediaError as exc:
                raise ProviderError(
                    f"video {video.id} is not a playable file: {exc}", code="video_invalid"
                ) from exc
            if info.duration <= 0 or info.video_codec is None:
                raise ProviderError(f"video {video.id} has no video stream", code="video_invalid")
            await self._thumbnail(video.id, partial_mp4, thumbnail, info.duration)
            captions = await self._narrate(video.id, partial_mp4, info, out_dir)
            os.replace(partial_mp4, mp4)
        finally:
            with contextlib.suppress(FileNotFoundError):
                partial_mp4.unlink()
        width, height = self._dimensions(info.width, info.height)
        _write_json(
            out_dir / _DONE,
            {
                "video_id": video.id,
                "duration": info.duration,
                "width": width,
                "height": height,
                "model": video.model or self.model,
                "captions": captions,
            },
        )
        return self._rendered(
            out_dir, info.duration, width, height, video.model or self.model, captions
        )

    async def _narrate(self, video_id: str, clip: Path, info: Any, out_dir: Path) -> bool:
        """Mix the script's speech over `clip` in place and write its captions; False if none."""
        if self.speech is None:
            return False
        try:
            return await narrate_clip(
                self.speech,
                clip,
                info.duration,
                info.audio_codec is not None,
                out_dir,
                ffmpeg=self.ffmpeg,
                asset_limits=self.asset_limits,
            )
        except (MediaError, SpeechError) as exc:
            raise ProviderError(
                f"narration of video {video_id} failed: {exc}", code="narration_failed"
            ) from exc

    async def _fetch(self, video_id: str, variant: str, target: Path) -> str:
        """Stream one variant into `target`; return its content type."""
        try:
            async with self.client.videos.with_streaming_response.download_content(
                video_id, variant=cast(Any, variant), timeout=self.download_timeout
            ) as response:
                await response.stream_to_file(target)
                return str(response.headers.get("content-type", ""))
        except openai.OpenAIError as exc:
            raise provider_error(
                exc, f"video {video_id} {variant} download", code="video_download_failed"
            ) from exc

    async def _thumbnail(self, video_id: str, mp4: Path, target: Path, duration: float) -> None:
        """The provider's thumbnail as JPEG if it has one, else a frame of the video."""
        fetched = target.with_name(".partial.fetched-thumbnail")  # no suffix: ffmpeg sniffs
        partial = target.with_name(f".partial.{target.name}")
        try:
            try:
                content_type: str | None = await self._fetch(video_id, "thumbnail", fetched)
            except ProviderError:
                content_type = None  # not every server offers the variant; a frame will do
            if content_type is not None and "jpeg" in content_type:
                os.replace(fetched, partial)
            elif content_type is not None:
                await run_ffmpeg(
                    ["-y", "-i", str(fetched), "-frames:v", "1", str(partial)], ffmpeg=self.ffmpeg
                )
            else:
                at = f"{min(1.0, duration / 2):.3f}"
                await run_ffmpeg(
                    ["-y", "-ss", at, "-i", str(mp4), "-frames:v", "1", "-q:v", "3", str(partial)],
                    ffmpeg=self.ffmpeg,
                )
            os.replace(partial, target)
        except MediaError as exc:
            raise ProviderError(
                f"no thumbnail for video {video_id}: {exc}", code="video_invalid"
            ) from exc
        finally:
            for leftover in (fetched, partial):
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()

    def _dimensions(self, width: int | None, height: int | None) -> tuple[int, int]:
        if width and height:
            return width, height
        w, _, h = self.size.partition("x")
        return int(w), int(h)

    def _finished(self, out_dir: Path, video_id: str) -> RenderedVideo | None:
        try:
            done = json.loads((out_dir / _DONE).read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(done, dict) or done.get("video_id") != video_id:
            return None
        if not ((out_dir / MP4_NAME).is_file() and (out_dir / THUMBNAIL_NAME).is_file()):
            return None
        return self._rendered(
            out_dir,
            float(done["duration"]),
            int(done["width"]),
            int(done["height"]),
            str(done.get("model") or self.model),
            bool(done.get("captions")) and (out_dir / CAPTIONS_NAME).is_file(),
        )

    @staticmethod
    def _rendered(
        out_dir: Path, duration: float, width: int, height: int, model: str, captions: bool
    ) -> RenderedVideo:
        return RenderedVideo(
            mp4=out_dir / MP4_NAME,
            thumbnail=out_dir / THUMBNAIL_NAME,
            duration=duration,
            width=width,
            height=height,
            provider=PROVIDER,
            model=model,
            captions=out_dir / CAPTIONS_NAME if captions else None,
        )
