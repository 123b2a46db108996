"""Run every benchmark of this folder with ``--json`` and print one table.

Each benchmark runs in its own process (so one's threads, caches and XLA flags cannot skew the
next), writes its records ``{workload, impl, dtype, median_s, compile_s, error, ...}`` to a JSON file
in ``--out``, and this script prints them together with the device JAX ran on and the load each
record was measured at. Unchanged on CPU, GPU or TPU: the device is whatever JAX sees.

    python benchmarks/run_all.py [--quick] [--out DIR] [--only NAME ...] [--timeout S]

A benchmark that fails or runs past ``--timeout`` is reported as such and the others still run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = ("free_energy", "large_networks", "fokker_planck", "schrodinger", "strings", "curvature", "gravity",
              "training_loop")


def device_name() -> str:
    out = subprocess.run([sys.executable, "-c", "import jax; d = jax.devices()[0]; "
                          "print(f'{d.platform}: {d.device_kind} x{jax.device_count()}')"],
                         capture_output=True, text=True, timeout=120)
    return out.stdout.strip() or "unknown (jax did not start)"


def run_one(name: str, out_dir: Path, quick: bool, timeout: float) -> tuple[list[dict], str]:
    path = out_dir / f"{name}.json"
    cmd = [sys.executable, str(HERE / f"bench_{name}.py"), "--json", str(path)] + (["--quick"] if quick else [])
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=HERE)
    except subprocess.TimeoutExpired:
        return [], f"timed out after {timeout:g} s"
    (out_dir / f"{name}.log").write_text(proc.stdout + "\n--- stderr ---\n" + proc.stderr)
    if proc.returncode != 0 or not path.exists():
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return [], f"failed (exit {proc.returncode}): {last}"
    return json.loads(path.read_text()), f"ok in {time.perf_counter() - t0:.0f} s"


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="pass --quick to every benchmark")
    ap.add_argument("--out", type=Path, default=Path("bench-results"), help="folder for the JSON files and logs")
    ap.add_argument("--only", nargs="*", choices=BENCHMARKS, help="run only these benchmarks")
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds per benchmark")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    device = device_name()
    print(f"device: {device}")
    rows, status = [], {}
    for name in args.only or BENCHMARKS:
        print(f"running bench_{name}.py ...", flush=True)
        records, status[name] = run_one(name, args.out, args.quick, args.timeout)
        print(f"  {status[name]}", flush=True)
        rows += [dict(r, benchmark=name) for r in records]
    (args.out / "all.json").write_text(json.dumps({"device": device, "records": rows, "status": status}, indent=1))
    header = (f"{'benchmark':<15} {'workload':<38} {'impl':<30} {'dtype':<8} {'median s':>10} {'± s':>9} "
              f"{'compile s':>9} {'error':>9} {'load':>5}")
    print(f"\n{device}\n{header}\n{'-' * len(header)}")
    for r in rows:
        err = r.get("error")
        err = err if isinstance(err, str) else fmt(err, ".1e")
        print(f"{r['benchmark']:<15} {str(r['workload'])[:38]:<38} {str(r['impl'])[:30]:<30} {r['dtype']:<8} "
              f"{fmt(r.get('median_s'), '.4g'):>10} {fmt(r.get('spread_s'), '.2g'):>9} "
              f"{fmt(r.get('compile_s'), '.3g'):>9} {str(err)[:9]:>9} {fmt(r.get('load1'), '.1f'):>5}")
    failed = [n for n, s in status.items() if not s.startswith("ok")]
    if failed:
        print(f"\nnot run to the end: {', '.join(f'{n} ({status[n]})' for n in failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
