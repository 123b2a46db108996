"""Independent estimates of the partition function (5) that the Gaussian forms are checked against.

Both estimators integrate the *exact* integrand of the chosen form, in coordinates centred on the
mean state x* and scaled by the Gaussian form's own covariance Σ = A⁻¹ (x = x* + Q diag(σ) u):

* ``"laplace"`` ↔ eq. (5):  Z = ∫ dᴺx exp(-βH(x));
* ``"paper"``   ↔ eq. (7) before its quadratic expansion: Z = ∫ dᴺδ exp(-½|δ|² - β(H(x*+δ) - H*)).

For a linear activation both integrands are exactly Gaussian and the Gaussian forms are exact; for
tanh they are not, and the difference is the approximation error the paper's (7) makes.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from ._checks import check, check_count, scalar_param
from ._gaussian import Method, _check_method
from ._netcore import _bulk_loss, _check_network
from .network import Network
from .partition import gauss_newton_operator, mean_state
from .types import Array, FloatScalar, Key

__all__ = ["MonteCarloEstimate", "log_partition_monte_carlo", "log_partition_quadrature"]


def _log_integrand_and_frame(net: Network, beta, method: str):
    """log of the exact integrand as a function of x, and the Gaussian frame (x*, Q, σ)."""
    _check_method(method)
    beta = scalar_param(beta, "beta", _check_network(net).w.dtype, positive=True)
    x_star = mean_state(net)
    h_star = _bulk_loss(net, x_star)
    g = gauss_newton_operator(net, x_star)
    eye = jnp.eye(net.n, dtype=g.dtype)
    if method == "laplace":
        precision = beta * (g - net.m * eye)

        def log_f(x):
            return -beta * _bulk_loss(net, x)
    else:
        precision = eye + beta * (g - net.m * eye)

        def log_f(x):
            d = x - x_star
            return -0.5 * jnp.vdot(d, d) - beta * (_bulk_loss(net, x) - h_star)

    lam, q = jnp.linalg.eigh(precision)
    # A non-positive precision has no Gaussian frame: fail loudly rather than return NaN.
    lam = check(lam, lam <= 0, f"the {method!r} precision matrix is not positive definite: "
                "no Gaussian frame to integrate in (1 + beta (lambda_i - m) > 0, or lambda_i > m for 'laplace')")
    return log_f, x_star, q, 1.0 / jnp.sqrt(lam)


def log_partition_quadrature(net: Network, beta, *, method: Method = "paper", half_width: float = 12.0,
                             n_points: int = 81) -> FloatScalar:
    """log Z of eq. (5) (or of (7) before expansion) by the trapezoid rule in the Gaussian frame (N ≤ 3).

    The grid spans u ∈ [-half_width, half_width]^N (in units of the Gaussian form's standard
    deviations) with ``n_points`` per axis; for smooth, rapidly decaying integrands the trapezoid
    rule converges faster than any power of the spacing, so the default reaches ~1e-12 for the
    Gaussian case. Cost n_points^N integrand evaluations. ``beta`` is a scalar > 0, ``half_width``
    finite and > 0, ``n_points`` an integer >= 2.
    """
    n_points = check_count(n_points, "n_points", 2)
    net = _check_network(net)
    half_width = scalar_param(half_width, "half_width", net.w.dtype, positive=True)
    if net.n > 3:
        raise ValueError(f"quadrature is meant for N <= 3 (cost n_points**N); N = {net.n}: use log_partition_monte_carlo")
    log_f, x_star, q, sigma = _log_integrand_and_frame(net, beta, method)
    u1 = jnp.linspace(-half_width, half_width, n_points, dtype=net.w.dtype)
    h = u1[1] - u1[0]
    u = jnp.stack(jnp.meshgrid(*([u1] * net.n), indexing="ij"), axis=-1).reshape(-1, net.n)
    x = x_star[None, :] + (u * sigma[None, :]) @ q.T
    log_vals = jax.vmap(log_f)(x)
    return jax.scipy.special.logsumexp(log_vals) + net.n * jnp.log(h) + jnp.sum(jnp.log(sigma))


class MonteCarloEstimate(NamedTuple):
    log_z: Array  # the estimate of log Z
    stderr: Array  # its standard error (delta method)
    ess: Array  # effective sample size of the importance weights


def log_partition_monte_carlo(net: Network, beta, *, key: Key, method: Method = "paper",
                              n_samples: int = 100_000, widen: float = 2.0) -> MonteCarloEstimate:
    """log Z of eq. (5) (or of (7) before expansion) by importance sampling around x*.

    Proposal: ½ N(x*, Σ) + ½ N(x*, widen² Σ), Σ the covariance of the Gaussian form; the wide
    component keeps the weights bounded where the exact integrand has heavier tails than the
    Gaussian (tanh saturates). Returns the estimate, its standard error and the effective sample
    size. ``key`` (keyword-only, as in equinox) is a ``jax.random`` key; ``beta`` a scalar > 0;
    ``n_samples`` an integer >= 2 (a standard error needs two samples); ``widen`` finite and >= 1.
    """
    n_samples = check_count(n_samples, "n_samples", 2)
    net = _check_network(net)
    if not (isinstance(key, jax.Array) and (jnp.issubdtype(key.dtype, jax.dtypes.prng_key) or key.shape == (2,))):
        raise TypeError(f"key must be a jax.random key (jax.random.key or PRNGKey), got {type(key).__name__}")
    widen = scalar_param(widen, "widen", net.w.dtype)
    widen = check(widen, ~(widen >= 1), "widen must be >= 1 (the wide component's scale)")
    log_f, x_star, q, sigma = _log_integrand_and_frame(net, beta, method)
    n = net.n
    k_u, k_pick = jax.random.split(key)
    u = jax.random.normal(k_u, (n_samples, n), dtype=net.w.dtype)
    scale = jnp.where(jax.random.bernoulli(k_pick, 0.5, (n_samples,)), widen, 1.0)[:, None]
    u = u * scale
    x = x_star[None, :] + (u * sigma[None, :]) @ q.T
    # log density of the mixture in x: the u-density over the Jacobian Π σ_i.
    r2 = jnp.sum(u**2, axis=1)
    log_norm = -0.5 * n * jnp.log(2 * jnp.pi) - jnp.sum(jnp.log(sigma))
    log_q = log_norm + jnp.logaddexp(jnp.log(0.5) - 0.5 * r2,
                                      jnp.log(0.5) - n * jnp.log(widen) - 0.5 * r2 / widen**2)
    log_w = jax.vmap(log_f)(x) - log_q
    log_mean = jax.scipy.special.logsumexp(log_w) - jnp.log(n_samples)
    wn = jnp.exp(log_w - log_mean)  # weights normalised to mean 1
    stderr = jnp.std(wn) / jnp.sqrt(n_samples)
    ess = n_samples / jnp.mean(wn**2)
    return MonteCarloEstimate(log_mean, stderr, ess)
