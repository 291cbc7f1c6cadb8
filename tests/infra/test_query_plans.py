"""EXPLAIN the hot queries on partitioned segments and jobs, the ideas list and the moderation
queue: they use their indexes, and a lookup whose time range is known (a job by its UUIDv7 id)
touches one partition.

The statements are the ones the repositories really send: a cursor hook records them while the
repository function runs, and they are explained with the same parameters (custom plans, as the
first executions of a prepared statement get). Thousands of rows over several monthly partitions
and an ANALYZE give the planner real statistics; sequential scans stay enabled.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, pool, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

import domain.models  # noqa: F401 - every mapper, for the ORM statements below
from domain.ideas import repository as ideas
from domain.ids import new_time_id
from domain.jobs import repository as jobs
from domain.jobs.models import Job
from domain.moderation import repository as moderation
from domain.pagination import paginate
from domain.scenes import repository as scenes
from infra.partitions import add_months, ensure_partitions, month_start
from infra.prepared import Prepared
from tests.scratch import scratch_database

FIRST = add_months(month_start(datetime.now(UTC).date()), -5)
START = datetime(FIRST.year, FIRST.month, FIRST.day, tzinfo=UTC)
SCENES, SEGMENTS_PER_SCENE, JOBS = 200, 30, 6000

SEED = [
    "INSERT INTO users (email, username, password_hash) "
    "SELECT 'plan' || g || '@example.com', 'plan' || g, 'x' FROM generate_series(1, 100) g",
    "INSERT INTO topics (name, slug) VALUES ('plans', 'plans')",
    "INSERT INTO ideas (user_id, topic_id, title, prompt) "
    "SELECT u.id, t.id, 'An idea', 'A prompt' FROM users u, topics t",
    "INSERT INTO scenes (idea_id, user_id, title, description) "
    "SELECT i.id, i.user_id, 'A scene', 'Fog.' FROM ideas i, generate_series(1, 2)",
    # Each scene's 30 segments spread over six months: its list crosses every partition.
    "INSERT INTO segments (scene_id, user_id, sequence, text, created_at) "
    "SELECT s.id, s.user_id, g, 'words', CAST(:start AS timestamptz) + (g - 1) * interval '6 days' "
    "FROM scenes s, generate_series(1, 30) g",
    # And one long story, over the same months.
    "INSERT INTO segments (scene_id, sequence, text, created_at) "
    "SELECT (SELECT id FROM scenes ORDER BY id DESC LIMIT 1), 30 + g, 'words', "
    "CAST(:start AS timestamptz) + g * interval '1 hour' FROM generate_series(1, 4000) g",
    # One job in twenty still open; the rest finished long ago.
    "INSERT INTO jobs (user_id, scene_id, text, bible_version, status, created_at, updated_at) "
    "SELECT s.user_id, s.id, 'go on', 1, "
    "CASE WHEN g % 20 = 0 THEN 'queued' ELSE 'final_ready' END, "
    "CAST(:start AS timestamptz) + g * interval '43 minutes', "
    "CAST(:start AS timestamptz) + g * interval '43 minutes' + interval '1 hour' "
    "FROM generate_series(1, 6000) g "
    "JOIN LATERAL (SELECT id, user_id FROM scenes ORDER BY id OFFSET g % 200 LIMIT 1) s ON true",
    # Twenty busy topics of 1,000 ideas each (one in ten still in review, one in fifty removed)
    # beside the 100 above, for GET /v1/ideas newest first.
    "INSERT INTO topics (name, slug) "
    "SELECT 'Busy ' || g, 'busy-' || g FROM generate_series(0, 19) g",
    "INSERT INTO ideas (user_id, topic_id, title, prompt, status, review_status, created_at) "
    "SELECT u.id, t.id, 'Busy idea', 'A prompt', "
    "CASE WHEN g % 50 = 0 THEN 'removed' ELSE 'active' END, "
    "CASE WHEN g % 10 = 0 THEN 'pending' ELSE 'approved' END, "
    "CAST(:start AS timestamptz) + g * interval '10 minutes' FROM generate_series(1, 20000) g "
    "JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM users) u ON u.n = g % 100 "
    "JOIN topics t ON t.slug = 'busy-' || (g % 20)",
    # The moderation queue: 20,000 resolved flags, 200 dismissed, 40 waiting.
    "INSERT INTO moderation_flags (reporter_id, target_type, target_id, reason, status, score, "
    "created_at) SELECT u.id, 'idea', i.id, 'spam', "
    "CASE WHEN g <= 40 THEN 'pending' WHEN g <= 240 THEN 'dismissed' ELSE 'resolved' END, "
    "g % 7, CAST(:start AS timestamptz) + g * interval '5 minutes' "
    "FROM generate_series(1, 20240) g "
    "JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM users) u ON u.n = g % 100 "
    "JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM ideas) i "
    "ON i.n = g % 20000",
]


@pytest.fixture(scope="module")
def scratch_url() -> Iterator[str]:
    with scratch_database("plans") as url:
        yield url


@pytest.fixture(scope="module")
async def engine(scratch_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(scratch_url, poolclass=pool.NullPool)
    async with engine.begin() as conn:
        await ensure_partitions(conn, months_ahead=8, today=FIRST)
        for sql in SEED:
            await conn.execute(text(sql), {"start": START})
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("ANALYZE"))
    yield engine
    await engine.dispose()


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with AsyncSession(engine) as session:
        yield session


async def explain(session: AsyncSession, run: Any) -> dict[str, Any]:
    """The plan of the one statement `run` sends, with the parameters it sent."""
    statement, parameters = await sent_statement(session, run)
    raw = await (await session.connection()).get_raw_connection()
    plan = await raw.driver_connection.fetchval(  # type: ignore[union-attr]
        f"EXPLAIN (FORMAT JSON) {statement}", *parameters
    )
    # SQLAlchemy's connection decodes json itself; a bare asyncpg one would hand over text.
    return (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]


async def sent_statement(session: AsyncSession, run: Any) -> tuple[str, Any]:
    """The one statement `run` sends, and the parameters it sent."""
    sent: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    sync_engine = session.bind.sync_engine  # type: ignore[union-attr]
    event.listen(sync_engine, "before_cursor_execute", record)
    try:
        await run()
    finally:
        event.remove(sync_engine, "before_cursor_execute", record)
    assert len(sent) == 1, sent
    return sent[0]


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def index_names(scan: dict[str, Any]) -> set[str]:
    """The indexes a scan reads: its own, or its Bitmap Index Scans'."""
    if "Index Name" in scan:
        return {scan["Index Name"]}
    return {n["Index Name"] for n in nodes(scan) if "Index Name" in n}


