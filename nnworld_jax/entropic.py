"""The entropic action S_q[p, F] of paper §5, eqs. (26)-(33), its equations of motion, a time
stepper, and the action principle as a boundary-value problem.

Fields on a periodic grid in parameter space q (K = 1, 2, 3): the probability density p(t, q) > 0
and the free energy F(t, q); a potential V(q). The Lagrangian density (28), as ``docs/conventions.md``
§3 fixes it, is

    ℒ = -4D √p ∇²√p + γ p ∇²F + μ p ∂_tF + μγ p |∇F|² + μ p V,                      (28)

where the two "boxed" learning terms of the paper both come from γ p ∇²F (the learning entropy
production); ``learning=False`` drops it. Split off the time derivative, S = ∫dt [∫μ p ∂_tF + H]
with H[p, F] = ∫ ℒ|_{∂_tF = 0}; then δS/δF = 0 and δS/δp = 0 are canonical equations

    μ ∂_t p = δH/δF,      μ ∂_t F = -δH/δp,

and :func:`equations_of_motion` evaluates them with ``jax.grad`` of the discretized H through the
one builder every canonical flow of §5-§6 goes through (``nnworld_jax._eom``: δ/δφ = ``jax.grad``
÷ cell volume, as :func:`nnworld_jax.grid.functional_derivative`). The analytic forms (29)-(30),
the Fokker-Planck form (32) and the Navier-Stokes form (33) are the references the tests compare
against, never used here.

Forward evolution (:func:`entropic_stepper`, RK4 on the layer of :mod:`nnworld_jax.stepping`). Linearized about p = const, F = 0, a mode of
wavenumber k evolves as exp(±k² √((γ/μ)² - 4γD/μ) t) when ``learning`` (exp(±i k² √(4γD/μ) t)
without): the anti-diffusion -(γ/μ)∇²F of the F equation (negative viscosity -γ/μ in (33)) makes
the learning system Hadamard ill-posed for γ > 4Dμ (growth (γ/μ)k² at D = 0, as for a backward heat
equation), while for γ < 4Dμ the quantum potential turns the growth into oscillation. Grid modes
that the discrete gradient cannot couple (the Nyquist mode of an even grid, where the spectral
first derivative vanishes but the Laplacian does not) still grow at (γ/μ)k² in either regime. The
stepper therefore refuses to evolve the learning system without a :func:`spectral_filter`.

Boundary-value form (:func:`boundary_value_action`, :func:`solve_boundary_value`): with p(0) and
F(T) given, the action (26) plus the boundary term μ∫p(0)F(0) is stationary on the solution; its
staggered-time discretization is a second-order variational integrator whose stationary point is
found by Newton's method (optimistix). This form is well-posed for the learning system at D = 0
(F evolves backward from T, p forward from 0), where the initial-value problem is not.

Units and measure: all fields are sampled on ``grid`` (a :class:`~nnworld_jax.grid.Grid`);
integrals are Σ · cell volume; D, γ, μ are the paper's constants (reference keeps μ; the paper sets it
to 1 in §5.2 and to 2β in §6). D = 0 (no quantum potential: the Hamilton-Jacobi limit) is allowed;
γ and μ must be positive.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx

from ._checks import all_concrete, as_float, check_scalar, float_dtype, is_traced
from ._config import solver_tol
from ._entropic import _density, _hamiltonian, _rates, _scalar_coefficients
from ._fields import (_check_method, _checked_field, _derivative, _gradient, _guard, _guard_finite, _integral,
                      _is_integer)
from .grid import Grid, check_field, fft_modes
from .stepping import State, Stepper, from_update, ode_stepper
from .types import Array, ArrayLike, Field, Float, FloatScalar, Real, Scalar, SpaceTimeField, SpaceTimePotential

__all__ = ["Coefficients", "lagrangian_density", "hamiltonian", "action", "equations_of_motion", "velocity",
           "spectral_filter", "apply_filter", "entropic_stepper",
           "boundary_value_action", "BoundaryValueSolution", "boundary_value_residual",
           "solve_boundary_value", "FILTERS", "RK4_STABILITY"]

FILTERS = ("exponential", "two-thirds", "nyquist", "none")
RK4_STABILITY = 2.78  # |z| below which z = λ dt lies in RK4's stability region on both axes


class Coefficients(NamedTuple):
    """Constants of the action (28): diffusion ``D`` ≥ 0, learning rate ``gamma`` > 0, ``mu`` > 0."""

    D: Scalar
    gamma: Scalar
    mu: Scalar


def _coefficients_bad(c: Coefficients):
    d, g, m = (jnp.asarray(x) for x in c)
    finite = jnp.isfinite(d) & jnp.isfinite(g) & jnp.isfinite(m)
    return ~finite | ~(d >= 0) | ~(g > 0) | ~(m > 0)


_COEFF_MESSAGE = "coefficients of eq. (28) must be finite with D >= 0, gamma > 0 and mu > 0"


def _concrete_coefficients(c: Coefficients) -> Coefficients | None:
    """The coefficients as Python floats, or None when any is traced (inside jit/vmap/grad)."""
    try:
        return Coefficients(*(float(x) for x in c))
    except (TypeError, jax.errors.ConcretizationTypeError):
        return None


def _valid(c: Coefficients) -> bool:
    return all(math.isfinite(x) for x in c) and c.D >= 0 and c.gamma > 0 and c.mu > 0


def _check_inputs(p, F, V, c: Coefficients):
    """Domain checks shared by every kernel: p > 0 and finite, F and V finite, valid coefficients.

    Integer fields are promoted to the common float dtype first; returns (p, F, V, c), the checked
    values (the checks live in them under jit: use them)."""
    dtype = float_dtype(p, F, V)
    p, F, V = (as_float(x, name, dtype) for x, name in ((p, "p"), (F, "F"), (V, "V")))
    c = _scalar_coefficients(c, dtype)
    p = _guard(p, ~(p > 0) | ~jnp.isfinite(p), "p must be finite and > 0 everywhere (√p enters eq. (28))")
    F = _guard(F, ~jnp.isfinite(F), "F contains NaN or inf")
    V = _guard(V, ~jnp.isfinite(V), "V contains NaN or inf")
    p = _guard(p, _coefficients_bad(c), _COEFF_MESSAGE)
    return p, F, V, c


def _check_slice(p, F, V, grid: Grid, c: Coefficients, method: str = "spectral"):
    _check_method(method)
    for name, f in (("p", p), ("F", F), ("V", V)):
        check_field(f, grid, name)
    return _check_inputs(p, F, V, c)


def lagrangian_density(p: Field, F: Field, F_t: Field,
                       V: Field, grid: Grid, c: Coefficients, *, learning: bool = True,
                       method: str = "spectral") -> Float[Array, "*grid"]:
    """The density ℒ of eq. (28) at one time, on the grid ``grid`` (all fields ``grid.shape``).

    ℒ = -4D √p ∇²√p + γ p ∇²F + μ p ∂_tF + μγ p |∇F|² + μ p V; ``learning=False`` drops γ p ∇²F.
    Raises (eagerly, or with a runtime error under jit) if p ≤ 0, a field is not finite, or the
    coefficients are outside D ≥ 0, γ > 0, μ > 0.
    """
    p, F, V, c = _check_slice(p, F, V, grid, c, method)
    F_t = _checked_field(grid, F_t, "F_t", p.dtype)
    return _density(p, F, F_t, V, grid, c, learning, method)


def hamiltonian(p: Field, F: Field, V: Field, grid: Grid,
                c: Coefficients, *, learning: bool = True, method: str = "spectral") -> FloatScalar:
    """H[p, F] = ∫ ℒ dᴷq with the ∂_tF term removed: the action (26) is ∫dt [∫ μ p ∂_tF + H].

    H is conserved by the equations of motion (29)-(30), with or without ``learning``.
    """
    p, F, V, c = _check_slice(p, F, V, grid, c, method)
    return _hamiltonian(p, F, V, grid, c, learning, method)


def action(p: SpaceTimeField, F: SpaceTimeField, V: SpaceTimePotential, grid: Grid,
           c: Coefficients, *, learning: bool = True, method: str = "spectral") -> FloatScalar:
    """The action (26) S = ∫dt ∫dᴷq ℒ over a space-time grid whose axis 0 is time.

    Time is periodic (``grid`` is a periodic grid in (t, q)), with ∂_tF taken by ``method``
    along axis 0; ``V`` has the shape of one time slice or of the whole space-time grid. For time
    with end data use :func:`boundary_value_action`.

    Returns: the scalar action Σ ℒ h_t h_q.
    """
    _check_method(method)
    check_field(p, grid, "p")
    check_field(F, grid, "F")
    if grid.ndim < 2:
        raise ValueError(f"grid must have a time axis and at least one space axis, got a {grid.ndim}-D grid")
    space = Grid(grid.shape[1:], grid.lengths[1:])
    if jnp.shape(V) not in (space.shape, grid.shape):
        raise ValueError(f"V must have shape {space.shape} or {grid.shape}, got {jnp.shape(V)}")
    p, F, V, c = _check_inputs(p, F, V, c)
    F_t = _derivative(grid, F, 0, 1, method)
    V = jnp.broadcast_to(V, grid.shape)

    def slice_density(p_k, F_k, F_t_k, V_k):
        return _density(p_k, F_k, F_t_k, V_k, space, c, learning, method)

    return _integral(grid, jax.vmap(slice_density)(p, F, F_t, V))


def equations_of_motion(p: Field, F: Field, V: Field, grid: Grid,
                        c: Coefficients, *, learning: bool = True,
                        method: str = "spectral") -> tuple[Float[Array, "*grid"], Float[Array, "*grid"]]:
    """(∂_t p, ∂_t F) from δS/δF = 0 and δS/δp = 0, eqs. (29)-(30), by ``jax.grad`` of H.

    μ ∂_t p = δH/δF and μ ∂_t F = -δH/δp. With u = 2γ∇F (31) these are the Fokker-Planck form
    ∂_t p = (γ/μ)∇²p - ∇·(p u) (32) and a Hamilton-Jacobi equation for F with the quantum
    potential (4D/μ)∇²√p/√p and, when ``learning``, the anti-diffusion -(γ/μ)∇²F (see the module
    docstring for when that makes forward evolution ill-posed).
    """
    p, F, V, c = _check_slice(p, F, V, grid, c, method)
    return _rates(p, F, V, grid, c, learning, method)


def velocity(F: Field, grid: Grid, c: Coefficients, *,
             method: str = "spectral") -> Float[Array, "K *grid"]:
    """The velocity u = 2γ∇F of eq. (31), shape ``(K, *grid.shape)``.

    With it the equations of motion read as the Fokker-Planck equation (32) and, for ∂_t u, the
    Navier-Stokes-like equation (33) with viscosity -γ/μ (when ``learning``).

    Example:
        >>> from nnworld_jax import set_precision
        >>> set_precision("float64")  # the figures below are float64 ones
        >>> g = Grid((8,))
        >>> u = velocity(jnp.sin(g.axis(0)), g, Coefficients(0.3, 0.7, 1.6))
        >>> bool(jnp.allclose(u[0], 1.4 * jnp.cos(g.axis(0))))
        True
    """
    _check_method(method)
    F = _checked_field(grid, F, "F")
    c = _scalar_coefficients(c, F.dtype)
    F = _guard(F, _coefficients_bad(c), _COEFF_MESSAGE)
    return 2.0 * c.gamma * _gradient(grid, F, method)


# ----------------------------------------------------------------------------------------------
# Spectral filters and the RK4 time stepper


def _integer_wavenumbers(grid: Grid) -> list[np.ndarray]:
    return [fft_modes(n) for n in grid.shape]  # signed integers m in FFT order


def spectral_filter(grid: Grid, kind: str = "exponential", *, strength: float = 36.0,
                    order: int = 36) -> Float[Array, "*grid"]:
    """Multiplier σ (FFT order, shape ``grid.shape``) that the stepper applies to p and F each step.

    Regularizes forward evolution of the learning equations (29)-(30), whose linearized modes grow
    like exp(k² √((γ/μ)² - 4γD/μ) t) for γ > 4Dμ (Hadamard ill-posed: growth rate ∝ k², so the
    result depends on the grid cutoff). A filter does not cure that: it caps the growth at the
    highest mode it keeps, making the evolution a well-defined, resolution-dependent regularization.
    Kinds (integer wavenumber m_i per axis, Nyquist m_N = n_i // 2):

    * ``"exponential"``: σ = Π_i exp(-strength (|m_i|/m_N)^order) (defaults 36 and 36: σ = e^-36 at
      the Nyquist mode, ≈ 1 below 0.8 m_N). Applied once per step, so mode m is damped at the rate
      strength (|m|/m_N)^order / dt on top of its growth.
    * ``"two-thirds"``: σ = 1 where every |m_i| ≤ (n_i - 1) // 3, else 0 (Orszag's rule: it also
      removes the aliasing of quadratic products). Modes above the cutoff stay exactly zero; the
      highest kept mode still grows at its linear rate.
    * ``"nyquist"``: zero only the Nyquist mode of even axes, the one mode whose p-F coupling the
      spectral gradient drops. Enough for the learning system with γ < 4Dμ (spectral derivatives).
    * ``"none"``: σ = 1; evolving the learning system with it is an explicit acceptance of the
      growth.

    Example:
        >>> s = spectral_filter(Grid((32,)), "two-thirds")
        >>> int(s.sum()), float(s[10]), float(s[11])
        (21, 1.0, 0.0)
    """
    if kind not in FILTERS:
        raise ValueError(f"filter kind must be one of {FILTERS}, got {kind!r}")
    if not isinstance(grid, Grid):
        raise TypeError(f"grid must be a Grid, got {type(grid).__name__}")
    if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not (0 < strength < math.inf):
        raise ValueError(f"strength must be finite and > 0, got {strength!r}")
    if isinstance(order, bool) or not _is_integer(order) or order < 2:
        raise ValueError(f"order must be an integer >= 2, got {order!r}")
    ms = _integer_wavenumbers(grid)
    mesh = np.meshgrid(*ms, indexing="ij")
    if kind == "exponential":
        sigma = np.ones(grid.shape)
        for m, n in zip(mesh, grid.shape):
            sigma = sigma * np.exp(-strength * (np.abs(m) / (n // 2)) ** order)
    elif kind == "two-thirds":
        sigma = np.ones(grid.shape)
        for m, n in zip(mesh, grid.shape):
            sigma = sigma * (np.abs(m) <= (n - 1) // 3)
    elif kind == "nyquist":
        sigma = np.ones(grid.shape)
        for m, n in zip(mesh, grid.shape):
            if n % 2 == 0:
                sigma = sigma * (np.abs(m) != n // 2)
    else:
        sigma = np.ones(grid.shape)
    return jnp.asarray(sigma, dtype=jnp.zeros(()).dtype)


def apply_filter(f: Field, sigma: Field) -> Float[Array, "*grid"]:
    """f ↦ Re F⁻¹[σ F[f]] (FFT over all axes), the filter of :func:`spectral_filter` (eqs. (29)-(30)).

    Same shape and dtype as ``f``.
    """
    if jnp.shape(f) != jnp.shape(sigma):
        raise ValueError(f"filter sigma shape {jnp.shape(sigma)} does not match field f shape {jnp.shape(f)}; "
                         "use jax.vmap to batch")
    f = _guard_finite(as_float(f, "f"), "f")
    sigma = _guard_finite(as_float(sigma, "sigma"), "sigma")
    return _apply_filter(f, sigma)


def _apply_filter(f, sigma):
    fh = jnp.fft.fftn(f)
    # sigma cast to the spectrum's complex dtype (f's precision): explicit under strict dtype promotion.
    return jnp.fft.ifftn(fh * sigma.astype(fh.dtype)).real.astype(f.dtype)


def _concrete(*xs) -> bool:
    return all_concrete(*xs)


def _principal_rates(grid: Grid, c: Coefficients, learning: bool, sigma, method: str):
    """(coupled, uncoupled, k²_max): largest |λ|/k² of the linearized principal part and k²_max kept.

    coupled: |√((γ/μ)² - 4γD/μ)| (learning) or √(4γD/μ); uncoupled: γ/μ for modes without the p-F
    coupling (learning), else 0. Used for the stepper's error messages and its dt bound only.
    """
    nu = c.gamma / c.mu
    coupled = math.sqrt(abs(nu**2 - 4 * c.gamma * c.D / c.mu)) if learning else math.sqrt(4 * c.gamma * c.D / c.mu)
    uncoupled = nu if learning else 0.0
    kk = np.zeros(grid.shape)
    mesh = np.meshgrid(*[2 * np.pi * m / length for m, length in zip(_integer_wavenumbers(grid), grid.lengths)],
                       indexing="ij")
    for k in mesh:
        kk = kk + k**2
    keep = np.ones(grid.shape, bool) if sigma is None else np.asarray(sigma) > 1e-3
    return coupled, uncoupled, float(kk[keep].max()) if keep.any() else 0.0


def _ill_posed_message(grid: Grid, c: Coefficients, method: str) -> str:
    concrete = _concrete_coefficients(c)
    D, gamma, mu = concrete if concrete is not None else (float("nan"),) * 3  # traced: no numbers
    _, _, kk = _principal_rates(grid, Coefficients(D, gamma, mu), True, None, method)
    disc = (gamma / mu) ** 2 - 4 * gamma * D / mu
    if disc > 0:
        regime = (f"here γ = {gamma:g} > 4Dμ = {4 * D * mu:g}, so the fastest grid mode (|k|² = {kk:g}) "
                  f"grows at {kk * math.sqrt(disc):.4g} per unit time")
    else:
        regime = (f"here γ = {gamma:g} ≤ 4Dμ = {4 * D * mu:g}, so the quantum potential makes the coupled "
                  f"modes oscillate, but grid modes the discrete gradient cannot couple (the Nyquist mode "
                  f"of an even spectral grid, a band near the cutoff for fd2/fd4) still grow at up to "
                  f"(γ/μ)|k|² = {gamma / mu * kk:.4g} per unit time")
    return ("entropic_stepper: the learning system (learning=True) is ill-posed forward in time without a "
            "filter. Its F equation carries the anti-diffusion -(γ/μ)∇²F of eq. (30) (the negative viscosity "
            "-γ/μ of eq. (33)); linearized, a mode of wavenumber k evolves as "
            "exp(±k²√((γ/μ)² - 4γD/μ) t), which grows like a backward heat equation for γ > 4Dμ; "
            f"{regime}. Round-off in those modes would grow until p < 0 and the result would depend on the "
            "grid, not on the data. Pass filter=spectral_filter(grid, 'two-thirds') or 'exponential' "
            "(growth capped at the highest kept mode), 'nyquist' (enough for γ < 4Dμ with spectral "
            "derivatives), or 'none' to accept the growth explicitly; or pose the problem with end data "
            "(solve_boundary_value), which is well-posed.")


def entropic_stepper(V: Field, grid: Grid, c: Coefficients, dt: Scalar, *,
                     learning: bool = True, filter: Field | None = None,
                     method: str = "spectral") -> Stepper:
    """Stepper for the canonical equations (29)-(30), ∂_t(p, F) = :func:`equations_of_motion`.

    Classical RK4 with fixed step ``dt`` (:func:`nnworld_jax.stepping.ode_stepper`, diffrax's
    Runge-Kutta machinery); after each step p and F are multiplied by the spectral ``filter`` σ
    (:func:`spectral_filter`), if given. A :class:`~nnworld_jax.stepping.Stepper` over
    :class:`~nnworld_jax.stepping.State` ``(t, (p, F))``: ``init((p, F), t0=0.0)`` validates the
    fields and applies the filter; ``step(state)`` advances by ``dt``; run it with
    :func:`nnworld_jax.stepping.solve`. Conserves ∫p exactly (up to round-off) and H
    (:func:`hamiltonian`) to O(dt⁴). Constructor convention of the layer: physics input V, grid,
    :class:`Coefficients`, dt, options.

    Fails loudly:

    * ``learning=True`` with ``filter=None`` raises ``ValueError`` (see :func:`spectral_filter`: the
      learning system is ill-posed for γ > 4Dμ, and even for γ < 4Dμ uncoupled grid modes grow at
      (γ/μ)k²); the message gives the rates on this grid.
    * ``dt`` above RK4's stability bound 2.78/ρ, ρ the fastest linear rate of the kept modes, raises
      ``ValueError``.
    * a step that leaves p ≤ 0 or a non-finite field raises at run time (the layer's
      :func:`~nnworld_jax.stepping.guard_state`): the Madelung form needs p > 0 (with
      ``learning=False`` the system is well-posed while p > 0).

    Example:
        >>> g = Grid((16,))
        >>> q = g.axis(0)
        >>> init, step = entropic_stepper(jnp.cos(q), g, Coefficients(0.3, 0.7, 1.6), 1e-3, learning=False)
        >>> s = jax.jit(step)(init((jnp.exp(0.2 * jnp.cos(q)), jnp.sin(q))))
        >>> round(float(s.t), 6)
        0.001
    """
    _check_method(method)
    V = _checked_field(grid, V, "V")
    c = _scalar_coefficients(c, V.dtype)
    if filter is not None:
        filter = _checked_field(grid, filter, "filter")
    concrete = _concrete_coefficients(c)
    if concrete is not None and not _valid(concrete):
        raise ValueError(_COEFF_MESSAGE)
    if is_traced(dt) or jnp.shape(dt) != () or not (0 < float(dt) < math.inf):
        raise ValueError(f"dt must be a concrete finite scalar > 0, got {dt!r}")
    if learning and filter is None:
        raise ValueError(_ill_posed_message(grid, c, method))
    if concrete is not None and _concrete(filter):
        coupled, uncoupled, kk = _principal_rates(grid, concrete, learning, filter, method)
        rho = kk * max(coupled, uncoupled)
        if rho * dt > RK4_STABILITY:
            raise ValueError(f"dt = {dt:g} is above RK4's stability bound {RK4_STABILITY}/ρ = "
                             f"{RK4_STABILITY / rho:.4g}: "
                             f"the fastest linear mode of eqs. (29)-(30) on this grid (|k|² = {kk:g}) has rate "
                             f"ρ = {rho:.4g}; reduce dt or filter the highest modes")
    # The guard on V and the coefficients travels with V into every step (it is a no-op when concrete).
    V = _guard(V, _coefficients_bad(c), _COEFF_MESSAGE)

    def filtered(f):
        return f if filter is None else _apply_filter(f, filter)

    rk4 = ode_stepper(lambda t, y: _rates(y[0], y[1], V, grid, c, learning, method), dt, solver="rk4",
                      check_step=False)

    def update(t, y):
        # A state handed to step directly (not from init) is checked too: √p enters every stage.
        p0 = _guard(y[0], ~(y[0] > 0) | ~jnp.isfinite(y[0]) | ~jnp.isfinite(y[1]),
                    "p must be finite and > 0 everywhere (√p enters eq. (28)), F finite")
        p, F = rk4.step(State(t, (p0, y[1]))).y
        return filtered(p), filtered(F)

    def validate(y0):
        if not (isinstance(y0, tuple) and len(y0) == 2):
            raise TypeError(f"y0 must be the pair (p, F), got {type(y0).__name__}")
        p, F, _, _ = _check_slice(y0[0], y0[1], V, grid, c)
        return filtered(p), filtered(F)

    return from_update(update, dt, name="entropic.entropic_stepper", validate=validate, bad=lambda y: ~(y[0] > 0), domain="finite, p > 0",
                       hint="the evolution left the domain of eqs. (29)-(30) (p > 0); for learning=True an "
                            "unfiltered or under-filtered grid mode may have grown (ill-posed), otherwise reduce dt")


# ----------------------------------------------------------------------------------------------
# The action principle with end data: p(0) and F(T) fixed


def boundary_value_action(p: Real[ArrayLike, "M *grid"], F: Real[ArrayLike, "M *grid"], p0: Field,
                          F_T: Field, V: Field, grid: Grid, c: Coefficients,
                          T: Scalar, *, learning: bool = True, method: str = "spectral") -> FloatScalar:
    """The action (26) on t ∈ [0, T] with p(0) = ``p0`` and F(T) = ``F_T`` held fixed, discretized.

    Continuum: S' = ∫₀ᵀdt [∫μ p ∂_tF dᴷq + H[p, F]] + μ∫p(0)F(0) dᴷq
    = ∫₀ᵀdt [-∫μ F ∂_tp + H] + μ∫p(T)F_T; the boundary term makes δp(0) = 0, δF(T) = 0 the natural
    data, and δS' = 0 gives eqs. (29)-(30). Time is staggered, dt = T/M, t_j = j dt:

        S'_d = Σ_{j=0}^{M-1} [-μ∫F_{j+½}(p_{j+1} - p_j) + dt H(½(p_j + p_{j+1}), F_{j+½})] + μ∫p_M F_T,

    a symmetric (second-order) variational integrator. Arguments: ``p`` = (p_1, …, p_M) at t_j,
    ``F`` = (F_½, …, F_{M-½}) at t_{j+½}, both shape ``(M, *grid.shape)``; ``p0``, ``F_T``, ``V``
    of ``grid.shape``. Not periodic in time (unlike :func:`action`).
    """
    p, F, p0, F_T, V, c, T = _check_boundary_value(p, F, p0, F_T, V, grid, c, T, method)
    return _boundary_value_action(p, F, p0, F_T, V, grid, c, T, learning, method)


def _check_boundary_value(p, F, p0, F_T, V, grid: Grid, c: Coefficients, T, method: str):
    """The input policy for the end-data problem: shapes, p > 0 and finite fields, valid
    coefficients, T finite and > 0. Returns the checked values."""
    p0, F_T, V, c = _check_slice(p0, F_T, V, grid, c, method)
    if jnp.ndim(p) != grid.ndim + 1 or jnp.shape(p)[1:] != grid.shape or jnp.shape(F) != jnp.shape(p):
        raise ValueError(f"p and F must both have shape (M, *{grid.shape}), got {jnp.shape(p)} and {jnp.shape(F)}; "
                         "use jax.vmap to batch")
    p, F, _, _ = _check_inputs(p, F, V, c)
    T = check_scalar(as_float(T, "T", p0.dtype), "T")
    T = _guard(T, ~(T > 0) | ~jnp.isfinite(T), "T must be finite and > 0")
    return p.astype(p0.dtype), F.astype(p0.dtype), p0, F_T, V, c, T


def _boundary_value_action(p, F, p0, F_T, V, grid: Grid, c: Coefficients, T, learning: bool, method: str):
    # Unchecked S'_d: the Newton solve differentiates it twice; the checks run once at the entry.
    dt = T / p.shape[0]
    p_all = jnp.concatenate([p0.reshape((1, *grid.shape)), p])
    p_mid = 0.5 * (p_all[1:] + p_all[:-1])
    h = jax.vmap(lambda pm, f: _hamiltonian(pm, f, V, grid, c, learning, method))(p_mid, F)
    kinetic = -c.mu * jnp.sum(F * (p_all[1:] - p_all[:-1])) * grid.cell_volume
    return kinetic + dt * jnp.sum(h) + c.mu * _integral(grid, p_all[-1] * F_T)


class BoundaryValueSolution(NamedTuple):
    """Stationary point of the discretized action (26) (:func:`boundary_value_action`): p at t_j
    (j = 0…M, p_0 the data), F at t_{j+½} (j = 0…M-1), the largest Euler-Lagrange residual
    |δS'/δ(p, F)| per unit time and volume, and the number of Newton steps."""

    t: Float[Array, " M+1"]
    p: Float[Array, "M+1 *grid"]
    t_half: Float[Array, " M"]
    F: Float[Array, "M *grid"]
    residual: FloatScalar
    newton_steps: Array


