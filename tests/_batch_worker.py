"""Subprocess helper for tests/test_batch.py: runs nnworld_jax.batch with its own device setup.

    python tests/_batch_worker.py equivalence                     (4 virtual CPU devices)
    python tests/_batch_worker.py run OUT_DIR N CHUNK DELAY_S [FRESH_DIR]   (4 devices; sleeps after
                                  each chunk; then the same run uninterrupted into FRESH_DIR)
    python tests/_batch_worker.py dist PORT PROCESS_ID OUT_DIR    (2 processes x 2 devices, gloo)

Each mode prints one JSON line on stdout. The device count must be fixed before jax is imported,
which is why these run in a fresh interpreter; test_batch.py also imports the kernels below.
"""

import json
import os
import sys
import time

if __name__ == "__main__":  # imported by test_batch.py for its kernels: keep pytest's 2 devices
    mode = sys.argv[1]
    from _env import xla_flags

    # Its callers assert bitwise equality across batch layouts: XLA's default LLVM level (tests/_env.py)
    os.environ["XLA_FLAGS"] = xla_flags(devices=2 if mode == "dist" else 4, llvm_o0=False)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")
jax.config.update("jax_numpy_dtype_promotion", "strict")  # as tests/conftest.py

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import nnworld_jax as nw  # noqa: E402
from nnworld_jax.batch import batch_map, run_chunked  # noqa: E402

BETAS = (0.5, 1.3, 4.0)


def eigen_kernel(betas, key):
    """Elementwise per item: a random spectrum, F by eq. (45) and U by eq. (46) on the β grid."""
    lam = jax.random.uniform(key, (5,), betas.dtype, 0.05, 3.0)
    f = jax.vmap(nw.free_energy_eigen, in_axes=(None, 0))(lam, betas)
    u = jax.vmap(nw.virial_average_loss, in_axes=(None, 0))(lam, betas)
    return {"F": f, "U": u}


def thermo_kernel(_, item):
    """F, U, S_x of one random tanh network (Newton for x*, Cholesky, autodiff in β)."""
    th = nw.thermodynamics(nw.reference.random_network(4, key=item["key"]), item["beta"])
    return {"F": th.free_energy, "U": th.average_loss, "S": th.entropy}


def equivalence():
    keys = jax.random.split(jax.random.PRNGKey(7), 10)
    batch = {"key": keys, "beta": jnp.linspace(0.5, 3.0, 10)}
    sharded = batch_map(thermo_kernel, batch, chunk_size=3)
    plain = jax.jit(jax.vmap(lambda it: thermo_kernel(None, it)))(batch)  # one device, one vmap of all 10
    rel = {k: float(np.max(np.abs(np.asarray(sharded[k]) - np.asarray(plain[k])) / np.abs(np.asarray(plain[k]))))
           for k in plain}
    betas = jnp.asarray(BETAS)
    e_sharded = batch_map(eigen_kernel, keys, shared=betas, chunk_size=3)
    e_plain = jax.jit(jax.vmap(eigen_kernel, in_axes=(None, 0)))(betas, keys)
    bitwise = {k: bool(np.array_equal(np.asarray(e_sharded[k]), np.asarray(e_plain[k]))) for k in e_plain}
    print(json.dumps({"devices": jax.device_count(), "result_devices": len(sharded["F"].sharding.device_set),
                      "shape": list(sharded["F"].shape), "thermo_rel": rel, "eigen_bitwise": bitwise}))


def run(out_dir, n, chunk, delay, fresh_dir=None):
    keys = jax.random.split(jax.random.PRNGKey(3), n)
    kw = dict(shared=jnp.asarray(BETAS), chunk_size=chunk, config={"test": "kill-resume", "n": n}, progress=False)
    res = run_chunked(eigen_kernel, keys, out_dir, on_chunk=lambda i: time.sleep(delay), **kw)
    if fresh_dir is not None:  # the same run, uninterrupted, into another directory
        run_chunked(eigen_kernel, keys, fresh_dir, **kw)
    print(json.dumps({"computed": res.computed, "skipped": res.skipped}))


def dist(port, pid, out_dir):
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=f"localhost:{port}", num_processes=2, process_id=pid,
                               initialization_timeout=60)
    keys = jax.random.split(jax.random.PRNGKey(5), 10)
    betas = jnp.asarray(BETAS)
    out = batch_map(eigen_kernel, keys, shared=betas, chunk_size=2)
    with jax.default_device(jax.local_devices()[0]):  # this process alone, one device
        local = jax.jit(jax.vmap(eigen_kernel, in_axes=(None, 0)))(betas, keys)
    res = run_chunked(eigen_kernel, keys, out_dir, shared=betas, chunk_size=8, config={"test": "dist"},
                      progress=False)
    print(json.dumps({
        "process": jax.process_index(), "processes": jax.process_count(), "devices": jax.device_count(),
        "local_devices": jax.local_device_count(), "type": type(out["F"]).__name__,
        "batch_map_bitwise": all(bool(np.array_equal(np.asarray(out[k]), np.asarray(local[k]))) for k in local),
        "run_chunked_bitwise": all(bool(np.array_equal(res.results[k], np.asarray(local[k]))) for k in local),
        "computed": res.computed}))
    jax.distributed.shutdown()


if __name__ == "__main__":
    if mode == "equivalence":
        equivalence()
    elif mode == "run":
        run(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), *sys.argv[6:7])
    elif mode == "dist":
        dist(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    else:
        raise SystemExit(f"unknown mode {mode}")
