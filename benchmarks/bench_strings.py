"""Benchmark: permutation-network neurons (eq. (61)) and the Polyakov EOM (eq. (74)) at scale.

Workloads, all in this process on the same inputs:

* ``perm-flow``: D = 3 subsystems of N = 10⁶ neurons each, one RK4 step of dx/dτ = α(π - I)x.
  ``nnworld_jax``: ``jit(vmap(step))`` and ``jit(lax.map(step))`` with π as ``jnp.roll`` (no N×N
  matrix; the RK4 update of the linear flow applied as its 5-tap stencil). ``scipy``: the same
  RK4 step with π a ``scipy.sparse`` CSR permutation matrix (one sparse matvec per stage and
  subsystem). ``error``: max |Δ| between the two after one step.
* ``polyakov-eom``: a 1024 × 1024 world sheet, D + 1 = 4 target components, conformal gauge, fd2
  derivatives, float64 and float32. ``nnworld_jax``: ``jit(polyakov_eom)`` = ``jax.grad`` of the
  lattice action. ``scipy``: the equivalent linear operator T η (D_τᵀD_τ - D_σᵀD_σ) as one sparse
  matrix (built once, not timed) applied by 4 CSR matvecs and the 4 × 4 η mix (single-threaded).
  ``error``: max relative deviation between the two. ``floor: XLA y*2`` / ``floor: numpy y*2``:
  one read of the sheet and one fresh output of its size (32 MB each way in float64), the least any
  out-of-place EOM must move; on the 2-core CI machine the XLA floor costs more than numpy's (XLA
  page-faults a fresh 32 MB output buffer on every call, numpy's allocator maps it with huge
  pages), so ``nnworld_jax`` cannot go below ``floor: XLA y*2`` plus one read of Y for its NaN/inf
  check. The compiled EOM is one fused loop (slices of Y, no ghost copy, no sheet-sized
  intermediate: ``tests/test_strings.py::test_fd_eom_compiles_to_one_pass_over_the_sheet``).
  Measured on the 2-core machine at load 7.2 (not idle), float64: nnworld_jax 90 ms, floor XLA
  67 ms, floor numpy 15 ms, scipy.sparse 89 ms; float32: 21 ms vs scipy 45 ms. Each call of a jitted
  function returning a fresh float64 sheet took 8193 minor page faults (every 4 KiB page of its
  32 MiB output), numpy's ``y * 2`` 477; a 16 MiB float32 output is partly reused (2867). The
  fused loop itself costs about what XLA takes for a hand-written composite stencil (0.58 vs
  0.62 ms on a 256² sheet, one core), so what remains is the allocator floor and the NaN check.

Reported: steps (EOM evaluations) per second = 1 / median_s; compile time apart.

    python benchmarks/bench_strings.py [--quick] [--json PATH] [--repeats K]
"""

from __future__ import annotations

import argparse
import os
import time

from _timing import median_time, report_load, use_huge_pages, write_records  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

use_huge_pages()  # before JAX starts: may re-execute this process (see _timing)

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from nnworld_jax import hidden as H  # noqa: E402
from nnworld_jax import strings as S  # noqa: E402
from nnworld_jax.grid import Grid  # noqa: E402
from nnworld_jax.stepping import State  # noqa: E402

try:
    import scipy.sparse as sp
except ImportError:  # pragma: no cover
    sp = None


def bench_perm(n: int, d: int, repeats: int, dtype) -> list[dict]:
    alpha, dt = 4.0, 0.05
    rng = np.random.default_rng(0)
    x = rng.standard_normal((d, n)).astype(dtype)
    _, step = H.permutation_flow(alpha, dt)

    def one(v):
        return step(State(jnp.zeros((), v.dtype), v)).y

    xj = jnp.asarray(x)
    name = f"perm-flow N={n:.0e},D={d}"
    recs, out = [], None
    # vmap turns the per-subsystem roll into a minor-axis roll of a (D, N) array, which XLA:CPU runs
    # far slower than D separate 1-D passes once N spills the cache; lax.map keeps them 1-D.
    for impl, batched in (("nnworld_jax vmap", jax.vmap(one)), ("nnworld_jax lax.map", lambda v: jax.lax.map(one, v))):
        run = jax.jit(batched)
        t0 = time.perf_counter()
        res = run(xj).block_until_ready()
        compile_s = time.perf_counter() - t0
        med = median_time(lambda: run(xj).block_until_ready(), repeats)
        err = 0.0 if out is None else float(np.max(np.abs(np.asarray(res) - np.asarray(out))))
        out = res if out is None else out
        recs.append({"workload": name, "impl": impl, "dtype": str(np.dtype(dtype)), "median_s": med,
                     "compile_s": compile_s, "error": err})
    if sp is None:
        print("scipy not installed: skipping the scipy.sparse peer")
        return recs
    pi = sp.csr_matrix((np.ones(n, dtype), ((np.arange(n) - 1) % n, np.arange(n))), shape=(n, n))
    pi = pi.T.tocsr()  # row i has its 1 at column i - 1: (πx)_i = x_{i-1}

    def f(v):
        return alpha * (pi @ v - v)

    def rk4_all():
        res = np.empty_like(x)
        for mu in range(d):
            v = x[mu]
            k1 = f(v)
            k2 = f(v + 0.5 * dt * k1)
            k3 = f(v + 0.5 * dt * k2)
            k4 = f(v + dt * k3)
            res[mu] = v + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        return res

    ref = rk4_all()
    err = float(np.max(np.abs(ref - np.asarray(out))))
    recs.append({"workload": name, "impl": "scipy.sparse", "dtype": str(np.dtype(dtype)),
                 "median_s": median_time(rk4_all, repeats), "compile_s": 0.0, "error": err})
    return recs