def boundary_value_residual(p: Real[ArrayLike, "M *grid"], F: Real[ArrayLike, "M *grid"], p0: Field,
                            F_T: Field, V: Field, grid: Grid, c: Coefficients,
                            T: Scalar, *, learning: bool = True,
                            method: str = "spectral") -> tuple[Float[Array, "M *grid"], Float[Array, "M *grid"]]:
    """(δS'/δp_j, δS'/δF_{j+½}) of :func:`boundary_value_action` per unit time and volume (jax.grad).

    Zero on the discrete solution of eqs. (29)-(30): δS'/δF_{j+½} = -μ(p_{j+1} - p_j)/dt + δH/δF,
    δS'/δp_j = μ(F_{j+½} - F_{j-½})/dt + average of δH/δp (eq. (30) at t_j).
    """
    p, F, p0, F_T, V, c, T = _check_boundary_value(p, F, p0, F_T, V, grid, c, T, method)
    return _boundary_value_residual(p, F, p0, F_T, V, grid, c, T, learning, method)


def _boundary_value_residual(p, F, p0, F_T, V, grid: Grid, c: Coefficients, T, learning: bool, method: str):
    dt = T / p.shape[0]
    g = jax.grad(_boundary_value_action, argnums=(0, 1))(p, F, p0, F_T, V, grid, c, T, learning, method)
    return jax.tree.map(lambda x: x / (dt * grid.cell_volume), g)


