"""Benchmark: Euler-Lagrange equations of the discretized gravitational action on a d = 4 grid
(paper §9, eqs. (89)-(92); ``gravity.gravity_euler_lagrange``, i.e. ``jax.grad`` of the action).

Workload: K = 4 coordinates on a periodic grid of 16⁴ points (8⁴ with --quick), the conventions §6
test metric (a perturbed Minkowski metric, ``gravity.reference_metric`` with ε = 0.05 and signature
(-1, 1, 1, 1)), each density of ``gravity.DENSITIES`` ("paper", "corrected", "gamma-gamma",
"einstein-hilbert") with the derivative methods "spectral" (default) and "fd2"; float64, plus
float32 rows for the spectral method.

Per record: ``first_s`` is the first call as a user sees it (tracing + XLA compile + one run; the
first record of the run also compiles the field checks shared by all later ones), ``compile_s`` =
``first_s`` - ``median_s``, ``median_s`` the median of the later calls, and ``first_cpu_s`` the
process CPU time of the first call (on a shared machine wall time is not the cost: see the load
column). ``error`` is max |E^{αβ} - (-√|g| G^{αβ})| / max |√|g| G^{αβ}|, with G from
``gravity.einstein_tensor_of`` (forward-mode autodiff of the analytic metric, no grid): the
discretization error for "corrected", "gamma-gamma" and "einstein-hilbert"; O(1) for "paper",
whose Euler-Lagrange equations are not Einstein's (the printed tensor (91) is wrong).

No peer exists: no other package computes the Euler-Lagrange equations of a discretized
gravitational action by automatic differentiation; the peer column prints "—".

    python benchmarks/bench_gravity.py [--quick] [--json PATH] [--repeats K] [--n N] [--elemental]

``--elemental`` sets ``XLA_FLAGS=--xla_cpu_use_fusion_emitters=false`` (what the test suite and
``nnworld reproduce`` use; about half the XLA:CPU compile time) before JAX starts.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="8⁴ grid instead of 16⁴")
    ap.add_argument("--json", default=None, help="write the records here")
    ap.add_argument("--repeats", type=int, default=None, help="timed calls after the first (default 3; 2 with --quick)")
    ap.add_argument("--n", type=int, default=None, help="points per axis (default 16; 8 with --quick)")
    ap.add_argument("--elemental", action="store_true", help="XLA:CPU legacy elemental emitters (as the tests)")
    args = ap.parse_args(argv)
    from _timing import use_huge_pages  # (benchmarks/ on sys.path)
    use_huge_pages()  # before JAX starts: may re-execute this process (see _timing)
    if args.elemental:
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_use_fusion_emitters=false").strip()

    import jax  # after XLA_FLAGS
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from _timing import load1, median_time, report_load, write_records  # noqa: I001  (benchmarks/ on sys.path)

    from nnworld_jax import gravity as gv
    from nnworld_jax.grid import Grid

    n = args.n or (8 if args.quick else 16)
    repeats = args.repeats or (2 if args.quick else 3)
    grid = Grid((n,) * 4)
    signature = (-1.0, 1.0, 1.0, 1.0)

    def metric_fn(X):
        return gv.reference_metric(X, eps=0.05, signature=signature)

    load_before = report_load("before")
    device = jax.devices()[0]
    print(f"device: {device.platform} {device.device_kind}; grid {grid.shape}, K = 4; XLA_FLAGS="
          f"{os.environ.get('XLA_FLAGS', '')!r}")

    metric64 = jax.block_until_ready(gv.sample_metric(grid, metric_fn))

    @jax.jit
    def reference(metric):  # -√|g| G^{αβ} at every point, from the analytic metric
        pts = jnp.moveaxis(grid.mesh().reshape(4, -1), 0, -1)

        def one(X):
            g = metric_fn(X)
            gi = jnp.linalg.inv(g)
            return -jnp.sqrt(jnp.abs(jnp.linalg.det(g))) * gi @ gv.einstein_tensor_of(metric_fn, X) @ gi

        return jnp.moveaxis(jax.vmap(one)(pts), 0, -1).reshape(metric.shape)

    ref = None  # computed after the first timed call, so that call stays a cold start of the library
    cases = [(m, d, dt) for m in ("spectral", "fd2") for d in gv.DENSITIES for dt in ("float64",)]
    cases += [("spectral", d, "float32") for d in gv.DENSITIES]
    records = []
    for method, density, dtype in cases:
        metric = metric64.astype(dtype)

        def call(metric=metric, density=density, method=method):
            return jax.block_until_ready(gv.gravity_euler_lagrange(metric, grid, density, method=method))

        c0, t0 = cpu_seconds(), time.perf_counter()
        el = call()
        first, first_cpu = time.perf_counter() - t0, cpu_seconds() - c0
        med = median_time(call, repeats)
        if ref is None:
            ref = jax.block_until_ready(reference(metric64))
        scale = float(jnp.max(jnp.abs(ref)))
        error = float(jnp.max(jnp.abs(el.astype(jnp.float64) - ref))) / scale
        records.append({"workload": f"EL d=4 {n}^4 {density} {method}", "impl": "nnworld_jax", "dtype": dtype,
                        "median_s": med, "compile_s": max(first - float(med), 0.0), "first_s": first,
                        "first_cpu_s": first_cpu, "error": error, "load1": load1()})
        print(f"  {density:17s} {method:8s} {dtype:7s} first {first:7.2f} s (CPU {first_cpu:6.2f} s), "
              f"median {float(med):.3f} s, error {error:.1e}", flush=True)

    load_after = report_load("after")
    print(f"\nd = 4 Euler-Lagrange, grid {grid.shape}; load {load_before:.1f} -> {load_after:.1f}; no peer exists (—)")
    header = (f"{'density':<17} {'method':<9} {'dtype':<8} {'first s':>8} {'first CPU s':>11} {'compile s':>9} "
              f"{'median s':>9} {'error':>8} {'peer':>5}")
    print(header + "\n" + "-" * len(header))
    for (method, density, dtype), r in zip(cases, records):
        print(f"{density:<17} {method:<9} {dtype:<8} {r['first_s']:>8.2f} {r['first_cpu_s']:>11.2f} "
              f"{r['compile_s']:>9.2f} {float(r['median_s']):>9.3f} {r['error']:>8.1e} {'—':>5}")
    write_records(args.json, records)
    return 0


if __name__ == "__main__":
    sys.exit(main())
