"""Bad input for nnworld_jax.lanczos: probes, Lanczos, SLQ log-det and the free energy (45) by SLQ."""

import jax
import jax.numpy as jnp

from nnworld_jax import lanczos as lz
from nnworld_jax import sparse as sp

from ._harness import Case, jit_grad, jit_vmap_grad, jitted, run

W = sp.chain_weights(4, 0.3)
NET = sp.SparseNetwork(W, jnp.zeros(4))
HEAVY = sp.SparseNetwork(W, jnp.zeros(4), m=5.0)  # every 1 + β(λ_i - m) < 0 at β = 1
KEY = jax.random.PRNGKey(0)
D = jnp.array([1.0, 2.0, 4.0])
PROBES = lz.exact_probes(3)


def diag(v):
    return D * v


def heavy_with_b(b):
    return sp.SparseNetwork(W, b, m=5.0)


def slq_f(net, beta):
    return lz.free_energy_slq(net, beta, probes="exact", num_steps=4).free_energy


CASES = [
    Case("lanczos.rademacher_probes", "num=0", run(lz.rademacher_probes, 4, 0, key=KEY), r"num must be an integer >= 1", "domain"),
    Case("lanczos.rademacher_probes", "n=2.5", run(lz.rademacher_probes, 2.5, 3, key=KEY), r"n must be an integer", "input"),
    Case("lanczos.rademacher_probes", "integer dtype", run(lz.rademacher_probes, 4, 2, jnp.int32, key=KEY), r"dtype must be a floating dtype", "input"),
    Case("lanczos.exact_probes", "dtype 'banana'", run(lz.exact_probes, 3, "banana"), r"dtype must be a floating dtype", "input"),
    Case("lanczos.exact_probes", "n=0", run(lz.exact_probes, 0), r"n must be an integer >= 1", "domain"),
    Case("lanczos.exact_probes", "n=3.5", run(lz.exact_probes, 3.5), r"n must be an integer", "input"),
    Case("lanczos.lanczos_tridiagonal", "num_steps=0", run(lz.lanczos_tridiagonal, lambda v: v, PROBES, 0),
         r"num_steps must be an integer >= 1", "domain"),
    Case("lanczos.lanczos_tridiagonal", "probes of shape (3,)", run(lz.lanczos_tridiagonal, lambda v: v, jnp.ones(3), 2),
         r"probes must have 2 axes", "input"),
    Case("lanczos.lanczos_tridiagonal", "NaN probe", run(lz.lanczos_tridiagonal, lambda v: v, PROBES.at[0, 0].set(jnp.nan), 2),
         r"probes contains NaN", "input"),
    Case("lanczos.lanczos_tridiagonal", "matvec not callable", run(lz.lanczos_tridiagonal, D, PROBES, 2), r"matvec must be a callable", "input"),
    Case("lanczos.slq_logdet", "num_steps=-1", run(lz.slq_logdet, diag, PROBES, -1), r"num_steps must be an integer >= 1", "domain"),
    Case("lanczos.slq_logdet", "num_steps=2.5", run(lz.slq_logdet, diag, PROBES, 2.5), r"num_steps must be an integer", "input"),
    Case("lanczos.slq_logdet", "no probes (0, 3)", run(lz.slq_logdet, diag, jnp.zeros((0, 3)), 3), r"probes must have shape \(p, N\) with p >= 1", "input"),
    Case("lanczos.slq_logdet", "exact=True with sampled probes", run(lz.slq_logdet, diag, jnp.ones((2, 3)), 3, exact=True),
         r"exact=True needs the exact probe set", "input"),
    Case("lanczos.slq_logdet", "indefinite operator", run(lz.slq_logdet, lambda v: -D * v, PROBES, 3, exact=True),
         r"not positive definite", "domain"),
    Case("lanczos.slq_logdet", "indefinite operator under jit", jitted(lambda z: lz.slq_logdet(lambda v: -D * v, z, 3, exact=True).value, PROBES),
         r"not positive definite", "transform"),
    Case("lanczos.slq_logdet", "inf in probes", run(lz.slq_logdet, diag, PROBES.at[1, 1].set(jnp.inf), 3), r"probes contains NaN or inf", "input"),
    # gauss_newton_logdet
    Case("lanczos.gauss_newton_logdet", "beta shape (2,)", run(lz.gauss_newton_logdet, NET, jnp.ones(2), probes="exact"),
         r"beta must be a scalar.*vmap", "input"),
    Case("lanczos.gauss_newton_logdet", "num_probes=0", run(lz.gauss_newton_logdet, NET, 1.0, num_probes=0), r"num_probes must be an integer >= 1", "domain"),
    Case("lanczos.gauss_newton_logdet", "num_steps=0", run(lz.gauss_newton_logdet, NET, 1.0, num_steps=0), r"num_steps must be an integer >= 1", "domain"),
    Case("lanczos.gauss_newton_logdet", "cg_max_steps=-5", run(lz.gauss_newton_logdet, NET, 1.0, cg_max_steps=-5),
         r"cg_max_steps must be an integer >= 1", "domain"),
    Case("lanczos.gauss_newton_logdet", "cg_rtol=0", run(lz.gauss_newton_logdet, NET, 1.0, cg_rtol=0.0), r"cg_rtol must be finite and > 0", "domain"),
    Case("lanczos.gauss_newton_logdet", "probes of the wrong width", run(lz.gauss_newton_logdet, NET, 1.0, probes=jnp.ones((2, 3))),
         r"probes must have shape \(p, 4\)", "input"),
    Case("lanczos.gauss_newton_logdet", "probes='exakt'", run(lz.gauss_newton_logdet, NET, 1.0, probes="exakt"), r"probes must be an array, None or 'exact'", "input"),
    Case("lanczos.gauss_newton_logdet", "x shape (3,)", run(lz.gauss_newton_logdet, NET, 1.0, jnp.zeros(3)), r"x must have shape \(4,\)", "input"),
    Case("lanczos.gauss_newton_logdet", "1 + beta (lambda - m) < 0", run(lz.gauss_newton_logdet, HEAVY, 1.0, probes="exact", num_steps=4),
         r"not positive definite", "domain"),
    Case("lanczos.gauss_newton_logdet", "outside the domain under jit(grad) in beta",
         jit_grad(lambda b: lz.gauss_newton_logdet(HEAVY, b, probes="exact", num_steps=4).value, 1.0), r"not positive definite", "transform"),
    # free_energy_slq: the jit(grad) example (was a finite 5.19)
    Case("lanczos.free_energy_slq", "beta=-1", run(lz.free_energy_slq, NET, -1.0), r"beta must be finite and > 0", "domain"),
    Case("lanczos.free_energy_slq", "num_probes=0", run(lz.free_energy_slq, NET, 1.0, num_probes=0), r"num_probes must be an integer >= 1", "domain"),
    Case("lanczos.free_energy_slq", "dense Network", run(lz.free_energy_slq, jnp.eye(4), 1.0), r"net must be a SparseNetwork", "input"),
    Case("lanczos.free_energy_slq", "every 1 + beta (lambda - m) < 0 under jit(grad) in beta",
         jit_grad(lambda b: slq_f(HEAVY, b), 1.0), r"not positive definite", "transform"),
    Case("lanczos.free_energy_slq", "every 1 + beta (lambda - m) < 0 under jit(grad) in b",
         jit_grad(lambda b: slq_f(heavy_with_b(b), 1.0), jnp.zeros(4)), r"not positive definite", "transform"),
    Case("lanczos.free_energy_slq", "one bad beta under jit(vmap(grad))",
         jit_vmap_grad(lambda b: slq_f(NET, b), jnp.array([1.0, -1.0])), r"beta must be finite and > 0", "transform"),
    # sparse_free_energy
    Case("lanczos.sparse_free_energy", "unknown method", run(lz.sparse_free_energy, NET, 1.0, method="lu"), r"method must be 'auto', 'dense', 'exact' or 'slq'", "input"),
    Case("lanczos.sparse_free_energy", "method='exact' on a hub (not paths and cycles)",
         run(lz.sparse_free_energy, sp.SparseNetwork(sp.from_dense(jnp.full((4, 4), 0.1)), jnp.zeros(4)), 1.0,
             method="exact"), r"method='exact' needs weights whose operator is a union of paths and cycles", "domain"),
    Case("lanczos.sparse_free_energy", "beta shape (2,)", run(lz.sparse_free_energy, NET, jnp.ones(2)), r"beta must be a scalar.*vmap", "input"),
    Case("lanczos.sparse_free_energy", "x NaN", run(lz.sparse_free_energy, NET, 1.0, x=jnp.full(4, jnp.nan)), r"x contains NaN", "input"),
    Case("lanczos.sparse_free_energy", "outside the domain (dense) under jit(grad) in beta",
         jit_grad(lambda b: lz.sparse_free_energy(HEAVY, b, method="dense"), 1.0), r"not positive definite", "transform"),
    Case("lanczos.sparse_free_energy", "num_steps=0 (slq)", run(lz.sparse_free_energy, NET, 1.0, method="slq", num_steps=0),
         r"num_steps must be an integer >= 1", "domain"),
]

EXEMPT = {
    "lanczos.LogDetEstimate": "a NamedTuple of results returned by slq_logdet / gauss_newton_logdet, not an entry point",
    "lanczos.FreeEnergyEstimate": "a NamedTuple of results returned by free_energy_slq, not an entry point",
}