def solve_boundary_value(p0: Field, F_T: Field, V: Field, grid: Grid,
                         c: Coefficients, T: Scalar, steps: int, *, learning: bool = True, method: str = "spectral",
                         guess: tuple[Array, Array] | None = None, rtol: float | None = None, atol: float | None = None,
                         max_steps: int = 50) -> BoundaryValueSolution:
    """Stationary point of the discretized action (26) with p(0) = ``p0``, F(T) = ``F_T``: eqs. (29)-(30).

    Solves δS'_d = 0 (:func:`boundary_value_residual`, from ``jax.grad``) by Newton's method
    (``optimistix.Newton``, dense Jacobian = the Hessian of S'_d, LU). The stationary point is a
    saddle of S'_d, not a minimum (the action is linear in ∂_tF), so a root finder, not a minimiser.
    ``guess`` = (p_1…p_M, F_½…F_{M-½}); default p_j = p0, F_{j+½} = F_T. Unknowns: 2 M · n_q, so keep
    grids small (M = 16, n = 32: 1024 unknowns). Raises if Newton does not converge. Tolerances default
    to 1e-10 in float64 and 1e-5 in float32 (p0's dtype).

    Returns: :class:`BoundaryValueSolution`.
    """
    p0, F_T, V, c = _check_slice(p0, F_T, V, grid, c, method)
    if isinstance(steps, bool) or not _is_integer(steps) or steps < 1:
        raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
    if isinstance(max_steps, bool) or not _is_integer(max_steps) or max_steps < 1:
        raise ValueError(f"max_steps must be an integer >= 1, got {max_steps!r}")
    steps, max_steps = int(steps), int(max_steps)
    T = check_scalar(as_float(T, "T", p0.dtype), "T")
    T = _guard(T, ~(T > 0) | ~jnp.isfinite(T), "T must be finite and > 0")
    shape = (steps, *grid.shape)
    if guess is None:
        guess = (jnp.broadcast_to(p0, shape), jnp.broadcast_to(F_T, shape))
    if len(guess) != 2 or jnp.shape(guess[0]) != shape or jnp.shape(guess[1]) != shape:
        raise ValueError(f"guess must be two arrays (p, F) of shape {shape}")
    guess_p, guess_F, _, _ = _check_inputs(guess[0], guess[1], V, c)
    guess = (guess_p.astype(p0.dtype), guess_F.astype(p0.dtype))
    rtol, atol = solver_tol(rtol, p0.dtype, 1e-10), solver_tol(atol, p0.dtype, 1e-10)
    return _solve_boundary_value(p0, F_T, V, grid, c, T, guess, steps=steps, learning=learning, method=method,
                                 rtol=rtol, atol=atol, max_steps=max_steps)


