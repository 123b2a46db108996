"""The Hamilton-Jacobi (classical) limit of the entropic action, paper §6, eqs. (38)-(48).

Start from the density (28) of :mod:`nnworld_jax.entropic` and let D → 0 (no quantum potential).
The density is then linear in p,

    ℒ_0 = p [μ ∂_tF + μγ |∇F|² + μV + γ ∇²F],                                        (28), D = 0

and the F equation δS/δp = 0 reads (``docs/conventions.md`` §4; μ kept, as conventions §3 asks)

    ∂_tF + γ|∇F|² + V + (γ/μ) ∇²F = 0.                                             (38)/(43)

Without the learning term γ p ∇²F (``learning=False``) this is the Hamilton-Jacobi equation (38)
with Hamilton's principal function F and Hamiltonian H(q, P) = γ|P|² + V(q); with it, the extra
(γ/μ)∇²F is the term that the Cole-Hopf map φ = e^{μF} of (43) linearizes (for V = 0) into the
backward heat equation ∂_tφ = -(γ/μ)∇²φ.

What this module computes, and how:

* :func:`hj_rhs`: ∂_tF on a periodic grid, ``-(1/μ) δH/δp`` by ``jax.grad`` of the D = 0
  Hamiltonian of :func:`nnworld_jax.entropic.hamiltonian` (never a hand-coded right-hand side).
* :func:`classical_density`, :func:`hj_residual`: the same equation at one point q ∈ Rᴷ for a
  closed-form F(t, q) (non-periodic problems such as V = ½ω²q²), as ∂ℒ_0/∂p / μ at p = 1.
* :func:`classical_hamiltonian` and :func:`characteristic_field`: characteristics of (38)/(43) from
  ``jax.grad`` of H(q, P) = ∂ℒ_0/∂p / μ (the learning term included, from the density):
  q̇ = ∂H/∂P = 2γP = u (31), Ṗ = -∂H/∂q = -∇V, so q̈ = -2γ∇V, Newton with m_eff = 1/(2γ) (conventions §4: the paper's (40)/(42) carry a different factor). The state also
  carries F and its Hessian S along the path (a Riccati equation, from second derivatives of H).
* :func:`characteristics`: a characteristic integrated by the stepping layer
  (:func:`nnworld_jax.stepping.ode_stepper`, diffrax's Runge-Kutta machinery, and
  :func:`nnworld_jax.stepping.solve`).
* :func:`cole_hopf`, :func:`inverse_cole_hopf`, :func:`cole_hopf_rhs`: the map of (43).
* :func:`stationary_free_energy`, :func:`eigenvalue_constants`: the stationary solution (44) and
  the constants that make it the eigenvalue free energy (45) (q = λ, μ = 2β).
* :func:`laplacian_in_eigenvalues`, :func:`eigenvalue_curvature_term`: ∇²_qF of F(λ(q)) by the
  chain rule, as printed in (47) (``curvature=False``) and with the term Σ_i (∂F/∂λ_i)∇²λ_i that
  (47) omits unless λ(q) is affine; the term (48) gains.

Units and conventions: q ∈ Rᴷ (or a periodic grid, :class:`~nnworld_jax.grid.Grid`, measure
Σ · cell volume), t in the units of 1/γ·(q units)², γ > 0 the learning rate, μ > 0 (2β in §6).
Scalar callables: ``potential(q) -> V`` with q of shape (K,); ``F_fn(t, q) -> F``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from ._checks import as_float, check_count, check_scalar
from ._entropic import _pointwise_density, _rates
from ._eom import _canonical_flow
from ._fields import _check_method, _checked_field, _guard, _guard_finite, _guard_positive, _is_integer
from .entropic import Coefficients
from .grid import Grid
from .stepping import ode_stepper, solve
from .types import Array, ArrayLike, Field, Float, FloatScalar, Real, VectorField

__all__ = ["classical_density", "hj_rhs", "hj_residual", "classical_hamiltonian", "CharacteristicState",
           "characteristic_field", "characteristic_init", "characteristics",
           "cole_hopf", "inverse_cole_hopf", "cole_hopf_rhs", "stationary_free_energy",
           "eigenvalue_constants", "laplacian_in_eigenvalues", "eigenvalue_curvature_term"]

PyTree = Any


def _check_point(q, name: str = "q") -> Array:
    """One real point (K,), integers promoted to float, NaN/inf an error."""
    q = as_float(q, name)
    if q.ndim != 1 or q.shape[0] < 1:
        raise ValueError(f"{name} must be one point of shape (K,), got shape {q.shape}; use jax.vmap to batch")
    if jnp.iscomplexobj(q):
        raise TypeError(f"{name} must be real, got dtype {q.dtype}")
    return _guard_finite(q, name)


def _scalar(x, dtype, name: str) -> Array:
    """A finite scalar parameter in ``dtype`` (promoted, never truncated; a batch is an error)."""
    return _guard_finite(check_scalar(as_float(x, name, dtype), name), name)


def _positive(x, dtype, name: str) -> Array:
    return _guard_positive(check_scalar(as_float(x, name, dtype), name), name)


def _value(x, dtype, name: str) -> Array:
    """The scalar a user callable returned (a potential, a free energy), checked finite."""
    x = as_float(x, name, dtype)
    if x.shape != ():
        raise ValueError(f"{name} must return a scalar, got shape {x.shape}")
    return _guard_finite(x, name)


def _callable(f, name: str):
    if not callable(f):
        raise TypeError(f"{name} must be a callable, got {type(f).__name__}")
    return f


# --------------------------------------------------------------------------------------------
# The D → 0 density, the Hamilton-Jacobi equation from it, on a grid and at a point
# --------------------------------------------------------------------------------------------


def classical_density(p: Field, F_t: Field, grad_F: VectorField,
                      lap_F: Field, V: Field, gamma, mu, *,
                      learning: bool = True) -> Float[Array, "*grid"]:
    """The density (28) at D = 0, pointwise: ℒ_0 = p (μ∂_tF + μγ|∇F|² + μV) + γ p ∇²F.

    Arguments (same trailing shape ``S``: ``()`` at one point, ``grid.shape`` for fields):
        p: density p > 0; F_t: ∂_tF; grad_F: ∇F with the component axis first, shape (K, *S);
        lap_F: ∇²F; V: potential; gamma, mu: the constants γ > 0, μ > 0.
        learning: keep γ p ∇²F (the learning entropy production, the "boxed" terms of (28)).

    Returns: ℒ_0, shape ``S``. ∂ℒ_0/∂p / μ is the left side of (38) (``learning=False``) or of
    (43) with V. Agrees with :func:`nnworld_jax.entropic.lagrangian_density` at D = 0. Raises on
    mismatched shapes, p ≤ 0, a non-finite input, or γ, μ not > 0.
    """
    shape = jnp.shape(p)
    for name, x in (("F_t", F_t), ("lap_F", lap_F), ("V", V)):
        if jnp.shape(x) != shape:
            raise ValueError(f"{name} must have the shape of p, {shape}, got {jnp.shape(x)}; use jax.vmap to batch")
    if jnp.ndim(grad_F) != len(shape) + 1 or jnp.shape(grad_F)[1:] != shape:
        raise ValueError(f"grad_F must have shape (K, *{shape}), got {jnp.shape(grad_F)}")
    dtype = jnp.result_type(*(as_float(x, n) for x, n in ((p, "p"), (F_t, "F_t"), (grad_F, "grad_F"),
                                                            (lap_F, "lap_F"), (V, "V"))))
    p = as_float(p, "p", dtype)
    p = _guard(p, ~(p > 0) | ~jnp.isfinite(p), "p must be finite and > 0")
    F_t, grad_F, lap_F, V = (_guard_finite(as_float(x, n, dtype), n) for x, n in
                             ((F_t, "F_t"), (grad_F, "grad_F"), (lap_F, "lap_F"), (V, "V")))
    gamma, mu = _positive(gamma, dtype, "gamma"), _positive(mu, dtype, "mu")
    return _classical_density(p, F_t, grad_F, lap_F, V, gamma, mu, learning)


def _classical_density(p, F_t, grad_F, lap_F, V, gamma, mu, learning: bool):
    # Unchecked ℒ_0: the entropic density (28) itself at D = 0 (one implementation, no quantum
    # term); differentiated in p by hj_residual and the characteristics.
    return _pointwise_density(p, F_t, grad_F, lap_F, V, 0.0, gamma, mu, learning)


def hj_rhs(F: Field, V: Field, grid: Grid, gamma, mu, *, learning: bool = True,
           method: str = "spectral") -> Float[Array, "*grid"]:
    """∂_tF of the Hamilton-Jacobi equation, eq. (38) (``learning=False``) or (43) with V, on a grid.

    ∂_tF = -(1/μ) δH/δp with H = ∫ℒ dᴷq the Hamiltonian of the action (26) at D = 0
    (:func:`nnworld_jax.entropic.hamiltonian`), by ``jax.grad`` ÷ cell volume (the canonical-flow
    builder shared with :func:`nnworld_jax.entropic.equations_of_motion`). Analytically this is
    -γ|∇F|² - V - (γ/μ)∇²F (the last term only with ``learning``); H is linear in p, so the
    result does not depend on p (evaluated at p = 1).

    Arguments:
        F: free energy on ``grid``, shape ``grid.shape``.
        V: potential, shape ``grid.shape``.
        grid: the periodic grid (measure Σ · cell volume).
        gamma, mu: γ > 0, μ > 0 (μ cancels when ``learning=False``).
        learning: keep the learning term γ p ∇²F of (28).
        method: derivative method of :mod:`nnworld_jax.grid`.

    Returns: ∂_tF, shape ``grid.shape``.

    Example:
        >>> import jax.numpy as jnp
        >>> g = Grid((16,))
        >>> q = g.axis(0)
        >>> rhs = hj_rhs(jnp.sin(q), jnp.zeros(16), g, 0.5, 2.0)  # -0.5 cos² q + 0.25 sin q
        >>> bool(jnp.allclose(rhs, -0.5 * jnp.cos(q) ** 2 + 0.25 * jnp.sin(q)))
        True
    """
    _check_method(method)
    F = _checked_field(grid, F, "F")  # promoted first: an int F must not truncate γ or μ
    V = _checked_field(grid, V, "V", F.dtype)
    gamma, mu = _positive(gamma, F.dtype, "gamma"), _positive(mu, F.dtype, "mu")
    return _hj_rhs(F, V, grid, gamma, mu, learning, method)


def _hj_rhs(F, V, grid: Grid, gamma, mu, learning: bool, method: str):
    # The F half of the canonical flow of (28) at D = 0 (the builder of nnworld_jax._eom), at p = 1.
    c = Coefficients(jnp.zeros((), F.dtype), gamma, mu)
    return _rates(jnp.ones_like(F), F, V, grid, c, learning, method, only="P")


def hj_residual(F_fn: Callable, potential: Callable, t, q: Real[ArrayLike, " K"], gamma, mu, *,
                learning: bool = True) -> FloatScalar:
    """Residual of the Hamilton-Jacobi equation at one point, eq. (38) or (43) with V.

    r = ∂_tF + γ|∇F|² + V + (γ/μ)∇²F (the last term only with ``learning``), computed as
    ∂ℒ_0/∂p / μ at p = 1 (:func:`classical_density`) with the derivatives of F by autodiff.

    Arguments:
        F_fn: ``F_fn(t, q) -> scalar``, a closed-form free energy.
        potential: ``potential(q) -> scalar``.
        t: time (scalar); q: point of shape (K,).
        gamma, mu: γ > 0, μ > 0.

    Returns: the scalar residual (zero where F solves the equation).

    Example:
        >>> import jax.numpy as jnp
        >>> F = lambda t, q: -1.5 * t + q[0]   # |∇F|² = 1, V = 1, γ = 0.5: ∂_tF = -γ - V = -1.5
        >>> float(hj_residual(F, lambda q: 1.0, 0.3, jnp.array([0.2]), 0.5, 1.0, learning=False))
        0.0
    """
    F_fn, potential = _callable(F_fn, "F_fn"), _callable(potential, "potential")
    q = _check_point(q)
    dtype = q.dtype
    t = _scalar(t, dtype, "t")
    gamma, mu = _positive(gamma, dtype, "gamma"), _positive(mu, dtype, "mu")
    F_t = _value(jax.grad(F_fn, argnums=0)(t, q), dtype, "F_fn's time derivative")
    grad_F = _guard_finite(jax.grad(F_fn, argnums=1)(t, q), "grad F_fn")
    lap_F = _value(jnp.trace(jax.hessian(F_fn, argnums=1)(t, q)), dtype, "the Laplacian of F_fn")
    V = _value(potential(q), dtype, "potential")
    d_dp = jax.grad(lambda p: _classical_density(p, F_t, grad_F, lap_F, V, gamma, mu, learning))
    return d_dp(jnp.ones((), dtype)) / mu


# --------------------------------------------------------------------------------------------
# Characteristics of (38)
# --------------------------------------------------------------------------------------------


def classical_hamiltonian(q: Real[ArrayLike, " K"], P: Real[ArrayLike, " K"], potential: Callable, gamma) -> FloatScalar:
    """H(q, P) = γ|P|² + V(q), the Hamiltonian of the Hamilton-Jacobi equation (38): ∂_tF + H(q, ∇F) = 0.

    It is the D = 0, learning-free density divided by μp at ∂_tF = 0, ∇F = P
    (:func:`classical_density`), so it is the action's, not a separate model. Legendre dual:
    L = |q̇|²/(4γ) - V, i.e. mass m_eff = 1/(2γ) (conventions §3-§4).
    """
    potential = _callable(potential, "potential")
    q, P = _check_point(q), _check_point(P, "P")
    if q.shape != P.shape:
        raise ValueError(f"q and P must have the same shape (K,), got {q.shape} and {P.shape}")
    dtype = jnp.result_type(q, P)
    q, P = q.astype(dtype), P.astype(dtype)
    gamma = _positive(gamma, dtype, "gamma")
    one = jnp.ones((), dtype)
    V = _value(potential(q), dtype, "potential")
    return _classical_density(one, jnp.zeros((), dtype), P, jnp.zeros((), dtype), V, gamma, one, False)


class CharacteristicState(NamedTuple):
    """A point of a characteristic of (38): position q (K,), momentum P = ∇F (K,), F, S = ∇²F (K, K)."""

    q: Array
    P: Array
    F: Array
    S: Array


def _characteristic_hamiltonian(q, P, S, potential: Callable, gamma, mu, learning: bool):
    """H(q, P; S) = ∂ℒ_0/∂p / μ at p = 1, ∂_tF = 0, ∇F = P, ∇²F = tr S, by ``jax.grad`` of the
    classical density: γ|P|² + V(q) [+ (γ/μ) tr S with ``learning``]. Unchecked but for V's value."""
    one = jnp.ones((), q.dtype)
    gamma, mu = gamma.astype(q.dtype), mu.astype(q.dtype)  # the state's precision, as classical_hamiltonian
    V = _value(potential(q), q.dtype, "potential")
    lap_F = jnp.trace(S).astype(q.dtype)
    d_dp = jax.grad(lambda p: _classical_density(p, jnp.zeros((), q.dtype), P, lap_F, V, gamma, mu, learning))
    return d_dp(one) / mu


