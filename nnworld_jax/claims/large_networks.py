"""Claims for very large networks (eqs. (45), (59)-(60), (8)-(9)): the free energy of a 10⁶-neuron
permutation network by matrix-free stochastic Lanczos quadrature against its circulant closed form.

The references are the closed forms of :mod:`nnworld_jax.reference` (NumPy float64, independent of
the JAX code they check).
"""

from __future__ import annotations

import math
import time

import jax
import jax.numpy as jnp

from ..lanczos import free_energy_slq
from ..reference import cycle_logdet_closed_form, uniform_fixed_point
from ..sparse import SparseNetwork, cycle_weights
from ._registry import Context, Result, claim

__all__: list[str] = []


CYCLE_C, CYCLE_B, CYCLE_BETA = 0.5, 0.2, 1.0


@claim("large_networks.cycle-free-energy", section="3", equations=("(45)", "(60)", "(8)", "(9)"),
       statement="The free energy (45) of a 10⁶-neuron single-cycle permutation network (60), computed "
                 "matrix-free by stochastic Lanczos quadrature, equals the circulant closed form "
                 "F = (1/2β) Σ_k log(1 + β|1 - ac e^{2πik/N}|²) - (N/2β) log 2π to 1e-3 (relative).",
       expected_verdict="holds")
def _cycle_free_energy(ctx: Context) -> Result:
    # Hutchinson's relative standard error falls like 1/√(pN): p = 4 probes at N = 10⁶ and p = 32 at
    # N = 10⁵ both put 1e-3 |F| at ≳ 4.5 standard errors.
    n, probes = (10**5, 32) if ctx.quick else (10**6, 4)
    net = SparseNetwork(cycle_weights(n, CYCLE_C, dtype=jnp.float64), CYCLE_B)
    t0 = time.perf_counter()
    est = jax.jit(lambda net: free_energy_slq(net, CYCLE_BETA, key=jax.random.PRNGKey(ctx.seed), num_probes=probes,
                                              num_steps=24))(net)
    f_slq = float(jax.block_until_ready(est.free_energy))
    seconds = time.perf_counter() - t0
    a = 1 - math.tanh(CYCLE_C * uniform_fixed_point(CYCLE_C, CYCLE_B) + CYCLE_B) ** 2
    logdet = cycle_logdet_closed_form([n], a * CYCLE_C, CYCLE_BETA)
    f_exact = (logdet - n * math.log(2 * math.pi)) / (2 * CYCLE_BETA)
    return Result(f_slq, f_exact, 1e-3 * abs(f_exact),
                  note=f"N = {n}, tanh cycle c = {CYCLE_C}, b = {CYCLE_B}, β = {CYCLE_BETA}: SLQ ({probes} Rademacher "
                       "probes, 24 Lanczos steps) vs the circulant closed form; tolerance 1e-3 |F|",
                  details={"n": n, "relative_error": abs(f_slq - f_exact) / abs(f_exact),
                           "std_error": float(est.std_error), "truncation_error": float(est.truncation_error),
                           "seconds_with_compile": seconds})
