"""Matrix-free log-determinants and the free energy (45) of 10⁶-neuron networks by stochastic
Lanczos quadrature (SLQ).

The free energy of eq. (45) (with (7)-(9), conventions §1) is

    F = (1/2β) log det A - (N/2β) log 2π,     A = (1 - βm) I + βG,   G = JᵀJ (8)-(9),

and log det A = tr log A = Σ_i log(1 + βν_i), ν = eig(G) - m. Dense Cholesky
(:func:`nnworld_jax.free_energy`) needs the N × N matrix; here only products A v are used:

* Hutchinson: tr log A = E[zᵀ log(A) z] for probes with E[zzᵀ] = I (Rademacher ±1 entries), so
  the estimate is the mean of zᵢᵀ log(A) zᵢ over p probes, with standard error std/√p;
* Lanczos + Gauss quadrature: k steps of Lanczos from z/|z| give a k × k tridiagonal T and
  zᵀ log(A) z ≈ |z|² Σ_j τ_j² log θ_j with (θ_j, τ_j) the eigenvalues and first eigenvector
  components of T. The quadrature converges geometrically in k at a rate set by the condition
  number of A; the change from k - 1 to k steps is reported as the truncation check.
* Gradient: d log det A = tr(A⁻¹ dA) ≈ mean_i uᵢᵀ dA zᵢ with uᵢ = A⁻¹ zᵢ by conjugate gradients
  (``lineax.CG``; A is SPD on the domain 1 + βν_i > 0): a ``jax.custom_jvp`` rule, so
  ``jax.grad`` and ``jax.jvp`` of the free energy work, with respect to the weights' values, b, m
  and β. With the exact probe set (√N e_i, i = 1..N) the trace and its gradient are exact up to
  Lanczos/CG tolerances (small N, tests).

Lanczos runs without reorthogonalization (memory O(pN)): loss of orthogonality produces repeated
Ritz values but Gauss quadrature of a smooth function stays accurate (Greenbaum 1989; Ubaru, Chen &
Saad 2017). The k × k eigenproblems of all probes and of the truncation check go into one batched
``eigh`` call (reference numerical hazards: no two independent batched LAPACK calls in one program).
"""

from __future__ import annotations

from functools import partial
from typing import Literal, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx

from ._checks import check, check_count, float_array, float_dtype_arg, scalar_param
from ._config import dtype_tol
from ._netcore import _check_sparse_network, _slope
from ._sparse_ops import _prepare, _Prepared, _rows
from .network import Network
from .partition import gauss_newton_operator, log_partition_from_operator
from .sparse import SparseNetwork, has_structured_logdet, sparse_mean_state, structured_free_energy, to_dense
from .types import Array, ArrayLike, Float, FloatScalar, Key, Real, State

__all__ = ["LogDetEstimate", "FreeEnergyEstimate", "rademacher_probes", "exact_probes", "lanczos_tridiagonal",
           "slq_logdet", "gauss_newton_logdet", "free_energy_slq", "sparse_free_energy", "DENSE_THRESHOLD"]

DENSE_THRESHOLD = 2000
"""``method="auto"`` uses dense Cholesky for N ≤ this, SLQ above."""


class LogDetEstimate(NamedTuple):
    """An SLQ estimate of log det A: ``value`` ± ``std_error`` (Hutchinson, over probes; 0 for the
    exact probe set) and ``truncation_error`` = |Q_k - Q_{k-1}| (Lanczos steps k vs k - 1)."""

    value: Array
    std_error: Array
    truncation_error: Array


class FreeEnergyEstimate(NamedTuple):
    """F of eq. (45) by SLQ with its error bars (same units as F: error of log det / 2β)."""

    free_energy: Array
    std_error: Array
    truncation_error: Array
    logdet: LogDetEstimate


# ---------------------------------------------------------------------------------------------
# Probes


