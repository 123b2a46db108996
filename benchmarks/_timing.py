"""Shared by the benchmarks: repeated timing with its spread, the machine's load, and the ``--json``
output.

A figure quoted from a benchmark is only as good as the machine was quiet: every benchmark prints the
1-minute load average before and after its run and warns when it is above 1 (on a 2-core box a load of
1 means one core was busy with something else), and every record carries the load it was measured at.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

LOAD_WARNING = 1.0  # 1-minute load average above which timings are flagged as not idle


def timings(fn: Callable[[], object], repeats: int) -> list[float]:
    """Wall-clock seconds of ``repeats`` calls of ``fn`` (each blocks until its result is ready)."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


class Seconds(float):
    """A median time in seconds that also carries the spread of the repeats it came from
    (``spread``), so every record can report both without changing the callers' arithmetic."""

    spread: float = float("nan")


def median_time(fn: Callable[[], object], repeats: int) -> Seconds:
    """Median wall-clock seconds of ``repeats`` calls of ``fn`` (compile excluded by the caller, which
    runs once before timing), with ``.spread`` as in :func:`median_and_spread`."""
    med, spread = median_and_spread(fn, repeats)
    out = Seconds(med)
    out.spread = spread
    return out


def median_and_spread(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """(median, spread) of ``repeats`` calls; the spread is (max - min) / 2 of the middle half of the
    sorted times (the half inter-quartile range; the full range for fewer than 4 repeats)."""
    ts = sorted(timings(fn, repeats))
    if len(ts) >= 4:
        q = len(ts) // 4
        ts_mid = ts[q:len(ts) - q]
    else:
        ts_mid = ts
    return statistics.median(ts), (ts_mid[-1] - ts_mid[0]) / 2


def load1() -> float:
    """The machine's 1-minute load average (NaN where the OS does not report one)."""
    try:
        return os.getloadavg()[0]
    except (OSError, AttributeError):
        return float("nan")


def report_load(when: str) -> float:
    """Print the 1-minute load average, with a warning when the machine is not idle; returns it."""
    load = load1()
    ncpu = os.cpu_count() or 1
    print(f"load average (1 min) {when}: {load:.2f} on {ncpu} cores")
    if load > LOAD_WARNING:
        print(f"WARNING: load {load:.2f} > {LOAD_WARNING}: another job shares the cores; timings below "
              "are not idle figures and ratios between implementations may be skewed", file=sys.stderr)
    return load


def write_records(path: str | Path | None, records: list[dict]) -> None:
    """Write the ``{workload, impl, dtype, median_s, compile_s, error}`` records (plus any extra keys,
    e.g. ``spread_s``, ``load1``) as a JSON list (nothing when ``path`` is None, i.e. no ``--json``)."""
    for r in records:  # spread and load travel with every record, whichever helper timed it
        r.setdefault("spread_s", getattr(r.get("median_s"), "spread", None))
        r.setdefault("load1", load1())
    if path is None:
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records, indent=1))
    print(f"wrote {path}")