def characteristic_field(potential: Callable, gamma, mu=1.0, *, learning: bool = True) -> Callable:
    """Vector field of the characteristics of the Hamilton-Jacobi equation (38)/(43), by ``jax.grad``.

    H(q, P; S) = ∂ℒ_0/∂p / μ at p = 1, ∂_tF = 0, ∇F = P, ∇²F = tr S, the derivative of the classical
    density (:func:`classical_density`) by ``jax.grad``: γ|P|² + V(q), plus (γ/μ) tr S when
    ``learning`` (the learning term of (43), from the density, not added by hand). (q, P) is the
    canonical pair of the same builder as the grid equations (conventions §4, correcting (40)/(42)):

        q̇ = ∂H/∂P = 2γP = u (31),   Ṗ = -∂H/∂q = -∇V,   so q̈ = -2γ∇V  (m_eff = 1/(2γ)),
        Ḟ = P·∂H/∂P - H   (= ... - (γ/μ) tr S with ``learning``),
        Ṡ = -(H_qq + H_qP S + S H_Pq + S H_PP S)    (S = ∇²F along the path, a Riccati equation).

    The learning term of H depends on q only through S = ∇²F, so it adds -(γ/μ)∇∇²F to Ṗ and a
    fourth-derivative term to Ṡ that the field, holding S fixed in the q-derivatives, omits; both
    vanish when F is quadratic in q (V at most quadratic and a quadratic F at t0), which is when the
    learning characteristics are exact. Without ``learning`` they are exact for any smooth V before
    caustics.

    Arguments:
        potential: ``V(q)`` for q of shape (K,).
        gamma, mu: γ > 0, μ > 0 (μ used only with ``learning``).

    Returns: ``f(t, state) -> d state/dt`` on :class:`CharacteristicState`.
    """
    potential = _callable(potential, "potential")
    gamma, mu = _positive(gamma, None, "gamma"), _positive(mu, None, "mu")

    def field(t, s: CharacteristicState) -> CharacteristicState:
        def ham(q, P):
            return _characteristic_hamiltonian(q, P, s.S, potential, gamma, mu, learning)

        q_dot, p_dot = _canonical_flow(ham, None, s.q, s.P)  # one point: measure 1, scale 1
        (h_qq, h_qp), (h_pq, h_pp) = jax.hessian(ham, argnums=(0, 1))(s.q, s.P)
        f_dot = jnp.vdot(s.P, q_dot) - ham(s.q, s.P)
        s_dot = -(h_qq + h_qp @ s.S + s.S @ h_pq + s.S @ h_pp @ s.S)
        return CharacteristicState(q_dot, p_dot, f_dot, s_dot)

    return field


