"""Prometheus metrics: per-route HTTP figures, and jobs, queue and partitions read at scrape time.

Each app owns a CollectorRegistry (never the process-wide default), so tests and several apps in
one process do not clash. HTTP figures are counted by the API's outermost middleware
(api.middleware.RequestMiddleware); everything that lives in PostgreSQL or Redis is read when
/metrics is scraped (bounded, and reported as a `storyloom_scrape_source_up` of 0 when a source
does not answer) and exists only in that scrape.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from prometheus_client import CollectorRegistry, GCCollector, Histogram, ProcessCollector
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from sqlalchemy.ext.asyncio import AsyncSession

from infra.logging import get_logger
from infra.queue import queue_stats
from infra.table_stats import read_table_stats

log = get_logger("infra.metrics")

HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_STATUS_CLASSES = ("other", "1xx", "2xx", "3xx", "4xx", "5xx")
UNMATCHED = "unmatched"
SOURCE_TIMEOUT_SECONDS = 2.0


class HttpMetrics:
    """One histogram: request latency by method, route template and status class."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.duration = Histogram(
            "storyloom_http_request_duration_seconds",
            "Time from request to the end of the response, by route template.",
            ("method", "route", "status"),
            buckets=HTTP_BUCKETS,
            registry=registry,
        )
        # The labelled child's bound observe, per (method, route, status class): labels()
        # takes a lock and builds strings, which the hot path should not pay every time.
        self._observers: dict[tuple[str, str, int], Callable[[float], None]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        if method not in _METHODS:  # a client's made-up method must not mint series
            method = "other"
        klass = status // 100 if 100 <= status < 600 else 0
        key = (method, route, klass)
        observe = self._observers.get(key)
        if observe is None:
            child = self.duration.labels(method, route, _STATUS_CLASSES[klass])
            observe = self._observers.setdefault(key, child.observe)
        observe(seconds)


class Metrics:
    """The app's registry, with process figures and the HTTP histogram registered on it."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.http = HttpMetrics(self.registry)

    def render(self, extra: Iterable[Metric], accept: str | None) -> tuple[bytes, str]:
        """The exposition (text format, or OpenMetrics when asked for) with `extra` appended."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(_Scrape(self.registry, list(extra))), content_type


@dataclass(frozen=True)
class _Scrape:
    """The registry plus this scrape's families, as one collector: no state shared across
    concurrent scrapes."""

    registry: CollectorRegistry
    extra: list[Metric]

    def collect(self) -> Iterator[Metric]:
        yield from self.registry.collect()
        yield from self.extra


def instrument(app: Any) -> Metrics:
    """Give a Starlette/FastAPI app its own registry (the HTTP figures are recorded by
    api.middleware.RequestMiddleware, the outermost layer)."""
    metrics = Metrics()
    app.state.metrics = metrics
    return metrics


# -- read at scrape time ---------------------------------------------------------------------
# The database's figures are read by the domain's repositories and handed here as plain values;
# this module only shapes them into metric families.

QUANTILES = (0.5, 0.9, 0.99)


@dataclass(frozen=True)
class JobCount:
    finished: bool  # a terminal status reached within the window, else still unfinished
    status: str
    stage: str
    jobs: int


@dataclass(frozen=True)
class StageTimes:
    stage: str
    runs: int
    quantiles: Sequence[float | None]  # one value per QUANTILES entry


@dataclass(frozen=True)
class JobFigures:
    """What the jobs table says at scrape time (see storyloom_jobs_* and storyloom_job_*)."""

    counts: list[JobCount]
    oldest_unfinished_age: float | None  # seconds; None when nothing is unfinished
    stage_times: list[StageTimes]
    end_to_end: Sequence[float | None] | None  # one value per QUANTILES entry


@dataclass(frozen=True)
class PartitionFigures:
    """Partition coverage per table, the target, and which DEFAULT partitions hold rows."""

    months_ahead: dict[str, int]
    horizon: dict[str, date | None]
    required_months_ahead: int
    default_has_rows: dict[str, bool]  # by table


def _gauge(name: str, doc: str, labels: Iterable[str] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=list(labels))


def _quantile_rows(family: GaugeMetricFamily, prefix: list[str], values: Any) -> None:
    for quantile, value in zip(QUANTILES, values or (), strict=False):
        if value is not None:
            family.add_metric([*prefix, str(quantile)], float(value))


def job_families(figures: JobFigures) -> list[Metric]:
    """Jobs by status and stage, the oldest unfinished job, stage and end-to-end durations."""
    unfinished = _gauge(
        "storyloom_jobs_unfinished", "Jobs not yet in a terminal status.", ("status", "stage")
    )
    finished = _gauge(
        "storyloom_jobs_finished_24h",
        "Jobs that reached a terminal status in the last 24 hours.",
        ("status", "stage"),
    )
    for count in figures.counts:
        target = finished if count.finished else unfinished
        target.add_metric([count.status, count.stage], float(count.jobs))

    age = _gauge(
        "storyloom_jobs_unfinished_oldest_update_age_seconds",
        "Seconds since the least recently updated unfinished job moved (0: none unfinished).",
    )
    age.add_metric([], float(figures.oldest_unfinished_age or 0.0))

    stage_seconds = _gauge(
        "storyloom_job_stage_duration_seconds",
        "Stage wall time over jobs finished in the last 24 hours, by quantile.",
        ("stage", "quantile"),
    )
    stage_runs = _gauge(
        "storyloom_job_stage_runs_24h",
        "Stage runs behind storyloom_job_stage_duration_seconds.",
        ("stage",),
    )
    for times in figures.stage_times:
        stage_runs.add_metric([times.stage], float(times.runs))
        _quantile_rows(stage_seconds, [times.stage], times.quantiles)

    end_to_end = _gauge(
        "storyloom_job_end_to_end_seconds",
        "Submission to final_ready over jobs finished in the last 24 hours, by quantile.",
        ("quantile",),
    )
    _quantile_rows(end_to_end, [], figures.end_to_end)
    return [unfinished, finished, age, stage_seconds, stage_runs, end_to_end]


def partition_families(figures: PartitionFigures) -> list[Metric]:
    """How many months ahead each partitioned table is covered, and stray default rows."""
    ahead = _gauge(
        "storyloom_partition_months_ahead",
        "Whole months after the current one covered by partitions without a gap.",
        ("table",),
    )
    horizon = _gauge(
        "storyloom_partition_horizon_timestamp_seconds",
        "Where gap-free partition coverage ends (Unix time).",
        ("table",),
    )
    for table, months in figures.months_ahead.items():
        ahead.add_metric([table], float(months))
        end = figures.horizon.get(table)
        if end is not None:
            horizon.add_metric(
                [table], datetime(end.year, end.month, end.day, tzinfo=UTC).timestamp()
            )
    wanted = _gauge(
        "storyloom_partition_months_ahead_required", "PARTITION_MONTHS_AHEAD, the target."
    )
    wanted.add_metric([], float(figures.required_months_ahead))
    strays = _gauge(
        "storyloom_partition_default_has_rows",
        "1 when the DEFAULT partition holds rows: partition maintenance fell behind.",
        ("table",),
    )
    for table, found in figures.default_has_rows.items():
        strays.add_metric([table], 1.0 if found else 0.0)
    return [ahead, horizon, wanted, strays]


async def queue_families(redis: Any, queue_name: str) -> list[Metric]:
    """The arq queue's depth, what of it is due now, and how long the oldest due entry waited."""
    stats = await queue_stats(redis, queue_name, int(time.time() * 1000))
    queued = _gauge("storyloom_queue_depth", "Jobs in the arq queue, deferred ones included.")
    queued.add_metric([], float(stats.depth))
    ready = _gauge("storyloom_queue_ready", "Jobs in the arq queue that are due now.")
    ready.add_metric([], float(stats.ready))
    age = _gauge(
        "storyloom_queue_oldest_ready_age_seconds",
        "Seconds the longest-waiting due entry has waited (0: none due).",
    )
    age.add_metric([], stats.oldest_ready_age_seconds)
    return [queued, ready, age]


async def table_families(session: AsyncSession) -> list[Metric]:
    """The figures of GET /v1/admin/stats: per table and partition, and per index."""
    per_table = {
        "rows": ("storyloom_table_rows", "Live rows (the statistics' estimate)."),
        "table_bytes": ("storyloom_table_size_bytes", "Table size, TOAST included."),
        "index_bytes": ("storyloom_table_index_size_bytes", "Size of the table's indexes."),
        "dead_tuples": ("storyloom_table_dead_tuples", "Dead rows awaiting vacuum."),
        "seq_scans": ("storyloom_table_seq_scans", "Sequential scans since the stats reset."),
        "index_scans": ("storyloom_table_index_scans", "Index scans since the stats reset."),
    }
    families = {k: _gauge(name, doc, ("table",)) for k, (name, doc) in per_table.items()}
    vacuumed = _gauge(
        "storyloom_table_last_vacuum_timestamp_seconds", "Last (auto)vacuum, Unix time.", ("table",)
    )
    analyzed = _gauge(
        "storyloom_table_last_analyze_timestamp_seconds",
        "Last (auto)analyze, Unix time.",
        ("table",),
    )
    scans = _gauge("storyloom_index_scans", "Scans of the index.", ("table", "index"))
    unused = _gauge(
        "storyloom_index_unused",
        "1 when the index was never scanned and enforces no constraint.",
        ("table", "index"),
    )
    for table in await read_table_stats(session):
        for key, family in families.items():
            family.add_metric([table.name], float(getattr(table, key)))
        if table.last_vacuum is not None:
            vacuumed.add_metric([table.name], table.last_vacuum.timestamp())
        if table.last_analyze is not None:
            analyzed.add_metric([table.name], table.last_analyze.timestamp())
        for index in table.indexes:
            scans.add_metric([table.name, index.name], float(index.scans))
            unused.add_metric([table.name, index.name], 1.0 if index.unused else 0.0)
    return [*families.values(), vacuumed, analyzed, scans, unused]


Source = Callable[[], Awaitable[list[Metric]]]


async def gather_sources(sources: dict[str, Source]) -> list[Metric]:
    """Run every source concurrently, each bounded; a failing one is reported, not raised."""

    async def one(name: str, source: Source) -> tuple[str, list[Metric], float, bool]:
        started = time.perf_counter()
        try:
            families = await asyncio.wait_for(source(), SOURCE_TIMEOUT_SECONDS)
            return name, families, time.perf_counter() - started, True
        except Exception as exc:  # noqa: BLE001 - a scrape must answer even when a source is down
            log.warning("metrics_source_failed", source=name, error=repr(exc))
            return name, [], time.perf_counter() - started, False

    results = await asyncio.gather(*(one(n, s) for n, s in sources.items()))
    up = _gauge("storyloom_scrape_source_up", "1 when the source answered this scrape.", ["source"])
    took = _gauge(
        "storyloom_scrape_source_duration_seconds", "Time to read the source.", ["source"]
    )
    families: list[Metric] = []
    for name, found, seconds, ok in results:
        families.extend(found)
        up.add_metric([name], 1.0 if ok else 0.0)
        took.add_metric([name], seconds)
    return [*families, up, took]