@functools.partial(jax.jit, static_argnames=("steps", "learning", "method", "rtol", "atol", "max_steps"))
def _solve_boundary_value(p0, F_T, V, grid, c, T, guess, *, steps, learning, method, rtol, atol, max_steps):
    shape = (steps, *grid.shape)
    size = steps * math.prod(grid.shape)

    def unflatten(y):
        return y[:size].reshape(shape), y[size:].reshape(shape)

    def fn(y, _):
        r_p, r_f = _boundary_value_residual(*unflatten(y), p0, F_T, V, grid, c, T, learning, method)
        return jnp.concatenate([r_p.ravel(), r_f.ravel()])

    y0 = jnp.concatenate([jnp.ravel(guess[0]), jnp.ravel(guess[1])])
    sol = optx.root_find(fn, optx.Newton(rtol=rtol, atol=atol), y0, max_steps=max_steps)
    p, F = unflatten(sol.value)
    res = jnp.max(jnp.abs(fn(sol.value, None)))
    dt = T / steps
    t = jnp.arange(steps + 1, dtype=p0.dtype) * dt
    return BoundaryValueSolution(t, jnp.concatenate([p0.reshape((1, *grid.shape)), p]), t[:-1] + dt / 2, F,
                                 res, sol.stats["num_steps"])