def characteristic_init(F0_fn: Callable, q0: Real[ArrayLike, " K"]) -> CharacteristicState:
    """Initial point of a characteristic of (38): (q0, ∇F0(q0), F0(q0), ∇²F0(q0)) by autodiff.

    ``F0_fn(q) -> scalar`` is the free energy at the initial time.
    """
    F0_fn = _callable(F0_fn, "F0_fn")
    q0 = _check_point(q0, "q0")
    F0 = _value(F0_fn(q0), q0.dtype, "F0_fn")
    return CharacteristicState(q0, _guard_finite(jax.grad(F0_fn)(q0), "grad F0_fn"), F0,
                               _guard_finite(jax.hessian(F0_fn)(q0), "the Hessian of F0_fn"))


def characteristics(F0_fn: Callable, potential: Callable, q0: Real[ArrayLike, " K"], gamma, mu=1.0, *, t1,
                    n_steps: int, t0=0.0, learning: bool = True, solver: str = "rk4") -> tuple[Array, CharacteristicState]:
    """One characteristic of (38)/(43) from q0 over [t0, t1]: :func:`characteristic_field` integrated
    by the layer (:func:`nnworld_jax.stepping.ode_stepper` with ``solver``, default RK4; ``n_steps``
    equal steps; :func:`nnworld_jax.stepping.solve`).

    Returns: times (n_steps + 1,) and a :class:`CharacteristicState` whose leaves have a leading
    time axis (the initial point first). Along it q̈ = -2γ∇V (conventions §4), and F(t, q(t)), ∇F,
    ∇²F of the solution of (38).
    """
    n_steps = check_count(n_steps, "n_steps")
    t0, t1 = _scalar(t0, None, "t0"), _scalar(t1, None, "t1")  # before the autodiff of F0
    s0 = characteristic_init(F0_fn, q0)
    dt = (t1.astype(s0.q.dtype) - t0.astype(s0.q.dtype)) / n_steps
    field = characteristic_field(potential, gamma, mu, learning=learning)
    traj = solve(ode_stepper(field, dt, solver=solver, name="hamilton_jacobi.characteristics"), s0, t0=t0,
                 n_steps=n_steps, save_every=1)
    return traj.t, traj.y


