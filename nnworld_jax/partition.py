"""Canonical ensemble of the neuron states in the Gaussian approximation: paper §2, eqs. (5)-(9).

The partition function (5) is Z = ∫dᴺx exp(-βH(x)) with H the bulk loss (3). Around the mean
state x* (the stationary point of H) the loss is quadratic with the Gauss-Newton operator (8)

    G = Jᵀ J,   J = I - diag(f'(y*)) w,   y* = w x* + b,                         (8)-(9)

and two Gaussian forms are offered (``docs/conventions.md`` §1 shows they are different integrals):

* ``"paper"`` (default), eq. (7) as printed, the quadratic expansion weighted by a unit Gaussian:
  log Z₇ = (N/2) log 2π - ½ log det((1 - βm) I + βG).
* ``"laplace"``, the Laplace approximation of (5):
  log Z_L = -βH* + (N/2) log(2π/β) - ½ log det(G - mI).

Log-determinants go through a Cholesky factorization: no inverse, no eigendecomposition on the
hot path; a matrix that is not positive definite is an error, never a NaN.
"""

from __future__ import annotations

from functools import partial
from typing import Literal

import jax
import jax.numpy as jnp
import optimistix as optx
from jax.scipy.linalg import solve_triangular
from jaxtyping import Array, Float

from ._checks import as_float, check, check_count, check_finite, check_square, check_symmetric, scalar_param
from .network import Network, _bulk_loss, _check_network, _state, activation_slope, bulk_loss

Method = Literal["paper", "laplace"]
METHODS = ("paper", "laplace")


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")


def _newton_tolerances(dtype) -> tuple[float, float]:
    # Newton converges quadratically: ask for close to machine precision of the dtype.
    return (1e-12, 1e-14) if jnp.dtype(dtype) == jnp.float64 else (1e-5, 1e-6)


def mean_state(net: Network, *, max_steps: int = 64) -> Float[Array, " N"]:
    """The mean state ⟨x⟩ = x*, the stationary point ∇H(x*) = 0 of the bulk loss (3).

    Newton's method (optimistix) on ∇H, started from a few iterations of the dynamics (1)-(2);
    derivatives with respect to the network go through the implicit function theorem, so
    ``jax.grad`` of anything built on x* is exact and cheap. For m = 0 and ‖w‖₂ < 1 (tanh) x* is
    the unique fixed point x = f(w x + b). Raises if Newton does not converge, and names w, b or m
    if they hold NaN/inf (also under jit); ``max_steps`` is an integer >= 1.

    Returns: x* with shape (N,), in the dtype of ``net.w``.
    """
    max_steps = check_count(max_steps, "max_steps")
    # The checked w, b, m feed the solve: a check whose result is unused vanishes under jit, and NaN
    # weights would then surface as a solver failure that names neither w nor b.
    net = _check_network(net)

    def warm_start(k, x):
        return net.activation(net.w @ x + net.b)

    x0 = jax.lax.fori_loop(0, 8, warm_start, jnp.zeros_like(net.b))
    x0 = jax.lax.stop_gradient(jnp.where(jnp.all(jnp.isfinite(x0)), x0, jnp.zeros_like(x0)))
    rtol, atol = _newton_tolerances(net.w.dtype)
    grad_h = jax.grad(_bulk_loss, argnums=1)
    sol = optx.root_find(lambda x, n: grad_h(n, x), optx.Newton(rtol=rtol, atol=atol), x0,
                         args=net, max_steps=max_steps, throw=True)
    return sol.value


def gauss_newton_operator(net: Network, x: Float[Array, " N"]) -> Float[Array, "N N"]:
    """G = Jᵀ J with J = I - diag(f'(w x + b)) w, eqs. (8)-(9), evaluated at the state ``x``.

    At the mean state this is the Gauss-Newton part of the Hessian of H; it is the exact Hessian
    of the first term of (3) where the residual x - f(wx + b) vanishes (m = 0) or f is linear.
    """
    net = _check_network(net)
    x = _state(net, x)
    d = activation_slope(net, net.w @ x + net.b)
    jac = jnp.eye(net.n, dtype=net.w.dtype) - d[:, None] * net.w
    # G of a linear network does not read x: the check is tied to the output so it survives jit.
    return check(jac.T @ jac, ~jnp.isfinite(x), "x contains NaN or inf")


def logdet_spd(a: Float[Array, "N N"], what: str = "matrix") -> Float[Array, ""]:
    """log det of a symmetric positive-definite matrix by Cholesky: 2 Σ log diag(L) (the log det of eq. (7)).

    ``a`` must be square, finite and symmetric (Cholesky reads one triangle: a non-symmetric matrix
    would be silently mirrored). A matrix that is not positive definite raises, naming ``what``,
    eagerly and under jit, vmap and grad: the check sits on the Cholesky factor, which the value and
    the JVP rule both read, so a gradient outside the domain raises too instead of returning NaN.
    """
    a = check_square(as_float(a, what), what)
    a = check_symmetric(check_finite(a, what), what)
    return _logdet_cholesky(a, what)


def _checked_cholesky(a, what):
    # The domain check goes on the factor itself, which every value and every derivative order reads
    # (logdet, A⁻¹ and their derivatives): a check on the value alone is dead code under grad, where
    # the value may be unused, and would give NaN gradients (issue #11).
    chol = jnp.linalg.cholesky(a)
    bad = ~jnp.all(jnp.isfinite(jnp.diagonal(chol)))
    return check(chol, bad, f"{what} is not positive definite")


