"""The one place provider calls are recorded: wrappers around the three provider seams.

Each call lands in the provider ledger with the job it served, the provider's request or video
id, its duration, outcome and cost units. Work that already succeeded for a job (its ledger
row holds the answer) is never asked of a provider again: a rerun after a crash replays it.
A provider failing (after a success, or before any since the process started), and later
answering again, is a system event each time.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

from domain.operations.events import record_system_event
from domain.operations.models import ProviderKind, SystemEventKind
from domain.operations.repository import CallRecord, finished_work, record_call
from infra.db import Database
from infra.logging import get_logger
from infra.providers.base import (
    ExpandedScript,
    ExpansionContext,
    ProgressCallback,
    ProviderError,
    RenderedVideo,
    ScriptExpander,
    VideoRenderer,
)
from infra.providers.moderation import ContentChecker, ContentVerdict
from infra.providers.openai_continuity import ContinuityReviewer, Opinion, Question
from schemas.script import Script

log = get_logger("domain.operations.metered")
T = TypeVar("T")
SCRIPT_COST_UNITS = 1
MODERATION_COST_UNITS = 0


@dataclass(frozen=True)
class JobContext:
    job_id: uuid.UUID
    user_id: uuid.UUID


_current: ContextVar[JobContext | None] = ContextVar("ledger_job", default=None)


@contextmanager
def serving(job_id: uuid.UUID, user_id: uuid.UUID) -> Iterator[None]:
    """Calls made inside are charged to this job and its owner."""
    token = _current.set(JobContext(job_id, user_id))
    try:
        yield
    finally:
        _current.reset(token)


def provider_name(inner: object) -> str:
    return "openai" if type(inner).__name__.startswith("OpenAI") else "local"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Ledger:
    """Writes the calls; remembers each provider's last outcome to notice outages."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._healthy: dict[str, bool] = {}

    async def replay(self, work_key: str | None) -> dict[str, Any] | None:
        if work_key is None:
            return None
        async with self.db.transaction() as session:
            found = await finished_work(session, work_key)
        return found.response if found is not None else None

    async def timed(
        self,
        call: Callable[[], Awaitable[T]],
        *,
        provider: str,
        kind: ProviderKind,
        operation: str,
        work_key: str | None = None,
        describe: Callable[[T], tuple[str | None, int, dict[str, Any] | None]] | None = None,
    ) -> T:
        """Run `call`, then record it; `describe` gives (request id, cost units, response)."""
        job = _current.get()
        started = time.perf_counter()
        try:
            result = await call()
        except Exception as exc:
            code = exc.code if isinstance(exc, ProviderError) else type(exc).__name__
            await self._record(
                CallRecord(
                    provider=provider,
                    kind=kind,
                    operation=operation,
                    outcome="error",
                    duration_ms=int((time.perf_counter() - started) * 1000),
                    job_id=job.job_id if job else None,
                    user_id=job.user_id if job else None,
                    work_key=work_key,
                    error_code=code,
                ),
                failed=isinstance(exc, ProviderError) and exc.retryable,
                error=str(exc),
            )
            raise
        request_id, cost, response = describe(result) if describe else (None, 0, None)
        await self._record(
            CallRecord(
                provider=provider,
                kind=kind,
                operation=operation,
                outcome="ok",
                duration_ms=int((time.perf_counter() - started) * 1000),
                job_id=job.job_id if job else None,
                user_id=job.user_id if job else None,
                work_key=work_key,
                request_id=request_id,
                cost_units=cost,
                response=response,
            ),
            failed=False,
        )
        return result

    async def _record(self, call: CallRecord, *, failed: bool, error: str | None = None) -> None:
        try:
            async with self.db.transaction() as session:
                await record_call(session, call)
        except Exception as exc:  # noqa: BLE001 - the answer is already paid for: keep it
            # Raising would throw away a result the provider was paid for, and the retry
            # would pay again; the stage's next write notices a database outage anyway.
            log.warning("provider_call_unrecorded", operation=call.operation, error=repr(exc))
        # Only a retryable failure is an outage: a refusal (bad input) says the provider is up.
        if call.outcome == "error" and not failed:
            return
        key = f"{call.provider}:{call.kind}"
        was = self._healthy.get(key)
        now_ok = call.outcome == "ok"
        self._healthy[key] = now_ok
        # No success seen yet (None) counts as up: a provider down since the worker started is
        # an outage at its first failure, not a lone recovery later.
        if was is not False and not now_ok:
            await record_system_event(
                self.db,
                SystemEventKind.PROVIDER_OUTAGE,
                {"provider": call.provider, "kind": call.kind, "error": (error or "")[:500]},
                job_id=call.job_id,
            )
        elif was is False and now_ok:
            await record_system_event(
                self.db,
                SystemEventKind.PROVIDER_RECOVERED,
                {"provider": call.provider, "kind": call.kind},
                job_id=call.job_id,
            )


