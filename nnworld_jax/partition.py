"""Canonical ensemble of the neuron states in the Gaussian approximation: paper §2, eqs. (5)-(9).

The partition function (5) is Z = ∫dᴺx exp(-βH(x)) with H the bulk loss (3). Around the mean
state x* (the stationary point of H) the loss is quadratic with the Gauss-Newton operator (8)

    G = Jᵀ J,   J = I - diag(f'(y*)) w,   y* = w x* + b,                         (8)-(9)

and two Gaussian forms are offered (``docs/conventions.md`` §1 shows they are different integrals):

* ``"paper"`` (default), eq. (7) as printed, the quadratic expansion weighted by a unit Gaussian:
  log Z₇ = (N/2) log 2π - ½ log det((1 - βm) I + βG).
* ``"laplace"``, the Laplace approximation of (5):
  log Z_L = -βH* + (N/2) log(2π/β) - ½ log det(G - mI).

Log-determinants go through a Cholesky factorization A = LLᵀ: no eigendecomposition, and A⁻¹ is
never formed on the hot path (the gradient of the free energy uses L⁻¹, which a blocked factorization
gives with L); a matrix that is not positive definite is an error, never a NaN.
"""

from __future__ import annotations

from functools import partial
from typing import Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import optimistix as optx
from jax.custom_derivatives import SymbolicZero
from jax.scipy.linalg import cho_solve, lu_factor, lu_solve, solve_triangular
from jaxtyping import Array, Float

from ._checks import as_float, check, check_count, check_finite, check_square, check_symmetric, scalar_param
from .network import Network, _bulk_loss, _check_network, _state, activation_slope, bulk_loss

