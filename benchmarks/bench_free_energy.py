"""Benchmark: batched free energy F = -(1/β) log Z₇ (eqs. (6)-(8)) and its gradient in (w, b).

Workload: B random tanh networks of N neurons, each expanded around a fixed state x̄, so the work
is the Gauss-Newton operator G = JᵀJ (8) and one log-det of A = I + βG per network:

    F(w, b) = -(1/β) [(N/2) log 2π - ½ log det(I + β JᵀJ)],   J = I - diag(f'(w x̄ + b)) w.

Implementations, all in this process and on the same inputs:

* ``nnworld_jax``: ``jit(vmap(free_energy))`` and ``jit(vmap(value_and_grad(free_energy)))``;
  compile time is measured apart from the run time.
* ``numpy``: ``np.linalg.slogdet`` on the batch (value only; NumPy has no autodiff).
* ``torch`` (if installed): ``torch.linalg.cholesky`` on the batch, gradient by autograd.

Each record's ``error`` is the largest relative deviation of F from the NumPy float64 value, or of
the gradient from the nnworld_jax float64 gradient (two independent routes for each).

    python benchmarks/bench_free_energy.py [--quick] [--json PATH] [--repeats K]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from _timing import median_time, write_records  # noqa: E402  (benchmarks/ is on sys.path when run as a script)
from pathlib import Path

# OpenBLAS's busy-waiting threads (NumPy) starve other libraries' threads on a small machine and
# made small LAPACK calls 10-200x slower here: give the peers their fastest setting.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import nnworld_jax as nw  # noqa: E402

BETA = 2.0
WORKLOADS = {"B=256,N=128": (256, 128), "B=16,N=512": (16, 512)}
QUICK_WORKLOADS = {"B=32,N=64": (32, 64)}


def make_inputs(batch: int, n: int, seed: int = 0):
    """Weights w ~ 0.6/√N normal, b ~ 0.3 normal, expansion states x̄ ~ 0.5 normal (float64)."""
    rng = np.random.default_rng(seed)
    w = 0.6 / np.sqrt(n) * rng.standard_normal((batch, n, n))
    b = 0.3 * rng.standard_normal((batch, n))
    x = 0.5 * rng.standard_normal((batch, n))
    return w, b, x


def rel_error(a, ref) -> float:
    a, ref = np.asarray(a, np.float64), np.asarray(ref, np.float64)
    return float(np.max(np.abs(a - ref)) / np.max(np.abs(ref)))


# ---------------------------------------------------------------------------------- nnworld_jax
def jax_programs(beta: float):
    def f(w, b, x):
        return nw.free_energy(nw.Network(w, b), beta, x=x)

    value = jax.jit(jax.vmap(f))
    value_and_grad = jax.jit(jax.vmap(jax.value_and_grad(f, argnums=(0, 1))))
    return value, value_and_grad


def bench_jax(task, w, b, x, repeats):
    value, value_and_grad = jax_programs(BETA)
    prog = value if task == "value" else value_and_grad
    args = [jnp.asarray(a) for a in (w, b, x)]
    t0 = time.perf_counter()
    compiled = prog.lower(*args).compile()
    compile_s = time.perf_counter() - t0
    out = jax.block_until_ready(compiled(*args))
    median_s = median_time(lambda: jax.block_until_ready(compiled(*args)), repeats)
    return out, median_s, compile_s


# ---------------------------------------------------------------------------------------- numpy
def numpy_free_energy(w, b, x, beta):
    n = w.shape[-1]
    d = 1.0 - np.tanh(np.einsum("bij,bj->bi", w, x) + b) ** 2
    jac = np.eye(n, dtype=w.dtype) - d[..., :, None] * w
    a = np.eye(n, dtype=w.dtype) + beta * np.einsum("bki,bkj->bij", jac, jac)
    _, logdet = np.linalg.slogdet(a)
    return -(0.5 * n * np.log(2 * np.pi) - 0.5 * logdet) / beta


def bench_numpy(w, b, x, repeats):
    out = numpy_free_energy(w, b, x, BETA)
    return out, median_time(lambda: numpy_free_energy(w, b, x, BETA), repeats)


# ---------------------------------------------------------------------------------------- torch
def torch_free_energy(torch, w, b, x, beta):
    n = w.shape[-1]
    d = 1.0 - torch.tanh(torch.einsum("bij,bj->bi", w, x) + b) ** 2
    eye = torch.eye(n, dtype=w.dtype)
    jac = eye - d[..., :, None] * w
    a = eye + beta * jac.transpose(-1, -2) @ jac
    logdet = 2.0 * torch.log(torch.diagonal(torch.linalg.cholesky(a), dim1=-2, dim2=-1)).sum(-1)
    return -(0.5 * n * np.log(2 * np.pi) - 0.5 * logdet) / beta


def bench_torch(torch, task, w, b, x, repeats):
    w, b, x = (torch.from_numpy(np.ascontiguousarray(a)) for a in (w, b, x))

    def run():
        if task == "value":
            with torch.no_grad():
                return torch_free_energy(torch, w, b, x, BETA)
        wg, bg = w.clone().requires_grad_(True), b.clone().requires_grad_(True)
        f = torch_free_energy(torch, wg, bg, x, BETA)
        gw, gb = torch.autograd.grad(f.sum(), (wg, bg))
        return f.detach(), (gw, gb)

    out = run()
    return out, median_time(run, repeats)


# ------------------------------------------------------------------------------------------ main
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one small workload, few repeats")
    parser.add_argument("--json", type=Path, help="write the records to this JSON file")
    parser.add_argument("--repeats", type=int, default=None, help="timed repetitions per record")
    args = parser.parse_args(argv)
    workloads = QUICK_WORKLOADS if args.quick else WORKLOADS
    repeats = args.repeats or (3 if args.quick else 10)

    try:
        import torch
    except ImportError:
        torch = None
        print("torch is not installed: its rows are skipped (pip install -e '.[torch]')", file=sys.stderr)

    print(f"jax {jax.__version__} on {jax.devices()[0].platform}; numpy {np.__version__}"
          + (f"; torch {torch.__version__} ({torch.get_num_threads()} threads)" if torch else ""))
    records = []
    for name, (batch, n) in workloads.items():
        w64, b64, x64 = make_inputs(batch, n)
        f_ref = numpy_free_energy(w64, b64, x64, BETA)
        (_, grad_ref), _, _ = bench_jax("value+grad", w64, b64, x64, 1)
        for dtype in ("float64", "float32"):
            w, b, x = (a.astype(dtype) for a in (w64, b64, x64))
            for task in ("value", "value+grad"):
                workload = f"free_energy {task} {name}"
                out, t, c = bench_jax(task, w, b, x, repeats)
                f_out = out if task == "value" else out[0]
                err = rel_error(f_out, f_ref) if task == "value" else max(
                    rel_error(f_out, f_ref), *(rel_error(g, r) for g, r in zip(out[1], grad_ref)))
                records.append(dict(workload=workload, impl="nnworld_jax", dtype=dtype, median_s=t,
                                    compile_s=c, error=err))
                if task == "value":
                    out, t = bench_numpy(w, b, x, repeats)
                    records.append(dict(workload=workload, impl="numpy", dtype=dtype, median_s=t,
                                        compile_s=0.0, error=rel_error(out, f_ref)))
                if torch is not None:
                    out, t = bench_torch(torch, task, w, b, x, repeats)
                    err = rel_error(out, f_ref) if task == "value" else max(
                        rel_error(out[0], f_ref), *(rel_error(g, r) for g, r in zip(out[1], grad_ref)))
                    records.append(dict(workload=workload, impl="torch", dtype=dtype, median_s=t,
                                        compile_s=0.0, error=err))
    print_table(records)
    write_records(args.json, records)
    return 0


def print_table(records) -> None:
    """One row per record; the speed-up column is the best peer's time over ours (> 1: we win)."""
    header = f"{'workload':<38} {'dtype':<8} {'impl':<12} {'median ms':>10} {'compile s':>10} {'rel err':>9} {'speed-up':>9}"
    print(header)
    print("-" * len(header))
    groups: dict[tuple, list] = {}
    for r in records:
        groups.setdefault((r["workload"], r["dtype"]), []).append(r)
    for (workload, dtype), rows in groups.items():
        ours = next(r for r in rows if r["impl"] == "nnworld_jax")
        peers = [r["median_s"] for r in rows if r["impl"] != "nnworld_jax"]
        for r in rows:
            speedup = f"{min(peers) / ours['median_s']:.2f}x" if r is ours and peers else ""
            print(f"{workload:<38} {dtype:<8} {r['impl']:<12} {1e3 * r['median_s']:>10.2f} "
                  f"{r['compile_s']:>10.2f} {r['error']:>9.1e} {speedup:>9}")


if __name__ == "__main__":
    sys.exit(main())
