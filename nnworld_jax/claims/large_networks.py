"""Claims for very large networks (eqs. (45), (59)-(60), (8)-(9)): the free energy of a 10⁶-neuron
permutation network by matrix-free stochastic Lanczos quadrature against its circulant closed form.

The closed forms here are the references (used by the tests and the benchmark too), in NumPy
float64, independent of the JAX code they check:

* single cycle (60) with weights c and uniform bias b: the fixed point x̄ = tanh(c x̄ + b) is
  uniform, so f' = a is uniform, J = I - a c π is circulant with eigenvalues 1 - a c e^{2πik/N},
  G = JᵀJ has eigenvalues |1 - a c e^{2πik/N}|² and
  log det((1 - βm) I + βG) = Σ_k log((1 - βm) + β(1 + (ac)² - 2ac cos(2πk/N)));
* disjoint cycles: block circulant, the sum of the closed form over the cycles;
* open chain 0 → 1 → … → N-1 (weights c): J = I - D c S is unit lower bidiagonal (det J = 1,
  det G = 1) and A = (1 - βm) I + βG is tridiagonal, diagonal (1 - βm) + β(1 + (c d_{j+1})²)
  (β(1) for the last neuron), off-diagonal -βc d_{j+1}: its log-det by the LDLᵀ pivot recurrence.
"""

from __future__ import annotations

import math
import time

import jax
import jax.numpy as jnp
import numpy as np

from ..lanczos import free_energy_slq
from ..sparse import SparseNetwork, cycle_weights
from ._registry import Context, Result, claim

__all__ = ["chain_logdet_tridiagonal", "chain_slopes", "cycle_logdet_closed_form", "uniform_fixed_point"]


def uniform_fixed_point(c: float, b: float, steps: int = 10_000) -> float:
    """The uniform fixed point x = tanh(c x + b) of a tanh cycle with weights c, bias b (|c| < 1)."""
    x = 0.0
    for _ in range(steps):
        x_new = math.tanh(c * x + b)
        if abs(x_new - x) <= 1e-16:
            return x_new
        x = x_new
    raise ValueError("the scalar fixed point did not converge (|c| >= 1?)")


def cycle_logdet_closed_form(lengths, ac, beta: float, m: float = 0.0) -> float:
    """Σ over cycles Σ_k log((1 - βm) + β(1 + (ac)² - 2ac cos(2πk/L))): log det((1-βm)I + βG) of
    disjoint cycles (60) with uniform slope times weight ``ac`` (a scalar, or one per cycle)."""
    lengths = [int(L) for L in np.atleast_1d(lengths)]
    acs = np.broadcast_to(np.asarray(ac, dtype=np.float64), (len(lengths),))
    total = 0.0
    for L, q in zip(lengths, acs):
        k = np.arange(L, dtype=np.float64)
        total += float(np.sum(np.log((1 - beta * m) + beta * (1 + q * q - 2 * q * np.cos(2 * np.pi * k / L)))))
    return total


def chain_logdet_tridiagonal(d, c: float, beta: float, m: float = 0.0) -> float:
    """log det((1-βm)I + βG) of the open chain with weights c and slopes d = f'(y) (N,), by the
    pivot recurrence p_j = a_j - e_{j-1}²/p_{j-1} of the tridiagonal A (see the module docstring)."""
    d = np.asarray(d, dtype=np.float64)
    n = d.shape[0]
    sub = c * d[1:]  # -J_{j+1, j}
    diag = (1 - beta * m) + beta * (1 + np.concatenate([sub * sub, [0.0]]))
    off = (-beta * sub).tolist()
    diag = diag.tolist()
    total, piv = 0.0, 0.0
    for j in range(n):
        piv = diag[j] - (off[j - 1] ** 2 / piv if j else 0.0)
        if piv <= 0:
            raise ValueError("the tridiagonal operator is not positive definite")
        total += math.log(piv)
    return total


def chain_slopes(n: int, c: float, b: float) -> np.ndarray:
    """f'(y) = 1 - tanh² along the open tanh chain: x_0 = tanh(b), x_{i+1} = tanh(c x_i + b)."""
    x = np.empty(n)
    prev = 0.0
    for i in range(n):
        prev = math.tanh((c * prev if i else 0.0) + b)
        x[i] = prev
    y = np.concatenate([[b], c * x[:-1] + b])
    return 1 - np.tanh(y) ** 2


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
