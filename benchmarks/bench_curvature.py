"""Benchmark: Ricci scalar, Einstein tensor and Kretschmann scalar at many points (paper §9, (93)-(96)).

Workloads: the Schwarzschild (M = 1) and Kerr (M = 1, a = 0.7, Boyer-Lindquist) metrics at N
random points outside the horizon (N = 100,000; 10,000 with --quick), float64.

Implementations, in this process (or a child process for the peer) and on the same points:

* ``nnworld_jax``: ``curvature.on_points`` — forward-mode autodiff of the metric callable
  (nested ``jax.jacfwd``), closed-form inverse, ``jit(vmap)`` over chunks of points. End to end
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

    python benchmarks/bench_curvature.py [--quick] [--json PATH] [--repeats K] [--peer-cap S]
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
def bench_jax(kind: str, P: np.ndarray, repeats: int, chunk: int):
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    from nnworld_jax import curvature as cv
    from nnworld_jax import metrics as mt

    metric = mt.schwarzschild(M) if kind == "schwarzschild" else mt.kerr(M, A)

    def fields(metric, X):
        c = cv.curvature(metric, X)
        return c.ricci_scalar, c.einstein_tensor, c.kretschmann

    pts = jnp.asarray(P)
    t0 = time.perf_counter()
    jax.block_until_ready(cv.on_points(fields, metric, pts[:chunk], chunk_size=chunk))
    compile_s = time.perf_counter() - t0
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = jax.block_until_ready(cv.on_points(fields, metric, pts, chunk_size=chunk))
        times.append(time.perf_counter() - t0)
    R, G, K = (np.asarray(o) for o in out)
    err = max(rel_err(K, exact_kretschmann(kind, P)), float(np.max(np.abs(R))) / float(np.max(np.abs(K))) ** 0.5)
    return statistics.median(times), compile_s, err


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
t1 = time.perf_counter()
cols = P.T
Rv = np.broadcast_to(np.asarray(fR(*cols), dtype=float), (P.shape[0],))
Gv = np.asarray(fG(*cols), dtype=object)
Kv = np.broadcast_to(np.asarray(fK(*cols), dtype=float), (P.shape[0],))
eval_s = time.perf_counter() - t1
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
    args = ap.parse_args(argv)
    n = 10_000 if args.quick else 100_000
    repeats = args.repeats or (2 if args.quick else 3)
    cap = args.peer_cap or (20.0 if args.quick else 120.0)
    import tempfile

    records = []
    with tempfile.TemporaryDirectory() as workdir:
        for kind in ("schwarzschild", "kerr"):
            P = make_points(n)
            workload = f"{kind} R,G,K N={n}"
            med, comp, err = bench_jax(kind, P, repeats, args.chunk)
            records.append({"workload": workload, "impl": "nnworld_jax", "dtype": "float64", "median_s": med,
                            "compile_s": comp, "error": err, "per_point_s": med / n})
            peer = bench_einsteinpy(kind, P, cap, workdir)
            if peer is None:
                print(f"einsteinpy not installed: peer skipped for {kind}", file=sys.stderr)
                continue
            rec = {"workload": workload, "impl": "einsteinpy", "dtype": "float64", "cap_s": cap, **peer}
            if peer["median_s"] is not None:
                rec["per_point_s"] = peer["eval_s"] / n
            records.append(rec)

    print(f"{'workload':32s} {'impl':12s} {'end-to-end s':>13s} {'compile s':>10s} {'per point':>10s} {'error':>10s}")
    for r in records:
        med = "capped" if r["median_s"] is None else f"{r['median_s']:.3f}"
        comp = "-" if r["compile_s"] is None else f"{r['compile_s']:.2f}"
        pp = f"{r['per_point_s']:.2e}" if r.get("per_point_s") else "-"
        err = r["error"] if isinstance(r["error"], str) else f"{r['error']:.1e}"
        print(f"{r['workload']:32s} {r['impl']:12s} {med:>13s} {comp:>10s} {pp:>10s} {err:>10s}")
    print("einsteinpy: 'compile' = symbolic tensors + lambdify; per point = lambdified NumPy evaluation only; "
          f"cap {cap:g} s per metric (child process).")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(records, fh, indent=1)
    return records


if __name__ == "__main__":
    main()
