"""Reference problems shared by the tests, the claims of ``nnworld reproduce`` and the notebooks.

Values are those of ``docs/conventions.md`` §1 (derived symbolically and checked in float64), so the
three consumers compare against one source.

Closed forms of very large networks (eqs. (8)-(9), (45), (59)-(60)), in NumPy float64, independent of
the JAX code they check (the claim ``large_networks.cycle-free-energy``, tests/test_lanczos.py and
benchmarks/bench_large_networks.py use them):

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

import jax
import jax.numpy as jnp
import numpy as np

from ._checks import check, check_count, float_array, float_dtype_arg, scalar_param
from .network import Network
from .types import Key

__all__ = ["linear_network", "diagonal_network", "random_network", "LINEAR_W", "LINEAR_B", "LINEAR_M",
           "LINEAR_MEAN_STATE", "LINEAR_H_STAR", "LINEAR_LOG_Z", "LINEAR_LOG_Z7", "SPECTRUM", "SPECTRUM_BETA",
           "SPECTRUM_U", "SPECTRUM_S", "uniform_fixed_point", "cycle_logdet_closed_form", "chain_logdet_tridiagonal",
           "chain_slopes"]

# conventions §1, linear activation: H is exactly quadratic.
LINEAR_W = ((0.2, -0.3), (0.1, 0.4))
LINEAR_B = (0.5, -0.2)
LINEAR_M = 0.1
LINEAR_MEAN_STATE = (0.88444722, -0.36914428)  # 8 digits as printed
LINEAR_H_STAR = -0.035196752030
LINEAR_LOG_Z = {0.5: 3.464600952474, 1.0: 2.789052147929, 3.0: 1.760833363321}  # exact (5) = Laplace
LINEAR_LOG_Z7 = {0.5: 1.638480617239, 1.0: 1.476499803753, 3.0: 1.019262985702}  # weighted integral = (7)

# conventions §1, closed forms of U and S_x for the spectrum λ at β = 1.3.
SPECTRUM = (0.3, 1.7, 4.0, 0.05)
SPECTRUM_BETA = 1.3
SPECTRUM_U = {0.0: 0.718766000417956, 0.2: 0.525182693748178}
SPECTRUM_S = {0.0: 2.918600545614, 0.2: 2.974082167248}


def linear_network(dtype=None) -> Network:
    """The conventions §1 linear network (N = 2, m = 0.1) of eqs. (3), (5); ``dtype`` floating."""
    w = jnp.asarray(LINEAR_W, dtype=float_dtype_arg(dtype))
    return Network(w, jnp.asarray(LINEAR_B, dtype=w.dtype), activation="linear", m=LINEAR_M)


def diagonal_network(spectrum, m=0.0, dtype=None) -> Network:
    """A linear network whose operator G (at x = 0) has eigenvalues ``spectrum``.

    With f linear, J = I - w; choosing w = I - diag(√λ) gives G = JᵀJ = diag(λ) exactly, so the
    spectrum must be a vector of finite λ_i >= 0 (G is positive semi-definite; a negative λ has
    no real √λ). Integers are promoted to float.
    """
    lam = float_array(spectrum, "spectrum", float_dtype_arg(dtype), ndim=1)
    lam = check(lam, lam < 0, "spectrum must be >= 0 (eigenvalues of G = JᵀJ)")
    return Network(jnp.eye(lam.shape[0], dtype=lam.dtype) - jnp.diag(jnp.sqrt(lam)), jnp.zeros_like(lam),
                   activation="linear", m=m)


def random_network(n: int, *, key: Key, gain: float = 0.6, bias: float = 0.3,
                   activation="tanh", m=0.0, dtype=None) -> Network:
    """A random network for eqs. (1)-(3): w ~ gain/√N · normal (so ‖w‖₂ ≈ 2·gain), b ~ bias · normal.

    ``n`` is an integer >= 1; ``key`` (keyword-only, as in equinox) one ``jax.random`` key;
    ``gain`` and ``bias`` finite scalars; ``dtype`` a floating dtype.
    """
    n = check_count(n, "n")
    dtype = float_dtype_arg(dtype)
    gain, bias = scalar_param(gain, "gain", dtype), scalar_param(bias, "bias", dtype)
    k_w, k_b = jax.random.split(key)
    w = gain / jnp.sqrt(n) * jax.random.normal(k_w, (n, n), dtype)
    b = bias * jax.random.normal(k_b, (n,), dtype)
    return Network(w, b, activation=activation, m=m)


# ------------------------------------------------------------------ closed forms, large networks
def _real(value, name: str) -> float:
    """A finite real Python/NumPy scalar as float (the closed forms run on the host in float64)."""
    if isinstance(value, (bool, np.bool_, complex, np.complexfloating)) or np.ndim(value) != 0:
        raise ValueError(f"{name} must be a real scalar, got {value!r}")
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real scalar, got {value!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{name} contains NaN or inf")
    return value


def _positive_definite(total: float) -> float:
    if not math.isfinite(total):
        raise ValueError("(1 - βm) I + βG is not positive definite for these beta and m")
    return total


def uniform_fixed_point(c: float, b: float, steps: int = 10_000) -> float:
    """The uniform fixed point x̄ = tanh(c x̄ + b) of a tanh cycle (60) with weights c and bias b,
    eq. (3)'s mean state of that network; iterated from 0 in float64 (converges for |c| < 1).

    Raises ``ValueError`` for non-finite c or b, or when ``steps`` iterations do not converge."""
    c, b = _real(c, "c"), _real(b, "b")
    steps = check_count(steps, "steps", 1)
    x = 0.0
    for _ in range(steps):
        x_new = math.tanh(c * x + b)
        if abs(x_new - x) <= 1e-16:
            return x_new
        x = x_new
    raise ValueError(f"the scalar fixed point did not converge in steps = {steps} iterations (|c| >= 1?)")


def cycle_logdet_closed_form(lengths, ac, beta: float, m: float = 0.0) -> float:
    """log det((1 - βm) I + βG) of disjoint cycles (60), eqs. (8)-(9), in closed form:
    Σ over cycles Σ_k log((1 - βm) + β(1 + (ac)² - 2ac cos(2πk/L))).

    Arguments: ``lengths`` the cycle lengths L (integers >= 1); ``ac`` the uniform slope times weight
    of each cycle (a scalar, or one per cycle); β > 0; m the mass of (3). Returns a float64 number.
    """
    lengths = [check_count(L, "lengths", 1) for L in np.atleast_1d(np.asarray(lengths, dtype=object)).tolist()]
    acs = np.asarray(ac, dtype=np.float64)
    if acs.ndim > 1 or acs.ndim == 1 and acs.shape[0] != len(lengths):
        raise ValueError(f"ac must be a scalar or one value per cycle ({len(lengths)}), got shape {acs.shape}")
    if not np.all(np.isfinite(acs)):
        raise ValueError("ac contains NaN or inf")
    beta, m = _real(beta, "beta"), _real(m, "m")
    if beta <= 0:
        raise ValueError(f"beta must be > 0, got {beta}")
    acs = np.broadcast_to(acs, (len(lengths),))
    total = 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        for L, q in zip(lengths, acs):
            k = np.arange(L, dtype=np.float64)
            total += float(np.sum(np.log((1 - beta * m) + beta * (1 + q * q - 2 * q * np.cos(2 * np.pi * k / L)))))
    return _positive_definite(total)


def chain_logdet_tridiagonal(d, c: float, beta: float, m: float = 0.0) -> float:
    """log det((1 - βm) I + βG) of the open chain (weights c, slopes d = f'(y) of shape (N,)),
    eqs. (8)-(9), by the pivot recurrence p_j = a_j - e_{j-1}²/p_{j-1} of the tridiagonal operator
    (module docstring). Returns a float64 number; ``ValueError`` when a pivot is not positive."""
    d = np.asarray(d, dtype=np.float64)
    if d.ndim != 1 or d.shape[0] < 1:
        raise ValueError(f"d must be a 1-D array of the N >= 1 slopes, got shape {d.shape}")
    if not np.all(np.isfinite(d)):
        raise ValueError("d contains NaN or inf")
    c, beta, m = _real(c, "c"), _real(beta, "beta"), _real(m, "m")
    if beta <= 0:
        raise ValueError(f"beta must be > 0, got {beta}")
    sub = c * d[1:]  # -J_{j+1, j}
    diag = ((1 - beta * m) + beta * (1 + np.concatenate([sub * sub, [0.0]]))).tolist()
    off = (-beta * sub).tolist()
    total, piv = 0.0, 0.0
    for j in range(d.shape[0]):
        piv = diag[j] - (off[j - 1] ** 2 / piv if j else 0.0)
        if piv <= 0:
            raise ValueError("(1 - βm) I + βG is not positive definite for these beta and m (a pivot <= 0)")
        total += math.log(piv)
    return total


def chain_slopes(n: int, c: float, b: float) -> np.ndarray:
    """f'(y) = 1 - tanh²(y) along the open tanh chain of n neurons, weights c, bias b: the mean state
    (3) is x_0 = tanh(b), x_{i+1} = tanh(c x_i + b), y = (b, c x_0 + b, ...). NumPy float64, shape (n,)."""
    n = check_count(n, "n", 1)
    c, b = _real(c, "c"), _real(b, "b")
    x = np.empty(n)
    prev = 0.0
    for i in range(n):
        prev = math.tanh((c * prev if i else 0.0) + b)
        x[i] = prev
    y = np.concatenate([[b], c * x[:-1] + b])
    return 1 - np.tanh(y) ** 2
