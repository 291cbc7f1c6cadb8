"""`python -m tests.load.webhook_drill`: the webhook drill; writes its section of docs/LOAD.md.

A real receiver on loopback (checking every signature) serves DRILL_ENDPOINTS endpoints, one
per user. Moderators decide the users' topic proposals at DRILL_RATE events a second for
DRILL_UP_SECONDS; the receiver is then down for DRILL_DOWN_SECONDS while events keep coming,
comes back, and events go on for DRILL_UP_SECONDS more. The drill then waits for the backlog
and checks: every event delivered once (by webhook-id), in order per endpoint, signatures
valid. API, worker and receiver run in this one process, against a scratch database.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from domain.users.models import Role
from infra.settings import ROOT, Settings
from tests.benchmarks import machine, ms, percentile
from tests.factories import Account, Factory
from tests.load.sections import write_section
from tests.scratch import scratch_database
from tests.webhooks.receiver import Receiver
from tests.worker.running import stop
from worker.main import worker_options
from worker.refill import RefillingWorker

BEGIN, END = "<!-- webhook-drill -->", "<!-- /webhook-drill -->"


@dataclass(frozen=True)
class DrillShape:
    endpoints: int = int(os.environ.get("DRILL_ENDPOINTS", "20"))
    rate: float = float(os.environ.get("DRILL_RATE", "20"))
    up_seconds: float = float(os.environ.get("DRILL_UP_SECONDS", "15"))
    down_seconds: float = float(os.environ.get("DRILL_DOWN_SECONDS", "30"))
    drain_limit_seconds: float = float(os.environ.get("DRILL_DRAIN_LIMIT_SECONDS", "300"))


@dataclass
class Sent:
    """Events made, per endpoint path in order, with when each was decided (wall clock)."""

    order: dict[str, list[str]] = field(default_factory=dict)
    at: dict[str, float] = field(default_factory=dict)
    phase: dict[str, str] = field(default_factory=dict)
    # Each phase's wall-clock (start, end): the achieved event rate is its events over that.
    spans: dict[str, tuple[float, float]] = field(default_factory=dict)

    def rate(self, phase: str) -> float:
        start, end = self.spans.get(phase, (0.0, 0.0))
        made = sum(1 for p in self.phase.values() if p == phase)
        return made / (end - start) if end > start else 0.0


def drill_settings(database_url: str, root: Path) -> Settings:
    return Settings(
        STORYLOOM_ENV="test",
        DATABASE_URL=database_url,
        OPENAI_API_KEY=None,
        S3_BUCKET=None,
        QUEUE_NAME=f"storyloom:drill:{uuid.uuid4().hex[:8]}",
        MEDIA_DIR=root / "media",
        WORK_DIR=root / "work",
        LOG_LEVEL="WARNING",
        LOG_JSON=True,
        WEBHOOK_ALLOW_PRIVATE_TARGETS=True,
        WEBHOOK_TIMEOUT_SECONDS=2.0,
        # The production schedule in miniature: doubling from 0.25 s, capped at 4 s.
        WEBHOOK_RETRY_BASE_SECONDS=0.25,
        WEBHOOK_RETRY_MAX_INTERVAL_SECONDS=4.0,
        WEBHOOK_SWEEP_EVERY_SECONDS=5,
    )


async def _events(
    client: httpx.AsyncClient,
    factory: Factory,
    users: list[tuple[Account, str]],
    moderator: Account,
    sent: Sent,
    shape: DrillShape,
    seconds: float,
    phase: str,
) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    began = time.time()
    i = 0
    while loop.time() < end:
        started = loop.time()
        user, path = users[i % len(users)]
        proposal = await factory.proposal(user)
        response = await client.post(
            f"/v1/topic-proposals/{proposal['id']}/reject",
            json={"reason": "Drill."},
            headers=moderator.headers,
        )
        assert response.status_code == 200, response.text
        sent.order.setdefault(path, []).append(proposal["id"])
        sent.at[proposal["id"]] = time.time()
        sent.phase[proposal["id"]] = phase
        i += 1
        await asyncio.sleep(max(0.0, 1 / shape.rate - (loop.time() - started)))
    sent.spans[phase] = (began, time.time())


async def drill(shape: DrillShape, settings: Settings) -> str:
    from api.app import create_app

    app = create_app(settings)
    receiver = Receiver()
    await receiver.start()
    options = worker_options(settings)
    options["poll_delay"] = 0.05
    worker = RefillingWorker(**options, handle_signals=False)
    worker_task = asyncio.create_task(worker.async_run())
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://drill.test") as client,
    ):
        factory = Factory(app, client)
        moderator = await factory.account(Role.MODERATOR)
        users = []
        for n in range(shape.endpoints):
            user = await factory.account()
            path = f"/hooks/{n}"
            response = await client.post(
                "/v1/webhooks",
                json={"url": receiver.url(path), "events": ["proposal.decided"]},
                headers=user.headers,
            )
            assert response.status_code == 201, response.text
            receiver.secrets[path] = response.json()["secret"]
            users.append((user, path))
        sent = Sent()
        await _events(client, factory, users, moderator, sent, shape, shape.up_seconds, "up")
        await receiver.stop()
        await _events(client, factory, users, moderator, sent, shape, shape.down_seconds, "down")
        await receiver.start()
        back_at = time.time()
        await _events(client, factory, users, moderator, sent, shape, shape.up_seconds, "after")
        total = len(sent.at)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + shape.drain_limit_seconds
        while len(receiver.accepted) < total and loop.time() < deadline:
            await asyncio.sleep(0.1)
        drained_at = time.time()
    await stop(worker, worker_task)
    await receiver.stop()
    return report(shape, sent, receiver, back_at, drained_at, total)


def report(
    shape: DrillShape, sent: Sent, receiver: Receiver, back_at: float, drained: float, total: int
) -> str:
    got = {i: receiver.accepted[i].body["data"]["proposal_id"] for i in receiver.accepted}
    delivered = len(got)
    in_order = sum(
        1
        for path, ids in sent.order.items()
        if [got[i] for i in receiver.accepted_order.get(path, [])] == ids
    )
    by_proposal = {p: i for i, p in got.items()}
    latency: dict[str, list[float]] = {"up": [], "down": [], "after": []}
    for proposal, made in sent.at.items():
        message = by_proposal.get(proposal)
        if message is not None:
            latency[sent.phase[proposal]].append(receiver.accepted_at[message] - made)
    backlog = [
        receiver.accepted_at[by_proposal[p]]
        for p, ph in sent.phase.items()
        if ph == "down"
        if p in by_proposal
    ]
    caught_up = (max(backlog) - back_at) if backlog else 0.0

    def p(values: list[float], q: float) -> str:
        return ms(percentile(sorted(values), q), digits=1) if values else "-"

    rows = "\n".join(
        f"| {name} | {len(latency[name])} | {sent.rate(name):.1f} | {p(latency[name], 0.5)} "
        f"| {p(latency[name], 0.99)} |"
        for name in ("up", "down", "after")
    )
    run_at = datetime.fromtimestamp(min(sent.at.values(), default=time.time()), UTC)
    ok = delivered == total and in_order == len(sent.order) and receiver.bad_signatures == 0
    return f"""{BEGIN}
