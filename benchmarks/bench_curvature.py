"""Benchmark: Ricci scalar, Einstein tensor and Kretschmann scalar at many points (paper §9, (93)-(96)).

Workloads: the Schwarzschild (M = 1) and Kerr (M = 1, a = 0.7, Boyer-Lindquist) metrics at N
random points outside the horizon (N = 100,000; 10,000 with --quick), float64.

Implementations, in this process (or a child process for the peer) and on the same points:

* ``nnworld_jax``: ``curvature.on_points`` — forward-mode autodiff of the metric callable
  (nested jvps along the coordinates it depends on), component-wise algebra with closed-form
  inverse, ``jit(vmap)`` over chunks of points (``--chunk``, default 4096).
* ``baseline`` (with ``--baseline PATH``): an earlier ``curvature.py`` timed the same way in this run. End to end
  (metric callable -> values at N points) after compilation; ``compile_s`` is the first call on
  one chunk (trace + XLA compile), reported apart.
* ``einsteinpy`` (if installed): symbolic (SymPy) Riemann/Ricci/Einstein tensors from the
  metric, lambdified to NumPy and evaluated on the same N points; end to end = symbolic work +
  lambdify + evaluation (the symbolic part is its "compile"; we report it inside ``median_s``
  and also as ``compile_s``). It runs in a child process with a wall-clock cap (120 s; 20 s with
  --quick) because the Kerr Riemann tensor does not finish symbolically in minutes; a capped run
  is recorded with ``median_s = null`` and the cap in ``error``.

Each record's ``error`` is max|K − K_exact| / max|K_exact| against the closed form
(Schwarzschild: 48M²/r⁶; Kerr: Henry's formula), so both implementations are checked against the
same independent reference; for nnworld_jax it also includes max|R| / √max|K| (R = 0 exactly).

    python benchmarks/bench_curvature.py [--quick] [--json PATH] [--repeats K] [--peer-cap S] [--chunk C]
                                         [--baseline OLD_CURVATURE_PY] [--no-peer]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from _timing import load1, report_load, use_huge_pages, write_records  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

use_huge_pages()  # before JAX starts: may re-execute this process (see _timing)

M, A = 1.0, 0.7


def make_points(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([rng.uniform(-5, 5, n), rng.uniform(2.5, 20.0, n),
                     rng.uniform(0.2, np.pi - 0.2, n), rng.uniform(0, 2 * np.pi, n)], axis=1)


def exact_kretschmann(kind: str, P: np.ndarray) -> np.ndarray:
    r, c = P[:, 1], np.cos(P[:, 2])
    if kind == "schwarzschild":
        return 48 * M**2 / r**6
    ac = A * c
    sigma = r**2 + ac**2
    return 48 * M**2 * (r**6 - 15 * r**4 * ac**2 + 15 * r**2 * ac**4 - ac**6) / sigma**6


def rel_err(x, ref) -> float:
    # Normalized by max|ref|: Kerr's K changes sign, so a pointwise ratio would blow up near zeros.
    return float(np.max(np.abs(np.asarray(x) - ref)) / np.max(np.abs(ref)))


# ---------------------------------------------------------------------------------- nnworld_jax
def load_module(path: str):
    """A curvature.py from a file (e.g. ``git show HEAD:nnworld_jax/curvature.py > /tmp/old.py``),
    imported inside the nnworld_jax package, to time an earlier version in the same run."""
    import importlib.util

    import nnworld_jax  # noqa: F401

    spec = importlib.util.spec_from_file_location("nnworld_jax._bench_baseline_curvature", path)
    mod = importlib.util.module_from_spec(spec)
    mod.__package__ = "nnworld_jax"
    spec.loader.exec_module(mod)
    return mod


def bench_jax(kind: str, P: np.ndarray, repeats: int, chunk: int, cv=None):
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    from nnworld_jax import metrics as mt

    if cv is None:
        from nnworld_jax import curvature as cv

    metric = mt.schwarzschild(M) if kind == "schwarzschild" else mt.kerr(M, A)

    def fields(metric, X):  # the fused workload: R, G_ab and K from one curvature() per point
        c = cv.curvature(metric, X)
        return c.ricci_scalar, c.einstein_tensor, c.kretschmann

    pts = jnp.asarray(P)
    # First call at the full size: trace + XLA compile (+ the small eager ops of the chunk loop)
    # + one run; compile_s is that minus the median run below.
    t0, c0 = time.perf_counter(), time.process_time()
    jax.block_until_ready(cv.on_points(fields, metric, pts, chunk_size=chunk))
    first_s, first_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    times, cpu, out = [], [], None
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        out = jax.block_until_ready(cv.on_points(fields, metric, pts, chunk_size=chunk))
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    R, G, K = (np.asarray(o) for o in out)
    err = max(rel_err(K, exact_kretschmann(kind, P)), float(np.max(np.abs(R))) / float(np.max(np.abs(K))) ** 0.5)
    med, med_cpu = statistics.median(times), statistics.median(cpu)
    return med, first_s - med, err, {"cpu_s": med_cpu, "compile_cpu_s": first_cpu_s - med_cpu, "best_s": min(times)}


# ------------------------------------------------------------------------------------ einsteinpy
PEER_SCRIPT = r"""
import json, sys, time, os
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np, sympy as sp
from einsteinpy.symbolic import MetricTensor, RiemannCurvatureTensor, RicciTensor, RicciScalar, EinsteinTensor
kind, path = sys.argv[1], sys.argv[2]
P = np.load(path)
M, A = %r, %r
t0 = time.perf_counter()
t, r, th, ph = sp.symbols("t r theta phi")
if kind == "schwarzschild":
    f = 1 - 2 * M / r
    g = sp.diag(-f, 1 / f, r**2, r**2 * sp.sin(th) ** 2)
