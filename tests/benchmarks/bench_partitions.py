"""A scene's segments with 1,000,000 segments over 24 monthly partitions, against the same query
on an unpartitioned copy; and partition maintenance time with 24 partitions.

Seeding, in SQL (INSERT ... SELECT generate_series, in created_at order like real traffic):
1,000 scenes of 1,000 segments. Half the scenes are "long-lived": their segments spread over
all 24 months, the worst case for a list that cannot prune. The other half are "one-month"
scenes written within 30 days, starting in every month in turn. The segments_claim_sequence
trigger (which claims each (scene, sequence) in segment_sequences) is disabled for the seed
insert and enabled again after it; segment_sequences is then filled in one INSERT ... SELECT
(the list reads the creation times of its window of sequences there). The
copy is `CREATE TABLE segments_flat (LIKE segments INCLUDING ALL)`: the same columns and indexes
in one heap. Both are VACUUM ANALYZEd.

Two ways of sending the list: the statement the API's segments page sends
(domain.scenes.read_repository.page_scene_segments: the scene's visibility, the page and each
segment's media kinds and author in one), as an asyncpg prepared statement (the database's share
alone); and that function itself through `Database.read_rows` (what the API pays: the pool, the
driver, the rows), for which the copy is swapped in under the name segments.
"""

from __future__ import annotations

import asyncio
import gc
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import pool
from sqlalchemy.ext.asyncio import create_async_engine

import domain.models  # noqa: F401 - every mapper, for the statements' columns
from domain.pagination import encode_cursor
from domain.scenes import read_repository
from domain.scenes.access import is_public
from infra.db import Database
from infra.partitions import add_months, ensure_partitions, list_partitions, month_start
from infra.prepared import Prepared
from tests.benchmarks import Timing, table
from tests.benchmarks.support import bench_settings
from tests.conftest import asyncpg_dsn
from tests.scratch import scratch_database

SCENES = int(os.environ.get("BENCH_PARTITIONS_SCENES", "1000"))
PER_SCENE = 1000
MONTHS = 24
RUNS = int(os.environ.get("BENCH_PARTITIONS_RUNS", "400"))
# Partitioned and unpartitioned in turn, this many times (RUNS split among them): on a
# shared machine the load moves, and a side measured all at once would carry it alone.
ROUNDS = int(os.environ.get("BENCH_PARTITIONS_ROUNDS", "3"))
# Every scene of the kind once before timing: both copies do not fit in shared_buffers, and a
# case that met its scenes' pages cold paid reads the other did not (2-3x, either way).
WARMUP = SCENES // 2
TARGET = 1.3
DEEP_AFTER = 900

THIS_MONTH = month_start(datetime.now(UTC).date())
# 24 months ending with the third month ahead: 20 in the past, this one, 3 ahead.
FIRST = add_months(THIS_MONTH, -(MONTHS - 4))
SPAN_DAYS = (add_months(FIRST, MONTHS) - FIRST).days - 1

# Scene n (1-based) is long-lived when odd; a one-month scene starts in month n % 24.
SEED = [
    "INSERT INTO users (email, username, password_hash) "
    "SELECT 'bench' || g || '@example.com', 'bench' || g, 'x' FROM generate_series(1, 100) g",
    "INSERT INTO topics (name, slug) VALUES ('bench', 'bench')",
    "INSERT INTO ideas (user_id, topic_id, title, prompt) "
    "SELECT u.id, t.id, 'An idea', 'A prompt' FROM users u, topics t",
    f"INSERT INTO scenes (idea_id, user_id, title, description) "
    f"SELECT i.id, i.user_id, 'A scene', 'Fog.' FROM ideas i, generate_series(1, {SCENES} / 100)",
    "CREATE TABLE bench_scenes AS "
    "SELECT id, user_id, row_number() OVER (ORDER BY id) AS n FROM scenes",
    "ALTER TABLE segments DISABLE TRIGGER segments_claim_sequence",
    f"INSERT INTO segments (scene_id, user_id, sequence, text, duration, created_at) "
    f"SELECT s.id, s.user_id, g, repeat('The fog rolls over the docks. ', 6), 8, "
    f"CASE WHEN s.n % 2 = 1 "
    f"THEN $1::timestamptz + (g - 1) * interval '1 day' * {SPAN_DAYS} / {PER_SCENE} "
    f"ELSE $1::timestamptz + (s.n % {MONTHS}) * interval '1 month' "
    f"+ (g - 1) * interval '1 day' * 30 / {PER_SCENE} END "
    f"+ (s.n % 1440) * interval '1 minute' "
    f"FROM bench_scenes s, generate_series(1, {PER_SCENE}) g ORDER BY 6",
    "ALTER TABLE segments ENABLE TRIGGER segments_claim_sequence",
    # What the trigger would have claimed: the list reads its window of sequences here.
    "INSERT INTO segment_sequences (scene_id, sequence, segment_id, segment_created_at) "
    "SELECT scene_id, sequence, id, created_at FROM segments",
    "CREATE TABLE segments_flat (LIKE segments INCLUDING ALL)",
    "INSERT INTO segments_flat SELECT * FROM segments ORDER BY created_at",
    "VACUUM ANALYZE",
]