def scans(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Relation name -> the scan node reading it."""
    return {n["Relation Name"]: n for n in nodes(plan) if "Relation Name" in n}


async def index_parents(session: AsyncSession) -> dict[str, str]:
    """Each partition's index -> the partitioned index it belongs to."""
    rows = await session.execute(
        text(
            "SELECT c.relname, p.relname FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent "
            "WHERE p.relkind = 'I'"
        )
    )
    return {child: parent for child, parent in rows}


async def holding_rows(session: AsyncSession, table: str) -> set[str]:
    rows = await session.execute(
        text(f"SELECT DISTINCT tableoid::regclass::text FROM {table}")  # noqa: S608
    )
    return set(rows.scalars())


def assert_indexed(
    plan: dict[str, Any], parents: dict[str, str], index: str, partitions: set[str]
) -> None:
    """Every partition in `partitions` is read through its piece of `index`, none sequentially."""
    found = scans(plan)
    assert partitions <= set(found), f"unread partitions: {partitions - set(found)}"
    for name in partitions:
        node = found[name]
        assert node["Node Type"] != "Seq Scan", f"{name}: sequential scan"
        used = {parents.get(i) for i in index_names(node)}
        assert used == {index}, (name, node)


async def test_a_scenes_segments_in_order_use_the_scene_sequence_index(
    session: AsyncSession,
) -> None:
    parents = await index_parents(session)
    with_rows = await holding_rows(session, "segments")
    assert len(with_rows) >= 6
    short = await session.scalar(text("SELECT id FROM scenes ORDER BY id LIMIT 1"))
    long = await session.scalar(text("SELECT id FROM scenes ORDER BY id DESC LIMIT 1"))

    # 30 segments: the planner fetches them all through the index, then sorts 30 rows.
    plan = await explain(
        session, lambda: scenes.page_active_segments(session, short, limit=20, cursor=None)
    )
    assert_indexed(plan, parents, "ix_segments_scene_sequence", with_rows)

    # 4,030 segments: each partition's index is read from the cursor to the window's last
    # sequence (index conditions both), so no page reads more than its window of 21 rows,
    # whether merged in order or fetched and sorted.
    page = await scenes.page_active_segments(session, long, limit=20, cursor=None)
    for _ in range(50):
        page = await scenes.page_active_segments(session, long, limit=50, cursor=page.next_cursor)
    assert page.items[0].sequence == 2471
    first = await explain(
        session, lambda: scenes.page_active_segments(session, long, limit=20, cursor=None)
    )
    deep = await explain(
        session,
        lambda: scenes.page_active_segments(session, long, limit=20, cursor=page.next_cursor),
    )
    for plan in (first, deep):
        assert_indexed(plan, parents, "ix_segments_scene_sequence", with_rows)
        for scan in scans(plan).values():
            if scan["Relation Name"] in with_rows:
                condition = scan["Index Cond"]
                assert "sequence >" in condition and "sequence <=" in condition, scan


async def test_a_users_jobs_newest_first_use_the_user_created_index(
    session: AsyncSession,
) -> None:
    user = await session.scalar(text("SELECT user_id FROM jobs GROUP BY user_id LIMIT 1"))
    parents = await index_parents(session)

    plan = await explain(
        session,
        lambda: paginate(
            session, jobs.user_jobs(user, None), [Job.created_at, Job.id], limit=20, cursor=None
        ),
    )

    assert_indexed(plan, parents, "ix_jobs_user_created", await holding_rows(session, "jobs"))


async def test_the_unfinished_jobs_use_the_partial_index(session: AsyncSession) -> None:
    parents = await index_parents(session)
    later = START + timedelta(days=400)

    plan = await explain(session, lambda: jobs.stuck_jobs(session, later, limit=100))

    assert_indexed(plan, parents, "ix_jobs_unfinished", await holding_rows(session, "jobs"))


async def insert_job(session: AsyncSession, job_id: uuid.UUID, created: datetime) -> Any:
    """A job of a seeded scene's owner, created then (uncommitted); returns the owner's id."""
    scene, user = (await session.execute(text("SELECT id, user_id FROM scenes LIMIT 1"))).one()
    await session.execute(
        text(
            "INSERT INTO jobs (id, created_at, user_id, scene_id, text, bible_version) "
            "VALUES (:id, :at, :u, :s, 'go on', 1)"
        ),
        {"id": job_id, "at": created, "u": user, "s": scene},
    )
    return user


async def test_a_job_by_its_id_reads_one_partition(session: AsyncSession) -> None:
    created = START + timedelta(days=75, hours=5)
    job_id, created = new_time_id(created)
    await insert_job(session, job_id, created)
    month = f"jobs_p{created:%Y_%m}"

    plan = await explain(session, lambda: jobs.get(session, job_id))
    found = scans(plan)

    assert set(found) == {month}, f"read {sorted(found)}"
    assert found[month]["Node Type"] in ("Index Scan", "Index Only Scan", "Bitmap Heap Scan")
    assert (await jobs.get(session, job_id)) is not None
    # An id that is not a UUIDv7 names no month: every partition is read, still by the key.
    other = await explain(session, lambda: jobs.get(session, uuid.uuid4()))
    assert len(scans(other)) > 1
    await session.rollback()


def test_the_seed_spans_the_months() -> None:
    assert START.date() == FIRST and date.today() > FIRST


async def test_a_pages_covers_read_one_index_entry_per_scene(session: AsyncSession) -> None:
    """The scene list's covers: one statement for the page, each scene's chosen or first
    coverable segment found through a partial index of segment_sequences (its cover keys),
    no month's partition of segments read at all."""
    ids = list(await session.scalars(text("SELECT id FROM scenes ORDER BY id DESC LIMIT 20")))
    # The trigger writes each active segment's thumbnail as its cover key.
    await session.execute(text("UPDATE segments SET thumbnail_key = 'k/' || sequence"))
    # Half the page with a chosen cover (its second segment's thumbnail), half without.
    chosen = {scene_id: ("k/2" if i % 2 else None) for i, scene_id in enumerate(ids)}

    plan = await explain(session, lambda: scenes.cover_segments(session, chosen))

    relations = {n["Relation Name"] for n in nodes(plan) if "Relation Name" in n}
    assert not {r for r in relations if r.startswith("segments")}, relations
    cover_scans = [n for n in nodes(plan) if n.get("Relation Name") == "segment_sequences"]
    assert {scan["Node Type"] for scan in cover_scans} <= {"Index Scan", "Index Only Scan"}
    assert {scan["Index Name"] for scan in cover_scans} == {
        "ix_segment_sequences_first_cover",
        "ix_segment_sequences_cover_key",
    }
    assert any(n["Node Type"] == "Limit" for n in nodes(plan))
    assert not any(n["Node Type"] == "Sort" for n in nodes(plan)), "read in order, not sorted"
    covers = await scenes.cover_segments(session, chosen)
    assert set(covers) == set(ids)
    rows = await session.execute(
        text("SELECT id, sequence FROM segments WHERE id = ANY(:ids)"),
        {"ids": list(covers.values())},
    )
    sequence = {row.id: row.sequence for row in rows}
    assert {s: sequence[covers[s]] for s in ids} == {s: 2 if chosen[s] else 1 for s in ids}
    await session.rollback()


async def test_ideas_newest_first_read_the_created_indexes_in_order(
    session: AsyncSession,
) -> None:
    """GET /v1/ideas?sort=new, everyone's and a topic's, anonymous and signed in: the route's
    statement is `_listed`'s (prepared on the driver), so its generic plan is checked too."""
    busy = await session.scalar(text("SELECT id FROM topics WHERE slug = 'busy-3'"))
    viewer = await session.scalar(text("SELECT id FROM users LIMIT 1"))
    cases = [
        (ideas.IdeaFilter(), "ix_ideas_created"),
        (ideas.IdeaFilter(topic_id=busy), "ix_ideas_topic_created"),
        (ideas.IdeaFilter(topic_slug="busy-3"), "ix_ideas_topic_created"),
    ]
    for where, index in cases:
        for viewer_id in (None, viewer):
            run = functools.partial(
                ideas.page,
                session,
                viewer_id=viewer_id,
                where=where,
                sort="new",
                limit=20,
                cursor=None,
            )
            for generic in (False, True):
                plan = await planned(session, run, generic=generic)
                scan = scans(plan)["ideas"]
                assert scan["Node Type"] in ("Index Scan", "Index Only Scan"), (where, scan)
                assert index_names(scan) == {index}, (where, viewer_id, generic, scan)
                assert scan["Scan Direction"] == "Backward"  # newest first, read in order
                assert not any(n["Node Type"] == "Sort" for n in nodes(plan)), plan
    page = await ideas.page(
        session, viewer_id=None, where=cases[1][0], sort="new", limit=20, cursor=None
    )
    assert len(page.items) == 20 and all(i.topic_id == busy for i in page.items)
    assert [i.created_at for i in page.items] == sorted(
        (i.created_at for i in page.items), reverse=True
    )


async def test_the_moderation_queue_reads_its_status_through_an_index(
    session: AsyncSession,
) -> None:
    """Each view (a few rows among many decided ones) finds its flags through the status index;
    `pending` (pending, or reviewing with a lapsed lease) ORs it with the open flags' partial
    index. The ORDER BY is the grouped score, so no index orders the page."""
    now = START + timedelta(days=400)
    for status in ("pending", "reviewing", "dismissed"):
        run = functools.partial(
            moderation.page_queue,
            session,
            status=status,
            now=now,
            target_type=None,
            reason=None,
            limit=20,
            cursor=None,
        )
        for generic in (False, True):
            plan = await planned(session, run, generic=generic)
            scan = scans(plan)["moderation_flags"]
            assert scan["Node Type"] != "Seq Scan", (status, generic, scan)
            used = index_names(scan)
            assert "ix_moderation_flags_status_created" in used, (status, generic, scan)
            assert used <= OPEN_OR_STATUS, (status, generic, scan)
        page = await run()
        assert len(page.items) == (20 if status != "reviewing" else 0)


OPEN_OR_STATUS = {"ix_moderation_flags_status_created", "uq_moderation_flags_open_per_reporter"}


async def planned(session: AsyncSession, run: Any, *, generic: bool) -> dict[str, Any]:
    """The plan of the one statement `run` sends: a custom plan for its parameters, or the
    generic plan a prepared statement settles on."""
    if not generic:
        return await explain(session, run)
    statement, parameters = await sent_statement(session, run)
    return await generic_plan(session, statement, parameters)


async def driver_plan(session: AsyncSession, statement: Prepared, params: dict[str, Any]) -> Any:
    """The generic plan of a statement the API runs on its driver pool, whose connections
    keep one (infra.driver_pool): what PostgreSQL runs for it at every call."""
    return await generic_plan(session, statement.sql, statement.arguments(params))


async def generic_plan(session: AsyncSession, statement: str, parameters: Any) -> Any:
    """The generic plan of `statement`, the one a prepared statement settles on."""
    raw = (await (await session.connection()).get_raw_connection()).driver_connection
    await raw.execute("SET plan_cache_mode = force_generic_plan")  # type: ignore[union-attr]
    try:
        prepared = await raw.prepare(f"EXPLAIN (FORMAT JSON) {statement}")  # type: ignore[union-attr]
        plan = await prepared.fetchval(*parameters)
    finally:
        await raw.execute("RESET plan_cache_mode")  # type: ignore[union-attr]
    return (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]


async def test_the_job_polls_generic_plan_reads_one_partition(session: AsyncSession) -> None:
    created = START + timedelta(days=130, hours=2)
    job_id, created = new_time_id(created)
    user = await insert_job(session, job_id, created)
    params = {**jobs.in_its_month(job_id), "caller_id": user}

    plan = await driver_plan(session, jobs._POLL_STATEMENT, params)

    # The other months are removed as the executor starts (no planning at each call).
    month = f"jobs_p{created:%Y_%m}"
    assert set(scans(plan)) == {"users", month}, sorted(scans(plan))
    assert index_names(scans(plan)[month]) == {f"{month}_pkey"}, scans(plan)[month]
    await session.rollback()