def _fd2_first(n: int, h: float):
    # Periodic central difference (f_{j+1} - f_{j-1}) / 2h as a sparse matrix.
    j = np.arange(n)
    rows = np.concatenate([j, j])
    cols = np.concatenate([(j + 1) % n, (j - 1) % n])
    vals = np.concatenate([np.full(n, 0.5 / h), np.full(n, -0.5 / h)])
    return sp.csr_matrix((vals, (rows, cols)), shape=(n, n))


def bench_polyakov(n: int, repeats: int, dtype) -> list[dict]:
    g = Grid((n, n))
    rng = np.random.default_rng(1)
    y = rng.standard_normal((4, n, n)).astype(dtype)
    eom = jax.jit(lambda y: S.polyakov_eom(y, g, method="fd2"))
    yj = jnp.asarray(y)
    t0 = time.perf_counter()
    out = eom(yj).block_until_ready()
    compile_s = time.perf_counter() - t0
    med = median_time(lambda: eom(yj).block_until_ready(), repeats)
    name = f"polyakov-eom {n}x{n},D+1=4"
    dt_name = str(np.dtype(dtype))
    recs = [{"workload": name, "impl": "nnworld_jax", "dtype": dt_name, "median_s": med,
             "compile_s": compile_s, "error": 0.0}]
    # Memory floors: read the sheet once and write a fresh one (what any out-of-place EOM must do).
    copy = jax.jit(lambda y: y * 2)
    copy(yj).block_until_ready()
    recs.append({"workload": name, "impl": "floor: XLA y*2", "dtype": dt_name,
                 "median_s": median_time(lambda: copy(yj).block_until_ready(), repeats), "compile_s": 0.0,
                 "error": float("nan")})
    recs.append({"workload": name, "impl": "floor: numpy y*2", "dtype": dt_name,
                 "median_s": median_time(lambda: y * 2, repeats), "compile_s": 0.0, "error": float("nan")})
    if sp is None:
        print("scipy not installed: skipping the scipy.sparse peer")
        return recs
    h = g.spacing[0]
    d1 = _fd2_first(n, h)
    eye = sp.identity(n, format="csr")
    dt_ = sp.kron(d1, eye, format="csr")  # acts on the τ axis (axis 0, row-major flatten)
    ds_ = sp.kron(eye, d1, format="csr")
    # S = (T/2) Σ (|D_τX|²_η - |D_σX|²_η) h², so δS/δX^μ = T η_μν (D_τᵀD_τ - D_σᵀD_σ) X^ν (T = 1).
    op = (dt_.T @ dt_ - ds_.T @ ds_).tocsr().astype(dtype)
    eta = np.diag([-1.0, 1.0, 1.0, 1.0]).astype(dtype)
    flat = y.reshape(4, -1)

    def apply():
        lap = np.stack([op @ flat[m] for m in range(4)])
        return (eta @ lap)

    ref = apply().reshape(4, n, n)
    err = float(np.max(np.abs(ref - np.asarray(out))) / np.max(np.abs(ref)))
    recs.append({"workload": name, "impl": "scipy.sparse", "dtype": dt_name,
                 "median_s": median_time(apply, repeats), "compile_s": 0.0, "error": err})
    return recs


def print_table(records) -> None:
    """One row per record; ``vs peer`` on each nnworld_jax row is the peer's time over ours from this
    run (> 1: we are faster); the peer is scipy.sparse (the floor rows are no peers)."""
    print(f"{'workload':32s} {'dtype':8s} {'impl':20s} {'median_s':>10s} {'± s':>9s} {'steps/s':>10s} "
          f"{'compile_s':>10s} {'error':>10s} {'vs peer':>8s}")
    for r in records:
        peers = [p["median_s"] for p in records if p["workload"] == r["workload"] and p["dtype"] == r["dtype"]
                 and p["impl"] == "scipy.sparse"]
        ratio = f"{peers[0] / r['median_s']:.2f}x" if peers and r["impl"].startswith("nnworld_jax") else ""
        spread = getattr(r["median_s"], "spread", float("nan"))
        print(f"{r['workload']:32s} {r['dtype']:8s} {r['impl']:20s} {r['median_s']:10.4g} {spread:9.2g} "
              f"{1 / r['median_s']:10.4g} {r['compile_s']:10.3g} {r['error']:10.2g} {ratio:>8s}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", type=str, default=None)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    n_perm, n_sheet = (10**5, 256) if args.quick else (10**6, 1024)
    report_load("before")
    records = bench_perm(n_perm, 3, args.repeats, np.float64)
    for dtype in (np.float64, np.float32):
        records += bench_polyakov(n_sheet, args.repeats, dtype)
    print_table(records)
    report_load("after")
    write_records(args.json, records)


if __name__ == "__main__":
    main()
