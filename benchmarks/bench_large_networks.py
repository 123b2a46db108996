"""Benchmark: free energy (45) of 10⁴-10⁶-neuron permutation and chain networks, matrix-free.

Workload: a tanh network with sparse weights — a single cycle (60) with weight c, an open chain
0 → 1 → … → N-1 with weight c, or ``random3``: the sum of three random permutations with weight c/3
(a random 6-regular graph, an expander: no small separators, so sparse LU fills in) — uniform bias
b, β = 1, m = 0; the quantity is

    log det A,   A = I + βG,   G = JᵀJ (8)-(9),   J = I - diag(f'(w x̄ + b)) w,

which gives F = (1/2β) log det A - (N/2β) log 2π (45). Implementations, in this process, on the
same network:

* ``nnworld_jax``: what ``sparse_free_energy(method="auto")`` should pick (see the module notes of
  :mod:`nnworld_jax.sparse`): for the cycle and the chain, whose A has a paths/cycles graph,
  ``jit(sparse.structured_logdet)`` — the fixed point x̄ by iteration, then the EXACT log det by the
  blocked pivot scan (plus the corner lemma for the cycle), O(N); for ``random3`` (an expander: no
  such structure) ``jit(free_energy_slq)`` — stochastic Lanczos quadrature with p = max(4, 4·10⁶/N)
  (at most 512) Rademacher probes, so that Hutchinson's relative standard error is ~2e-4 at every N,
  and 24 Lanczos steps; O(pN) memory. Compile time apart. ``--slq`` adds the SLQ row for the
  structured networks too (``nnworld_jax slq``).
* ``scipy``: the same end-to-end work: the fixed point x̄ by iteration with the CSR matvec, then A
  assembled as a CSC matrix (``scipy.sparse``), sparse LU (``splu``), log det = Σ log|U_ii| (A is SPD,
  so no sign); where it fits in memory. Timed with its mean state, as ours is. (Both iterate to the
  same stopping rule; ours tests it only at the steps its measured contraction rate predicts, see
  ``sparse._iterate``, SciPy's loop tests it every step, as such a loop is usually written.)

``error`` is |log det - exact| / |exact| against the closed forms of
``nnworld_jax.claims.large_networks`` (circulant spectrum for the cycle, tridiagonal pivot
recurrence for the chain), float64 NumPy, independent of both implementations; for ``random3``
(no closed form) against SciPy's LU where that ran (N = 2000; at N = 10⁴ splu alone took 171 s
and 7·10⁷ nonzeros here), else none (the SLQ standard error is still reported).

    python benchmarks/bench_large_networks.py [--quick] [--json PATH] [--repeats K]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

from _timing import load1, median_and_spread, report_load, use_huge_pages, write_records  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

use_huge_pages()  # before JAX starts: may re-execute this process (see _timing)

# OpenBLAS's busy-waiting threads starve other threads on a small machine (see bench_free_energy.py).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from nnworld_jax import lanczos, sparse  # noqa: E402
from nnworld_jax.reference import (chain_logdet_tridiagonal, chain_slopes,  # noqa: E402
                               cycle_logdet_closed_form, uniform_fixed_point)

C, B, BETA = 0.5, 0.2, 1.0
PROBES, STEPS = 4, 24
SIZES = {"cycle": (10**4, 10**5, 10**6), "chain": (10**4, 10**5, 10**6), "random3": (2000, 10**5, 10**6)}
QUICK_SIZES = {"cycle": (10**4, 10**5), "chain": (10**4, 10**5), "random3": (2000,)}
SCIPY_MAX_N = {"cycle": 10**6, "chain": 10**6, "random3": 2000}  # LU fill-in of the expander beyond


def random3_weights(n: int, dtype, seed: int = 0):
    rng = np.random.default_rng(seed)
    rows = np.tile(np.arange(n), 3)
    cols = np.concatenate([rng.permutation(n) for _ in range(3)])
    pairs, mult = np.unique(rows * n + cols, return_counts=True)  # coinciding edges add up
    return sparse.sparse_weights(pairs // n, pairs % n, mult * (C / 3), n, dtype=dtype)


def build(kind: str, n: int, dtype):
    w = {"cycle": sparse.cycle_weights, "chain": sparse.chain_weights}.get(kind)
    w = w(n, C, dtype=dtype) if w else random3_weights(n, dtype)
    return sparse.SparseNetwork(w, B)


def num_probes(n: int) -> int:
    return int(min(512, max(PROBES, math.ceil(4 * 10**6 / n))))


def exact_logdet(kind: str, n: int):
    if kind == "random3":
        return None
    if kind == "cycle":
        a = 1 - math.tanh(C * uniform_fixed_point(C, B) + B) ** 2
        return cycle_logdet_closed_form([n], a * C, BETA)
    return chain_logdet_tridiagonal(chain_slopes(n, C, B), C, BETA)


def rel(value, exact):
    return None if exact is None else abs(float(value) - exact) / abs(exact)


# ---------------------------------------------------------------------------------- nnworld_jax
def bench_jax(net, repeats, slq: bool = False):
    """(log-det estimate, median s, spread s, compile s, method): exact when the network has the
    paths/cycles structure (and ``slq`` is False), else SLQ."""
    if sparse.has_structured_logdet(net.weights) and not slq:
        method = "exact"
        prog = jax.jit(lambda net: lanczos.LogDetEstimate(sparse.structured_logdet(net, BETA), jnp.zeros(()), jnp.zeros(())))
    else:
        method = "slq"
        prog = jax.jit(lambda net: lanczos.free_energy_slq(net, BETA, key=jax.random.PRNGKey(0),
                                                           num_probes=num_probes(net.n), num_steps=STEPS).logdet)
    t0 = time.perf_counter()
    compiled = prog.lower(net).compile()
    compile_s = time.perf_counter() - t0
    out = jax.block_until_ready(compiled(net))
    median_s, spread_s = median_and_spread(lambda: jax.block_until_ready(compiled(net)), repeats)
    return out, median_s, spread_s, compile_s, method


# ---------------------------------------------------------------------------------------- scipy
def scipy_mean_state(w_csr, n, tol=1e-12, max_iter=500):
    """The fixed point x = tanh(w x + b) by iteration with the CSR matvec (the same contraction
    nnworld_jax iterates), so SciPy pays for the mean state as our side does."""
    x = np.zeros(n)
    for _ in range(max_iter):
        x_new = np.tanh(w_csr @ x + B)
        if np.max(np.abs(x_new - x)) < tol:
            return x_new
        x = x_new
    raise RuntimeError("scipy mean state did not converge")


def scipy_logdet(sps, spla, w_csr, n):
    """End to end as a user would: mean state, J, A = I + βJᵀJ assembled as CSC, sparse LU (A is
    SPD, so log det = Σ log|U_ii|)."""
    x = scipy_mean_state(w_csr, n)
    d = 1 - np.tanh(w_csr @ x + B) ** 2
    jac = sps.identity(n, format="csr") - sps.diags(d) @ w_csr
    a = (sps.identity(n, format="csr") + BETA * (jac.T @ jac)).tocsc()
    lu = spla.splu(a)
    return float(np.sum(np.log(np.abs(lu.U.diagonal()))))


def bench_scipy(sps, spla, net, repeats):
    w = net.weights
    n = w.n
    w_csr = sps.csr_matrix((np.asarray(w.values, np.float64), (np.asarray(w.rows), np.asarray(w.cols))), shape=(n, n))
    out = scipy_logdet(sps, spla, w_csr, n)
    return (out, *median_and_spread(lambda: scipy_logdet(sps, spla, w_csr, n), repeats))


# ------------------------------------------------------------------------------------------ main
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 10⁴ and 10⁵ only, few repeats")
    parser.add_argument("--json", type=Path, help="write the records to this JSON file")
    parser.add_argument("--repeats", type=int, default=None, help="timed repetitions per record")
    parser.add_argument("--kinds", default=None, help="comma-separated subset of cycle,chain,random3")
    parser.add_argument("--sizes", default=None, help="comma-separated N to keep (e.g. 1000000)")
    parser.add_argument("--slq", action="store_true", help="also time SLQ on the structured networks")
    args = parser.parse_args(argv)
    sizes = QUICK_SIZES if args.quick else SIZES
    if args.kinds:
        sizes = {k: v for k, v in sizes.items() if k in args.kinds.split(",")}
    if args.sizes:
        keep = {int(float(x)) for x in args.sizes.split(",")}
        sizes = {k: tuple(n for n in (SIZES[k] + QUICK_SIZES[k]) if n in keep) for k in sizes}
        sizes = {k: tuple(sorted(set(v))) for k, v in sizes.items() if v}
    repeats = args.repeats or (2 if args.quick else 3)

    try:
        import scipy
        import scipy.sparse as sps
        import scipy.sparse.linalg as spla
    except ImportError:
        scipy = None
        print("scipy is not installed: its rows are skipped (pip install -e '.[bench]')", file=sys.stderr)

    print(f"jax {jax.__version__} on {jax.devices()[0].platform}; numpy {np.__version__}"
          + (f"; scipy {scipy.__version__}" if scipy else "") + f"; {os.cpu_count()} CPUs")
    load_before = report_load("before")
    records = []
    for kind, kind_sizes in sizes.items():
        for n in kind_sizes:
            exact = exact_logdet(kind, n)
            workload = f"{kind} N={n:.0e}".replace("e+0", "e")
            rows = []
            for dtype in ("float64", "float32"):
                net = build(kind, n, jnp.dtype(dtype))
                if scipy is not None and dtype == "float64" and n <= SCIPY_MAX_N[kind]:
                    out, t, spread = bench_scipy(sps, spla, net, repeats)
                    exact = out if exact is None else exact
                    rows.append(dict(workload=workload, impl="scipy", dtype=dtype, median_s=t, spread_s=spread,
                                     compile_s=0.0, error=rel(out, exact), load1=load1()))
                runs = [False, True] if args.slq and sparse.has_structured_logdet(net.weights) else [False]
                for slq in runs:
                    est, t, spread, c, method = bench_jax(net, repeats, slq)
                    rows.append(dict(workload=workload, impl="nnworld_jax" + (" slq" if slq else ""), dtype=dtype,
                                     median_s=t, spread_s=spread, compile_s=c, load1=load1(), method=method,
                                     error=rel(est.value, exact), std_error=float(est.std_error / abs(est.value)),
                                     probes=num_probes(n) if method == "slq" else 0))
                print(f"  done {workload} {dtype}", file=sys.stderr, flush=True)
            records += sorted(rows, key=lambda r: (r["dtype"] != "float64", not r["impl"].startswith("nnworld_jax"), r["impl"]))
    print_table(records)
    if max(load_before, report_load("after")) > 1.0:
        print("(not an idle run: rerun on a quiet machine before quoting these ratios)")
    write_records(args.json, records)
    return 0


def print_table(records) -> None:
    """One row per record; speed-up is the peer's time over ours (> 1: we win), float64 rows; SLQ σ/|x|
    is the reported relative standard error of the SLQ log-det; rel err n/a: no reference."""
    header = (f"{'workload':<16} {'dtype':<8} {'impl':<16} {'method':<6} {'median s':>10} {'± s':>7} {'compile s':>10} "
              f"{'rel err':>9} {'SLQ σ/|x|':>10} {'speed-up':>9}")
    print(header)
    print("-" * len(header))
    groups: dict[tuple, list] = {}
    for r in records:
        groups.setdefault(r["workload"], []).append(r)
    for workload, rows in groups.items():
        peers = {r["dtype"]: r["median_s"] for r in rows if not r["impl"].startswith("nnworld_jax")}
        for r in rows:
            ours = r["impl"].startswith("nnworld_jax")
            speedup = f"{peers[r['dtype']] / r['median_s']:.2f}x" if ours and r["dtype"] in peers else ""
            sigma = f"{r['std_error']:.1e}" if r.get("method") == "slq" else ""
            err = "n/a" if r["error"] is None else f"{r['error']:.1e}"
            print(f"{workload:<16} {r['dtype']:<8} {r['impl']:<16} {r.get('method', ''):<6} {r['median_s']:>10.3f} "
                  f"{r['spread_s']:>7.3f} {r['compile_s']:>10.2f} {err:>9} {sigma:>10} {speedup:>9}")


if __name__ == "__main__":
    sys.exit(main())