# --------------------------------------------------------------------------------------------
# Cole-Hopf (43) and the stationary solution (44)-(45)
# --------------------------------------------------------------------------------------------


def cole_hopf(F: Field, mu) -> Float[Array, "*grid"]:
    """The Cole-Hopf map of eq. (43): φ = exp(μF) (any shape, elementwise; μ > 0)."""
    F = _guard_finite(as_float(F, "F"), "F")  # promoted first: an int F must not truncate μ
    mu = _positive(mu, F.dtype, "mu")
    return jnp.exp(mu * F)


def inverse_cole_hopf(phi: Field, mu) -> Float[Array, "*grid"]:
    """Inverse of the Cole-Hopf map of eq. (43): F = log(φ)/μ; needs φ > 0 everywhere."""
    phi = _guard_positive(as_float(phi, "phi"), "phi (Cole-Hopf needs phi = exp(mu F) > 0)")
    mu = _positive(mu, phi.dtype, "mu")
    return jnp.log(phi) / mu


def cole_hopf_rhs(phi: Field, grid: Grid, gamma, mu, *, method: str = "spectral") -> Float[Array, "*grid"]:
    """∂_tφ for φ = e^{μF} with F evolving by (43) at V = 0: μ φ ∂_tF, ∂_tF from :func:`hj_rhs`.

    Eq. (43): the map turns the nonlinear equation into the linear backward heat equation
    ∂_tφ = -(γ/μ)∇²φ (the tests compare this route through the action with that form). Well posed
    backwards in time (t decreasing), ill posed forwards.
    """
    _check_method(method)
    phi = _checked_field(grid, phi, "phi")
    F = inverse_cole_hopf(phi, mu)
    gamma, mu = _positive(gamma, F.dtype, "gamma"), _positive(mu, F.dtype, "mu")
    return mu * phi * _hj_rhs(F, jnp.zeros_like(F), grid, gamma, mu, True, method)


