"""Reference problems shared by the tests, the claims of ``nnworld reproduce`` and the notebooks.

Values are those of ``docs/conventions.md`` §1 (derived symbolically and checked in float64), so the
three consumers compare against one source.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import PRNGKeyArray

from ._checks import check, check_count, float_array, float_dtype_arg, scalar_param
from .network import Network

__all__ = ["linear_network", "diagonal_network", "random_network", "LINEAR_W", "LINEAR_B", "LINEAR_M",
           "LINEAR_MEAN_STATE", "LINEAR_H_STAR", "LINEAR_LOG_Z", "LINEAR_LOG_Z7", "SPECTRUM", "SPECTRUM_BETA",
           "SPECTRUM_U", "SPECTRUM_S"]

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


def random_network(n: int, *, key: PRNGKeyArray, gain: float = 0.6, bias: float = 0.3,
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
