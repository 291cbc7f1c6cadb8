"""The job event log and its pushed SSE stream, over real HTTP, PostgreSQL and the worker."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from domain.jobs import events, repository
from domain.jobs.models import Job
from domain.operations.models import ProviderCall
from domain.operations.repository import CallRecord, record_call
from infra.settings import Settings
from tests.factories import Account, Factory
from tests.worker.test_pipeline_e2e import CONTINUATION, submit, wait_for_end

READ_SECONDS = 20.0


@dataclass
class Frames:
    """What one SSE connection received: events (id, data) and comment lines."""

    events: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)

    @property
    def ids(self) -> list[int]:
        return [i for i, _ in self.events]


@asynccontextmanager
async def sse(
    base: str, account: Account, job_id: str, last_id: int | None = None
) -> AsyncIterator[tuple[Frames, AsyncIterator[str]]]:
    """An open stream: its frames so far, and an iterator that reads one more frame each step."""
    headers = dict(account.headers)
    if last_id is not None:
        headers["Last-Event-ID"] = str(last_id)
    frames = Frames()
    async with (
        httpx.AsyncClient(base_url=base, timeout=READ_SECONDS) as client,
        client.stream("GET", f"/v1/jobs/{job_id}/events", headers=headers) as response,
    ):
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")

        async def frames_iter() -> AsyncIterator[str]:
            current: dict[str, str] = {}
            async for line in response.aiter_lines():
                if line.startswith(":"):
                    frames.comments.append(line)
                    yield "comment"
                elif line == "" and current:
                    frames.events.append((int(current["id"]), json.loads(current["data"])))
                    current = {}
                    yield "event"
                elif line:
                    key, _, value = line.partition(": ")
                    current[key] = value

        yield frames, frames_iter()


async def read_all(base: str, account: Account, job_id: str, last_id: int | None = None) -> Frames:
    async with sse(base, account, job_id, last_id) as (frames, reader):
        async with asyncio.timeout(READ_SECONDS):
            async for _ in reader:
                pass
    return frames


async def read_until(reader: AsyncIterator[str], done: Any) -> None:
    async with asyncio.timeout(READ_SECONDS):
        async for _ in reader:
            if done():
                return
    raise AssertionError("the stream ended early")


async def move(app: Any, job_id: str, **values: Any) -> None:
    """A change to the job as any writer makes it: one UPDATE."""
    sets = ", ".join(f"{name} = :{name}" for name in values)
    async with app.state.db.transaction() as session:
        await session.execute(
            text(f"UPDATE jobs SET {sets} WHERE id = :job_id"), {"job_id": job_id, **values}
        )


async def cancel(base: str, account: Account, job_id: str) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        response = await client.post(f"/v1/jobs/{job_id}/cancel", headers=account.headers)
    assert response.status_code == 200, response.text


def _plain(value: Any) -> Any:
    # Event data is JSON: compare the row's values as JSON would carry them.
    if isinstance(value, datetime):
        return datetime.isoformat(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


@pytest.mark.usefixtures("worker")
async def test_a_finished_jobs_state_is_rebuilt_from_its_events_alone(
    client: httpx.AsyncClient, factory: Factory, app: Any, http_base: str
) -> None:
    owner = await factory.account()
    scene = await factory.scene(owner)
    job_id = (await submit(client, owner, scene["id"], CONTINUATION))["id"]
    final, _ = await wait_for_end(client, owner, job_id)
    assert final["status"] == "final_ready", final

    async with app.state.db.session() as session:
        row = await session.get(
            Job, (uuid.UUID(job_id), datetime.fromisoformat(final["created_at"]))
        )
        assert row is not None
        log = await events.after(session, row.id, row.created_at)
    assert [e.seq for e in log] == list(range(1, row.event_seq + 1))
    kinds = [e.kind for e in log]
    assert kinds[0] == "job.created" and kinds[-1] == "job.final_ready"
    assert {"job.attempt_started", "job.stage", "job.provider_called"} <= set(kinds)
    # Every provider call charged to the job is one of its events, as the ledger has it.
    async with app.state.db.session() as session:
        ledger = (
            await session.scalars(select(ProviderCall).where(ProviderCall.job_id == row.id))
        ).all()
    recorded = [e.data["provider_call"] for e in log if e.kind == "job.provider_call"]
    assert ledger and sorted(
        (c["kind"], c["operation"], c["outcome"], c["duration_ms"], c["cost_units"])
        for c in recorded
    ) == sorted((c.kind, c.operation, c.outcome, c.duration_ms, c.cost_units) for c in ledger)
    assert {c.kind for c in ledger} >= {"llm", "moderation", "video"}
    rebuilt = events.replay(log)
    for name in events.STATE_FIELDS:
        expected = _plain(getattr(row, name))
        got = rebuilt[name]
        if isinstance(expected, str) and name.endswith("_at"):
            assert datetime.fromisoformat(got) == getattr(row, name), name
        else:
            assert got == expected, name
    assert rebuilt["updated_at"] == row.updated_at

    # A client joining late gets the whole history, each event with its id, then the end.
    frames = await read_all(http_base, owner, job_id)
    assert frames.ids == list(range(1, row.event_seq + 1))
    assert [d["kind"] for _, d in frames.events] == kinds
    assert frames.events[-1][1]["status"] == "final_ready"
    assert frames.events[-1][1]["progress"] == 100
    assert frames.events[-1][1]["result_data"] == final["result_data"]
    assert frames.events[0][1]["status"] == "queued"
    polled = await client.get(f"/v1/jobs/{job_id}", headers=owner.headers)
    assert frames.events[-1][1]["etag"] == polled.headers["etag"]

    # Reconnecting after event 3: exactly the events after it, nothing before, nothing twice.
    resumed = await read_all(http_base, owner, job_id, last_id=3)
    assert resumed.ids == list(range(4, row.event_seq + 1))
    assert resumed.events == frames.events[3:]


async def test_resume_gets_exactly_what_was_missed_then_live_changes(
    factory: Factory, app: Any, http_base: str
) -> None:
    owner = await factory.account()
    scene = await factory.scene(owner)
    job_id = (await submit_quietly(http_base, owner, scene["id"]))["id"]
    async with sse(http_base, owner, job_id) as (frames, reader):
        await read_until(reader, lambda: len(frames.events) == 1)
        await move(app, job_id, status="processing", progress=5, message="Started.")
        await read_until(reader, lambda: len(frames.events) == 2)
    assert frames.ids == [1, 2]
    assert frames.events[1][1]["status"] == "processing"

    # Changes while nobody watched.
    await move(app, job_id, stage="script_expansion", progress=10)
    await move(app, job_id, progress=20, message="Writing.")
    async with sse(http_base, owner, job_id, last_id=2) as (again, reader):
        await read_until(reader, lambda: len(again.events) == 2)
        assert again.ids == [3, 4]
        assert again.events[-1][1]["progress"] == 20
        assert again.events[-1][1]["stage"] == "script_expansion"
        await move(app, job_id, progress=30, message="Still writing.")
        await read_until(reader, lambda: len(again.events) == 3)
        await cancel(http_base, owner, job_id)
        async with asyncio.timeout(READ_SECONDS):
            async for _ in reader:
                pass  # ends by itself after the terminal status
    assert again.ids == [3, 4, 5, 6]
    assert again.events[-1][1]["status"] == "cancelled"
    assert again.events[-1][1]["kind"] == "job.cancelled"


async def submit_quietly(base: str, owner: Account, scene_id: str) -> dict:
    """A job no worker runs in this test (no worker fixture): only the test moves it."""
    async with httpx.AsyncClient(base_url=base) as client:
        return await submit(client, owner, scene_id, "The bell rings once, then twice.")


async def test_an_idle_stream_gets_heartbeats(
    factory: Factory, settings: Settings, http_base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "sse_heartbeat_seconds", 0.2)
    owner = await factory.account()
    scene = await factory.scene(owner)
    job_id = (await submit_quietly(http_base, owner, scene["id"]))["id"]
    async with sse(http_base, owner, job_id) as (frames, reader):
        await read_until(reader, lambda: len(frames.comments) >= 2)
        assert frames.ids == [1]
        await cancel(http_base, owner, job_id)
        async with asyncio.timeout(READ_SECONDS):
            async for _ in reader:
                pass
    assert frames.ids == [1, 2]
    assert all(c == ": keep-alive" for c in frames.comments)


async def test_the_feed_reconnects_after_its_connection_is_killed_and_loses_nothing(
    factory: Factory, app: Any, http_base: str
) -> None:
    owner = await factory.account()
    scene = await factory.scene(owner)
    job_id = (await submit_quietly(http_base, owner, scene["id"]))["id"]
    feed = app.state.job_feed
    async with sse(http_base, owner, job_id) as (frames, reader):
        await read_until(reader, lambda: len(frames.events) == 1)
        connects = feed.connects
        pid = feed.connection.get_server_pid()
        async with app.state.db.transaction() as session:
            killed = await session.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        assert killed
        # Written while the feed is down (it waits JOB_FEED_RECONNECT_SECONDS to reconnect):
        # their NOTIFYs reach nobody.
        for progress in (10, 20, 30):
            await move(app, job_id, progress=progress, message=f"At {progress}.")
        await read_until(reader, lambda: len(frames.events) == 4)
        assert feed.connects == connects + 1
        assert feed.connection is not None and feed.connection.get_server_pid() != pid
        await move(app, job_id, progress=40)  # pushed through the new connection
        await read_until(reader, lambda: len(frames.events) == 5)
        await cancel(http_base, owner, job_id)
        async with asyncio.timeout(READ_SECONDS):
            async for _ in reader:
                pass
    assert frames.ids == [1, 2, 3, 4, 5, 6]
    assert [d["progress"] for _, d in frames.events[1:5]] == [10, 20, 30, 40]
    assert frames.events[-1][1]["status"] == "cancelled"


async def test_a_malformed_last_event_id_is_a_problem(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.account()
    scene = await factory.scene(owner)
    job = await submit(client, owner, scene["id"], "A malformed resume.")
    headers = {name.encode(): value.encode() for name, value in owner.headers.items()}
    for bad in (b'W/"abc"', b"-1", b"1e3", b"9999999999999", "\u00b2".encode("latin-1")):
        response = await client.get(
            f"/v1/jobs/{job['id']}/events", headers={**headers, b"Last-Event-ID": bad}
        )
        assert response.status_code == 422, (bad, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_only_the_owner_and_moderators_see_the_stream(
    client: httpx.AsyncClient, factory: Factory, http_base: str
) -> None:
    owner = await factory.account()
    scene = await factory.scene(owner)
    job_id = (await submit(client, owner, scene["id"], "Who may watch."))["id"]
    await cancel(http_base, owner, job_id)
    stranger = await factory.account()
    response = await client.get(f"/v1/jobs/{job_id}/events", headers=stranger.headers)
    assert response.status_code == 404
    assert (await client.get(f"/v1/jobs/{job_id}/events")).status_code == 401
    moderator = await factory.account("moderator")
    frames = await read_all(http_base, moderator, job_id)
    assert frames.ids == [1, 2] and frames.events[-1][1]["status"] == "cancelled"


async def test_a_deleted_job_takes_its_events_along(
    factory: Factory, app: Any, http_base: str
) -> None:
    owner = await factory.account()
    scene = await factory.scene(owner)
    job_id = (await submit_quietly(http_base, owner, scene["id"]))["id"]
    await move(app, job_id, progress=10)
    count = text("SELECT count(*) FROM job_events WHERE job_id = :job_id")
    async with app.state.db.transaction() as session:
        assert await session.scalar(count, {"job_id": job_id}) == 2
        await session.execute(text("DELETE FROM jobs WHERE id = :job_id"), {"job_id": job_id})
        assert await session.scalar(count, {"job_id": job_id}) == 0


async def test_each_kind_of_change_is_named_and_a_change_to_nothing_public_is_not_an_event(
    factory: Factory, app: Any, http_base: str
) -> None:
    owner = await factory.account()
    scene = await factory.scene(owner)
    job_id = (await submit_quietly(http_base, owner, scene["id"]))["id"]
    await move(app, job_id, attempt=1, status="processing")
    await move(app, job_id, stage="video_generation", progress=50)
    await move(app, job_id, provider_video_id="video_123")
    await move(app, job_id, message="Rendering.")
    await move(app, job_id, stage_outputs=json.dumps({"upload": {"seconds": 1}}))  # not public
    await move(app, job_id, retry_count=1, error_code="provider_unavailable", retryable=True)
    await move(app, job_id, cancel_requested=True)
    await move(app, job_id, status="failed", stage="error", error_message="Gave up.")
    async with app.state.db.session() as session:
        job = await repository.get(session, uuid.UUID(job_id))
        assert job is not None
        log = await events.after(session, job.id, job.created_at)
    assert [e.kind for e in log] == [
        "job.created",
        "job.attempt_started",
        "job.stage",
        "job.provider_called",
        "job.updated",
        "job.retry_scheduled",
        "job.cancel_requested",
        "job.failed",
    ]
    assert job.event_seq == len(log) == 8
    assert log[3].data == {"provider_video_id": "video_123"}
    assert log[5].data == {
        "retry_count": 1,
        "error_code": "provider_unavailable",
        "retryable": True,
    }
    rebuilt = events.replay(log)
    assert rebuilt["status"] == "failed" and rebuilt["error_message"] == "Gave up."
    assert rebuilt["stage"] == "error" and rebuilt["provider_video_id"] == "video_123"


async def test_a_provider_call_is_a_job_event_pushed_live_that_changes_no_field(
    factory: Factory, app: Any, http_base: str
) -> None:
    owner = await factory.account()
    scene = await factory.scene(owner)
    job_id = (await submit_quietly(http_base, owner, scene["id"]))["id"]
    call = CallRecord(
        provider="openai",
        kind="llm",
        operation="expand",
        outcome="error",
        duration_ms=420,
        job_id=uuid.UUID(job_id),
        error_code="rate_limited",
        cost_units=0,
    )
    async with sse(http_base, owner, job_id) as (frames, reader):
        await read_until(reader, lambda: len(frames.events) == 1)
        async with app.state.db.transaction() as session:
            await record_call(session, call)
            await record_call(session, replace(call, job_id=uuid.uuid4()))  # no such job
        await read_until(reader, lambda: len(frames.events) == 2)
    seq, pushed = frames.events[1]
    assert (seq, pushed["kind"]) == (2, "job.provider_call")
    assert {k: pushed[k] for k in ("status", "progress")} == {
        k: frames.events[0][1][k] for k in ("status", "progress")
    }
    async with app.state.db.session() as session:
        job = await repository.get(session, uuid.UUID(job_id))
        assert job is not None
        log = await events.after(session, job.id, job.created_at)
    assert job.event_seq == 2 and [e.kind for e in log] == ["job.created", "job.provider_call"]
    assert log[1].data == {
        "provider_call": {
            "provider": "openai",
            "kind": "llm",
            "operation": "expand",
            "outcome": "error",
            "error_code": "rate_limited",
            "duration_ms": 420,
            "cost_units": 0,
        }
    }
    rebuilt = events.replay(log)
    assert "provider_call" not in rebuilt and rebuilt["status"] == job.status
    assert rebuilt["updated_at"] == job.updated_at