def stationary_free_energy(q: Real[ArrayLike, " N"], C, C0, mu) -> FloatScalar:
    """The stationary solution (44) of (43) at V = 0: F = (1/μ) Σ_k log(C_k + μ q_k) + C_0.

    φ = e^{μF} = e^{μC_0} Π_k (C_k + μq_k) is a product of affine functions of distinct
    variables, hence harmonic, so ∂_tφ = -(γ/μ)∇²φ = 0.

    Arguments:
        q: point (N,); C: scalar or (N,); C0: scalar; mu: μ > 0.
    Domain: C_k + μ q_k > 0 for every k (else a clear error).

    Example (eq. (45): q = λ, μ = 2β, C_k = 2(1 - βm), C_0 = -(N/2β) log 4π):
        >>> import jax.numpy as jnp
        >>> lam = jnp.array([0.3, 1.7]); mu, C, C0 = eigenvalue_constants(2, 1.3)
        >>> f45 = (jnp.sum(jnp.log1p(1.3 * lam)) - 2 * jnp.log(2 * jnp.pi)) / 2.6
        >>> bool(jnp.isclose(stationary_free_energy(lam, C, C0, mu), f45))
        True
    """
    q = _check_point(q)
    mu = _positive(mu, q.dtype, "mu")
    if jnp.shape(C) not in ((), q.shape):
        raise ValueError(f"C must be a scalar or have shape {q.shape}, got {jnp.shape(C)}; use jax.vmap to batch")
    C = jnp.broadcast_to(_guard_finite(as_float(C, "C", q.dtype), "C"), q.shape)
    C0 = _scalar(C0, q.dtype, "C0")
    arg = C + mu * q
    arg = _guard(arg, ~(arg > 0), "eq. (44) needs C_k + mu q_k > 0 for every k")
    return jnp.sum(jnp.log(arg)) / mu + C0


