"""Benchmark: the cost of thermodynamics inside a training step (issue #14), float32.

Three jitted (``eqx.filter_jit``) Adam steps on the same model, batch and machine, in one run:

* ``plain``: loss = mean squared error of the model on the batch, value_and_grad, Adam update;
* ``+regularizer``: loss + strength·F, F the data-conditioned free energy (eqs. (6)-(7), inputs
  clamped; :func:`nnworld_jax.training.free_energy_term`, ``checks=False``) on ``--reg-batch``
  examples of the batch (the regularizer is a batch mean; a sub-batch is an unbiased estimate of it);
* ``+metrics``: the plain step followed by :func:`nnworld_jax.training.metrics` (F, U (10), S_x
  (13), S_0, C (14), heat capacity, ``checks=False``) on the same ``--reg-batch`` examples.

Workloads (layer widths, input first): 8-32-32-1, 64-128-10, 784-256-10, batch 128, tanh hidden
layers and an identity output (``eqx.nn.MLP``). The "peer" is the plain step of the same run: the
table prints each variant's median wall time beside it and their ratio, and the median CPU time
of this process per step (``time.process_time``, all threads) with its ratio, which other jobs on a
shared machine disturb less than the wall time (issue targets: ≤ 1.5× at 64-128-10,
≤ 30 ms per step at 784-256-10, on 2 CPU cores). ``error`` of a record: the relative deviation of
the float32 F it computes from the float64 F of the same parameters (None for ``plain``).

    python benchmarks/bench_training_loop.py [--quick] [--json PATH] [--repeats K] [--reg-batch B]
"""

from __future__ import annotations

import argparse

from _timing import median_time, report_load, use_huge_pages, write_records  # noqa: E402  (benchmarks/ is on sys.path)

use_huge_pages()  # before JAX starts: may re-execute this process (see _timing)

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)  # float64 only for the error reference; the steps run float32

import time  # noqa: E402

import equinox as eqx  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import optax  # noqa: E402

from nnworld_jax import training as tr  # noqa: E402

WORKLOADS = {"8-32-32-1": (8, 32, 2, 1), "64-128-10": (64, 128, 1, 10), "784-256-10": (784, 256, 1, 10)}
QUICK = {"8-32-32-1": (8, 32, 2, 1), "64-128-10": (64, 128, 1, 10)}
BETA, STRENGTH, BATCH = 5.0, 0.1, 128


def _make(spec, dtype):
    n_in, width, depth, n_out = spec
    key = jax.random.PRNGKey(0)
    model = eqx.nn.MLP(n_in, n_out, width, depth, activation=jnp.tanh, key=key, dtype=dtype)
    x = jax.random.normal(jax.random.PRNGKey(1), (BATCH, n_in), dtype)
    y = jnp.tanh(x[:, :n_out] if n_in >= n_out else jnp.tile(x, (1, n_out))[:, :n_out])
    return model, x, y


def _steps(model, x, y, reg_batch):
    opt = optax.adam(1e-3)
    xr = x[:reg_batch]

    def mse(m):
        return jnp.mean((jax.vmap(m)(x) - y) ** 2)

    def reg_loss(m):
        return mse(m) + tr.free_energy_term(m, BETA, xr, strength=STRENGTH, checks=False)

    def make(loss, with_metrics):
        @eqx.filter_jit
        def step(m, s):
            value, grads = eqx.filter_value_and_grad(loss)(m)
            updates, s = opt.update(grads, s, eqx.filter(m, eqx.is_inexact_array))
            m = eqx.apply_updates(m, updates)
            out = tr.metrics(m, BETA, xr, checks=False) if with_metrics else {}
            return m, s, value, out

        return step

    return {"plain": make(mse, False), "+regularizer": make(reg_loss, False), "+metrics": make(mse, True)}, opt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="the two small workloads, fewer repeats")
    ap.add_argument("--json", default=None, help="write the records here")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--reg-batch", type=int, default=16, help="examples the regularizer/metrics see per step")
    args = ap.parse_args()
    repeats = args.repeats or (20 if args.quick else 50)
    workloads = QUICK if args.quick else WORKLOADS
    load_before = report_load("before")
    records = []
    for name, spec in workloads.items():
        model, x, y = _make(spec, jnp.float32)
        steps, opt = _steps(model, x, y, args.reg_batch)
        state = opt.init(eqx.filter(model, eqx.is_inexact_array))
        model64 = jax.tree_util.tree_map(lambda a: a.astype(jnp.float64) if eqx.is_inexact_array(a) else a, model)
        f64 = float(tr.metrics(model64, BETA, x[: args.reg_batch].astype(jnp.float64))["free_energy"])
        f32 = float(tr.metrics(model, BETA, x[: args.reg_batch])["free_energy"])
        for impl, step in steps.items():
            t0 = time.perf_counter()
            jax.block_until_ready(step(model, state))
            compile_s = time.perf_counter() - t0
            med = median_time(lambda: jax.block_until_ready(step(model, state)), repeats)  # noqa: B023
            cpu = []
            for _ in range(repeats):  # CPU seconds of this process per step: less sensitive to other jobs' load
                c0 = time.process_time()
                jax.block_until_ready(step(model, state))
                cpu.append(time.process_time() - c0)
            err = None if impl == "plain" else abs(f32 - f64) / abs(f64)
            records.append({"workload": name, "impl": impl, "dtype": "float32", "median_s": med,
                            "compile_s": compile_s, "error": err, "cpu_s": sorted(cpu)[len(cpu) // 2], "reg_batch": args.reg_batch, "batch": BATCH})
    load_after = report_load("after")
    print(f"\n{'workload':<12} {'impl':<14} {'ours ms':>9} {'± ms':>7} {'plain ms':>9} {'ratio':>6} "
          f"{'cpu ms':>8} {'cpu ratio':>9} {'compile s':>9} {'F rel.err':>9}")
    for r in records:
        base = next(q for q in records if q["workload"] == r["workload"] and q["impl"] == "plain")
        err = "" if r["error"] is None else f"{r['error']:.1e}"
        print(f"{r['workload']:<12} {r['impl']:<14} {1e3 * r['median_s']:9.3f} {1e3 * r['median_s'].spread:7.3f} "
              f"{1e3 * base['median_s']:9.3f} {r['median_s'] / base['median_s']:6.2f} "
              f"{1e3 * r['cpu_s']:8.3f} {r['cpu_s'] / base['cpu_s']:9.2f} {r['compile_s']:9.2f} {err:>9}")
    print(f"(batch {BATCH}, regularizer/metrics on {args.reg_batch} examples; load {load_before:.2f} -> {load_after:.2f})")
    write_records(args.json, records)


if __name__ == "__main__":
    main()
