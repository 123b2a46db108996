"""Benchmark: batched free energy F = -(1/β) log Z₇ (eqs. (6)-(9)) and its gradient in (w, b), end to end.

Workload: B random tanh networks of N neurons (m = 0, ‖w‖₂ < 1). The work a user asks for with
``nw.free_energy(net, beta)`` is timed on every side:

1. the mean state x̄, the stationary point of the bulk loss (3) (for m = 0 and a contraction the
   fixed point x̄ = tanh(w x̄ + b)), by Newton's method;
2. the Gauss-Newton operator G = JᵀJ (8)-(9), J = I - diag(f'(w x̄ + b)) w;
3. log det(I + βG) by Cholesky: F = -(1/β) [(N/2) log 2π - ½ log det(I + βG)];
4. for value+grad, the gradient in (w, b) *including* the dependence of x̄ on (w, b) (implicit
   function theorem).

Implementations, all in this process and on the same inputs:

* ``nnworld_jax``: ``jit(vmap(free_energy))`` and ``jit(vmap(value_and_grad(free_energy)))``;
  compile time is measured apart from the run time. With ``--devices K`` (K > 1) the host CPU is
  split into K XLA devices and an extra row ``nnworld_jax (K dev)`` runs the same program with the
  batch sharded over them (``nnworld_jax.batch.make_mesh``, ``NamedSharding``); the one-device row
  is unchanged, and each network's result does not depend on the split.
* ``numpy``: batched Newton (``np.linalg.solve``), G by ``matmul``, ``np.linalg.cholesky`` (value only;
  NumPy has no autodiff).
* ``torch`` (if installed): the same Newton under ``no_grad``, then one differentiable Newton step from
  the converged x̄ (which gives exactly the implicit-function gradient), ``torch.linalg.cholesky``,
  autograd. torch is timed with 1 thread and with its default thread count; the faster is kept and named.

Each record's ``error`` is the largest relative deviation of F from the NumPy float64 value, or of
the gradient from the nnworld_jax float64 gradient (two independent routes for each). The table also
prints what fraction of this machine's measured matmul rate the value workload reaches, counting
2N³ flops for G and N³/3 for the Cholesky per network (the Newton solves are extra work not counted).

    python benchmarks/bench_free_energy.py [--quick] [--json PATH] [--repeats K] [--devices K]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from _timing import load1, median_and_spread, report_load, use_huge_pages, write_records  # noqa: E402  (benchmarks/ is on sys.path)

use_huge_pages()  # before JAX starts: may re-execute this process (see _timing)
from pathlib import Path

# OpenBLAS's busy-waiting threads (NumPy) starve other libraries' threads on a small machine and
# made small LAPACK calls 10-200x slower here, for NumPy's batched solves too: one thread is NumPy's
# best setting for these batched small matrices (documented by the OpenBLAS FAQ for small problems).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _devices_arg(argv) -> int:
    """``--devices K`` read before JAX starts: the host platform's device count is fixed at import."""
    for i, arg in enumerate(argv):
        if arg == "--devices" and i + 1 < len(argv):
            return int(argv[i + 1])
        if arg.startswith("--devices="):
            return int(arg.split("=", 1)[1])
    return 1


DEVICES = _devices_arg(sys.argv[1:])
if DEVICES > 1:
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={DEVICES}").strip()

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import nnworld_jax as nw  # noqa: E402

BETA = 2.0
WORKLOADS = {"B=256,N=128": (256, 128), "B=16,N=512": (16, 512)}
QUICK_WORKLOADS = {"B=32,N=64": (32, 64)}
NEWTON_TOL = {"float64": 1e-12, "float32": 1e-5}  # residual max|x - tanh(wx+b)|, as nnworld_jax's Newton