def job_work_key(operation: str, text: str) -> str | None:
    job = _current.get()
    return f"{job.job_id}:{operation}:{_digest(text)}" if job else None


def _answer(result: ContentVerdict | Opinion) -> dict[str, Any]:
    """The answer to replay: the result without its request id (the row has that)."""
    return {k: v for k, v in asdict(result).items() if k != "request_id"}


class LedgeredExpander:
    def __init__(self, inner: ScriptExpander, ledger: Ledger) -> None:
        self.inner, self.ledger, self.provider = inner, ledger, provider_name(inner)

    async def expand(self, text: str, context: ExpansionContext) -> ExpandedScript:
        key = job_work_key("expand", text)
        done = await self.ledger.replay(key)
        if done is not None:
            log.info("provider_call_replayed", operation="expand", work_key=key)
            return ExpandedScript(
                script=Script.model_validate(done["script"]),
                provider=done["provider"],
                model=done["model"],
                prompt_version=done["prompt_version"],
            )

        def describe(out: ExpandedScript) -> tuple[str | None, int, dict[str, Any]]:
            response = {
                "script": out.script.model_dump(mode="json"),
                "provider": out.provider,
                "model": out.model,
                "prompt_version": out.prompt_version,
            }
            return out.request_id, SCRIPT_COST_UNITS, response

        return await self.ledger.timed(
            lambda: self.inner.expand(text, context),
            provider=self.provider,
            kind=ProviderKind.LLM,
            operation="expand",
            work_key=key,
            describe=describe,
        )


class LedgeredChecker:
    def __init__(self, inner: ContentChecker, ledger: Ledger) -> None:
        self.inner, self.ledger, self.provider = inner, ledger, provider_name(inner)

    async def check(self, text: str) -> ContentVerdict:
        key = job_work_key("moderate", text)
        done = await self.ledger.replay(key)
        if done is not None:
            return ContentVerdict(**done)
        return await self.ledger.timed(
            lambda: self.inner.check(text),
            provider=self.provider,
            kind=ProviderKind.MODERATION,
            operation="moderate",
            work_key=key,
            describe=lambda v: (v.request_id, MODERATION_COST_UNITS, _answer(v)),
        )


class LedgeredReviewer:
    """A continuity second opinion whose every question is a provider call in the ledger."""

    def __init__(self, inner: ContinuityReviewer, ledger: Ledger) -> None:
        self.inner, self.ledger, self.provider = inner, ledger, provider_name(inner)

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def review(self, question: Question) -> Opinion:
        key = job_work_key("review", json.dumps(asdict(question), sort_keys=True))
        done = await self.ledger.replay(key)
        if done is not None:
            log.info("provider_call_replayed", operation="review", work_key=key)
            return Opinion(**done)

        return await self.ledger.timed(
            lambda: self.inner.review(question),
            provider=self.provider,
            kind=ProviderKind.LLM,
            operation="review",
            work_key=key,
            describe=lambda v: (v.request_id, SCRIPT_COST_UNITS, _answer(v)),
        )


class LedgeredRenderer:
    def __init__(self, inner: VideoRenderer, ledger: Ledger) -> None:
        self.inner, self.ledger, self.provider = inner, ledger, provider_name(inner)

    async def submit(
        self,
        script: Script,
        style: Mapping[str, Any],
        out_dir: Path,
        *,
        resume_id: str | None = None,
        bible: Mapping[str, Any] | None = None,
    ) -> str:
        job = _current.get()
        key = f"{job.job_id}:video:submit" if job else None
        if resume_id is None:
            # A crash between the provider accepting the render and the job storing its id:
            # the ledger has the id, so the render is re-attached, never started again.
            done = await self.ledger.replay(key)
            resume_id = done["video_id"] if done is not None else None
        return await self.ledger.timed(
            lambda: self.inner.submit(script, style, out_dir, resume_id=resume_id, bible=bible),
            provider=self.provider,
            kind=ProviderKind.VIDEO,
            operation="resume" if resume_id else "submit",
            work_key=None if resume_id else key,
            describe=lambda vid: (vid, 0, {"video_id": vid}),
        )

    async def wait(
        self, video_id: str, *, on_progress: ProgressCallback | None = None
    ) -> RenderedVideo:
        return await self.ledger.timed(
            lambda: self.inner.wait(video_id, on_progress=on_progress),
            provider=self.provider,
            kind=ProviderKind.VIDEO,
            operation="render",
            describe=lambda v: (video_id, max(1, math.ceil(v.duration)), None),
        )