def rademacher_probes(n: int, num: int, dtype=None, *, key: Key) -> Float[Array, "p N"]:
    """``num`` Rademacher probe vectors (entries ±1, E[zzᵀ] = I) for Hutchinson's trace estimate of
    tr log A = log det A, eq. (45). ``n`` and ``num`` are integers >= 1; ``key`` (keyword-only, as
    in equinox) one ``jax.random`` key."""
    n, num = check_count(n, "n"), check_count(num, "num")
    dtype = float_dtype_arg(dtype)
    return jax.random.rademacher(key, (num, n), dtype=dtype)


def exact_probes(n: int, dtype=None) -> Float[Array, "N N"]:
    """The probe set √N e_i, i = 1..N: the mean of zᵢᵀ f(A) zᵢ is exactly tr f(A) (eq. (45) without
    sampling error; N probes, for small N and tests). ``n`` is an integer >= 1."""
    n = check_count(n, "n")
    dtype = float_dtype_arg(dtype)
    return jnp.sqrt(jnp.asarray(n, dtype)) * jnp.eye(n, dtype=dtype)


# ---------------------------------------------------------------------------------------------
# Lanczos and Gauss quadrature


def lanczos_tridiagonal(matvec, probes: Real[ArrayLike, "p N"], num_steps: int):
    """k = ``num_steps`` Lanczos steps for each probe (rows of ``probes``), for the quadrature of (45).

    ``matvec`` maps a block (N, p), one vector per column, to A applied to each column (A
    symmetric); the probes are given as rows (p, N) and transposed once (columns keep the gathers
    of sparse products contiguous). Returns (alpha (p, k), beta (p, k - 1), norms (p,)):
    T = tridiag(beta, alpha, beta) and |zᵢ|. After an exact breakdown (an invariant Krylov
    subspace, β_j ≈ 0) the remaining steps are decoupled (α = 1, β = 0): zero quadrature weight.
    """
    k = check_count(num_steps, "num_steps")
    if not callable(matvec):
        raise TypeError(f"matvec must be a callable v -> A v, got {type(matvec).__name__}")
    z = _probe_block(probes).T
    dtype = z.dtype
    eps = jnp.finfo(dtype).eps
    norms = jnp.sqrt(jnp.sum(z * z, axis=0))
    q0 = z / norms[None, :]
    p = z.shape[1]

    def body(carry, _):
        q, q_prev, beta_prev, dead, scale = carry
        v = matvec(q) - beta_prev[None, :] * q_prev
        alpha = jnp.sum(v * q, axis=0)
        v = v - alpha[None, :] * q
        beta = jnp.sqrt(jnp.sum(v * v, axis=0))
        scale = jnp.maximum(scale, jnp.abs(alpha) + beta_prev)
        broke = dead | (beta <= 10 * q.shape[0] ** 0.5 * eps * scale)
        q_next = jnp.where(broke[None, :], jnp.zeros_like(v), v / jnp.where(broke, 1, beta)[None, :])
        alpha_out = jnp.where(dead, jnp.ones_like(alpha), alpha)
        beta_out = jnp.where(broke, jnp.zeros_like(beta), beta)
        return (q_next, q, beta_out, broke, scale), (alpha_out, beta_out)

    zeros = jnp.zeros((p,), dtype)
    init = (q0, jnp.zeros_like(q0), zeros, jnp.zeros((p,), bool), zeros)
    _, (alphas, betas) = jax.lax.scan(body, init, None, length=k)
    return alphas.T, betas.T[:, :-1], norms


def _probe_block(probes, dtype=None, n: int | None = None):
    """Probes as a finite float (p, N) block (p >= 1), promoted from integers."""
    z = float_array(probes, "probes", dtype, ndim=2)
    if z.shape[0] < 1 or z.shape[1] < 1 or (n is not None and z.shape[1] != n):
        want = f"(p, {n})" if n is not None else "(p, N)"
        raise ValueError(f"probes must have shape {want} with p >= 1, got {z.shape}")
    return z


