"""Benchmarks: `python -m tests.benchmarks [names...]` (`make bench`) rewrites docs/BENCHMARKS.md.

Each `bench_<name>.py` here has `run() -> str`, a markdown section. pytest never collects these
files (it collects `test_*.py`) and no test asserts a timing: timings live in the document.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Timing:
    runs: int
    mean: float  # seconds
    p50: float
    p99: float

    def cells(self) -> list[str]:
        return [ms(self.mean), ms(self.p50), ms(self.p99), str(self.runs)]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms"


def measure(fn: Callable[[], Any], *, runs: int = 300, warmup: int = 10) -> Timing:
    """time.perf_counter around each call; the collector runs between cases, not inside one."""
    for _ in range(warmup):
        fn()
    gc.collect()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    samples.sort()
    return Timing(
        runs=runs,
        mean=statistics.fmean(samples),
        p50=samples[len(samples) // 2],
        p99=samples[min(len(samples) - 1, round(0.99 * (len(samples) - 1)))],
    )


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