def make_inputs(batch: int, n: int, seed: int = 0):
    """Weights w ~ 0.6/√N normal (‖w‖₂ ≈ 1.2·0.6 < 1: a contraction), b ~ 0.3 normal (float64)."""
    rng = np.random.default_rng(seed)
    w = 0.6 / np.sqrt(n) * rng.standard_normal((batch, n, n))
    b = 0.3 * rng.standard_normal((batch, n))
    return w, b


def rel_error(a, ref) -> float:
    a, ref = np.asarray(a, np.float64), np.asarray(ref, np.float64)
    return float(np.max(np.abs(a - ref)) / np.max(np.abs(ref)))


# ---------------------------------------------------------------------------------- nnworld_jax
def jax_programs(beta: float):
    def f(w, b):
        return nw.free_energy(nw.Network(w, b), beta)  # mean state solved inside, as a user calls it

    value = jax.jit(jax.vmap(f))
    value_and_grad = jax.jit(jax.vmap(jax.value_and_grad(f, argnums=(0, 1))))
    return value, value_and_grad


def bench_jax(task, w, b, repeats, devices: int = 1):
    value, value_and_grad = jax_programs(BETA)
    prog = value if task == "value" else value_and_grad
    args = [jnp.asarray(a) for a in (w, b)]
    if devices > 1:  # the batch axis split over the devices; every network stays whole on one device
        from jax.sharding import NamedSharding, PartitionSpec

        mesh = nw.batch.make_mesh(jax.devices()[:devices])
        args = [jax.device_put(a, NamedSharding(mesh, PartitionSpec("batch"))) for a in args]
    t0 = time.perf_counter()
    compiled = prog.lower(*args).compile()
    compile_s = time.perf_counter() - t0
    out = jax.block_until_ready(compiled(*args))
    median_s, spread_s = median_and_spread(lambda: jax.block_until_ready(compiled(*args)), repeats)
    return out, median_s, spread_s, compile_s


# ---------------------------------------------------------------------------------------- numpy
def numpy_mean_state(w, b):
    """Newton on r(x) = x - tanh(wx + b) = 0 for the whole batch, from x = 0."""
    n = w.shape[-1]
    eye = np.eye(n, dtype=w.dtype)
    x = np.zeros_like(b)
    for _ in range(50):
        y = (w @ x[..., None])[..., 0] + b
        r = x - np.tanh(y)
        if np.max(np.abs(r)) < NEWTON_TOL[str(w.dtype)]:
            break
        jac = eye - (1.0 - np.tanh(y) ** 2)[..., :, None] * w
        x = x - np.linalg.solve(jac, r[..., None])[..., 0]
    return x


def numpy_free_energy(w, b, beta):
    n = w.shape[-1]
    x = numpy_mean_state(w, b)
    d = 1.0 - np.tanh((w @ x[..., None])[..., 0] + b) ** 2
    jac = np.eye(n, dtype=w.dtype) - d[..., :, None] * w
    a = np.eye(n, dtype=w.dtype) + beta * (np.swapaxes(jac, -1, -2) @ jac)
    logdet = 2.0 * np.log(np.diagonal(np.linalg.cholesky(a), axis1=-2, axis2=-1)).sum(-1)
    return -(0.5 * n * np.log(2 * np.pi) - 0.5 * logdet) / beta


def bench_numpy(w, b, repeats):
    out = numpy_free_energy(w, b, BETA)
    return (out, *median_and_spread(lambda: numpy_free_energy(w, b, BETA), repeats))


