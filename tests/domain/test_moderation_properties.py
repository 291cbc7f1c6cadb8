"""Property: whatever flags, claims and decisions happen, in whatever order, by whichever
reporters and moderators, the outcome matches a simple model of leases and open flags, no flag
stays open on a target right after it was decided, open flags of a target agree on its score
(and that score is the one the scoring rule gives now), and the audit trail holds exactly one
entry per decision and per automatic flag.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from domain.errors import Conflict, NotFound
from domain.ideas.models import Idea
from domain.moderation import service
from domain.moderation.models import ModerationActionRecord, ModerationFlag
from domain.moderation.scoring import target_score
from domain.moderation.service import TargetClaimed
from domain.topics.models import Topic
from domain.users.models import Role, User
from infra.providers.moderation import ContentVerdict

REPORTERS, MODERATORS, IDEAS = 3, 2, 2
LEASE = service.CLAIM_LEASE
REASONS = ["spam", "hate", "self_harm", "off_topic"]
ACTIONS = ["hide", "remove", "none", "ban_user"]
Target = tuple[str, uuid.UUID]


def _user(role: Role = Role.USER) -> User:
    name = f"p{uuid.uuid4().hex[:12]}"
    return User(email=f"{name}@example.com", username=name, password_hash="x", role=role.value)


@pytest.fixture(scope="module")
async def cast(app: Any) -> dict[str, Any]:
    """Reporters and moderators shared by every example; targets are made per example."""
    async with app.state.db.transaction() as session:
        people = {
            "reporters": [_user() for _ in range(REPORTERS)],
            "moderators": [_user(Role.MODERATOR) for _ in range(MODERATORS)],
        }
        topic = Topic(name="Properties", slug=f"properties-{uuid.uuid4().hex[:8]}")
        session.add_all([*people["reporters"], *people["moderators"], topic])
        await session.flush()
    return {**people, "topic_id": topic.id}


@dataclass
class Model:
    """What should be true: open flags per target, live leases, what is visible."""

    open: dict[Target, set[uuid.UUID]] = field(default_factory=dict)
    lease: dict[Target, tuple[uuid.UUID, datetime]] = field(default_factory=dict)
    visible: dict[Target, bool] = field(default_factory=dict)
    flag_target: dict[uuid.UUID, Target] = field(default_factory=dict)
    reporter_of: dict[uuid.UUID, uuid.UUID | None] = field(default_factory=dict)
    entries: int = 0

    def holder(self, target: Target, now: datetime) -> uuid.UUID | None:
        lease = self.lease.get(target)
        return lease[0] if lease and lease[1] > now else None

    def decided(self, target: Target, action: str | None, author_target: Target) -> None:
        self.open[target] = set()
        self.lease.pop(target, None)
        self.entries += 1
        if action in ("hide", "remove") or (action == "ban_user" and target == author_target):
            self.visible[target] = False
        if action == "ban_user" or (
            target == author_target and action is not None and action != "none"
        ):
            self.visible[author_target] = False


flag_op = st.tuples(
    st.just("flag"),
    st.integers(0, REPORTERS - 1),
    st.integers(0, IDEAS),
    st.sampled_from(REASONS),
)
auto_op = st.tuples(st.just("auto"), st.integers(0, IDEAS))
claim_op = st.tuples(st.just("claim"), st.integers(0, MODERATORS - 1), st.integers(0, 20))
resolve_op = st.tuples(
    st.just("resolve"),
    st.integers(0, MODERATORS - 1),
    st.integers(0, 20),
    st.sampled_from(ACTIONS),
)
dismiss_op = st.tuples(st.just("dismiss"), st.integers(0, MODERATORS - 1), st.integers(0, 20))
bulk_op = st.tuples(
    st.just("bulk"),
    st.integers(0, MODERATORS - 1),
    st.lists(st.integers(0, 20), min_size=1, max_size=4),
    st.sampled_from([*ACTIONS, None]),
)
later_op = st.tuples(st.just("later"))
operations = st.lists(
    st.one_of(flag_op, flag_op, auto_op, claim_op, resolve_op, dismiss_op, bulk_op, later_op),
    min_size=1,
    max_size=14,
)


async def _targets(app: Any, topic_id: uuid.UUID) -> tuple[list[Target], Target]:
    """Ideas by one fresh author, and the author's account as a target of its own."""
    async with app.state.db.transaction() as session:
        author = _user()
        session.add(author)
        await session.flush()
        ideas = [
            Idea(
                user_id=author.id,
                topic_id=topic_id,
                title=f"Idea {n}",
                prompt="p",
                status="active",
                review_status="approved",
            )
            for n in range(IDEAS)
        ]
        session.add_all(ideas)
        await session.flush()
    author_target: Target = ("user", author.id)
    return [("idea", i.id) for i in ideas] + [author_target], author_target