@partial(jax.custom_jvp, nondiff_argnums=(1,))
def _logdet_cholesky(a, what):
    return 2.0 * jnp.sum(jnp.log(jnp.diagonal(_checked_cholesky(a, what))))


@_logdet_cholesky.defjvp
def _logdet_cholesky_jvp(what, primals, tangents):
    # d log det A = tr(A⁻¹ dA). A⁻¹ from the Cholesky factor by one triangular solve is 2-3× cheaper
    # than differentiating through the factorization (measured in benchmarks/bench_free_energy.py);
    # it exists only on the derivative path, and the rule stays differentiable (higher orders in β).
    (a,), (da,) = primals, tangents
    chol = _checked_cholesky(a, what)
    logdet = 2.0 * jnp.sum(jnp.log(jnp.diagonal(chol)))
    chol_inv = solve_triangular(chol, jnp.eye(a.shape[-1], dtype=a.dtype), lower=True)
    return logdet, jnp.sum((chol_inv.T @ chol_inv) * da)


def _log_partition_from_operator(g, beta, m, h_star, method: str):
    n = g.shape[0]
    eye = jnp.eye(n, dtype=g.dtype)
    if method == "paper":
        a = (1.0 - beta * m) * eye + beta * g
        logdet = logdet_spd(a, "(1 - beta m) I + beta G (eq. (7) needs 1 + beta (lambda_i - m) > 0)")
        return 0.5 * n * jnp.log(2 * jnp.pi) - 0.5 * logdet
    logdet = logdet_spd(g - m * eye, "G - m I (the Laplace form needs lambda_i > m)")
    return -beta * h_star + 0.5 * n * jnp.log(2 * jnp.pi / beta) - 0.5 * logdet


def log_partition_from_operator(g: Float[Array, "N N"], beta, m=0.0, *, method: Method = "paper",
                                h_star=0.0) -> Float[Array, ""]:
    """log Z from the operator G of eq. (8): eq. (7) (``"paper"``) or the Laplace form of (5).

    Arguments:
        g: (N, N) symmetric positive semi-definite operator G (finite; symmetric to rounding).
        beta: inverse temperature, a scalar > 0 (batch with ``jax.vmap``).
        m: bulk-potential mass of V(x) = -(m/2)|x|², a finite scalar.
        method: ``"paper"``: log Z₇ = (N/2) log 2π - ½ log det((1-βm)I + βG);
            ``"laplace"``: log Z_L = -βH* + (N/2) log(2π/β) - ½ log det(G - mI).
        h_star: the loss at the mean state, H(x*) (used by ``"laplace"`` only).
    """
    _check_method(method)
    g = check_square(as_float(g, "G"), "G")
    g = check_symmetric(check_finite(g, "G"), "G")
    beta = scalar_param(beta, "beta", g.dtype, positive=True)
    m = scalar_param(m, "m", g.dtype)
    h_star = scalar_param(h_star, "h_star", g.dtype)
    return _log_partition_from_operator(g, beta, m, h_star, method)


def log_partition(net: Network, beta, *, method: Method = "paper", x=None) -> Float[Array, ""]:
    """log Z of the network in the Gaussian approximation, eq. (7) or the Laplace form of (5).

    Arguments:
        net: the network (one, unbatched).
        beta: inverse temperature β > 0, a scalar (a batch of β is an error: use ``jax.vmap``).
        method: ``"paper"`` (eq. (7), default) or ``"laplace"``; see the module docstring.
        x: the state to expand around; default the mean state x* (:func:`mean_state`).

    Domain: 1 + β(λ_i - m) > 0 (``"paper"``) or λ_i > m (``"laplace"``), else an error, also for
    gradients under jit.

    Returns: scalar log Z in the dtype of ``net.w``.

    Example:
        >>> import jax.numpy as jnp
        >>> net = Network(jnp.zeros((2, 2)), jnp.zeros(2), activation="linear")
        >>> print(f"{float(log_partition(net, 1.0)):.10f}")  # G = I: log 2π - ½ log det(2I) = log π
        1.1447298858
    """
    _check_method(method)
    beta = scalar_param(beta, "beta", _check_network(net).w.dtype, positive=True)
    x = mean_state(net) if x is None else _state(net, x)
    g = gauss_newton_operator(net, x)
    h_star = bulk_loss(net, x) if method == "laplace" else jnp.zeros((), g.dtype)
    return _log_partition_from_operator(g, beta, net.m, h_star, method)


def free_energy(net: Network, beta, *, method: Method = "paper", x=None) -> Float[Array, ""]:
    """Free energy, eq. (6): F = -(1/β) log Z, with log Z from :func:`log_partition`.

    For ``"paper"`` this is eq. (45): F = (1/2β) Σ log(1 + β(λ_i - m)) - (N/2β) log 2π, λ = eig G,
    computed here by Cholesky. Differentiable in ``net`` (w, b, m) and ``beta``. ``beta`` is a
    scalar > 0; outside the domain 1 + β(λ_i - m) > 0 the value and its gradient raise.
    """
    beta = scalar_param(beta, "beta", _check_network(net).w.dtype, positive=True)
    return -log_partition(net, beta, method=method, x=x) / beta