else:
    sig = r**2 + A**2 * sp.cos(th) ** 2
    dl = r**2 - 2 * M * r + A**2
    g = sp.zeros(4, 4)
    g[0, 0] = -(1 - 2 * M * r / sig)
    g[0, 3] = g[3, 0] = -2 * M * A * r * sp.sin(th) ** 2 / sig
    g[1, 1] = sig / dl
    g[2, 2] = sig
    g[3, 3] = (r**2 + A**2 + 2 * M * A**2 * r * sp.sin(th) ** 2 / sig) * sp.sin(th) ** 2
metric = MetricTensor(g.tolist(), (t, r, th, ph))
riem = RiemannCurvatureTensor.from_metric(metric)
ric = RicciTensor.from_riemann(riem)
R = RicciScalar.from_riccitensor(ric)
G = EinsteinTensor.from_metric(metric)
# Kretschmann: R_abcd R^abcd from the symbolic Riemann (einsteinpy has no Kretschmann class).
rd = riem.change_config("llll").tensor()
ru = riem.change_config("uuuu").tensor()
K = sum(rd[a, b, c, d] * ru[a, b, c, d] for a in range(4) for b in range(4) for c in range(4) for d in range(4))
fR = sp.lambdify((t, r, th, ph), R.expr, "numpy")
fG = sp.lambdify((t, r, th, ph), G.tensor().tolist(), "numpy")
fK = sp.lambdify((t, r, th, ph), K, "numpy")
symbolic_s = time.perf_counter() - t0
cols = P.T
evals = []
for _ in range(3):  # the lambdified evaluation alone, median of 3: the peer's per-point cost at its best
    t1 = time.perf_counter()
    Rv = np.broadcast_to(np.asarray(fR(*cols), dtype=float), (P.shape[0],))
    Gv = np.asarray(fG(*cols), dtype=object)
    Kv = np.broadcast_to(np.asarray(fK(*cols), dtype=float), (P.shape[0],))
    evals.append(time.perf_counter() - t1)
