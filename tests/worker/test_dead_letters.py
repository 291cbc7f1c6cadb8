"""Dead letters through the real worker, and the provider ledger around the provider seams."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from arq.worker import Worker
from sqlalchemy import select

from domain.operations.metered import Ledger, LedgeredExpander, LedgeredRenderer, serving
from domain.operations.metered_speech import LedgeredSpeech
from domain.operations.models import ProviderCall, SystemEvent
from domain.users.models import Role
from infra.providers.base import (
    ExpandedScript,
    ExpansionContext,
    ProgressCallback,
    ProviderError,
    RenderedVideo,
    ScriptExpander,
    VideoRenderer,
)
from infra.providers.local_script import LocalScriptExpander
from infra.settings import Settings
from infra.speech.engines import SpokenLine
from infra.speech.voices import NARRATOR_VOICE, Voice
from infra.storage import LocalStorage
from schemas.script import Script
from tests.factories import Factory
from tests.worker.test_pipeline_e2e import CONTINUATION, submit, wait_for_end
from worker.pipeline.runtime import Runtime


class CountingExpander:
    def __init__(self, inner: ScriptExpander) -> None:
        self.inner, self.calls = inner, 0

    async def expand(self, text: str, context: ExpansionContext) -> ExpandedScript:
        self.calls += 1
        return await self.inner.expand(text, context)


class SwitchedRenderer:
    """The real renderer behind a switch: while `refusing`, the provider rejects submissions."""

    def __init__(self, inner: VideoRenderer, *, retryable: bool = False) -> None:
        self.inner, self.refusing, self.retryable, self.submits = inner, True, retryable, 0

    async def submit(
        self,
        script: Script,
        style: Mapping[str, Any],
        out_dir: Path,
        *,
        resume_id: str | None = None,
        bible: Mapping[str, Any] | None = None,
    ) -> str:
        self.submits += 1
        if self.refusing:
            raise ProviderError("the provider refused it", code="refused", retryable=self.retryable)
        return await self.inner.submit(script, style, out_dir, resume_id=resume_id, bible=bible)

    async def wait(
        self, video_id: str, *, on_progress: ProgressCallback | None = None
    ) -> RenderedVideo:
        return await self.inner.wait(video_id, on_progress=on_progress)


async def _runtime(worker: Worker) -> Runtime:
    for _ in range(200):
        if "runtime" in worker.ctx:
            return worker.ctx["runtime"]
        await asyncio.sleep(0.05)
    raise AssertionError("the worker did not start")


async def test_a_failed_job_requeued_resumes_without_redoing_finished_stages(
    client: httpx.AsyncClient, app: Any, factory: Factory, worker: Worker
) -> None:
    runtime = await _runtime(worker)
    expander = CountingExpander(runtime.expander.inner)  # type: ignore[attr-defined]
    renderer = SwitchedRenderer(runtime.renderer.inner)  # type: ignore[attr-defined]
    runtime.expander.inner, runtime.renderer.inner = expander, renderer  # type: ignore[attr-defined]
    owner, admin = await factory.account(), await factory.account(Role.ADMIN)
    scene = await factory.scene(owner)

    job, _ = await wait_for_end(
        client, owner, (await submit(client, owner, scene["id"], CONTINUATION))["id"]
    )
    assert (job["status"], job["error_code"]) == ("failed", "provider_rejected"), job
    listed = await client.get("/v1/admin/failed-jobs", headers=admin.headers)
    entry = next(e for e in listed.json()["items"] if e["id"] == job["id"])
    assert entry["stage"] == "video_generation"
    assert (expander.calls, renderer.submits) == (1, 1)

    renderer.refusing = False
    requeued = await client.post(f"/v1/admin/jobs/{job['id']}/requeue", headers=admin.headers)
    assert requeued.status_code == 202, requeued.text
    done, progress = await wait_for_end(client, owner, job["id"])

    assert done["status"] == "final_ready", done
    assert progress[0] >= 20, "it resumed at the video, not from the start"
    assert expander.calls == 1, "the script was not written a second time"
    assert renderer.submits == 2
    again = await client.post(f"/v1/admin/jobs/{job['id']}/requeue", headers=admin.headers)
    assert again.status_code == 409
    async with app.state.db.transaction() as session:
        calls = (
            await session.scalars(
                select(ProviderCall)
                .where(ProviderCall.job_id == uuid.UUID(job["id"]))
                .order_by(ProviderCall.id)
            )
        ).all()
    speech = [c for c in calls if c.kind == "speech"]
    calls = [c for c in calls if c.kind != "speech"]
    assert speech and all(c.outcome == "ok" and c.provider == "local" for c in speech)
    ledger = [(c.kind, c.operation, c.outcome) for c in calls]
    assert ledger == [
        ("moderation", "moderate", "ok"),
        ("llm", "expand", "ok"),
        ("video", "submit", "error"),
        ("video", "submit", "ok"),
        ("video", "render", "ok"),
    ]
    assert all(c.user_id == uuid.UUID(owner.id) for c in calls)
    render = calls[-1]
    assert render.request_id == calls[-2].request_id and render.request_id
    assert render.cost_units >= 1 and calls[1].cost_units == 1
    assert calls[2].error_code == "refused"
    async with app.state.db.transaction() as session:
        started = await session.scalars(
            select(SystemEvent.data).where(SystemEvent.kind == "worker.started")
        )
        assert {"pid": os.getpid(), "queue": app.state.settings.queue_name}.items() <= next(
            d for d in started.all() if d["pid"] == os.getpid()
        ).items()


async def test_work_already_done_is_replayed_from_the_ledger_not_asked_again(
    settings: Settings, app: Any
) -> None:
    db = app.state.db
    ledger = Ledger(db)
    inner = CountingExpander(LocalScriptExpander())
    expander = LedgeredExpander(inner, ledger)
    context = ExpansionContext(bible={"characters": [], "setting": {}}, segment_number=1)
    job_id, user_id = uuid.uuid4(), uuid.uuid4()
    with serving(job_id, user_id):
        first = await expander.expand("Mara rings the bell twice.", context)
        # As after a crash: a new process (a new wrapper) does the same work for the job.
        second = await LedgeredExpander(inner, Ledger(db)).expand(
            "Mara rings the bell twice.", context
        )
    assert inner.calls == 1
    assert second == first
    with serving(uuid.uuid4(), user_id):  # another job's work is its own
        await expander.expand("Mara rings the bell twice.", context)
    assert inner.calls == 2


async def test_a_render_accepted_before_a_crash_is_reattached_not_started_again(
    app: Any,
) -> None:
    class Provider:
        def __init__(self) -> None:
            self.started: list[str] = []
            self.resumed: list[str] = []

        async def submit(self, *args: Any, resume_id: str | None = None, **kw: Any) -> str:
            if resume_id is not None:
                self.resumed.append(resume_id)
                return resume_id
            self.started.append(f"vid_{len(self.started)}")
            return self.started[-1]

        async def wait(self, video_id: str, **kw: Any) -> RenderedVideo:
            raise AssertionError("not waited on here")

    provider = Provider()
    job_id = uuid.uuid4()
    script: Any = None
    with serving(job_id, uuid.uuid4()):
        first = await LedgeredRenderer(provider, Ledger(app.state.db)).submit(
            script, {}, Path("/nonexistent")
        )
        # The job row never got the id (the crash came first): resume_id is None again.
        second = await LedgeredRenderer(provider, Ledger(app.state.db)).submit(
            script, {}, Path("/nonexistent")
        )
    assert first == second == "vid_0"
    assert (provider.started, provider.resumed) == (["vid_0"], ["vid_0"])


async def test_a_provider_failing_after_succeeding_is_an_outage_then_a_recovery(
    app: Any,
) -> None:
    db = app.state.db
    ledger = Ledger(db)
    provider = SwitchedRenderer(None, retryable=True)  # type: ignore[arg-type]
    renderer = LedgeredRenderer(provider, ledger)
    renderer.provider = f"p{uuid.uuid4().hex[:8]}"
    provider.refusing = False

    async def ok_submit(*args: Any, **kwargs: Any) -> str:
        return "vid"

    provider.inner = type("Up", (), {"submit": staticmethod(ok_submit)})()  # type: ignore[assignment]
    job_id = uuid.uuid4()
    with serving(job_id, uuid.uuid4()):
        await renderer.submit(None, {}, Path("/x"), resume_id="vid")  # type: ignore[arg-type]
        provider.refusing = True
        for _ in range(2):  # one outage, however many calls fail during it
            with pytest.raises(ProviderError):
                await renderer.submit(None, {}, Path("/x"), resume_id="vid")  # type: ignore[arg-type]
        provider.refusing = False
        await renderer.submit(None, {}, Path("/x"), resume_id="vid")  # type: ignore[arg-type]
    async with db.transaction() as session:
        events = (
            await session.scalars(
                select(SystemEvent).where(SystemEvent.job_id == job_id).order_by(SystemEvent.id)
            )
        ).all()
    assert [e.kind for e in events] == ["provider.outage", "provider.recovered"]
    assert events[0].data["provider"] == renderer.provider


class PaidVoice:
    """A remote voice that counts the lines it is paid for and names each request."""

    name, sample_rate = "paid", 24_000

    def __init__(self) -> None:
        self.calls = 0

    def voice_name(self, voice: Voice) -> str:
        return f"paid:{voice.key}"

    async def speak(self, text: str, voice: Voice) -> bytes:
        return (await self.spoken(text, voice)).pcm

    async def spoken(self, text: str, voice: Voice) -> SpokenLine:
        self.calls += 1
        return SpokenLine(f"{voice.key}:{text}".encode(), f"req_{self.calls}")


async def test_a_voice_line_paid_before_a_crash_is_read_back_not_paid_again(
    app: Any, tmp_path: Path
) -> None:
    storage = LocalStorage(tmp_path)
    engine = PaidVoice()
    line, job_id = "Mara rings the bell twice.", uuid.uuid4()

    def speech() -> LedgeredSpeech:  # a new process after a crash builds a new one
        metered = LedgeredSpeech(engine, Ledger(app.state.db), storage)  # type: ignore[arg-type]
        metered.provider = "remote"
        return metered

    with serving(job_id, uuid.uuid4()):
        first = await speech().speak(line, NARRATOR_VOICE)
        again = await speech().speak(line, NARRATOR_VOICE)
        assert engine.calls == 1 and again == first == b"narrator:" + line.encode()
        await speech().speak(line, Voice("mara", "high", 7))  # another voice is other work
        assert engine.calls == 2
    async with app.state.db.transaction() as session:
        calls = (
            await session.scalars(
                select(ProviderCall).where(ProviderCall.job_id == job_id).order_by(ProviderCall.id)
            )
        ).all()
    assert [(c.operation, c.request_id, c.cost_units) for c in calls] == [
        ("speak", "req_1", 1), ("speak", "req_2", 1)
    ]  # fmt: skip
    kept = calls[0].response["audio_key"]  # type: ignore[index]
    assert kept.startswith("ledger/speech/") and "bell" not in kept
    assert await storage.read_bytes(kept) == first
    await storage.delete(kept)  # the audio lost: the line is spoken again, not replayed empty
    with serving(job_id, uuid.uuid4()):
        assert await speech().speak(line, NARRATOR_VOICE) == first
    assert engine.calls == 3
    with serving(uuid.uuid4(), uuid.uuid4()):  # another job's lines are its own
        await speech().speak(line, NARRATOR_VOICE)
    assert engine.calls == 4


async def test_a_provider_down_from_the_start_is_an_outage_then_a_recovery(app: Any) -> None:
    db = app.state.db
    provider = SwitchedRenderer(None, retryable=True)  # type: ignore[arg-type]
    renderer = LedgeredRenderer(provider, Ledger(db))  # a fresh worker: no success seen yet

    async def ok_submit(*args: Any, **kwargs: Any) -> str:
        return "vid"

    provider.inner = type("Up", (), {"submit": staticmethod(ok_submit)})()  # type: ignore[assignment]
    renderer.provider = f"p{uuid.uuid4().hex[:8]}"
    job_id = uuid.uuid4()
    with serving(job_id, uuid.uuid4()):
        for _ in range(2):
            with pytest.raises(ProviderError):
                await renderer.submit(None, {}, Path("/x"), resume_id="vid")  # type: ignore[arg-type]
        provider.refusing = False
        await renderer.submit(None, {}, Path("/x"), resume_id="vid")  # type: ignore[arg-type]
    async with db.transaction() as session:
        kinds = await session.scalars(
            select(SystemEvent.kind).where(SystemEvent.job_id == job_id).order_by(SystemEvent.id)
        )
        assert kinds.all() == ["provider.outage", "provider.recovered"]
    refused = LedgeredRenderer(SwitchedRenderer(provider), Ledger(db))  # refusing: no outage
    refused.provider = renderer.provider + "r"
    other_job = uuid.uuid4()
    with serving(other_job, uuid.uuid4()), pytest.raises(ProviderError):
        await refused.submit(None, {}, Path("/x"), resume_id="vid")  # type: ignore[arg-type]
    async with db.transaction() as session:
        assert not (
            await session.scalars(select(SystemEvent).where(SystemEvent.job_id == other_job))
        ).all()