def _tridiagonal(alpha, beta):
    k = alpha.shape[-1]
    t = jnp.zeros(alpha.shape[:-1] + (k, k), alpha.dtype)
    i = jnp.arange(k)
    t = t.at[..., i, i].set(alpha)
    if k > 1:
        t = t.at[..., i[:-1], i[1:]].set(beta).at[..., i[1:], i[:-1]].set(beta)
    return t


def _quadrature(alphas, betas, norms, exact: bool):
    """Per-probe Gauss quadrature |z|² e₁ᵀ log(T) e₁ with k and k - 1 steps, in ONE batched eigh."""
    p, k = alphas.shape
    if k > 1:  # the (k-1)-step tridiagonal, padded with a decoupled unit entry (zero weight)
        a_short = alphas.at[:, -1].set(1)
        b_short = betas.at[:, -1].set(0)
        t = _tridiagonal(jnp.concatenate([alphas, a_short]), jnp.concatenate([betas, b_short]))
    else:
        t = _tridiagonal(jnp.concatenate([alphas, alphas]), betas)
    theta, vecs = jnp.linalg.eigh(t)
    weights = vecs[:, 0, :] ** 2
    positive = jnp.all(theta > 0)
    logs = jnp.log(jnp.where(theta > 0, theta, 1))
    quad = jnp.sum(weights * logs, axis=1) * jnp.concatenate([norms, norms]) ** 2
    full, short = quad[:p], quad[p:]
    value = jnp.mean(full)
    if exact or p < 2:
        std_error = jnp.zeros((), alphas.dtype) if exact else jnp.full((), jnp.inf, alphas.dtype)
    else:
        std_error = jnp.std(full, ddof=1) / jnp.sqrt(jnp.asarray(p, alphas.dtype))
    trunc = jnp.abs(value - jnp.mean(short)) if k > 1 else jnp.full((), jnp.inf, alphas.dtype)
    value = jnp.where(positive, value, jnp.nan)
    return LogDetEstimate(value, std_error, trunc)


def slq_logdet(matvec, probes: Real[ArrayLike, "p N"], num_steps: int = 40, *, exact: bool = False) -> LogDetEstimate:
    """log det A = tr log A of a symmetric positive-definite A by stochastic Lanczos quadrature (eq. (45)).

    Arguments:
        matvec: v (N,) ↦ A v, linear, A symmetric positive definite (applied to the probes with vmap).
        probes: (p, N) probe vectors with E[zzᵀ] = I (:func:`rademacher_probes`), or the exact set
            (:func:`exact_probes`, then pass ``exact=True``: no sampling error).
        num_steps: Lanczos steps k per probe (Gauss quadrature with k nodes).

    Returns: :class:`LogDetEstimate` (value, std_error, truncation_error) in the probes' dtype.
    Not differentiable (use :func:`gauss_newton_logdet` for gradients). A that is not positive
    definite (a non-positive Ritz value) gives an error.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> d = jnp.array([1.0, 2.0, 4.0])
        >>> est = slq_logdet(lambda v: d * v, exact_probes(3), 3, exact=True)
        >>> round(float(est.value), 10) == round(float(jnp.log(8.0)), 10)
        True
    """
    num_steps = check_count(num_steps, "num_steps")
    if not callable(matvec):
        raise TypeError(f"matvec must be a callable v -> A v, got {type(matvec).__name__}")
    probes = jax.lax.stop_gradient(_probe_block(probes))
    if exact and probes.shape[0] != probes.shape[1]:
        raise ValueError(f"exact=True needs the exact probe set (N, N) of exact_probes, got probes {probes.shape}")
    alphas, betas, norms = lanczos_tridiagonal(jax.vmap(matvec, in_axes=1, out_axes=1), probes, num_steps)
    est = _quadrature(alphas, betas, norms, exact)
    return est._replace(value=check(est.value, ~jnp.isfinite(est.value),
                                    "slq_logdet: the operator is not positive definite"))


# ---------------------------------------------------------------------------------------------
# log det((1 - βm) I + βG) with a gradient, eqs. (7)-(9), (45)