# ---------------------------------------------------------------------------------------- torch
def torch_free_energy(torch, w, b, beta):
    n = w.shape[-1]
    eye = torch.eye(n, dtype=w.dtype)

    def residual_and_jacobian(x):
        y = (w @ x[..., None])[..., 0] + b
        return x - torch.tanh(y), eye - (1.0 - torch.tanh(y) ** 2)[..., :, None] * w

    with torch.no_grad():
        x = torch.zeros_like(b)
        for _ in range(50):
            r, jac = residual_and_jacobian(x)
            if float(r.abs().max()) < NEWTON_TOL[str(w.dtype).removeprefix("torch.")]:
                break
            x = x - torch.linalg.solve(jac, r[..., None])[..., 0]
    if w.requires_grad:  # one differentiable Newton step at the root: exact implicit gradient
        r, jac = residual_and_jacobian(x)
        x = x - torch.linalg.solve(jac, r[..., None])[..., 0]
    d = 1.0 - torch.tanh((w @ x[..., None])[..., 0] + b) ** 2
    jac = eye - d[..., :, None] * w
    a = eye + beta * jac.transpose(-1, -2) @ jac
    logdet = 2.0 * torch.log(torch.diagonal(torch.linalg.cholesky(a), dim1=-2, dim2=-1)).sum(-1)
    return -(0.5 * n * np.log(2 * np.pi) - 0.5 * logdet) / beta


def bench_torch(torch, task, w, b, repeats):
    w, b = (torch.from_numpy(np.ascontiguousarray(a)) for a in (w, b))

    def run():
        if task == "value":
            with torch.no_grad():
                return torch_free_energy(torch, w, b, BETA)
        wg, bg = w.clone().requires_grad_(True), b.clone().requires_grad_(True)
        f = torch_free_energy(torch, wg, bg, BETA)
        gw, gb = torch.autograd.grad(f.sum(), (wg, bg))
        return f.detach(), (gw, gb)

    best = None
    default_threads = torch.get_num_threads()
    for threads in sorted({1, default_threads}):  # torch at its best: batched LAPACK is often faster on 1
        torch.set_num_threads(threads)
        try:
            out = run()
        except RuntimeError as err:  # seen on this box: MKL's batched LU returning pivots 0 (DLASWP error)
            print(f"torch with {threads} thread(s) failed ({str(err).splitlines()[0][:90]}): setting skipped",
                  file=sys.stderr)
            continue
        median_s, spread_s = median_and_spread(run, repeats)
        if best is None or median_s < best[1]:
            best = (out, median_s, spread_s, threads)
    torch.set_num_threads(default_threads)
    if best is None:
        raise RuntimeError("torch failed at every thread count tried")
    return best


def matmul_rate(dtype: str, n: int = 1024) -> float:
    """Flop/s of one n x n matmul on this machine (XLA's dot, median of 5): the peak we compare to."""
    a = jnp.asarray(np.random.default_rng(1).standard_normal((n, n)), dtype)
    f = jax.jit(lambda x: x @ x)
    jax.block_until_ready(f(a))
    med, _ = median_and_spread(lambda: jax.block_until_ready(f(a)), 5)
    return 2.0 * n**3 / med


