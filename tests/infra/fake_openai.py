"""A small real HTTP server that speaks enough of the OpenAI protocol for the provider tests.

Starlette served by uvicorn in a background thread on a free loopback port, so the real openai
client (and its real HTTP transport) talks to it exactly as it would to a gateway. It serves
chat completions (a structured-output script built from the request, or a continuity opinion
with the verdict the test set), moderations, speech
(`/v1/audio/speech`: real spoken audio from Flite, one Flite voice per API voice) and the
`/v1/videos` lifecycle, with scripted behaviours set by the test, and it logs every request.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

MODERATION_CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/instructions",
    "self-harm/intent",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)
FLAG_THRESHOLD = 0.5


def make_sample_media(directory: Path, seconds: int = 2) -> tuple[Path, Path]:
    """A `seconds` long 320x240 H.264/AAC MP4 and a JPEG frame of it, made by ffmpeg."""
    mp4, jpeg = directory / "sample.mp4", directory / "sample.jpg"
    quiet = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y"]
    subprocess.run(
        [
            *quiet,
            *("-f", "lavfi", "-i", f"testsrc=size=320x240:rate=24:duration={seconds}"),
            *("-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"),
            *("-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"),
            *("-movflags", "+faststart", str(mp4)),
        ],
        check=True,
    )
    subprocess.run([*quiet, "-i", str(mp4), "-frames:v", "1", str(jpeg)], check=True)
    return mp4, jpeg


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any  # parsed JSON, the multipart form's text fields as a dict, or None
    files: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)  # name, type, bytes


@dataclass
class VideoPlan:
    """How the next created video behaves."""

    polls_in_progress: int = 0  # retrieves that answer in_progress before the final status
    fail: tuple[str, str] | None = None  # (code, message): end as failed instead of completed
    thumbnail: bool = True  # whether the thumbnail variant exists


@dataclass
class _Video:
    id: str
    model: str
    prompt: str
    seconds: str
    size: str
    created_at: int
    plan: VideoPlan
    polls: int = 0
    status: str = "queued"
    progress: int = 0

    def advance(self) -> None:
        self.polls += 1
        if self.polls <= self.plan.polls_in_progress:
            self.status = "in_progress"
            self.progress = min(99, self.polls * 100 // (self.plan.polls_in_progress + 1))
        elif self.plan.fail is not None:
            self.status = "failed"
        else:
            self.status, self.progress = "completed", 100

    def wire(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "object": "video",
            "model": self.model,
            "status": self.status,
            "progress": self.progress,
            "created_at": self.created_at,
            "completed_at": int(time.time()) if self.status == "completed" else None,
            "expires_at": None,
            "prompt": self.prompt,
            "seconds": self.seconds,
            "size": self.size,
            "remixed_from_video_id": None,
            "error": None,
        }
        if self.status == "failed" and self.plan.fail is not None:
            code, message = self.plan.fail
            data["error"] = {"code": code, "message": message}
        return data


def _error(status: int, message: str, code: str | None = None) -> JSONResponse:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return JSONResponse({"error": {"message": message, "type": kind, "code": code}}, status)


class FakeOpenAI:
    """The server's state; tests set the behaviours and read `requests`."""

    def __init__(self, mp4: Path, thumbnail: Path) -> None:
        self.mp4_bytes = mp4.read_bytes()
        self.thumbnail_bytes = thumbnail.read_bytes()
        self._lock = threading.Lock()
        self.port = 0
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.requests: list[LoggedRequest] = []
            self.script_reply = "echo"  # echo | garbage | wrong_shape | refusal | truncated
            # The continuity opinion's verdict: "consistent", "violation" or "garbage".
            self.opinion_verdict = "consistent"
            self.moderation_rules: dict[str, dict[str, float]] = {}
            self.video_plan = VideoPlan()
            self.videos: dict[str, _Video] = {}
            self._failures: list[tuple[str, str, int]] = []
            self.delay_seconds = 0.0  # answer every request this much later (client timeouts)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def fail_next(self, method: str, path_prefix: str, status: int, times: int = 1) -> None:
        """The next `times` requests matching answer `status` with an error body."""
        with self._lock:
            self._failures += [(method.upper(), path_prefix, status)] * times

    def calls(self, method: str, path_prefix: str) -> list[LoggedRequest]:
        with self._lock:
            return [
                r
                for r in self.requests
                if r.method == method.upper() and r.path.startswith(path_prefix)
            ]

    # --- the protocol -------------------------------------------------------------------

    async def _log(self, request: Request) -> LoggedRequest:
        body: Any = None
        files: dict[str, tuple[str, str, bytes]] = {}
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("multipart/form-data"):
            form = await request.form()
            body = {}
            for key, value in form.multi_items():
                if isinstance(value, str):
                    body[key] = value
                else:
                    files[key] = (
                        value.filename or "",
                        value.content_type or "",
                        await value.read(),
                    )
        elif request.method == "POST":
            raw = await request.body()
            body = json.loads(raw) if raw else None
        entry = LoggedRequest(
            request.method,
            request.url.path,
            dict(request.query_params),
            {k.lower(): v for k, v in request.headers.items()},
            body,
            files,
        )
        with self._lock:
            self.requests.append(entry)
        return entry

    async def _injected(self, entry: LoggedRequest) -> Response | None:
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        with self._lock:
            for i, (method, prefix, status) in enumerate(self._failures):
                if entry.method == method and entry.path.startswith(prefix):
                    del self._failures[i]
                    return _error(status, f"injected {status}")
        return None

    async def chat_completions(self, request: Request) -> Response:
        entry = await self._log(request)
        if (injected := await self._injected(entry)) is not None:
            return injected
        body = entry.body
        messages = body["messages"]
        system = next((m["content"] for m in messages if m["role"] == "system"), "")
        user = next((m["content"] for m in messages if m["role"] == "user"), "")
        content: str | None = json.dumps(script_from(system, user))
        refusal, finish = None, "stop"
        schema = (body.get("response_format") or {}).get("json_schema") or {}
        if schema.get("name") == "storyloom_continuity_opinion":
            content = self._opinion(user)
        if self.script_reply == "garbage":
            content = "Sure! Here is your script: {shots: [oops"
        elif self.script_reply == "wrong_shape":
            content = json.dumps({"title": "x", "scenes": [{"text": user}]})
        elif self.script_reply == "refusal":
            content, refusal = None, "I can't help with that."
        elif self.script_reply == "truncated":
            content, finish = (content or "")[:40], "length"
        return JSONResponse(
            {
                "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": finish,
                        "logprobs": None,
                        "message": {"role": "assistant", "content": content, "refusal": refusal},
                    }
                ],
                "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
            }
        )

    def _opinion(self, user: str) -> str:
        """A continuity opinion on the marked sentence, with the verdict the test set."""
        if self.opinion_verdict == "garbage":
            return "I think it is fine?"
        entity = re.search(r"^Bible entry: (\S+)", user, re.M)
        sentence = re.search(r"^Marked sentence: (.*)$", user, re.M)
        return json.dumps(
            {
                "verdict": self.opinion_verdict,
                "entity": entity.group(1) if entity else "",
                "reason": f"The fake judged it {self.opinion_verdict}.",
                "quoted_span": sentence.group(1) if sentence else "",
            }
        )

    async def moderations(self, request: Request) -> Response:
        entry = await self._log(request)
        if (injected := await self._injected(entry)) is not None:
            return injected
        inputs = entry.body["input"]
        texts = [inputs] if isinstance(inputs, str) else list(inputs)
        results = []
        for text in texts:
            scores = dict.fromkeys(MODERATION_CATEGORIES, 0.001)
            for keyword, rule in self.moderation_rules.items():
                if keyword.lower() in text.lower():
                    scores.update(rule)
            categories = {name: score >= FLAG_THRESHOLD for name, score in scores.items()}
            results.append(
                {
                    "flagged": any(categories.values()),
                    "categories": categories,
                    "category_scores": scores,
                    "category_applied_input_types": {n: ["text"] for n in MODERATION_CATEGORIES},
                }
            )
        model = entry.body.get("model", "omni-moderation-latest")
        return JSONResponse(
            {"id": f"modr-{uuid.uuid4().hex[:8]}", "model": model, "results": results}
        )

    async def create_video(self, request: Request) -> Response:
        entry = await self._log(request)
        if (injected := await self._injected(entry)) is not None:
            return injected
        form = entry.body or {}
        if not form.get("prompt"):
            return _error(400, "prompt is required", "missing_prompt")
        video = _Video(
            id=f"video_{uuid.uuid4().hex[:16]}",
            model=form.get("model", "sora-2"),
            prompt=form["prompt"],
            seconds=form.get("seconds", "4"),
            size=form.get("size", "720x1280"),
            created_at=int(time.time()),
            plan=self.video_plan,
        )
        with self._lock:
            self.videos[video.id] = video
        return JSONResponse(video.wire())

    def _video(self, request: Request) -> _Video | None:
        with self._lock:
            return self.videos.get(request.path_params["video_id"])

    async def retrieve_video(self, request: Request) -> Response:
        entry = await self._log(request)
        if (injected := await self._injected(entry)) is not None:
            return injected
        video = self._video(request)
        if video is None:
            return _error(404, "No video found", "video_not_found")
        video.advance()
        return JSONResponse(video.wire())

    async def video_content(self, request: Request) -> Response:
        entry = await self._log(request)
        if (injected := await self._injected(entry)) is not None:
            return injected
        video = self._video(request)
        if video is None:
            return _error(404, "No video found", "video_not_found")
        if video.status != "completed":
            return _error(404, "Video is not ready", "video_not_ready")
        variant = entry.query.get("variant", "video")
        if variant == "video":
            return Response(self.mp4_bytes, media_type="video/mp4")
        if variant == "thumbnail" and video.plan.thumbnail:
            return Response(self.thumbnail_bytes, media_type="image/jpeg")
        return _error(404, f"No {variant} for this video", "variant_not_found")

    async def speech(self, request: Request) -> Response:
        entry = await self._log(request)
        if (injected := await self._injected(entry)) is not None:
            return injected
        body = entry.body or {}
        text, voice = body.get("input") or "", body.get("voice") or ""
        if not text or not voice:
            return _error(400, "input and voice are required", "invalid_request")
        fmt = body.get("response_format", "mp3")
        if fmt not in ("pcm", "wav"):
            return _error(400, f"this fake speaks pcm or wav, not {fmt}", "unsupported_format")
        audio = await asyncio.to_thread(spoken, text, voice, fmt)
        media_type = "audio/pcm" if fmt == "pcm" else "audio/wav"
        # The real API names every request in `x-request-id`; speech has no id in its body.
        headers = {"x-request-id": f"req_{uuid.uuid4().hex[:16]}"}
        return Response(audio, media_type=media_type, headers=headers)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/audio/speech", self.speech, methods=["POST"]),
                Route("/v1/chat/completions", self.chat_completions, methods=["POST"]),
                Route("/v1/moderations", self.moderations, methods=["POST"]),
                Route("/v1/videos", self.create_video, methods=["POST"]),
                Route("/v1/videos/{video_id}", self.retrieve_video, methods=["GET"]),
                Route("/v1/videos/{video_id}/content", self.video_content, methods=["GET"]),
            ]
        )