async def timed(
    fn: Callable[[], Awaitable[Any]], *, runs: int = max(1, RUNS // ROUNDS), warmup: int = 20
) -> Timing:
    """tests.benchmarks.measure for coroutines: perf_counter around each awaited call."""
    for _ in range(warmup):
        await fn()
    gc.collect()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - start)
    samples.sort()
    return Timing(
        runs=runs,
        mean=statistics.fmean(samples),
        p50=samples[len(samples) // 2],
        p99=samples[min(len(samples) - 1, round(0.99 * (len(samples) - 1)))],
    )


async def seed(dsn: str) -> float:
    """Seconds spent seeding."""
    conn = await asyncpg.connect(dsn)
    try:
        start = time.perf_counter()
        for sql in SEED:
            if "$1" in sql:
                await conn.execute(sql, datetime(FIRST.year, FIRST.month, 1, tzinfo=UTC))
            else:
                await conn.execute(sql)
        return time.perf_counter() - start
    finally:
        await conn.close()


def cycle(items: list[Any]) -> Callable[[], Any]:
    """Another item at each call, so no two consecutive calls list the same scene."""
    state = {"i": 0}

    def following() -> Any:
        state["i"] = (state["i"] + 1) % len(items)
        return items[state["i"]]

    return following


Case = tuple[str, str, Callable[[], Any], int]  # kind, page, next scene, cursor sequence


async def cases(dsn: str) -> list[Case]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT id, n FROM bench_scenes ORDER BY n")
    finally:
        await conn.close()
    long_lived = [r["id"] for r in rows if r["n"] % 2 == 1]
    one_month = [r["id"] for r in rows if r["n"] % 2 == 0]
    return [
        (kind, page, cycle(ids), after)
        for kind, ids in (("long-lived (24 months)", long_lived), ("one-month", one_month))
        for page, after in (("first page", 0), (f"deep page (after {DEEP_AFTER})", DEEP_AFTER))
    ]


async def sql_timings(dsn: str, work: list[Case]) -> list[Timing]:
    """The statement page_scene_segments sends (its windowed one), prepared on asyncpg."""
    conn = await asyncpg.connect(dsn)
    try:
        timings = []
        for _, _, scene, after in work:
            sent = read_repository._scene_segment_page(21, windowed=True, first=not after)
            statement = await conn.prepare(sent.sql)

            async def page(
                statement: Any = statement,
                sent: Prepared = sent,
                after: int = after,
                scene: Callable[[], Any] = scene,
            ) -> None:
                rows = await statement.fetch(*sent.arguments({"scene_id": scene(), "after": after}))
                assert len(rows) == 21

            timings.append(await timed(page, warmup=WARMUP))
        return timings
    finally:
        await conn.close()


async def api_timings(db: Database, work: list[Case]) -> list[Timing]:
    """page_scene_segments as the API's segments page calls it, through Database.read_rows."""
    timings = []
    for _, _, scene, after in work:
        # The cursor the previous page would have handed out.
        cursor = encode_cursor([after]) if after else None

        async def page(cursor: str | None = cursor, scene: Callable[[], Any] = scene) -> None:
            listed = await read_repository.page_scene_segments(
                db, scene(), visible=is_public, limit=20, cursor=cursor, after_lsn=None
            )
            assert listed is not None and len(listed.items) == 20

        timings.append(await timed(page, warmup=WARMUP))
    return timings


def _median_rounds(rounds: list[list[Timing]]) -> list[Timing]:
    return [sorted(case, key=lambda t: t.p50)[len(case) // 2] for case in zip(*rounds, strict=True)]


async def swap(dsn: str) -> None:
    """segments <-> segments_flat, so the repository's `segments` is the other one."""
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await conn.execute("ALTER TABLE segments RENAME TO segments_swap")
            await conn.execute("ALTER TABLE segments_flat RENAME TO segments")
            await conn.execute("ALTER TABLE segments_swap RENAME TO segments_flat")
    finally:
        await conn.close()


async def list_timings(url: str, dsn: str, root: Path) -> list[list[str]]:
    work = await cases(dsn)
    raw: dict[str, list[list[Timing]]] = {"segments": [], "segments_flat": []}
    api: dict[str, list[list[Timing]]] = {"segments": [], "segments_flat": []}
    for _ in range(ROUNDS):
        for name in ("segments", "segments_flat"):
            raw[name].append(await sql_timings(dsn, work))
            # A Database of its own per side: no statement prepared against the other table.
            db = Database(bench_settings(url, root))
            try:
                api[name].append(await api_timings(db, work))
            finally:
                await db.dispose()
            await swap(dsn)  # twice a round: back as it was
    # Per case, the median round (by p50).
    raw_medians = {name: _median_rounds(rounds) for name, rounds in raw.items()}
    api_medians = {name: _median_rounds(rounds) for name, rounds in api.items()}
    rows = []
    for via, found in (("SQL", raw_medians), ("API read", api_medians)):
        for (kind, page, _, _), part, flat in zip(
            work, found["segments"], found["segments_flat"], strict=True
        ):
            ratio = part.p50 / flat.p50
            rows.append(
                [
                    kind,
                    page,
                    via,
                    f"{part.p50 * 1000:.3f} / {part.p99 * 1000:.3f} ms",
                    f"{flat.p50 * 1000:.3f} / {flat.p99 * 1000:.3f} ms",
                    f"{ratio:.2f}x",
                    "met" if ratio <= TARGET else "MISSED",
                ]
            )
    return rows


async def maintenance_timings(url: str) -> tuple[list[list[str]], int]:
    # Pooled, as in the worker: the routine is timed, not the connection set-up.
    engine = create_async_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            report = await list_partitions(conn, required_months_ahead=3)
        monthly = sum(1 for p in report.partitions if p.table == "segments" and not p.is_default)
        tables = len({p.table for p in report.partitions})

        async def nothing_to_do() -> None:
            async with engine.begin() as conn:
                created = await ensure_partitions(conn, months_ahead=3, today=THIS_MONTH)
            assert created == []

        async def three_more() -> None:
            # Created and rolled back, so every run creates the same three months per table.
            async with engine.connect() as conn:
                transaction = await conn.begin()
                created = await ensure_partitions(conn, months_ahead=6, today=THIS_MONTH)
                await transaction.rollback()
            assert len(created) == 3 * tables

        rows = []
        for label, fn, runs in (
            ("ensure_partitions, nothing to create", nothing_to_do, 50),
            (f"ensure_partitions, 3 new months (x {tables} tables)", three_more, 20),
        ):
            timing = await timed(fn, runs=runs, warmup=2)
            rows.append([label, *timing.cells()])
        return rows, monthly
    finally:
        await engine.dispose()


def run() -> str:
    with scratch_database("bench_parts") as url, tempfile.TemporaryDirectory() as root:
        dsn = asyncpg_dsn(url)

        async def prepare() -> None:
            engine = create_async_engine(url, poolclass=pool.NullPool)
            async with engine.begin() as conn:
                await ensure_partitions(conn, months_ahead=MONTHS - 1, today=FIRST)
            await engine.dispose()

        asyncio.run(prepare())
        seeded = asyncio.run(seed(dsn))
        lists = asyncio.run(list_timings(url, dsn, Path(root)))
        maintenance, monthly = asyncio.run(maintenance_timings(url))

    total = SCENES * PER_SCENE
    return "\n".join(
        [
            "## Partitioned segments (`bench_partitions`)",
            "",
            f"{total:,} segments ({SCENES:,} scenes x {PER_SCENE:,}) over {monthly} monthly "
            f"partitions ({FIRST:%Y-%m} .. {add_months(THIS_MONTH, 3):%Y-%m}) and the default "
            "one, against an unpartitioned copy (same columns, same indexes). Half the scenes "
            "span all 24 months, half were written within one month. Each call lists another "
            f"scene of the kind; {RUNS // ROUNDS} runs per case after a warm-up, in {ROUNDS} "
            "rounds that alternate partitioned and unpartitioned; the round with the median p50 is "
            "shown, p50 / p99. The target "
            f"(partitioned at most {TARGET}x the unpartitioned time) is checked against p50. "
            "SQL: the segments page's one statement (the scene's visibility, the page, each "
            "segment's media kinds and author) as an asyncpg prepared statement; API read: "
            "`read_repository.page_scene_segments` through `Database.read_rows`, as the API's "
            "`GET /v1/scenes/{id}/segments` calls it (pool, driver, rows).",
            "",
            table(
                ["scene", "page of 20", "via", "partitioned", "unpartitioned", "ratio", "target"],
                lists,
            ),
            "",
            table(
                ["maintenance (24 monthly partitions per table)", "mean", "p50", "p99", "runs"],
                maintenance,
            ),
            "",
            f"- Seed: {seeded:.0f} s in SQL, with the segments_claim_sequence trigger disabled "
            "for the insert and segment_sequences filled afterwards in one statement.",
            "- Pruning: nothing in the list's own condition names a time. The statement first "
            "reads its window in segment_sequences (the next 21 sequences after the cursor, "
            "their creation times), and bounds segments.created_at by it at both ends, and the "
            "sequence by the window's last. The bounds are a subquery's values, so the "
            "partitions outside them are skipped while the statement runs (run-time pruning), "
            "not at planning. Given both ends PostgreSQL guesses the range holds 0.5% of the "
            "rows; the sequence bound, an index condition, makes that harmless: no plan reads "
            "past the window. (With the lower bound alone a deep page of a long-lived scene "
            "also ran the index of every later month.)",
            "- Generic plans: a prepared statement keeps its generic plan only while it looks no "
            "costlier than the custom plans of its first calls, and a custom plan of the "
            "partitioned page plans all 25 partitions at each call (1.3-3.6 ms instead of "
            "0.3 ms on 100,000 segments). The active status and a first page's cursor are "
            "literals and the scene a subquery's value, so a custom plan knows no more than the "
            "generic one (a one-month scene in the statistics' common values looked cheaper "
            "as a custom plan, and was re-planned at every call).",
            "- One column per partition: PostgreSQL sets up every partition's scan at each "
            "execution, also those that run-time pruning then skips, and building each scan's "
            "output (22 columns) was the largest share of the partitioned statement's cost "
            "(perf on the backend: ExecInitIndexScan 38%). The scans return the row as one "
            "composite value and its sequence; above the merge only the columns the page shows "
            "are taken out of the 21 rows (`script` and the provenance columns are never sent "
            "nor decoded). The unpartitioned copy runs the same statement, so it pays this too.",
            "- One statement: the scene's status and deleted_at (no row: no such scene; one row "
            "of NULL segment columns: an empty page), the page, each segment's media kinds (a "
            "subquery per row on segment_media's key) and its author (users, joined): one round "
            "trip where the API made three.",
            f"- Warm-up: each case first lists every scene of its kind once ({WARMUP} calls). "
            "The two copies together exceed shared_buffers (128 MB here); with 20 warm-up calls "
            "a case met most of its scenes' pages cold, and the side measured after the other "
            "had evicted them lost 2-3x.",
            "- The window's size and last sequence come back on every row: a page with as many "
            "rows as its window and none past it is the window itself; otherwise (a segment of "
            "the window not active, or an empty page) the page is read again without the "
            "bound, a second round trip only then.",
            "- LIMIT is inline in the statement (one prepared statement per page size). With "
            "LIMIT a bound parameter, PostgreSQL re-planned the list at every call (a generic "
            "plan blind to the limit looked costlier).",
            "- `nothing to create` is the daily cron's usual run: the advisory lock and one "
            "catalog read per table. Creating months is rolled back after each run so that "
            "every run does the same work; the default partitions are empty, nothing is moved.",
        ]
    )
