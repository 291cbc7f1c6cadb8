"""Benchmarks: `python -m tests.benchmarks [names...]` (`make bench`) rewrites docs/BENCHMARKS.md.

Each `bench_<name>.py` here has `run() -> str`, a markdown section. pytest never collects these
files (it collects `test_*.py`) and no test asserts a timing: timings live in the document.
"""

from __future__ import annotations

import gc
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Timing:
    runs: int
    mean: float  # seconds
    p50: float
    p99: float

    def cells(self) -> list[str]:
        return [ms(self.mean), ms(self.p50), ms(self.p99), str(self.runs)]


def ms(seconds: float, digits: int = 3) -> str:
    return f"{seconds * 1000:.{digits}f} ms"


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """The sample at `fraction` (0.5 the median, 0.99 the p99) of samples sorted ascending."""
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


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
        p50=percentile(samples, 0.5),
        p99=percentile(samples, 0.99),
    )


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _first(path: str, prefix: str) -> str | None:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(prefix):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def machine() -> list[str]:
    memory = _first("/proc/meminfo", "MemTotal")
    ram = f"{int(memory.split()[0]) / 1024 / 1024:.1f} GiB" if memory else "unknown"
    # Other processes on the machine show up in the timings, p99 first.
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return [
        f"- Platform: {platform.platform()}",
        f"- CPU: {_first('/proc/cpuinfo', 'model name') or platform.processor() or 'unknown'}",
        f"- Cores: {os.cpu_count()}",
        f"- RAM: {ram}",
        f"- Python: {platform.python_version()} ({platform.python_implementation()})",
        f"- Load average (1, 5, 15 min) at the start: {load}",
    ]