_FLITE_FOR = {"fable": "rms", "coral": "slt", "nova": "slt", "shimmer": "slt", "sage": "slt"}


def spoken(text: str, voice: str, fmt: str) -> bytes:
    """`text` read by Flite, as the API's 24 kHz mono 16-bit PCM (or a WAV of it)."""
    flite = _FLITE_FOR.get(voice, "awb")
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "line.wav"
        (Path(tmp) / "line.txt").write_text(text)
        subprocess.run(
            ["flite", "-voice", flite, "-f", str(Path(tmp) / "line.txt"), "-o", str(wav)],
            check=True,
            capture_output=True,
        )
        out = ["-f", "s16le"] if fmt == "pcm" else ["-f", "wav"]
        return subprocess.run(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", str(wav)]
            + ["-ar", "24000", "-ac", "1", "-c:a", "pcm_s16le", *out, "pipe:1"],
            check=True,
            capture_output=True,
        ).stdout


def script_from(system: str, user: str) -> dict[str, Any]:
    """What a model might write: a shot per sentence, the bible's names, quotes as dialogue."""
    location = re.search(r"^Primary location: (.+)$", system, re.M)
    setting = location.group(1).strip() if location else "Somewhere"
    known = re.findall(r"^- (.+?) \(id [^,]+, (?:active|INACTIVE); aliases: (.*?)\)", system, re.M)
    names = [name for name, _ in known]
    aliases = {
        name: [name, *(a for a in listed.split(", ") if a != "none")] for name, listed in known
    }
    shots = []
    for sentence in [s.strip() for s in re.split(r"(?<=[.!?])\s+", user) if s.strip()]:
        present = [n for n in names if any(a.lower() in sentence.lower() for a in aliases[n])]
        quotes = re.findall(r'"([^"]+)"', sentence)
        speaker = present[0] if present else (names[0] if names else "Narrator")
        shots.append(
            {
                "setting": setting,
                "characters": present,
                "action": re.sub(r'"[^"]*"', "", sentence).strip() or sentence,
                "dialogue": [{"character": speaker, "line": q} for q in quotes],
                "duration": 2.0,
            }
        )
    return {
        "title": user[:40],
        "shots": shots[:60],
        "bible_delta": {
            "new_characters": [],
            "events": [{"event": user[:200], "consequences": []}],
            "thread_changes": [],
            "current_point": None,
        },
    }


@contextmanager
def serve(fake: FakeOpenAI, timeout: float = 10.0) -> Iterator[FakeOpenAI]:
    """Serve `fake` on a free loopback port until the block ends."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    fake.port = sock.getsockname()[1]
    config = uvicorn.Config(fake.app(), log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the fake OpenAI server did not start")
            time.sleep(0.01)
        yield fake
    finally:
        server.should_exit = True
        thread.join(timeout)
        sock.close()