def eigenvalue_constants(n: int, beta, m=0.0) -> tuple[Array, Array, Array]:
    """Constants that turn (44) into the eigenvalue free energy (45) of an N-neuron network.

    μ = 2β, C_k = 2(1 - βm), C_0 = -(N/2β) log 4π, with q_k = λ_k the eigenvalues of G (8):
    (1/2β) Σ log(2(1 - βm) + 2βλ_k) - (N/2β) log 4π = (1/2β) Σ log(1 + β(λ_k - m)) - (N/2β) log 2π.

    Returns: (mu, C, C0), scalars in β's dtype (a Python float β gives the default float).
    """
    beta = _positive(beta, None, "beta")
    if isinstance(n, bool) or not _is_integer(n) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    m = _scalar(m, beta.dtype, "m")
    return 2 * beta, 2 * (1 - beta * m), -n / (2 * beta) * jnp.log(4 * jnp.pi)


# --------------------------------------------------------------------------------------------
# (47)-(48): the Laplacian of F(λ(q))
# --------------------------------------------------------------------------------------------


def laplacian_in_eigenvalues(free_energy_of_lambda: Callable, eigenvalues_of_q: Callable, q: Real[ArrayLike, " K"], *,
                             curvature: bool = True) -> FloatScalar:
    """∇²_q F for F = F(λ(q)) by the chain rule, eq. (47) as printed or corrected.

        ∇²_q F = Σ_ij (∂²F/∂λ_i∂λ_j) ∇λ_i·∇λ_j  [+ Σ_i (∂F/∂λ_i) ∇²_q λ_i].

    The paper's (47) is ``curvature=False``: exact only when λ(q) is affine (conventions §4). All
    derivatives by autodiff (λ(q) by ``jax.jacfwd``/``jax.hessian``; for eigenvalues of G they
    exist where the spectrum is simple).

    Arguments:
        free_energy_of_lambda: ``F(λ)`` for λ of shape (N,), e.g.
            :func:`nnworld_jax.thermo.free_energy_eigen` at fixed β (eq. (45)).
        eigenvalues_of_q: ``λ(q)``, (K,) -> (N,).
        q: point (K,).
        curvature: include the term (47) omits.

    Returns: the scalar ∇²_q F.
    """
    free_energy_of_lambda = _callable(free_energy_of_lambda, "free_energy_of_lambda")
    eigenvalues_of_q = _callable(eigenvalues_of_q, "eigenvalues_of_q")
    q = _check_point(q)
    lam = eigenvalues_of_q(q)
    if jnp.ndim(lam) != 1:
        raise ValueError(f"eigenvalues_of_q must return a vector (N,), got shape {jnp.shape(lam)}")
    lam = _guard_finite(lam, "eigenvalues_of_q(q)")
    jac = jax.jacfwd(eigenvalues_of_q)(q)  # (N, K): ∂λ_i/∂q_k
    hess_f = jax.hessian(free_energy_of_lambda)(lam)  # (N, N)
    lap = jnp.einsum("ij,ik,jk->", hess_f, jac, jac)
    if curvature:
        lap_lam = jnp.trace(jax.hessian(eigenvalues_of_q)(q), axis1=1, axis2=2)  # (N,)
        lap = lap + jnp.vdot(jax.grad(free_energy_of_lambda)(lam), lap_lam)
    bad = ~jnp.isfinite(lap) | ~jnp.isfinite(free_energy_of_lambda(lam))
    return _guard(lap, bad, "F(lambda(q)) or its Laplacian is not finite: F or lambda(q) is outside its domain at q")


