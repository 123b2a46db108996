"""Run every bad-input case of ``tests/bad_input/*.py`` and count how each one fails (issue #11).

Each case is classified by ``bad_input._harness.classify``:

* ``clear``   raised, and the message names the argument or the violated condition;
* ``unclear`` raised, but the message names neither;
* ``silent``  returned a value (a wrong number, a NaN, lost data) without an error;
* ``hang``    did not finish within ``--timeout`` seconds (the worker is killed and replaced);
* ``crash``   the worker process died (segfault, abort) on this case.

Cases run in a worker process per case module, one case at a time, with a per-case timeout, so a
hang or a crash costs one case, never the sweep. The worker uses the test suite's settings
(float64, rank promotion raising, two virtual CPU devices). Prints counts per module and in total,
the cases that were not clear, and writes every record with ``--json PATH``.

    python tools/bad_input_sweep.py                     # every case module
    python tools/bad_input_sweep.py --only thermo,sparse --timeout 60 --json sweep.json

Exit status 0 when there is no silent, hang or crash result and at most 5% of errors are unclear
(the issue's done-criterion, with at least ``--min-cases`` cases); 1 otherwise.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import multiprocessing as mp
import os
import pkgutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
OUTCOMES = ("clear", "unclear", "silent", "hang", "crash")


def case_modules(tests_dir: Path = TESTS) -> list[str]:
    """Names of the case files, ``tests/bad_input/<module>.py`` (``_harness`` is tooling)."""
    return sorted(m.name for m in pkgutil.iter_modules([str(tests_dir / "bad_input")]) if m.name != "_harness")


def _setup_worker(tests_dir: str) -> None:
    # The settings of tests/conftest.py: the cases are written for them.
    os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
    os.environ.setdefault("MPLBACKEND", "Agg")
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, tests_dir)
    import logging

    import jax

    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_numpy_rank_promotion", "raise")
    # jax logs every failed callback (how eqx.error_if raises under jit) with a traceback: noise here.
    logging.getLogger("jax").setLevel(logging.CRITICAL)


def _worker(module: str, tests_dir: str, conn) -> None:
    """Import one case module, then run the cases it is asked for, one at a time."""
    try:
        _setup_worker(tests_dir)
        from bad_input import _harness

        cases = importlib.import_module(f"bad_input.{module}").CASES
        conn.send(("ready", [(c.function, c.label, c.kind) for c in cases]))
    except BaseException as e:  # noqa: BLE001 - report, do not die silently
        conn.send(("import-error", f"{type(e).__name__}: {e}"))
        return
    while True:
        i = conn.recv()
        if i is None:
            return
        t0 = time.perf_counter()
        try:
            outcome, detail = _harness.classify(cases[i])
        except BaseException as e:  # noqa: BLE001 - classify catches Exception; this is e.g. SystemExit
            outcome, detail = "unclear", f"{type(e).__name__}: {e}"
        conn.send((outcome, detail[:2000], time.perf_counter() - t0))


class _Worker:
    def __init__(self, ctx, module: str, import_timeout: float, tests_dir: Path):
        self.parent, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker, args=(module, str(tests_dir), child), daemon=True)
        self.proc.start()
        child.close()
        if not self.parent.poll(import_timeout):
            self.kill()
            raise RuntimeError(f"importing bad_input.{module} took more than {import_timeout:.0f} s")
        try:
            status, payload = self.parent.recv()
        except EOFError:
            self.kill()
            raise RuntimeError(f"the worker died importing bad_input.{module}") from None
        if status != "ready":
            self.kill()
            raise RuntimeError(f"bad_input.{module} does not import: {payload}")
        self.cases = payload

    def run(self, i: int, timeout: float):
        self.parent.send(i)
        if not self.parent.poll(timeout):
            self.kill()
            return "hang", f"no result within {timeout:.0f} s", timeout
        try:
            return self.parent.recv()
        except EOFError:
            code = self.proc.exitcode
            self.kill()
            return "crash", f"worker exited with code {code}", float("nan")

    def close(self):
        try:
            self.parent.send(None)
        except (BrokenPipeError, OSError):
            pass
        self.proc.join(5)
        self.kill()

    def kill(self):
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()


def sweep_module(ctx, module: str, timeout: float, import_timeout: float, log,
                 tests_dir: Path = TESTS) -> tuple[list[dict], str | None]:
    """Every case of one module; a hung or crashed worker is replaced and the sweep goes on."""
    records: list[dict] = []
    try:
        worker = _Worker(ctx, module, import_timeout, tests_dir)
    except RuntimeError as e:
        return records, str(e)
    cases = worker.cases
    for i, (function, label, kind) in enumerate(cases):
        if not worker.proc.is_alive():
            try:
                worker = _Worker(ctx, module, import_timeout, tests_dir)
            except RuntimeError as e:
                return records, str(e)
        outcome, detail, seconds = worker.run(i, timeout)
        records.append({"module": module, "function": function, "label": label, "kind": kind,
                        "outcome": outcome, "seconds": round(seconds, 3), "detail": detail})
        if outcome != "clear":
            log(f"  {outcome:8s} {function}: {label}\n           {detail.strip().splitlines()[-1][:200] if detail.strip() else ''}")
    worker.close()
    return records, None


def public_function_count(modules: list[str]) -> int:
    """Public functions and classes of the package modules that have a case file (the CLI
    case files test commands, not a package module of the same name)."""
    sys.path.insert(0, str(ROOT))
    total = 0
    for name in modules:
        try:
            module = importlib.import_module(f"nnworld_jax.{name}")
        except ImportError:
            continue
        names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
        total += sum(1 for n in names if (inspect.isfunction(getattr(module, n, None)) or inspect.isclass(getattr(module, n, None)))
                     and getattr(getattr(module, n), "__module__", "") == module.__name__)
    return total


def summarize(records: list[dict]) -> dict:
    counts = {o: sum(r["outcome"] == o for r in records) for o in OUTCOMES}
    errors = counts["clear"] + counts["unclear"]
    return {"cases": len(records), **counts, "functions": len({r["function"] for r in records}),
            "unclear_fraction_of_errors": counts["unclear"] / errors if errors else 0.0}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated case modules (default: all)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per case before it counts as a hang")
    parser.add_argument("--import-timeout", type=float, default=300.0, help="seconds to import one case module")
    parser.add_argument("--json", type=Path, help="write every record and the counts to this file")
    parser.add_argument("--min-cases", type=int, default=400, help="cases the done-criterion asks for")
    parser.add_argument("--tests-dir", type=Path, default=TESTS, help="folder holding the bad_input package")
    args = parser.parse_args(argv)
    if args.timeout <= 0 or args.import_timeout <= 0:
        parser.error("--timeout and --import-timeout must be > 0 seconds")

    available = case_modules(args.tests_dir)
    modules = available if not args.only else [m.strip() for m in args.only.split(",") if m.strip()]
    unknown = sorted(set(modules) - set(available))
    if unknown:
        parser.error(f"no case file for {unknown}; available: {', '.join(available)}")

    ctx = mp.get_context("spawn")  # a fresh interpreter per worker: no jax state forked mid-flight
    records: list[dict] = []
    broken: dict[str, str] = {}
    t0 = time.perf_counter()
    print(f"{'module':18s} {'cases':>5s} {'clear':>5s} {'unclear':>7s} {'silent':>6s} {'hang':>4s} {'crash':>5s} {'time':>7s}")
    for module in modules:
        t = time.perf_counter()
        lines: list[str] = []
        recs, err = sweep_module(ctx, module, args.timeout, args.import_timeout, lines.append, args.tests_dir)
        records += recs
        s = summarize(recs)
        print(f"{module:18s} {s['cases']:5d} {s['clear']:5d} {s['unclear']:7d} {s['silent']:6d} {s['hang']:4d} "
              f"{s['crash']:5d} {time.perf_counter() - t:6.1f}s", flush=True)
        for line in lines:
            print(line, flush=True)
        if err:
            broken[module] = err
            print(f"  MODULE ERROR {err[:300]}", flush=True)

    total = summarize(records)
    total["public_functions_in_covered_modules"] = public_function_count(modules)
    total["modules"] = {m: summarize([r for r in records if r["module"] == m]) for m in modules}
    total["broken_modules"] = broken
    total["seconds"] = round(time.perf_counter() - t0, 1)
    print(f"{'TOTAL':18s} {total['cases']:5d} {total['clear']:5d} {total['unclear']:7d} {total['silent']:6d} "
          f"{total['hang']:4d} {total['crash']:5d} {total['seconds']:6.1f}s")
    print(f"functions with cases: {total['functions']}; unclear errors: {100 * total['unclear_fraction_of_errors']:.1f}%"
          f"; broken case modules: {len(broken)}")
    done = (total["silent"] == total["hang"] == total["crash"] == 0 and not broken
            and total["unclear_fraction_of_errors"] <= 0.05 and total["cases"] >= args.min_cases)
    print("done-criterion (>= %d cases, 0 silent, 0 hangs, <= 5%% unclear): %s" % (args.min_cases, "met" if done else "NOT met"))
    if args.json:
        args.json.write_text(json.dumps({"summary": total, "records": records}, indent=1))
    return 0 if done else 1


if __name__ == "__main__":
    sys.exit(main())