__all__ = ["Method", "METHODS", "mean_state", "gauss_newton_operator", "logdet_spd", "log_partition_from_operator",
           "log_partition", "free_energy"]

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

    Started from a few iterations of the dynamics (1)-(2). Derivatives with respect to the network
    (w, b, m) go through the implicit function theorem, so ``jax.grad`` of anything built on x* is
    exact and cheap. ∇H = Jᵀ r - m x with r = x - f(w x + b) and J = ∂r/∂x of eq. (9), so the
    solver depends on the value of m (``lax.cond``; both run when m is batched under ``vmap``):

    * m = 0: for an invertible J the stationary points are the fixed points r = 0, found by chord
      steps on r (the LU of J at the warm start, reused while the residual shrinks 4-fold per step)
      and then Newton on r (one LU of J per step; f' by autodiff of the activation); the implicit
      derivative solves with the Hessian of H, which at r = 0 is exactly JᵀJ: one more LU of J, and
      dx* = -J⁻¹ ∂r·d(w, b) + (JᵀJ)⁻¹ x* dm (the second term only when m is differentiated).
    * m ≠ 0: Newton (optimistix) on ∇H from ``jax.grad`` of (3); the implicit derivative solves with
      the Hessian from ``jax.jacfwd`` of ∇H.

    For m = 0 and ‖w‖₂ < 1 (tanh) x* is the unique fixed point x = f(w x + b). Tolerance
    |r_i| ≤ 1e-14 + 1e-12 |x_i| in float64 (1e-6 + 1e-5 |x_i| in float32). Raises if Newton does not
    converge in ``max_steps`` steps (an integer >= 1; for m = 0 it counts the factorizing steps,
    and J singular on the way, e.g. no fixed point), and names w, b or m if they hold NaN/inf (also under jit).

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
    x = _mean_state(max_steps, net, x0)
    return _check_converged(x, x, max_steps)


def _check_converged(value, x, max_steps):
    # ``value`` raises where the solver returned NaN for x*. On the value, and again in the derivative
    # rule on the matrix that its solves read: a check on the value alone is dead code under grad
    # (and J of a linear network does not read x*), which would then return NaN silently.
    return check(value, ~jnp.all(jnp.isfinite(x)), "mean_state: Newton on the fixed point x = f(w x + b) did not "
                 f"converge in max_steps={max_steps} steps (J = I - diag(f') w singular, or no fixed point)")


def _residual_jacobian(net: Network, x):
    # J = ∂r/∂x = I - diag(f'(w x + b)) w of eq. (9) for r = x - f(w x + b); f' by autodiff.
    y = net.w @ x + net.b
    slope = jax.jvp(net.activation, (y,), (jnp.ones_like(y),))[1]
    return jnp.eye(net.n, dtype=net.w.dtype) - slope[:, None] * net.w


def _jacobian_lu(net: Network, x):
    # LU factors of Jᵀ (J of _residual_jacobian): J y = r is lu_solve(..., r, trans=1), Jᵀ y = r is
    # trans=0. LAPACK reads column-major matrices, and Jᵀ in column-major is J (and w) in XLA's
    # row-major layout: factorizing J itself made XLA transpose w into a column-major copy for
    # every loop that forms J (measured: the largest copy in the free-energy gradient's profile).
    return lu_factor(_residual_jacobian(net, x).T)


def _fixed_point_newton(max_steps, net: Network, x0):
    # Newton on r(x) = x - f(w x + b) = 0, the fixed point of the dynamics (1)-(2); NaN where it
    # does not converge in max_steps factorizations (the caller raises).
    rtol, atol = _newton_tolerances(net.w.dtype)

    def residual(x):
        return x - net.activation(net.w @ x + net.b)

    def converged(x, r):
        # |x - x*| ≈ |J⁻¹ r|: the residual test stops one factorization earlier than a test on the
        # step, whose last step would be below machine precision (quadratic convergence).
        return jnp.all(jnp.abs(r) <= atol + rtol * jnp.abs(x))

    # Chord phase: the LU of J at the warm start, reused while each step shrinks the residual at
    # least 4-fold (near x* the rate is ~|x0 - x*| ‖f''‖ ‖w‖ ‖J⁻¹‖, a few per cent after the warm
    # start). A step costs O(N²), a factorization O(N³); a step that does not contract is undone.
    lu0 = _jacobian_lu(net, x0)

    def chord_cond(carry):
        # No tolerance test here: the steps are cheap, so they go on to the rounding floor, where a
        # step stops contracting (and is undone); the Newton phase below then checks the tolerance.
        # (Stopping at the tolerance saves one step but doubled the float32 gradient's error.)
        k, x, r, contracting = carry
        return (k < _CHORD_STEPS) & contracting & jnp.any(r != 0)

    def chord_body(carry):
        k, x, r, _ = carry
        x_new = x - lu_solve(lu0, r, trans=1)
        r_new = residual(x_new)
        contracting = jnp.max(jnp.abs(r_new)) <= 0.25 * jnp.max(jnp.abs(r))  # False for NaN
        return k + 1, jnp.where(contracting, x_new, x), jnp.where(contracting, r_new, r), contracting

    _, x, r, _ = jax.lax.while_loop(chord_cond, chord_body, (jnp.asarray(0), x0, residual(x0), jnp.asarray(True)))

    # Newton phase (no step when the chord phase converged): one LU of J per step.
    def cond(carry):
        k, x, r = carry
        return (k < max_steps) & ~converged(x, r)

    def body(carry):
        k, x, r = carry
        x = x - lu_solve(_jacobian_lu(net, x), r, trans=1)
        return k + 1, x, residual(x)

    _, x, r = jax.lax.while_loop(cond, body, (jnp.asarray(0), x, r))
    return jnp.where(converged(x, r), x, jnp.nan)


_CHORD_STEPS = 32  # cap on the O(N²) chord steps; max_steps counts the factorizing Newton steps


def _grad_h_newton(max_steps, net: Network, x0):
    # Newton (optimistix) on ∇H = 0 with ∇H by jax.grad of the bulk loss (3): any mass m.
    rtol, atol = _newton_tolerances(net.w.dtype)
    grad_h = jax.grad(_bulk_loss, argnums=1)
    sol = optx.root_find(lambda x, n: grad_h(n, x), optx.Newton(rtol=rtol, atol=atol), x0,
                         args=net, max_steps=max_steps, throw=True)
    return sol.value


@partial(jax.custom_jvp, nondiff_argnums=(0,))
def _mean_state(max_steps, net: Network, x0):
    # ∇H = Jᵀ r - m x. For m = 0 and an invertible J its zeros are the fixed points r = 0, found by
    # Newton on r at one LU of J per step; any other m takes Newton on ∇H (the Hessian per step).
    # lax.cond runs one branch when m is not batched.
    return jax.lax.cond(net.m == 0, partial(_fixed_point_newton, max_steps),
                        partial(_grad_h_newton, max_steps), net, x0)


def _mean_state_jvp(max_steps, primals, tangents):
    # Implicit function theorem on ∇H(x*; net) = 0: Hess dx* = -∂∇H/∂net · dnet, with ∇H from
    # jax.grad of (3) and its partial derivative by jax.jvp at fixed x*. Both solves are linear in
    # the right-hand side and transpose for jax.grad. Tangents may be symbolic zeros (a net built
    # from constants, or x0, which is never differentiated).
    #
    # m = 0 at a fixed point (r = 0): ∇H = Jᵀr - m x gives ∂∇H/∂(w, b) = Jᵀ ∂r/∂(w, b) (the term
    # with ∂J multiplies r = 0), ∂∇H/∂m = -x, and the Hessian is exactly JᵀJ, so
    # dx* = -J⁻¹ ∂r/∂(w, b)·d(w, b) + (JᵀJ)⁻¹ x dm: one LU of J, one solve with J, and the two
    # solves of the dm term only when m is differentiated. Otherwise the Hessian comes from jax.jacfwd of ∇H.
    net, x0 = primals
    dnet, _ = tangents
    x = _mean_state(max_steps, net, x0)
    dw, db, dm = (jnp.zeros(t.aval.shape, t.aval.dtype) if isinstance(t, SymbolicZero) else t
                  for t in (dnet.w, dnet.b, dnet.m))
    dnet = eqx.tree_at(lambda n: (n.w, n.b, n.m), net, (dw, db, dm))
    m_differentiated = not isinstance(tangents[0].m, SymbolicZero)

    def fixed_point(dnet):
        lu = _check_converged(_jacobian_lu(net, x), x, max_steps)  # the LU of Jᵀ
        _, dr = jax.jvp(lambda w, b: x - net.activation(w @ x + b), (net.w, net.b), (dnet.w, dnet.b))
        dx = -lu_solve(lu, dr, trans=1)
        if m_differentiated:
            dx = dx + lu_solve(lu, lu_solve(lu, x * dnet.m), trans=1)
        return dx

    def hessian(dnet):
        grad_h = jax.grad(_bulk_loss, argnums=1)
        _, v = jax.jvp(lambda n: grad_h(n, x), (net,), (dnet,))
        return -jnp.linalg.solve(_check_converged(jax.jacfwd(grad_h, argnums=1)(net, x), x, max_steps), v)

    return x, jax.lax.cond(net.m == 0, fixed_point, hessian, dnet)


_mean_state.defjvp(_mean_state_jvp, symbolic_zeros=True)


def gauss_newton_operator(net: Network, x: Float[Array, " N"]) -> Float[Array, "N N"]:
    """G = Jᵀ J with J = I - diag(f'(w x + b)) w, eqs. (8)-(9), evaluated at the state ``x``.

    At the mean state this is the Gauss-Newton part of the Hessian of H; it is the exact Hessian
    of the first term of (3) where the residual x - f(wx + b) vanishes (m = 0) or f is linear.
    """
    jac = _jacobian(net, x)
    return jac.T @ jac


def _jacobian(net: Network, x) -> Float[Array, "N N"]:
    # J = I - diag(f'(w x + b)) w of eq. (9), with the checks of gauss_newton_operator.
    net = _check_network(net)
    x = _state(net, x)
    d = activation_slope(net, net.w @ x + net.b)
    jac = jnp.eye(net.n, dtype=net.w.dtype) - d[:, None] * net.w
    # J of a linear network does not read x: the check is tied to the output so it survives jit.
    return check(jac, ~jnp.isfinite(x), "x contains NaN or inf")


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
    jac = _jacobian(net, x)
    h_star = bulk_loss(net, x) if method == "laplace" else jnp.zeros((), jac.dtype)
    return _log_partition_from_jacobian(jac, beta, _check_network(net).m, h_star, method)


def free_energy(net: Network, beta, *, method: Method = "paper", x=None) -> Float[Array, ""]:
    """Free energy, eq. (6): F = -(1/β) log Z, with log Z from :func:`log_partition`.

    For ``"paper"`` this is eq. (45): F = (1/2β) Σ log(1 + β(λ_i - m)) - (N/2β) log 2π, λ = eig G,
    computed here by Cholesky. Differentiable in ``net`` (w, b, m) and ``beta``. ``beta`` is a
    scalar > 0; outside the domain 1 + β(λ_i - m) > 0 the value and its gradient raise.
    """
    beta = scalar_param(beta, "beta", _check_network(net).w.dtype, positive=True)
    return -log_partition(net, beta, method=method, x=x) / beta