def eigenvalue_curvature_term(free_energy_of_q: Callable, eigenvalues_of_q: Callable, q: Real[ArrayLike, " K"],
                              gamma, mu) -> FloatScalar:
    """The term eq. (48) gains when λ(q) is not affine: (γ/μ) Σ_i ∇²λ_i (∂q_m/∂λ_i) ∂_mF.

    ∂q_m/∂λ_i is the inverse of the Jacobian ∂λ_i/∂q_m, so q ↦ λ must be a local diffeomorphism
    (K = N, non-singular Jacobian); then Σ_m (∂q_m/∂λ_i) ∂_mF = ∂F/∂λ_i and the term equals
    (γ/μ) × (the term (47) omits), first order in ∂F.

    Arguments:
        free_energy_of_q: ``F(q)`` (K,) -> scalar (e.g. the log-det free energy of a network w(q)).
        eigenvalues_of_q: ``λ(q)``, (K,) -> (K,).
        q: point (K,); gamma, mu: γ > 0, μ > 0.
    """
    free_energy_of_q = _callable(free_energy_of_q, "free_energy_of_q")
    eigenvalues_of_q = _callable(eigenvalues_of_q, "eigenvalues_of_q")
    q = _check_point(q)
    gamma, mu = _positive(gamma, q.dtype, "gamma"), _positive(mu, q.dtype, "mu")
    jac = jax.jacfwd(eigenvalues_of_q)(q)
    if jac.shape != (q.shape[0], q.shape[0]):
        raise ValueError(f"eq. (48) needs as many eigenvalues as parameters (square Jacobian), got {jac.shape}")
    dF_dlam = jnp.linalg.solve(jac.T, jax.grad(free_energy_of_q)(q))  # Σ_m (∂q_m/∂λ_i) ∂_m F
    dF_dlam = _guard(dF_dlam, ~jnp.isfinite(dF_dlam), "the Jacobian dlambda/dq is singular: (48) needs q <-> lambda")
    lap_lam = jnp.trace(jax.hessian(eigenvalues_of_q)(q), axis1=1, axis2=2)
    return gamma / mu * jnp.vdot(lap_lam, dF_dlam)