class _Theta(eqx.Module):
    """The differentiable inputs of A = (1 - βm) I + βJᵀJ."""

    row_vals: Array
    col_vals: Array
    d: Array
    beta: Array
    shift: Array  # 1 - βm


def _apply_a(theta: _Theta, idx: tuple[Array, Array], v):
    """A v = (1 - βm) v + β Jᵀ J v, J v = v - d ⊙ (w v), Jᵀ u = u - wᵀ (d ⊙ u); v (N,) or a block (N, p)."""
    row_cols, col_rows = idx
    prep = _Prepared(theta.row_vals, row_cols, theta.col_vals, col_rows)
    d = _rows(theta.d, v)
    jv = v - d * prep.mv(v)
    return theta.shift * v + theta.beta * (jv - prep.rmv(d * jv))


def _max_column_norm(x):
    """max_j |x_j|₂ over the columns of the (N, p) block: each probe's system converges on its own."""
    return jnp.max(jnp.sqrt(jnp.sum(x * x, axis=0)))


def _cg(matvec, z, rtol, max_steps):
    """U = A⁻¹Z for the (N, p) block Z (A SPD) by ``lineax.CG``; returns (U, converged).

    One CG run on the block operator U ↦ A U (block diagonal I_p ⊗ A, SPD like A; one product
    A·block per step, the gathers of the sparse products contiguous). The columns are scaled to
    unit norm first and lineax's test uses the largest column norm with ``atol = rtol``, so CG
    stops when every column has |A uⱼ - zⱼ| ≤ rtol |zⱼ| (and its last update is as small).
    ``converged`` is False when ``max_steps`` ran out or CG broke down (a non-finite solution).
    """
    norms = jnp.sqrt(jnp.sum(z * z, axis=0))
    scale = jnp.where(norms > 0, norms, 1)[None, :]  # a zero column has the solution 0
    operator = lx.FunctionLinearOperator(lambda v: matvec(v), jax.ShapeDtypeStruct(z.shape, z.dtype),
                                         tags=(lx.symmetric_tag, lx.positive_semidefinite_tag))
    solver = lx.CG(rtol=0.0, atol=rtol, norm=_max_column_norm, max_steps=max_steps)
    sol = lx.linear_solve(operator, z / scale, solver, throw=False)
    u = sol.value * scale
    return u, (sol.result == lx.RESULTS.successful) & jnp.all(jnp.isfinite(u))


@partial(jax.custom_jvp, nondiff_argnums=(0, 1, 2, 3))
def _logdet_a(num_steps, exact, cg_rtol, cg_max_steps, idx, theta, probes):
    alphas, betas, norms = lanczos_tridiagonal(lambda v: _apply_a(theta, idx, v), probes, num_steps)
    return _quadrature(alphas, betas, norms, exact)


@_logdet_a.defjvp
def _logdet_a_jvp(num_steps, exact, cg_rtol, cg_max_steps, primals, tangents):
    # d log det A = tr(A⁻¹ dA) ≈ mean_i uᵢᵀ dA zᵢ, uᵢ = A⁻¹ zᵢ (same probes as the value; A = Aᵀ).
    idx, theta, probes = primals
    _, dtheta, _ = tangents
    est = _logdet_a(num_steps, exact, cg_rtol, cg_max_steps, idx, theta, probes)
    z = probes.T  # (N, p): one probe per column
    # Under grad only this tangent is computed: the domain check must sit here too, or a negative
    # definite A (CG converges on it as well) would give a finite, meaningless gradient (issue #11).
    z = check(z, ~jnp.isfinite(est.value), _NOT_SPD)
    u, ok = _cg(lambda v: _apply_a(theta, idx, v), z, cg_rtol, cg_max_steps)
    u = check(u, ~ok, f"conjugate gradients (lineax.CG) for A⁻¹z did not converge in cg_max_steps = {cg_max_steps} "
                      "steps (A = (1-βm)I + βG ill-conditioned or not positive definite)")

    def quad_form(th):
        return jnp.sum(u * _apply_a(th, idx, z)) / z.shape[1]

    _, dvalue = jax.jvp(quad_form, (theta,), (dtheta,))
    zero = jnp.zeros_like(dvalue)
    return est, LogDetEstimate(dvalue, zero, zero)


