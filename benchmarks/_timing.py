"""Shared by the benchmarks: repeated timing with its spread, the machine's load, and the ``--json``
output.

A figure quoted from a benchmark is only as good as the machine was quiet: every benchmark prints the
1-minute load average before and after its run and warns when it is above 1 (on a 2-core box a load of
1 means one core was busy with something else), and every record carries the load it was measured at.

Large host buffers: every benchmark calls :func:`use_huge_pages` before it imports JAX. On Linux with
transparent huge pages in ``madvise`` mode (the common default), glibc's ``malloc`` hands XLA:CPU its
large output buffers as fresh 4 KiB pages, and faulting them in costs more than the arithmetic (a
32 MiB ``jit(lambda y: 2 * y)`` took 13.5 ms here, NumPy 4.9 ms, because NumPy advises huge pages
itself). ``GLIBC_TUNABLES=glibc.malloc.hugetlb=1`` makes ``malloc`` advise them too (3.9 ms). The
tunable is read at process start, so the benchmark re-executes itself once with it set; the peers run
in the same process under the same setting, and every record carries the ``GLIBC_TUNABLES`` in force.
Set ``GLIBC_TUNABLES=glibc.malloc.hugetlb=0`` to measure without it.
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
THP_SETTING = "/sys/kernel/mm/transparent_hugepage/enabled"
MIN_GLIBC = (2, 35)  # first glibc with the glibc.malloc.hugetlb tunable


def _glibc_version() -> tuple[int, ...]:
    try:
        name, version = os.confstr("CS_GNU_LIBC_VERSION").split()
        return tuple(int(v) for v in version.split(".")[:2]) if name == "glibc" else ()
    except (AttributeError, OSError, ValueError):
        return ()


def _thp_mode() -> str:
    """The bracketed mode of ``THP_SETTING`` (``always``, ``madvise``, ``never``), or "" if unreadable."""
    try:
        text = Path(THP_SETTING).read_text()
    except OSError:
        return ""
    return text[text.find("[") + 1:text.find("]")] if "[" in text else ""


def use_huge_pages() -> str:
    """Re-execute this process once with ``glibc.malloc.hugetlb=1`` where it helps (see the module
    docstring), and return the ``GLIBC_TUNABLES`` in force ("" where none).

    Nothing happens when the tunable is already set (either value: the user chose), off Linux/glibc,
    on glibc older than 2.35 (no such tunable) or when THP is ``always`` (already huge) or ``never``.
    Must be called before JAX is imported: the re-executed process starts from scratch anyway, but a
    process that has started XLA's threads should not be replaced.
    """
    tunables = os.environ.get("GLIBC_TUNABLES", "")
    if ("glibc.malloc.hugetlb" in tunables or not sys.platform.startswith("linux")
            or _glibc_version() < MIN_GLIBC or _thp_mode() != "madvise"):
        return tunables
    env = dict(os.environ, GLIBC_TUNABLES=":".join(filter(None, (tunables, "glibc.malloc.hugetlb=1"))))
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], env)
    return env["GLIBC_TUNABLES"]  # pragma: no cover  (execve does not return)


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
    tunables = os.environ.get("GLIBC_TUNABLES", "") or "none"
    print(f"load average (1 min) {when}: {load:.2f} on {ncpu} cores; GLIBC_TUNABLES: {tunables}")
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
        r.setdefault("glibc_tunables", os.environ.get("GLIBC_TUNABLES", ""))
    if path is None:
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records, indent=1))
    print(f"wrote {path}")
