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

import equinox as eqx
import jax
import jax.numpy as jnp
import optimistix as optx
from jax.custom_derivatives import SymbolicZero
from jax.scipy.linalg import lu_factor, lu_solve

from ._checks import (as_float, check, check_count, check_finite, check_square, check_symmetric, host_value,
                      scalar_param)
from ._config import dtype_tol
from ._gaussian import (METHODS, Method, _check_method, _jacobian, _jacobian_of,
                        _log_partition_from_jacobian,
                        _log_partition_from_operator, _logdet_spd)
from ._netcore import _bulk_loss, _check_network, _state
from .network import Network
from .types import Array, ArrayLike, Float, FloatScalar, Real, State

__all__ = ["Method", "METHODS", "mean_state", "gauss_newton_operator", "logdet_spd", "log_partition_from_operator",
           "log_partition", "free_energy"]

def _newton_tolerances(dtype) -> tuple[float, float]:
    # Newton converges quadratically: ask for close to machine precision of the dtype.
    return dtype_tol(dtype, float64=1e-12, float32=1e-5), dtype_tol(dtype, float64=1e-14, float32=1e-6)


def mean_state(net: Network, *, max_steps: int = 64) -> State:
    """The mean state ⟨x⟩ = x*, the stationary point ∇H(x*) = 0 of the bulk loss (3).

    Started from a few iterations of the dynamics (1)-(2). Derivatives with respect to the network
    (w, b, m) go through the implicit function theorem, so ``jax.grad`` of anything built on x* is
    exact and cheap. ∇H = Jᵀ r - m x with r = x - f(w x + b) and J = ∂r/∂x of eq. (9), so the
    solver depends on the value of m (chosen in Python when m is concrete, else by ``lax.cond``; both
    run when m is batched under ``vmap``):

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
    m = host_value(net.m)
    return _solve_mean_state(net, max_steps, None if m is None else bool(m == 0))


@partial(jax.jit, static_argnums=(1, 2))
def _solve_mean_state(net: Network, max_steps: int, massless: bool | None):
    # One program per shape, traced once and reused inside other traces. ``massless`` is m == 0 when
    # m is known here (a concrete network): only that solver is compiled; None (m traced) compiles both
    # behind a lax.cond. An eager call compiled the cond with optimistix's Newton in it, ~0.3 s each.
    def warm_start(k, x):
        return net.activation(net.w @ x + net.b)

    x0 = jax.lax.fori_loop(0, 8, warm_start, jnp.zeros_like(net.b))
    x0 = jax.lax.stop_gradient(jnp.where(jnp.all(jnp.isfinite(x0)), x0, jnp.zeros_like(x0)))
    x = _mean_state(max_steps, massless, net, x0)
    return _check_converged(x, x, max_steps)


def _by_mass(massless: bool | None, m, if_massless, otherwise, *operands):
    """``if_massless(*operands)`` where m = 0, else ``otherwise(*operands)``: chosen here when the caller
    knows m (``massless``), by ``lax.cond`` when m is traced."""
    if massless is None:
        return jax.lax.cond(m == 0, if_massless, otherwise, *operands)
    return (if_massless if massless else otherwise)(*operands)


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


@partial(jax.custom_jvp, nondiff_argnums=(0, 1))
def _mean_state(max_steps, massless, net: Network, x0):
    # ∇H = Jᵀ r - m x. For m = 0 and an invertible J its zeros are the fixed points r = 0, found by
    # Newton on r at one LU of J per step; any other m takes Newton on ∇H (the Hessian per step).
    # lax.cond runs one branch when m is not batched.
    return _by_mass(massless, net.m, partial(_fixed_point_newton, max_steps), partial(_grad_h_newton, max_steps),
                    net, x0)


def _mean_state_jvp(max_steps, massless, primals, tangents):
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
    x = _mean_state(max_steps, massless, net, x0)
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

    return x, _by_mass(massless, net.m, fixed_point, hessian, dnet)


_mean_state.defjvp(_mean_state_jvp, symbolic_zeros=True)


def gauss_newton_operator(net: Network, x: State) -> Float[Array, "N N"]:
    """G = Jᵀ J with J = I - diag(f'(w x + b)) w, eqs. (8)-(9), evaluated at the state ``x``.

    At the mean state this is the Gauss-Newton part of the Hessian of H; it is the exact Hessian
    of the first term of (3) where the residual x - f(wx + b) vanishes (m = 0) or f is linear.
    """
    jac = _jacobian(net, x)
    return jac.T @ jac


def logdet_spd(a: Real[ArrayLike, "N N"], what: str = "matrix") -> FloatScalar:
    """log det of a symmetric positive-definite matrix by Cholesky: 2 Σ log diag(L) (the log det of eq. (7)).

    ``a`` must be square, finite and symmetric (Cholesky reads one triangle: a non-symmetric matrix
    would be silently mirrored). A matrix that is not positive definite raises, naming ``what``,
    eagerly and under jit, vmap and grad: the check sits on the Cholesky factor, which the value and
    the JVP rule both read, so a gradient outside the domain raises too instead of returning NaN.
    """
    return _logdet_spd(a, what)


def log_partition_from_operator(g: Real[ArrayLike, "N N"], beta, m=0.0, *, method: Method = "paper",
                                h_star=0.0) -> FloatScalar:
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


def log_partition(net: Network, beta, *, method: Method = "paper", x=None) -> FloatScalar:
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
        >>> from nnworld_jax import set_precision
        >>> set_precision("float64")  # ten digits are a float64 figure
        >>> import jax.numpy as jnp
        >>> net = Network(jnp.zeros((2, 2)), jnp.zeros(2), activation="linear")
        >>> print(f"{float(log_partition(net, 1.0)):.10f}")  # G = I: log 2π - ½ log det(2I) = log π
        1.1447298858
    """
    _check_method(method)
    net = _check_network(net)  # once: the helpers below take checked values
    beta = scalar_param(beta, "beta", net.w.dtype, positive=True)
    return _log_partition(net, beta, method, x)


def _log_partition(net: Network, beta, method: Method, x):
    # log_partition for a checked net and beta (free_energy checks them once for both).
    x = mean_state(net) if x is None else _state(net, x)
    jac = _jacobian_of(net, x)
    h_star = _bulk_loss(net, x) if method == "laplace" else jnp.zeros((), jac.dtype)
    return _log_partition_from_jacobian(jac, beta, net.m, h_star, method)


def free_energy(net: Network, beta, *, method: Method = "paper", x=None) -> FloatScalar:
    """Free energy, eq. (6): F = -(1/β) log Z, with log Z from :func:`log_partition`.

    For ``"paper"`` this is eq. (45): F = (1/2β) Σ log(1 + β(λ_i - m)) - (N/2β) log 2π, λ = eig G,
    computed here by Cholesky. Differentiable in ``net`` (w, b, m) and ``beta``. ``beta`` is a
    scalar > 0; outside the domain 1 + β(λ_i - m) > 0 the value and its gradient raise.
    """
    _check_method(method)
    net = _check_network(net)
    beta = scalar_param(beta, "beta", net.w.dtype, positive=True)
    return -_log_partition(net, beta, method, x) / beta
