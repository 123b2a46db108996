"""Shared by the benchmarks: the median wall time of repeated calls (compile excluded by the
caller, which runs once before timing) and the ``--json`` output."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path


def median_time(fn: Callable[[], object], repeats: int) -> float:
    """Median wall-clock seconds of ``repeats`` calls of ``fn`` (each blocks until its result is ready)."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def write_records(path: str | Path | None, records: list[dict]) -> None:
    """Write the ``{workload, impl, dtype, median_s, compile_s, error}`` records as a JSON list
    (nothing when ``path`` is None, i.e. no ``--json`` was given)."""
    if path is None:
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records, indent=1))
    print(f"wrote {path}")
