"""Solutions of the Einstein equations by action minimization (paper §9, action (88)): reduced
(minisuperspace) Einstein-Hilbert actions on a 1D grid, stationary points by ``jax.grad`` + Newton.

The paper's gravity sector is the action (88), S = ∫√-g [(R - 2Λ)/(16πG) + L_m] (here Λ = 0). For
a symmetric ansatz the 4D density √-g R depends on one coordinate only; up to a total derivative it
is a first-derivative *reduced Lagrangian*, discretized on a 1D grid. The Euler-Lagrange equations
are ``jax.grad`` of the discrete action with respect to the interior grid values (the boundary
values are fixed data), and their root is found by ``optimistix.Newton``. The analytic solutions
(Schwarzschild, the dust a ∝ t^{2/3}) appear only in the tests and claims as the reference.

Conventions (``docs/conventions.md`` §6; MTW signature (- + + +), time first; G = c = 1 unless a
``newton_G`` is given):

* Static spherical ansatz, X = (t, r, θ, φ): ds² = -A(r) dt² + dr²/B(r) + r²dΩ². With the curvature
  conventions of :mod:`nnworld_jax.curvature`,

      √-g R / sin θ = 2√(A/B) (1 - B - r B') + d/dr[-r² √(B/A) A'],

  so S/(Δt · 4π/(16πG)) = ∫ L dr + boundary terms with L = 2√(A/B)(1 - B - rB'). Varying A gives
  (rB)' = 1, i.e. B = 1 - 2M/r; varying B gives (A/B)' = 0. The constant prefactor is dropped.
* Flat FLRW with lapse N(t), X = (t, x, y, z): ds² = -N²dt² + a²(dx² + dy² + dz²). Then
  √-g R = 6 d/dt(a²ȧ/N) - 6aȧ²/N, and with pressureless dust (ρ a³ = ρ₀, L_m = -√-g ρ = -Nρ₀) the
  action per unit comoving volume is ∫ L dt, L = -3aȧ²/(8πG N) - Nρ₀. Its a-equation (N = 1) is
  2aä + ȧ² = 0 (ρ₀ drops out); its N-equation is the Friedmann constraint 3aȧ² = 8πGρ₀, i.e.
  H² = 8πGρ/3, which selects the dust solution among a ∝ (t - t_b)^{2/3}.
* Discretization: increasing grid of n ≥ 3 nodes, values at nodes; the action is Σ_cells h L evaluated at
  the cell midpoint (midpoint averages of the fields, forward differences for the derivatives):
  second-order accurate. Euler-Lagrange residuals are ∂S_h/∂(interior nodes) / h.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optimistix as optx
from jaxtyping import Array, Float

from ._checks import check_finite, check_positive
from ._config import solver_tol

Metric = Callable[[Float[Array, " n"]], Float[Array, "n n"]]


# ----------------------------------------------------------------------------- ansatz metrics

def static_spherical_metric(A: Callable, B: Callable) -> Metric:
    """Metric of the static spherical ansatz ds² = -A(r)dt² + dr²/B(r) + r²dΩ² (action (88), §9).

    ``A``, ``B``: scalar functions of r (jax-differentiable). Returns ``X -> g`` for
    X = (t, r, θ, φ), signature (- + + +), for the curvature kernels of :mod:`nnworld_jax.curvature`.
    """
    def g(X: Float[Array, " 4"]) -> Float[Array, "4 4"]:
        r, th = X[1], X[2]
        return jnp.diag(jnp.stack([-A(r), 1.0 / B(r), r**2, (r * jnp.sin(th)) ** 2]))

    return g


def flrw_metric(a: Callable, N: Callable | None = None) -> Metric:
    """Flat FLRW metric ds² = -N(t)²dt² + a(t)²(dx² + dy² + dz²) (action (88), §9).

    ``a``, ``N``: scalar functions of t (N defaults to 1). Returns ``X -> g``, X = (t, x, y, z).
    """
    def g(X: Float[Array, " 4"]) -> Float[Array, "4 4"]:
        t = X[0]
        lapse = 1.0 if N is None else N(t)
        a2 = a(t) ** 2
        return jnp.diag(jnp.stack([-(lapse**2) * jnp.ones_like(a2), a2, a2, a2]))

    return g


# ----------------------------------------------------------------------------- reduced Lagrangians

def schwarzschild_lagrangian(r: Float[Array, "*b"], A: Float[Array, "*b"], B: Float[Array, "*b"],
                             dB: Float[Array, "*b"]) -> Float[Array, "*b"]:
    """Reduced Einstein-Hilbert Lagrangian of the static spherical ansatz, from action (88):

        L = 2√(A/B) (1 - B - r B'),   √-g R / sin θ = L + d/dr[-r²√(B/A) A'].

    Normalization: S_EH = Δt · 4π/(16πG) ∫ L dr + boundary terms (the prefactor is dropped
    elsewhere in this module). Requires A, B > 0 (outside the horizon); elementwise.
    """
    return 2.0 * jnp.sqrt(A / B) * (1.0 - B - r * dB)


def flrw_dust_lagrangian(a: Float[Array, "*b"], adot: Float[Array, "*b"], N: Float[Array, "*b"],
                         rho0: float, newton_G: float = 1.0) -> Float[Array, "*b"]:
    """Minisuperspace Lagrangian of flat FLRW + dust, action (88) per unit comoving volume:

        L = -3 a ȧ² / (8πG N) - N ρ₀,

    where √-g R/(16πG) = -3aȧ²/(8πG N) + d/dt(3a²ȧ/(8πG N)) and the dust term is -√-g ρ with
    ρ = ρ₀/a³ (reference signature (- + + +), lapse N). Elementwise.
    """
    return -3.0 * a * adot**2 / (8.0 * jnp.pi * newton_G * N) - N * rho0


# ----------------------------------------------------------------------------- discrete actions

def _steps(x: Float[Array, " n"], name: str) -> Array:
    if x.ndim != 1 or x.shape[0] < 3:
        raise ValueError(f"{name} must be a 1D grid of at least 3 nodes, got shape {x.shape}")
    return x[1:] - x[:-1]


def schwarzschild_action(A: Float[Array, " n"], B: Float[Array, " n"], r: Float[Array, " n"]) -> Float[Array, ""]:
    """Discrete reduced action S_h = Σ_cells h L(r_c, Ā, B̄, ΔB/h) of the static spherical ansatz,
    L of :func:`schwarzschild_lagrangian` (action (88), prefactor Δt/(4G) dropped).

    ``A``, ``B``: node values on the radial grid ``r`` (shape (n,), increasing, r > 0).
    Midpoint rule: second order in h.
    """
    if A.shape != r.shape or B.shape != r.shape:
        raise ValueError(f"A {A.shape}, B {B.shape} and r {r.shape} must have the same shape")
    h = _steps(r, "r")
    mid = lambda f: 0.5 * (f[1:] + f[:-1])  # noqa: E731
    return jnp.sum(h * schwarzschild_lagrangian(mid(r), mid(A), mid(B), (B[1:] - B[:-1]) / h))


def flrw_dust_action(a: Float[Array, " n"], t: Float[Array, " n"], rho0: float, *,
                     lapse: Float[Array, " m"] | None = None, newton_G: float = 1.0) -> Float[Array, ""]:
    """Discrete minisuperspace action S_h = Σ_cells h L(ā, Δa/h, N_c) of flat FLRW + dust,
    L of :func:`flrw_dust_lagrangian` (action (88) per unit comoving volume).

    ``a``: scale factor at the nodes ``t`` (shape (n,)); ``lapse``: N per cell (shape (n-1,),
    default 1). Midpoint rule: second order in h.
    """
    if a.shape != t.shape:
        raise ValueError(f"a {a.shape} and t {t.shape} must have the same shape")
    h = _steps(t, "t")
    N = jnp.ones_like(h) if lapse is None else lapse
    if N.shape != h.shape:
        raise ValueError(f"lapse must have one value per cell, shape {h.shape}, got {N.shape}")
    return jnp.sum(h * flrw_dust_lagrangian(0.5 * (a[1:] + a[:-1]), (a[1:] - a[:-1]) / h, N, rho0, newton_G))


def friedmann_constraint(a: Float[Array, " n"], t: Float[Array, " n"], rho0: float,
                         newton_G: float = 1.0) -> Float[Array, " m"]:
    """Lapse variation (∂S_h/∂N_c)/h at N = 1, per cell: 3ā(Δa/h)²/(8πG) - ρ₀, the discrete
    Friedmann constraint H² = 8πGρ/3 of action (88) (zero on the dust solution)."""
    h = t[1:] - t[:-1]
    return jax.grad(lambda N: flrw_dust_action(a, t, rho0, lapse=N, newton_G=newton_G))(jnp.ones_like(h)) / h


# ----------------------------------------------------------------------------- solvers

class Solution(NamedTuple):
    """Stationary point of a discrete reduced action: node values with the boundary data."""

    fields: tuple          # (A, B) or (a,)
    residual: Float[Array, ""]  # max |EL residual| at the solution
    steps: Array           # Newton iterations


def _newton(residual, y0, rtol, atol, max_steps):
    sol = optx.root_find(residual, optx.Newton(rtol=rtol, atol=atol), y0, max_steps=max_steps,
                         throw=False)
    leaves = jax.tree_util.tree_leaves(residual(sol.value, None))
    res = jnp.max(jnp.abs(jnp.concatenate([jnp.ravel(x) for x in leaves])))
    return sol.value, res, sol.stats["num_steps"]


def solve_schwarzschild(r: Float[Array, " n"], A_ends: Float[Array, " 2"], B_ends: Float[Array, " 2"], *,
                        rtol: float | None = None, atol: float | None = None, max_steps: int = 50) -> Solution:
    """Stationary point of :func:`schwarzschild_action` with fixed A, B at r[0] and r[-1].

    The Euler-Lagrange residuals δS/δA_i, δS/δB_i (interior nodes, divided by h) are ``jax.grad`` of
    the discrete action (88); Newton (``optimistix``) starts from the linear interpolation of the
    boundary data. Continuum solution: B = 1 - 2M/r, A = c B with M, c fixed by the data (the
    data must be consistent with it: the reduced equations are first order). Raises on NaN data or
    non-positive A, B ends; non-convergence shows in ``residual``. Newton tolerances default to 1e-12
    in float64 and 1e-5 in float32 (r's dtype).
    """
    A_ends = check_positive(jnp.asarray(A_ends, r.dtype), "A_ends")
    B_ends = check_positive(jnp.asarray(B_ends, r.dtype), "B_ends")
    r = check_positive(check_finite(r, "r"), "r")
    check_positive(_steps(r, "r"), "grid spacing of r")
    if A_ends.shape != (2,) or B_ends.shape != (2,):
        raise ValueError(f"A_ends and B_ends must have shape (2,), got {A_ends.shape}, {B_ends.shape}")
    rtol, atol = solver_tol(rtol, r.dtype, 1e-12), solver_tol(atol, r.dtype, 1e-12)
    return _solve_schwarzschild(r, A_ends, B_ends, rtol, atol, max_steps)


@functools.partial(jax.jit, static_argnums=(3, 4, 5))
def _solve_schwarzschild(r, A_ends, B_ends, rtol, atol, max_steps):
    h = r[1:] - r[:-1]
    s = (r - r[0]) / (r[-1] - r[0])
    lin = lambda e: e[0] + (e[1] - e[0]) * s  # noqa: E731

    def full(y):
        A = lin(A_ends).at[1:-1].set(y[0])
        B = lin(B_ends).at[1:-1].set(y[1])
        return A, B

    def residual(y, _):
        gA, gB = jax.grad(schwarzschild_action, argnums=(0, 1))(*full(y), r)
        hi = 0.5 * (h[1:] + h[:-1])
        return gA[1:-1] / hi, gB[1:-1] / hi

    y, res, steps = _newton(residual, (lin(A_ends)[1:-1], lin(B_ends)[1:-1]), rtol, atol, max_steps)
    return Solution(full(y), res, steps)


def solve_flrw_dust(t: Float[Array, " n"], a_ends: Float[Array, " 2"], *, rho0: float = 1.0,
                    newton_G: float = 1.0, rtol: float | None = None, atol: float | None = None,
                    max_steps: int = 50) -> Solution:
    """Stationary point of :func:`flrw_dust_action` (N = 1) with fixed a(t[0]), a(t[-1]).

    Residual: ``jax.grad`` of the discrete action (88) with respect to the interior a_i, over h; Newton
    (``optimistix``) from the linear interpolation. Continuum: 2aä + ȧ² = 0, a ∝ (t - t_b)^{2/3};
    ρ₀ does not enter this equation (it enters :func:`friedmann_constraint`). Newton tolerances
    default to 1e-12 in float64 and 1e-5 in float32 (t's dtype).
    """
    a_ends = check_positive(jnp.asarray(a_ends, t.dtype), "a_ends")
    t = check_finite(t, "t")
    check_positive(_steps(t, "t"), "grid spacing of t")
    check_positive(newton_G, "newton_G")
    if a_ends.shape != (2,):
        raise ValueError(f"a_ends must have shape (2,), got {a_ends.shape}")
    rtol, atol = solver_tol(rtol, t.dtype, 1e-12), solver_tol(atol, t.dtype, 1e-12)
    return _solve_flrw(t, a_ends, jnp.asarray(rho0, t.dtype), jnp.asarray(newton_G, t.dtype), rtol, atol, max_steps)


@functools.partial(jax.jit, static_argnums=(4, 5, 6))
def _solve_flrw(t, a_ends, rho0, newton_G, rtol, atol, max_steps):
    h = t[1:] - t[:-1]
    lin = a_ends[0] + (a_ends[1] - a_ends[0]) * (t - t[0]) / (t[-1] - t[0])
    full = lambda y: lin.at[1:-1].set(y)  # noqa: E731

    def residual(y, _):
        g = jax.grad(flrw_dust_action)(full(y), t, rho0, newton_G=newton_G)
        return g[1:-1] / (0.5 * (h[1:] + h[:-1]))

    y, res, steps = _newton(residual, lin[1:-1], rtol, atol, max_steps)
    return Solution((full(y),), res, steps)