eval_s = sorted(evals)[1]
np.save(path + ".K.npy", Kv)
print(json.dumps({"symbolic_s": symbolic_s, "eval_s": eval_s, "R_max": float(np.max(np.abs(Rv)))}))
""" % (M, A)


def bench_einsteinpy(kind: str, P: np.ndarray, cap_s: float, workdir: str):
    try:
        import einsteinpy  # noqa: F401
    except ImportError:
        return None
    path = os.path.join(workdir, f"points_{kind}.npy")
    np.save(path, P)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-c", PEER_SCRIPT, kind, path], capture_output=True, text=True,
                              timeout=cap_s)
    except subprocess.TimeoutExpired:
        return {"median_s": None, "compile_s": None, "error": f"did not finish within the {cap_s:g} s cap"}
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        return {"median_s": None, "compile_s": None, "error": "failed: " + proc.stderr.strip().splitlines()[-1]}
    rec = json.loads(proc.stdout.strip().splitlines()[-1])
    K = np.load(path + ".K.npy")
    err = rel_err(K, exact_kretschmann(kind, P))
    return {"median_s": rec["symbolic_s"] + rec["eval_s"], "compile_s": rec["symbolic_s"], "error": err,
            "eval_s": rec["eval_s"], "process_wall_s": wall}


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", type=str, default=None)
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--chunk", type=int, default=4096)
    ap.add_argument("--peer-cap", type=float, default=None, help="wall-clock cap for einsteinpy (s)")
    ap.add_argument("--baseline", type=str, default=None,
                    help="path of an earlier curvature.py to time beside the current one (impl 'baseline')")
    ap.add_argument("--no-peer", action="store_true", help="skip einsteinpy")
    args = ap.parse_args(argv)
    n = 10_000 if args.quick else 100_000
    repeats = args.repeats or (2 if args.quick else 3)
    cap = args.peer_cap or (20.0 if args.quick else 120.0)
    import tempfile

    baseline = load_module(args.baseline) if args.baseline else None
    load_before = report_load("before")
    records = []
    with tempfile.TemporaryDirectory() as workdir:
        for kind in ("schwarzschild", "kerr"):
            P = make_points(n)
            workload = f"{kind} R,G,K N={n}"
            impls = [("nnworld_jax", None)] + ([("baseline", baseline)] if baseline is not None else [])
            for impl, mod in impls:
                med, comp, err, extra = bench_jax(kind, P, repeats, args.chunk, mod)
                records.append({"workload": workload, "impl": impl, "dtype": "float64", "median_s": med,
                                "compile_s": comp, "error": err, "per_point_s": med / n, "points_per_s": n / med,
                                "chunk": args.chunk, "load1": load1(), **extra})
            if args.no_peer:
                continue
            peer = bench_einsteinpy(kind, P, cap, workdir)
            if peer is None:
                print(f"einsteinpy not installed: peer skipped for {kind}", file=sys.stderr)
                continue
            rec = {"workload": workload, "impl": "einsteinpy", "dtype": "float64", "cap_s": cap, "load1": load1(), **peer}
            if peer["median_s"] is not None:
                rec["per_point_s"] = peer["eval_s"] / n
            records.append(rec)

    print(f"{'workload':28s} {'impl':12s} {'eval s':>9s} {'compile s':>9s} {'total s':>9s} "
          f"{'per point':>9s} {'points/s':>9s} {'cpu s':>7s} {'cmp cpu':>7s} {'error':>9s} {'eval ratio':>10s} "
          f"{'total ratio':>11s}")
    by_workload: dict[str, dict] = {}
    for r in records:
        by_workload.setdefault(r["workload"], {})[r["impl"]] = r
    for r in records:
        capped = r["median_s"] is None
        # eval = values at all N points once everything is built (ours: compiled program; einsteinpy: the
        # lambdified NumPy functions); total = first-call cost a cold user pays (compile/symbolic + eval).
        ev = None if capped else (r["eval_s"] if r["impl"] == "einsteinpy" else r["median_s"])
        total = None if capped or r["compile_s"] is None else ev + r["compile_s"]
        r["total_s"] = total
        peer = by_workload[r["workload"]].get("einsteinpy")
        ratio_eval = ratio_total = ""
        if r["impl"] != "einsteinpy" and peer is not None:
            if peer["median_s"] is None:
                ratio_total = f"> {peer['cap_s'] / total:.0f}x" if total else ""
            else:
                ratio_eval = f"{peer['eval_s'] / ev:.2f}x"
                ratio_total = f"{(peer['eval_s'] + peer['compile_s']) / total:.2f}x"
        fmt = lambda v, spec: "-" if v is None else format(v, spec)  # noqa: E731
        pp = f"{r['per_point_s']:.2e}" if r.get("per_point_s") else "-"
        pps = f"{r['points_per_s']:.2e}" if r.get("points_per_s") else "-"
        cpu = f"{r['cpu_s']:.3f}" if r.get("cpu_s") else "-"
        ccpu = f"{r['compile_cpu_s']:.2f}" if r.get("compile_cpu_s") else "-"
        err = r["error"] if isinstance(r["error"], str) else f"{r['error']:.1e}"
        print(f"{r['workload']:28s} {r['impl']:12s} {'capped' if capped else fmt(ev, '.3f'):>9s} "
              f"{fmt(r['compile_s'], '.2f'):>9s} {fmt(total, '.2f'):>9s} {pp:>9s} {pps:>9s} {cpu:>7s} {ccpu:>7s} {err:>9s} "
              f"{ratio_eval:>10s} {ratio_total:>11s}")
    print("eval = R, G_ab, K at all N points after compilation (nnworld_jax, median) or after the symbolic step "
          "(einsteinpy: lambdified NumPy, median of 3); compile = XLA trace+compile of one chunk, or einsteinpy's "
          "symbolic tensors + lambdify; total = compile + eval, what a cold-start user pays. Ratios = einsteinpy "
          "time / ours (> 1: we are faster); cpu s = process CPU time of one run; cmp cpu = process CPU time of "
          "the compile (less sensitive than wall time to other jobs on the cores). baseline runs after "
          "nnworld_jax in the same process, so its first call finds JAX warmed up (its cold start is understated).")
    print(f"einsteinpy runs in a child process with a cap of {cap:g} s per metric.")
    if max(load_before, report_load("after")) > 1.0:
        print("(not an idle run: rerun on a quiet machine before quoting these ratios)")
    write_records(args.json, records)
    return records


if __name__ == "__main__":
    main()
