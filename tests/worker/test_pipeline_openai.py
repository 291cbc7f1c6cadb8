"""The pipeline with the OpenAI providers, spoken to by the real SDK over a local server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from arq.worker import Worker
from pydantic import SecretStr
from sqlalchemy import select

from domain.operations.metered import LedgeredReviewer, serving
from domain.operations.models import ProviderCall
from infra.providers.openai_continuity import Question
from infra.settings import Settings
from tests.factories import Factory
from tests.infra.fake_openai import FakeOpenAI, make_sample_media, serve
from tests.worker.running import stop
from tests.worker.test_pipeline_e2e import CONTINUATION, submit, wait_for_end
from worker.main import worker_options
from worker.pipeline.runtime import build_runtime


@pytest.fixture(scope="module")
def fake_openai(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeOpenAI]:
    mp4, thumbnail = make_sample_media(tmp_path_factory.mktemp("fake-openai"))
    with serve(FakeOpenAI(mp4, thumbnail)) as fake:
        yield fake


async def test_openai_providers_take_a_continuation_to_final_ready(
    app: object,
    client: httpx.AsyncClient,
    factory: Factory,
    settings: Settings,
    fake_openai: FakeOpenAI,
    tmp_path: Path,
) -> None:
    fake_openai.reset()
    remote = settings.model_copy(
        update={
            "openai_api_key": SecretStr("sk-test"),
            "openai_base_url": fake_openai.url,
            "openai_video_poll_seconds": 0.05,
            "worker_poll_delay": 0.05,
            "work_dir": tmp_path,
        }
    )
    worker = Worker(**worker_options(remote), handle_signals=False)  # type: ignore[arg-type]
    task = asyncio.create_task(worker.async_run())
    try:
        owner = await factory.account()
        scene = await factory.scene(owner)
        job, progress = await wait_for_end(
            client, owner, (await submit(client, owner, scene["id"], CONTINUATION))["id"]
        )
    finally:
        await stop(worker, task)
    assert job["status"] == "final_ready", job
    assert progress == sorted(progress)
    assert len(fake_openai.calls("POST", "/v1/chat/completions")) == 1
    assert len(fake_openai.calls("POST", "/v1/moderations")) == 1
    assert len(fake_openai.calls("POST", "/v1/videos")) == 1
    segment = (await client.get(f"/v1/scenes/{scene['id']}/segments")).json()["items"][0]
    assert segment["duration"] == pytest.approx(job["result_data"]["duration"])
    # Every remote call is in the provider ledger, charged to the job and its owner.
    async with app.state.db.transaction() as session:  # type: ignore[attr-defined]
        calls = (
            await session.scalars(
                select(ProviderCall)
                .where(ProviderCall.job_id == uuid.UUID(job["id"]))
                .order_by(ProviderCall.id)
            )
        ).all()
    assert {c.provider for c in calls} == {"openai"}
    assert all(c.outcome == "ok" and c.user_id == uuid.UUID(owner.id) for c in calls)
    by_kind = {
        k: [c for c in calls if c.kind == k] for k in ("llm", "moderation", "video", "speech")
    }
    assert [len(by_kind[k]) for k in ("llm", "moderation")] == [1, 1]
    assert [c.operation for c in by_kind["video"]] == ["submit", "render"]
    assert by_kind["video"][0].request_id == by_kind["video"][1].request_id
    assert by_kind["video"][0].request_id in fake_openai.videos
    assert len(by_kind["speech"]) == len(fake_openai.calls("POST", "/v1/audio/speech"))
    # The provider's own id of each answer: completion, moderation, each line's x-request-id.
    assert by_kind["llm"][0].request_id.startswith("chatcmpl-")  # type: ignore[union-attr]
    assert by_kind["moderation"][0].request_id.startswith("modr-")  # type: ignore[union-attr]
    spoken = [c.request_id or "" for c in by_kind["speech"]]
    assert spoken and all(r.startswith("req_") for r in spoken) and len(set(spoken)) == len(spoken)


async def test_the_continuity_second_opinion_is_in_the_ledger_and_never_asked_twice(
    app: Any, settings: Settings, fake_openai: FakeOpenAI
) -> None:
    fake_openai.reset()
    fake_openai.opinion_verdict = "consistent"
    remote = settings.model_copy(
        update={"openai_api_key": SecretStr("sk-test"), "openai_base_url": fake_openai.url}
    )
    question = Question(
        text="Mara stares at the grey sea. Elias.",
        sentence="Elias.",
        entity="char_elias",
        entity_name="Elias Vane",
        rule="inactive_character",
        rules_say="'Elias Vane' is inactive but appears",
    )
    job_id, user_id = uuid.uuid4(), uuid.uuid4()
    runtime = build_runtime(remote)
    try:
        with serving(job_id, user_id):
            opinions = []
            for _ in range(2):  # the second as after a crash: a new reviewer, the same work
                reviewer = runtime.reviewer()
                assert isinstance(reviewer, LedgeredReviewer)
                try:
                    opinions.append(await reviewer.review(question))
                finally:
                    await reviewer.aclose()
    finally:
        await runtime.db.dispose()
    assert len(fake_openai.calls("POST", "/v1/chat/completions")) == 1
    assert opinions[0] == opinions[1] and opinions[0].verdict == "consistent"
    async with app.state.db.transaction() as session:
        [call] = (
            await session.scalars(select(ProviderCall).where(ProviderCall.job_id == job_id))
        ).all()
    assert (call.provider, call.kind, call.operation, call.outcome) == (
        "openai", "llm", "review", "ok"
    )  # fmt: skip
    assert call.user_id == user_id and call.work_key and call.work_key.startswith(str(job_id))
    assert call.request_id and call.request_id.startswith("chatcmpl-")