async def _check(
    app: Any, model: Model, targets: list[Target], decided: list[Target], now: datetime
) -> None:
    async with app.state.db.session() as session:
        rows = (
            await session.scalars(
                select(ModerationFlag).where(ModerationFlag.target_id.in_([t[1] for t in targets]))
            )
        ).all()
        open_rows = [r for r in rows if r.status in ("pending", "reviewing")]
        for target in decided:
            assert not [r for r in open_rows if (r.target_type, r.target_id) == target]
        for target in targets:
            mine = [r for r in open_rows if (r.target_type, r.target_id) == target]
            assert {r.id for r in mine} == model.open.get(target, set())
            holder = model.holder(target, now)
            if holder is not None:
                assert {(r.status, r.claimed_by) for r in mine} <= {("reviewing", holder)}
            if mine:
                assert len({r.score for r in mine}) == 1
                reporters = {r.reporter_id for r in mine if r.reporter_id is not None}
                history = (
                    (
                        await session.execute(
                            select(
                                ModerationFlag.reporter_id,
                                ModerationFlag.status,
                                ModerationFlag.action_taken,
                            ).where(ModerationFlag.reporter_id.in_(reporters))
                        )
                    ).all()
                    if reporters
                    else []
                )
                records = {
                    r: (
                        sum(
                            1
                            for h in history
                            if h[0] == r and h[1] == "resolved" and h[2] != "none"
                        ),
                        sum(1 for h in history if h[0] == r and h[1] == "dismissed"),
                    )
                    for r in reporters
                }
                expected = target_score([(r.reporter_id, r.reason) for r in mine], records)
                assert mine[0].score == pytest.approx(expected)
        entries = await session.scalar(
            select(func.count()).where(
                ModerationActionRecord.target_id.in_([t[1] for t in targets])
            )
        )
        assert entries == model.entries


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=operations)
# The interleavings that matter most, always tried: a claim refused to the other moderator
# and then closing the flags that joined it; a lease taken over after it lapsed, a bulk ban,
# and a flag on the banned author; a bulk over several targets with an automatic flag.
@example(
    ops=[
        ("flag", 0, 0, "spam"),
        ("claim", 0, 0),
        ("flag", 1, 0, "hate"),
        ("resolve", 1, 1, "hide"),
        ("dismiss", 0, 1),
        ("flag", 2, 0, "spam"),
    ]
)
@example(
    ops=[
        ("flag", 0, 1, "hate"),
        ("claim", 1, 0),
        ("later",),
        ("claim", 0, 0),
        ("resolve", 1, 0, "none"),
        ("bulk", 0, [0], "ban_user"),
        ("flag", 0, 2, "spam"),
    ]
)
@example(
    ops=[
        ("flag", 0, 2, "self_harm"),
        ("auto", 2),
        ("flag", 1, 0, "spam"),
        ("claim", 1, 2),
        ("bulk", 0, [0, 1, 2], "hide"),
        ("bulk", 1, [2, 0], None),
        ("resolve", 0, 0, "remove"),
    ]
)
async def test_decisions_leave_no_open_flag_and_one_audit_entry_each(
    app: Any, cast: dict[str, Any], ops: list[tuple[Any, ...]]
) -> None:
    targets, author_target = await _targets(app, cast["topic_id"])
    model = Model(visible={t: True for t in targets})
    reporters: list[User] = cast["reporters"]
    moderators: list[User] = cast["moderators"]
    flags: list[uuid.UUID] = []
    now = datetime.now(UTC)

    for op in ops:
        decided: list[Target] = []
        async with app.state.db.transaction() as session:
            if op[0] == "later":
                now += LEASE + timedelta(seconds=1)
            elif op[0] == "flag":
                reporter, target = reporters[op[1]], targets[op[2]]
                duplicate = any(
                    model.reporter_of[f] == reporter.id for f in model.open.get(target, set())
                )
                try:
                    flag = await service.file_flag(
                        session,
                        reporter,
                        target_type=target[0],
                        target_id=target[1],
                        reason=op[3],
                        description=None,
                        now=now,
                    )
                except NotFound:
                    assert not model.visible[target]
                except Conflict:
                    assert duplicate and model.visible[target]
                else:
                    assert model.visible[target] and not duplicate
                    holder = model.holder(target, now)
                    assert flag.status == ("reviewing" if holder else "pending")
                    model.open.setdefault(target, set()).add(flag.id)
                    model.flag_target[flag.id], model.reporter_of[flag.id] = target, reporter.id
                    flags.append(flag.id)
            elif op[0] == "auto":
                target = targets[op[1]]
                verdict = ContentVerdict("mild", ["insult"], ["jackass"])
                auto = await service.file_automatic_flag(
                    session, target[0], target[1], verdict, now=now
                )
                assert auto is not None
                model.open.setdefault(target, set()).add(auto.id)
                model.flag_target[auto.id], model.reporter_of[auto.id] = target, None
                model.entries += 1
                flags.append(auto.id)
            elif flags and op[0] in ("claim", "resolve", "dismiss"):
                moderator, flag_id = moderators[op[1]], flags[op[2] % len(flags)]
                target = model.flag_target[flag_id]
                holder = model.holder(target, now)
                is_open = flag_id in model.open.get(target, set())
                try:
                    if op[0] == "claim":
                        await service.claim(session, moderator, flag_id, now=now)
                    elif op[0] == "resolve":
                        await service.resolve(session, moderator, flag_id, op[3], now=now)
                    else:
                        await service.dismiss(session, moderator, flag_id, now=now)
                except TargetClaimed:
                    assert is_open and holder not in (None, moderator.id)
                except Conflict:
                    assert not is_open
                else:
                    assert is_open and holder in (None, moderator.id)
                    if op[0] == "claim":
                        model.lease[target] = (moderator.id, now + LEASE)
                    else:
                        model.decided(target, op[3] if op[0] == "resolve" else None, author_target)
                        decided.append(target)
            elif flags and op[0] == "bulk":
                moderator = moderators[op[1]]
                named = [flags[i % len(flags)] for i in op[2]]
                outcome = await service.bulk_decide(session, moderator, named, op[3], now=now)
                assert outcome.not_found == []
                for result in outcome.results:
                    target = (result.target_type, result.target_id)
                    holder = model.holder(target, now)
                    any_open = any(
                        f in model.open.get(target, set())
                        for f in named
                        if model.flag_target[f] == target
                    )
                    if result.outcome == "skipped":
                        assert not any_open or holder not in (None, moderator.id)
                    else:
                        assert any_open and holder in (None, moderator.id)
                        model.decided(target, op[3], author_target)
                        decided.append(target)
        await _check(app, model, targets, decided, now)