## Webhook drill

Command: `python -m tests.load.webhook_drill` (API, worker and receiver in one process).
Run on {run_at:%Y-%m-%d %H:%M} UTC.

{chr(10).join(machine())}

Shape: {shape.endpoints} endpoints (one per user), {shape.rate:g} events/s asked (a moderator
deciding the users' topic proposals, round robin) for {shape.up_seconds:g} s with the receiver
up, {shape.down_seconds:g} s with it down, {shape.up_seconds:g} s after it is back. Retries
double from 0.25 s, capped at 4 s (production: from 5 s, capped at 2 h, for a day).

| | |
|---|---|
| events recorded | {total} |
| delivered (distinct webhook-id) | {delivered} |
| endpoints whose events arrived in order | {in_order} of {len(sent.order)} |
| requests received (attempts that reached it) | {len(receiver.requests)} |
| repeats received (same webhook-id again) | {len(receiver.requests) - delivered} |
| bad signatures | {receiver.bad_signatures} |
| backlog delivered within, after the receiver came back | {caught_up:.1f} s |
| everything delivered within, after the receiver came back | {drained - back_at:.1f} s |
| **verdict** | {"every event once, in order, signed" if ok else "FAILED"} |

Events made per phase, the rate achieved (events over the phase's wall-clock time: each
event is a proposal made and decided through the API, so a slow API falls short of the asked
rate), and the latency from the decision's commit to the receiver's accepting it:

| events made while the receiver was | events | achieved events/s | p50 | p99 |
|---|---|---|---|---|
{rows}
{END}
"""


def main() -> int:
    document = Path(os.environ.get("LOAD_DOCUMENT", ROOT / "docs" / "LOAD.md"))
    shape = DrillShape()
    with scratch_database("drill") as url, tempfile.TemporaryDirectory() as tmp:
        section = asyncio.run(drill(shape, drill_settings(url, Path(tmp))))
    write_section(document, section, BEGIN, END)
    print(section)
    return 0 if "FAILED" not in section else 1


if __name__ == "__main__":
    sys.exit(main())
