"""Private: the Gaussian integral of eq. (7) as a log-determinant, with its derivative rules.

Holds the method names (``Method``, ``METHODS``, re-exported by :mod:`~nnworld_jax.partition`), the
Jacobian J = I - diag(f'(w x + b)) w of eq. (9), the checked Cholesky log-det with its JVP (the
positive-definiteness check sits on the factor, so it survives every derivative order), the
Gram-form log det(c I + s JᵀJ) whose gradient never forms A⁻¹ (a blocked Cholesky with its inverse,
by products), and log Z of eq. (7) / the Laplace form from G or from J.

Used by :mod:`~nnworld_jax.partition`, :mod:`~nnworld_jax.thermo`, :mod:`~nnworld_jax.learning`,
:mod:`~nnworld_jax.estimators` and :mod:`~nnworld_jax.training`. Conventions are those of
:mod:`nnworld_jax.partition`.
"""

from __future__ import annotations

from functools import partial
from typing import Literal

import jax
import jax.numpy as jnp
from jax.custom_derivatives import SymbolicZero
from jax.scipy.linalg import cho_solve, solve_triangular

from ._checks import as_float, check, check_finite, check_square, check_symmetric
from ._netcore import _check_network, _slope, _state
from .network import Network
from .types import Array, Float

__all__ = ["METHODS", "Method", "_check_method", "_jacobian", "_jacobian_of", "_log_partition_from_jacobian",
           "_log_partition_from_operator", "_logdet_cholesky", "_logdet_spd"]

Method = Literal["paper", "laplace"]
METHODS = ("paper", "laplace")


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")


def _jacobian(net: Network, x) -> Float[Array, "N N"]:
    # J = I - diag(f'(w x + b)) w of eq. (9), with the checks of gauss_newton_operator.
    net = _check_network(net)
    return _jacobian_of(net, _state(net, x))


def _jacobian_of(net: Network, x) -> Float[Array, "N N"]:
    # _jacobian for a checked net and x (callers that checked them once for several uses).
    d = _slope(net.activation, net.w @ x + net.b)
    jac = jnp.eye(net.n, dtype=net.w.dtype) - d[:, None] * net.w
    # J of a linear network does not read x: the check is tied to the output so it survives jit.
    return check(jac, ~jnp.isfinite(x), "x contains NaN or inf")


def _logdet_spd(a, what: str):
    # logdet_spd's checks and its Cholesky route (the public function documents them).
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
    # d log det A = tr(A⁻¹ dA). A⁻¹ from the Cholesky factor by two triangular solves is 2-3× cheaper
    # than differentiating through the factorization (measured in benchmarks/bench_free_energy.py);
    # it exists only on the derivative path, and the rule stays differentiable (higher orders in β).
    (a,), (da,) = primals, tangents
    chol = _checked_cholesky(a, what)
    logdet = 2.0 * jnp.sum(jnp.log(jnp.diagonal(chol)))
    a_inv = cho_solve((chol, True), jnp.eye(a.shape[-1], dtype=a.dtype))  # two triangular solves
    return logdet, jnp.sum(a_inv * da)


_CHOLESKY_BLOCK = 32  # _cholesky_and_inverse: blocks of at most this size go to LAPACK


def _cholesky_and_inverse(a):
    """(L, L⁻¹) of a symmetric positive-definite ``a`` = LLᵀ by recursive 2 × 2 blocking.

    [[A₁₁, ·], [A₂₁, A₂₂]]: L₁₁, L₁₁⁻¹ recursively; L₂₁ = A₂₁ L₁₁⁻ᵀ; L₂₂, L₂₂⁻¹ of the Schur complement
    A₂₂ - L₂₁L₂₁ᵀ; (L⁻¹)₂₁ = -L₂₂⁻¹ L₂₁ L₁₁⁻¹. Blocks of at most ``_CHOLESKY_BLOCK`` rows: LAPACK's
    Cholesky and a triangular solve on the identity. Everything above is batched matrix products,
    which XLA:CPU spreads over every core, where its LAPACK calls loop over a vmapped batch on one
    core (the LU, Cholesky and triangular solves of benchmarks/bench_free_energy.py). Not positive
    definite: NaN on the diagonal of L (a block's Cholesky fails, and NaN flows to every later block).
    """
    n = a.shape[-1]
    if n <= _CHOLESKY_BLOCK:
        chol = jnp.linalg.cholesky(a)
        return chol, solve_triangular(chol, jnp.eye(n, dtype=a.dtype), lower=True)
    h = n // 2
    l11, i11 = _cholesky_and_inverse(a[:h, :h])
    l21 = a[h:, :h] @ i11.T
    l22, i22 = _cholesky_and_inverse(a[h:, h:] - l21 @ l21.T)
    zero = jnp.zeros((h, n - h), a.dtype)
    return jnp.block([[l11, zero], [l21, l22]]), jnp.block([[i11, zero], [-(i22 @ (l21 @ i11)), i22]])