_NOT_SPD = "(1 - beta m) I + beta G is not positive definite (eq. (7) needs 1 + beta (lambda_i - m) > 0)"


def _cg_defaults(dtype):
    return dtype_tol(dtype, float64=1e-10, float32=1e-5)


def gauss_newton_logdet(net: SparseNetwork, beta, x: State | None = None, *,
                        key: Key | None = None, num_probes: int = 4, num_steps: int = 40,
                        probes: Real[ArrayLike, "p N"] | Literal["exact"] | None = None,
                        cg_rtol: float | None = None, cg_max_steps: int = 1000) -> LogDetEstimate:
    """log det((1 - βm) I + βG), G = JᵀJ of eqs. (8)-(9), by SLQ: the Σ_i log(1 + βν_i) of eq. (45).

    Matrix-free (O(p N) memory, p probes): A v = (1 - βm) v + β Jᵀ(J v) with J = I - diag(f'(y)) w,
    y = w x̄ + b. Differentiable (``jax.grad`` / ``jax.jvp``) in the weights' values, b, m and β
    through d log det A = tr(A⁻¹ dA) estimated with the same probes and CG solves (the value of
    the gradient is itself an unbiased estimate; exact with ``probes="exact"``), and in x̄ through
    :func:`nnworld_jax.sparse.sparse_mean_state` (implicit function theorem).

    Arguments:
        net: the sparse network.
        beta: inverse temperature β > 0; needs 1 + β(λ_i - m) > 0 (else an error).
        x: state to expand around (default the fixed point x̄, :func:`sparse_mean_state`).
        key: PRNG key of the Rademacher probes (default ``PRNGKey(0)``), ``num_probes`` of them.
        num_steps: Lanczos steps per probe.
        probes: explicit (p, N) probes, or ``"exact"`` (√N e_i, exact trace, small N).
        cg_rtol, cg_max_steps: conjugate gradients (``lineax.CG``) of the gradient: every probe's
            |A u - z| ≤ cg_rtol |z| (default 1e-10 float64, 1e-5 float32) within cg_max_steps
            steps, else an error naming cg_max_steps.

    Returns: :class:`LogDetEstimate` in the weights' dtype.
    """
    net = _check_sparse_network(net)
    dtype = net.weights.dtype
    n = net.n
    beta = scalar_param(beta, "beta", dtype, positive=True)
    num_steps, cg_max_steps = check_count(num_steps, "num_steps"), check_count(cg_max_steps, "cg_max_steps")
    rtol = _cg_defaults(dtype) if cg_rtol is None else float(scalar_param(cg_rtol, "cg_rtol", positive=True))
    x = sparse_mean_state(net) if x is None else float_array(x, "x", dtype, shape=(n,))
    exact = isinstance(probes, str)
    if exact:
        if probes != "exact":
            raise ValueError(f"probes must be an array, None or 'exact', got {probes!r}")
        z = exact_probes(n, dtype)
    elif probes is None:
        z = rademacher_probes(n, check_count(num_probes, "num_probes"), dtype,
                              key=jax.random.PRNGKey(0) if key is None else key)
    else:
        z = _probe_block(probes, dtype, n)
    z = jax.lax.stop_gradient(z)
    prep = _prepare(net.weights)
    d = _slope(net.activation, prep.mv(x) + net.b)
    theta = _Theta(prep.row_vals, prep.col_vals, d, beta, 1 - beta * net.m)
    est = _logdet_a(num_steps, exact, rtol, cg_max_steps, (prep.row_cols, prep.col_rows), theta, z)
    return est._replace(value=check(est.value, ~jnp.isfinite(est.value), _NOT_SPD))