# ------------------------------------------------------------------------------------------ main
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one small workload, few repeats")
    parser.add_argument("--json", type=Path, help="write the records to this JSON file")
    parser.add_argument("--repeats", type=int, default=None, help="timed repetitions per record")
    parser.add_argument("--devices", type=int, default=1,
                        help="also time the batch sharded over this many host CPU devices (an extra row)")
    args = parser.parse_args(argv)
    workloads = QUICK_WORKLOADS if args.quick else WORKLOADS
    repeats = args.repeats or (3 if args.quick else 10)

    try:
        import torch
    except ImportError:
        torch = None
        print("torch is not installed: its rows are skipped (pip install -e '.[torch]')", file=sys.stderr)

    print(f"jax {jax.__version__} on {jax.devices()[0].platform}; numpy {np.__version__}"
          + (f"; torch {torch.__version__} ({torch.get_num_threads()} threads by default)" if torch else ""))
    load_before = report_load("before")
    rates = {dt: matmul_rate(dt) for dt in ("float64", "float32")}
    print("matmul rate (1024², XLA): " + ", ".join(f"{dt} {r / 1e9:.1f} GFLOP/s" for dt, r in rates.items()))
    records = []
    for name, (batch, n) in workloads.items():
        w64, b64 = make_inputs(batch, n)
        f_ref = numpy_free_energy(w64, b64, BETA)
        (_, grad_ref), *_ = bench_jax("value+grad", w64, b64, 1)
        for dtype in ("float64", "float32"):
            w, b = (a.astype(dtype) for a in (w64, b64))
            for task in ("value", "value+grad"):
                workload = f"free_energy {task} {name}"
                out, t, spread, c = bench_jax(task, w, b, repeats)
                f_out = out if task == "value" else out[0]
                err = rel_error(f_out, f_ref) if task == "value" else max(
                    rel_error(f_out, f_ref), *(rel_error(g, r) for g, r in zip(out[1], grad_ref)))
                flops = batch * (2 * n**3 + n**3 / 3)
                records.append(dict(workload=workload, impl="nnworld_jax", dtype=dtype, median_s=t, spread_s=spread,
                                    compile_s=c, error=err, load1=load1(),
                                    peak_fraction=flops / t / rates[dtype] if task == "value" else None))
                if args.devices > 1 and batch % args.devices == 0:
                    out, t, spread, c = bench_jax(task, w, b, repeats, args.devices)
                    f_out = out if task == "value" else out[0]
                    err = rel_error(f_out, f_ref) if task == "value" else max(
                        rel_error(f_out, f_ref), *(rel_error(g, r) for g, r in zip(out[1], grad_ref)))
                    records.append(dict(workload=workload, impl=f"nnworld_jax ({args.devices} dev)", dtype=dtype,
                                        median_s=t, spread_s=spread, compile_s=c, error=err, load1=load1()))
                if task == "value":
                    out, t, spread = bench_numpy(w, b, repeats)
                    records.append(dict(workload=workload, impl="numpy", dtype=dtype, median_s=t, spread_s=spread,
                                        compile_s=0.0, error=rel_error(out, f_ref), load1=load1()))
                if torch is not None:
                    out, t, spread, threads = bench_torch(torch, task, w, b, repeats)
                    err = rel_error(out, f_ref) if task == "value" else max(
                        rel_error(out[0], f_ref), *(rel_error(g, r) for g, r in zip(out[1], grad_ref)))
                    records.append(dict(workload=workload, impl=f"torch ({threads} thr)", dtype=dtype, median_s=t,
                                        spread_s=spread, compile_s=0.0, error=err, load1=load1()))
    print_table(records)
    report_load("after")
    if max(load_before, load1()) > 1.0:
        print("(not an idle run: rerun on a quiet machine before quoting these ratios)")
    write_records(args.json, records)
    return 0


def print_table(records) -> None:
    """One row per record; the speed-up column is the best peer's time over ours (> 1: we win), on
    each nnworld_jax row (one device, and the sharded one when asked for)."""
    header = (f"{'workload':<38} {'dtype':<8} {'impl':<20} {'median ms':>10} {'± ms':>7} {'compile s':>10} "
              f"{'rel err':>9} {'speed-up':>9} {'peak':>6}")
    print(header)
    print("-" * len(header))
    groups: dict[tuple, list] = {}
    for r in records:
        groups.setdefault((r["workload"], r["dtype"]), []).append(r)
    for (workload, dtype), rows in groups.items():
        peers = [r["median_s"] for r in rows if not r["impl"].startswith("nnworld_jax")]
        for r in rows:
            mine = r["impl"].startswith("nnworld_jax")
            speedup = f"{min(peers) / r['median_s']:.2f}x" if mine and peers else ""
            peak = f"{100 * r['peak_fraction']:.0f}%" if r.get("peak_fraction") else ""
            print(f"{workload:<38} {dtype:<8} {r['impl']:<20} {1e3 * r['median_s']:>10.2f} {1e3 * r['spread_s']:>7.2f} "
                  f"{r['compile_s']:>10.2f} {r['error']:>9.1e} {speedup:>9} {peak:>6}")


if __name__ == "__main__":
    sys.exit(main())