@partial(jax.custom_jvp, nondiff_argnums=(3,))
def _logdet_gram(jac, c, s, what):
    """log det(c I + s JᵀJ) = log det A by Cholesky of A, with a derivative rule on J, c and s.

    The rule never forms A⁻¹ for the J-derivative: d log det A = tr(A⁻¹ dA) with dA = dc I +
    ds JᵀJ + s (dJᵀ J + Jᵀ dJ) gives 2s ⟨J A⁻¹, dJ⟩ + dc tr A⁻¹ + ds (N - c tr A⁻¹)/s, and
    J A⁻¹ = (J L⁻ᵀ) L⁻¹ takes two products with the inverse factor, which comes with L from
    _cholesky_and_inverse (batched products; LAPACK's triangular solves for the same two steps ran
    on one core). tr A⁻¹ = ‖L⁻¹‖²_F is used only when c or s is differentiated (symbolic zeros).
    The value alone (no derivative) takes LAPACK's Cholesky and nothing else.
    """
    return 2.0 * jnp.sum(jnp.log(jnp.diagonal(_checked_cholesky(_gram(jac, c, s), what))))


def _gram(jac, c, s):
    return c * jnp.eye(jac.shape[-1], dtype=jac.dtype) + s * (jac.T @ jac)


def _logdet_gram_jvp(what, primals, tangents):
    jac, c, s = primals
    djac, dc, ds = tangents
    a = _gram(jac, c, s)
    # Products instead of triangular solves (_cholesky_and_inverse). The check sits on both factors,
    # as in _checked_cholesky: under grad only L⁻¹ may be read.
    factors = _cholesky_and_inverse(a)
    chol, chol_inv = check(factors, ~jnp.all(jnp.isfinite(jnp.diagonal(factors[0]))), f"{what} is not positive definite")
    logdet = 2.0 * jnp.sum(jnp.log(jnp.diagonal(chol)))
    n = a.shape[-1]
    tangent = jnp.zeros_like(logdet)
    if not isinstance(djac, SymbolicZero):
        jac_ainv = (jac @ chol_inv.T) @ chol_inv  # J A⁻¹ = J L⁻ᵀ L⁻¹
        tangent = tangent + 2.0 * s * jnp.sum(jac_ainv * djac)
    if not (isinstance(dc, SymbolicZero) and isinstance(ds, SymbolicZero)):
        tr_ainv = jnp.sum(chol_inv * chol_inv)
        if not isinstance(dc, SymbolicZero):
            tangent = tangent + dc * tr_ainv
        if not isinstance(ds, SymbolicZero):
            tangent = tangent + ds * (n - c * tr_ainv) / s
    return logdet, tangent


_logdet_gram.defjvp(_logdet_gram_jvp, symbolic_zeros=True)


def _log_partition_from_jacobian(jac, beta, m, h_star, method: str):
    # As _log_partition_from_operator with G = JᵀJ, through _logdet_gram (no A⁻¹ on the gradient path).
    n = jac.shape[0]
    one = jnp.ones((), jac.dtype)
    if method == "paper":
        logdet = _logdet_gram(jac, 1.0 - beta * m, beta,
                              "(1 - beta m) I + beta G (eq. (7) needs 1 + beta (lambda_i - m) > 0)")
        return 0.5 * n * jnp.log(2 * jnp.pi) - 0.5 * logdet
    logdet = _logdet_gram(jac, -m * one, one, "G - m I (the Laplace form needs lambda_i > m)")
    return -beta * h_star + 0.5 * n * jnp.log(2 * jnp.pi / beta) - 0.5 * logdet


def _log_partition_from_operator(g, beta, m, h_star, method: str):
    n = g.shape[0]
    eye = jnp.eye(n, dtype=g.dtype)
    if method == "paper":
        a = (1.0 - beta * m) * eye + beta * g
        logdet = _logdet_spd(a, "(1 - beta m) I + beta G (eq. (7) needs 1 + beta (lambda_i - m) > 0)")
        return 0.5 * n * jnp.log(2 * jnp.pi) - 0.5 * logdet
    logdet = _logdet_spd(g - m * eye, "G - m I (the Laplace form needs lambda_i > m)")
    return -beta * h_star + 0.5 * n * jnp.log(2 * jnp.pi / beta) - 0.5 * logdet