def free_energy_slq(net: SparseNetwork, beta, x: State | None = None, *,
                    key: Key | None = None, num_probes: int = 4, num_steps: int = 40,
                    probes=None, cg_rtol: float | None = None, cg_max_steps: int = 1000) -> FreeEnergyEstimate:
    """Free energy, eq. (45), F = (1/2β) log det((1 - βm)I + βG) - (N/2β) log 2π, by SLQ, with error bars.

    The log-det is :func:`gauss_newton_logdet` (same arguments); errors are divided by 2β like F.
    ``jax.grad`` of ``free_energy_slq(...).free_energy`` is the SLQ/CG gradient estimate.
    """
    net = _check_sparse_network(net)
    dtype = net.weights.dtype
    beta = scalar_param(beta, "beta", dtype, positive=True)
    est = gauss_newton_logdet(net, beta, x, key=key, num_probes=num_probes, num_steps=num_steps, probes=probes,
                              cg_rtol=cg_rtol, cg_max_steps=cg_max_steps)
    n = net.n
    f = (est.value - n * jnp.log(jnp.asarray(2 * jnp.pi, dtype))) / (2 * beta)
    return FreeEnergyEstimate(f, est.std_error / (2 * beta), est.truncation_error / (2 * beta), est)


def sparse_free_energy(net: SparseNetwork, beta, *, method: Literal["auto", "dense", "exact", "slq"] = "auto",
                       x: State | None = None, key: Key | None = None,
                       num_probes: int = 4, num_steps: int = 40) -> FloatScalar:
    """Free energy F of eq. (45) (= -(1/β) log Z₇, eqs. (6)-(9)) of a sparse network: structured, dense or SLQ.

    Arguments:
        net: the sparse network.
        beta: inverse temperature β > 0.
        method: ``"dense"``: exact Cholesky of the (N, N) operator (:func:`nnworld_jax.free_energy`,
            O(N²) memory); ``"exact"``: :func:`nnworld_jax.sparse.structured_free_energy`, exact in
            O(N) time and memory for chains, cycles, permutations and disjoint unions of them (an error
            for other structures); ``"slq"``: :func:`free_energy_slq` (O(N) memory, a stochastic
            estimate); ``"auto"`` (default): exact where the structure allows
            (:func:`nnworld_jax.sparse.has_structured_logdet`, decided when the weights are built),
            else dense for N ≤ ``DENSE_THRESHOLD`` (2000), SLQ above.
        x: state to expand around (default the fixed point x̄, :func:`sparse_mean_state`).
        key, num_probes, num_steps: SLQ settings (see :func:`gauss_newton_logdet`).

    Returns: scalar F in the weights' dtype; differentiable in the weights' values, b, m and β.
    """
    if method not in ("auto", "dense", "exact", "slq"):
        raise ValueError(f"method must be 'auto', 'dense', 'exact' or 'slq', got {method!r}")
    net = _check_sparse_network(net)
    structured = has_structured_logdet(net.weights)
    if method == "auto":
        method = "exact" if structured else ("dense" if net.n <= DENSE_THRESHOLD else "slq")
    if method == "exact" and not structured:
        raise ValueError("method='exact' needs weights whose operator is a union of paths and cycles "
                         "(nnworld_jax.sparse.has_structured_logdet); use 'dense' or 'slq'")
    dtype = net.weights.dtype
    beta = scalar_param(beta, "beta", dtype, positive=True)
    x = sparse_mean_state(net) if x is None else float_array(x, "x", dtype, shape=(net.n,))
    if method == "slq":
        return free_energy_slq(net, beta, x, key=key, num_probes=num_probes, num_steps=num_steps).free_energy
    if method == "exact":
        return structured_free_energy(net, beta, x)
    dense = Network(to_dense(net.weights), net.b, net.activation, net.m)
    g = gauss_newton_operator(dense, x)
    return -log_partition_from_operator(g, beta, net.m) / beta
