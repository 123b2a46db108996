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
* Domains (README "Errors and domains"): r > 0, A > 0 and B > 0 (outside the horizon), a > 0,
  lapse N > 0, ρ₀ ≥ 0, G > 0, grids strictly increasing, no NaN/inf; integer inputs are promoted to
  the floating dtype. A violation is a ``ValueError`` naming the argument (a runtime error
  under jit/vmap/grad: the checks guard the derivatives too), and so is a Newton solve that does not
  converge.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx

from ._checks import as_float, check_scalar, is_traced
from ._config import solver_tol
from ._geometry import _guard
from .types import Array, ArrayLike, Float, FloatScalar, Metric, Real, Scalar

__all__ = ["static_spherical_metric", "flrw_metric", "schwarzschild_lagrangian", "flrw_dust_lagrangian",
           "schwarzschild_action", "flrw_dust_action", "friedmann_constraint", "Solution",
           "solve_schwarzschild", "solve_flrw_dust"]


# ----------------------------------------------------------------------------- ansatz metrics

def _callable(f, name: str, what: str):
    if not callable(f):
        raise TypeError(f"{name} must be a callable {what}, got {type(f).__name__}")
    return f


def _point4(X):
    if jnp.shape(X) != (4,):
        raise ValueError(f"X must be one point of shape (4,), got {jnp.shape(X)}; use jax.vmap to batch")
    return X


def static_spherical_metric(A: Callable, B: Callable) -> Metric:
    """Metric of the static spherical ansatz ds² = -A(r)dt² + dr²/B(r) + r²dΩ² (action (88), §9).

    ``A``, ``B``: scalar functions of r (jax-differentiable). Returns ``X -> g`` for
    X = (t, r, θ, φ), signature (- + + +), for the curvature kernels of :mod:`nnworld_jax.curvature`
    (which check the point and the metric's value there: B = 0 or A = 0 is a degenerate metric).
    """
    _callable(A, "A", "r -> A(r)")
    _callable(B, "B", "r -> B(r)")

    def g(X: Real[ArrayLike, " 4"]) -> Float[Array, "4 4"]:
        r, th = _point4(X)[1], X[2]
        return jnp.diag(jnp.stack([-A(r), 1.0 / B(r), r**2, (r * jnp.sin(th)) ** 2]))

    return g


def flrw_metric(a: Callable, N: Callable | None = None) -> Metric:
    """Flat FLRW metric ds² = -N(t)²dt² + a(t)²(dx² + dy² + dz²) (action (88), §9).

    ``a``, ``N``: scalar functions of t (N defaults to 1). Returns ``X -> g``, X = (t, x, y, z).
    """
    _callable(a, "a", "t -> a(t)")
    if N is not None:
        _callable(N, "N", "t -> N(t)")

    def g(X: Real[ArrayLike, " 4"]) -> Float[Array, "4 4"]:
        t = _point4(X)[0]
        lapse = 1.0 if N is None else N(t)
        a2 = a(t) ** 2
        return jnp.diag(jnp.stack([-(lapse**2) * jnp.ones_like(a2), a2, a2, a2]))

    return g


# ----------------------------------------------------------------------------- reduced Lagrangians

def _floats(_elementwise: bool = False, **arrays):
    """The arrays promoted to one floating dtype (ints never truncate a float); for elementwise
    functions, also checked to broadcast together."""
    arrays = {k: as_float(v, k) for k, v in arrays.items()}
    dtype = jnp.result_type(*arrays.values())
    if not jnp.issubdtype(dtype, jnp.floating):
        raise TypeError(f"arguments must be real, got dtype {dtype}")
    if not _elementwise:
        return [v.astype(dtype) for v in arrays.values()]
    try:
        jnp.broadcast_shapes(*(jnp.shape(v) for v in arrays.values()))
    except ValueError:
        raise ValueError("arguments must have broadcast-compatible shapes, got "
                         + ", ".join(f"{k} {jnp.shape(v)}" for k, v in arrays.items())) from None
    return [v.astype(dtype) for v in arrays.values()]


def _scalar(x, name: str, dtype):
    return check_scalar(as_float(x, name, dtype), name)


def _nonfinite(*arrays):
    return jnp.stack([~jnp.all(jnp.isfinite(a)) for a in arrays])


def schwarzschild_lagrangian(r: Real[ArrayLike, "*b"], A: Real[ArrayLike, "*b"], B: Real[ArrayLike, "*b"],
                             dB: Real[ArrayLike, "*b"]) -> Float[Array, "*b"]:
    """Reduced Einstein-Hilbert Lagrangian of the static spherical ansatz, from action (88):

        L = 2√(A/B) (1 - B - r B'),   √-g R / sin θ = L + d/dr[-r²√(B/A) A'].

    Normalization: S_EH = Δt · 4π/(16πG) ∫ L dr + boundary terms (the prefactor is dropped
    elsewhere in this module). Requires r > 0 and A, B > 0 (outside the horizon); elementwise.
    """
    r, A, B, dB = _floats(True, r=r, A=A, B=B, dB=dB)
    flags = jnp.concatenate([_nonfinite(r, A, B, dB), jnp.stack([jnp.any(r <= 0), jnp.any(A <= 0), jnp.any(B <= 0)])])
    return _guard(_schwarzschild_lagrangian(r, A, B, dB), flags, (
        "r contains NaN or inf", "A contains NaN or inf", "B contains NaN or inf", "dB contains NaN or inf",
        "r must be > 0", "A must be > 0 (outside the horizon)", "B must be > 0 (outside the horizon)"))


def _schwarzschild_lagrangian(r, A, B, dB):
    return 2.0 * jnp.sqrt(A / B) * (1.0 - B - r * dB)


def flrw_dust_lagrangian(a: Real[ArrayLike, "*b"], adot: Real[ArrayLike, "*b"], N: Real[ArrayLike, "*b"],
                         rho0: Scalar, newton_G: Scalar = 1.0) -> Float[Array, "*b"]:
    """Minisuperspace Lagrangian of flat FLRW + dust, action (88) per unit comoving volume:

        L = -3 a ȧ² / (8πG N) - N ρ₀,

    where √-g R/(16πG) = -3aȧ²/(8πG N) + d/dt(3a²ȧ/(8πG N)) and the dust term is -√-g ρ with
    ρ = ρ₀/a³ (reference signature (- + + +), lapse N). Elementwise; a > 0, N > 0, scalars ρ₀ ≥ 0
    and G > 0.
    """
    a, adot, N = _floats(True, a=a, adot=adot, N=N)
    rho0, newton_G = _scalar(rho0, "rho0", a.dtype), _scalar(newton_G, "newton_G", a.dtype)
    flags = jnp.concatenate([_nonfinite(a, adot, N), _dust_flags(rho0, newton_G), jnp.stack([jnp.any(a <= 0), jnp.any(N <= 0)])])
    return _guard(_flrw_dust_lagrangian(a, adot, N, rho0, newton_G), flags, (
        "a contains NaN or inf", "adot contains NaN or inf", "N contains NaN or inf", *_DUST_MESSAGES,
        "a must be > 0", "N (the lapse) must be > 0"))


_DUST_MESSAGES = ("rho0 must be finite and >= 0", "newton_G must be finite and > 0")


def _dust_flags(rho0, newton_G):
    return jnp.stack([~jnp.isfinite(rho0) | (rho0 < 0), ~jnp.isfinite(newton_G) | ~(newton_G > 0)])


def _flrw_dust_lagrangian(a, adot, N, rho0, newton_G):
    return -3.0 * a * adot**2 / (8.0 * jnp.pi * newton_G * N) - N * rho0


# ----------------------------------------------------------------------------- discrete actions

def _steps(x: Real[ArrayLike, " n"], name: str) -> Array:
    if x.ndim != 1 or x.shape[0] < 3:
        raise ValueError(f"{name} must be a 1D grid of at least 3 nodes, got shape {x.shape}")
    return x[1:] - x[:-1]


def _grid_flags(x, name: str):
    """(flags, messages): x finite and strictly increasing."""
    return (jnp.stack([~jnp.all(jnp.isfinite(x)), ~jnp.all(x[1:] > x[:-1])]),
            (f"{name} contains NaN or inf", f"{name} must be strictly increasing (grid spacing of {name} > 0)"))


def _schwarzschild_checks(A, B, r):
    """Promoted (A, B, r) after the static checks, with the flags and messages of their domain."""
    A, B, r = _floats(A=A, B=B, r=r)
    if A.shape != r.shape or B.shape != r.shape:
        raise ValueError(f"A {A.shape}, B {B.shape} and r {r.shape} must have the same shape; use jax.vmap to batch")
    _steps(r, "r")
    flags, messages = _grid_flags(r, "r")
    flags = jnp.concatenate([flags, _nonfinite(A, B), jnp.stack([jnp.any(r <= 0), jnp.any(A <= 0), jnp.any(B <= 0)])])
    messages = (*messages, "A contains NaN or inf", "B contains NaN or inf", "r must be > 0",
                "A must be > 0 (outside the horizon)", "B must be > 0 (outside the horizon)")
    return (A, B, r), flags, messages


def schwarzschild_action(A: Real[ArrayLike, " n"], B: Real[ArrayLike, " n"], r: Real[ArrayLike, " n"]) -> FloatScalar:
    """Discrete reduced action S_h = Σ_cells h L(r_c, Ā, B̄, ΔB/h) of the static spherical ansatz,
    L of :func:`schwarzschild_lagrangian` (action (88), prefactor Δt/(4G) dropped).

    ``A``, ``B``: node values on the radial grid ``r`` (shape (n,), strictly increasing, r > 0),
    A, B > 0. Midpoint rule: second order in h.
    """
    args, flags, messages = _schwarzschild_checks(A, B, r)
    return _guard(_schwarzschild_action(*args), flags, messages)


def _schwarzschild_action(A, B, r):
    h = r[1:] - r[:-1]
    mid = lambda f: 0.5 * (f[1:] + f[:-1])  # noqa: E731
    return jnp.sum(h * _schwarzschild_lagrangian(mid(r), mid(A), mid(B), (B[1:] - B[:-1]) / h))


def _flrw_checks(a, t, rho0, newton_G, lapse=None):
    a, t = _floats(a=a, t=t)
    if a.shape != t.shape:
        raise ValueError(f"a {a.shape} and t {t.shape} must have the same shape; use jax.vmap to batch")
    h = _steps(t, "t")
    rho0, newton_G = _scalar(rho0, "rho0", a.dtype), _scalar(newton_G, "newton_G", a.dtype)
    N = jnp.ones_like(h) if lapse is None else as_float(lapse, "lapse", a.dtype)
    if N.shape != h.shape:
        raise ValueError(f"lapse must have one value per cell, shape {h.shape}, got {N.shape}")
    flags, messages = _grid_flags(t, "t")
    flags = jnp.concatenate([flags, _nonfinite(a, N), _dust_flags(rho0, newton_G),
                             jnp.stack([jnp.any(a <= 0), jnp.any(N <= 0)])])
    messages = (*messages, "a contains NaN or inf", "lapse contains NaN or inf", *_DUST_MESSAGES,
                "a must be > 0", "lapse must be > 0")
    return (a, t, rho0, N, newton_G), flags, messages


def flrw_dust_action(a: Real[ArrayLike, " n"], t: Real[ArrayLike, " n"], rho0: Scalar, *,
                     lapse: Real[ArrayLike, " m"] | None = None, newton_G: Scalar = 1.0) -> FloatScalar:
    """Discrete minisuperspace action S_h = Σ_cells h L(ā, Δa/h, N_c) of flat FLRW + dust,
    L of :func:`flrw_dust_lagrangian` (action (88) per unit comoving volume).

    ``a``: scale factor at the nodes ``t`` (shape (n,), t strictly increasing, a > 0); ``lapse``: N
    per cell (shape (n-1,), > 0, default 1); scalars ρ₀ ≥ 0, G > 0. Midpoint rule: second order in h.
    """
    args, flags, messages = _flrw_checks(a, t, rho0, newton_G, lapse)
    return _guard(_flrw_dust_action(*args), flags, messages)


def _flrw_dust_action(a, t, rho0, N, newton_G):
    h = t[1:] - t[:-1]
    return jnp.sum(h * _flrw_dust_lagrangian(0.5 * (a[1:] + a[:-1]), (a[1:] - a[:-1]) / h, N, rho0, newton_G))


def friedmann_constraint(a: Real[ArrayLike, " n"], t: Real[ArrayLike, " n"], rho0: Scalar,
                         newton_G: Scalar = 1.0) -> Float[Array, " m"]:
    """Lapse variation (∂S_h/∂N_c)/h at N = 1, per cell: 3ā(Δa/h)²/(8πG) - ρ₀, the discrete
    Friedmann constraint H² = 8πGρ/3 of action (88) (zero on the dust solution). Domains as
    :func:`flrw_dust_action`."""
    (a, t, rho0, N, newton_G), flags, messages = _flrw_checks(a, t, rho0, newton_G)
    h = t[1:] - t[:-1]
    out = jax.grad(lambda N: _flrw_dust_action(a, t, rho0, N, newton_G))(N) / h
    return _guard(out, flags, messages)


# ----------------------------------------------------------------------------- solvers

class Solution(NamedTuple):
    """Stationary point of a discrete reduced action: node values with the boundary data."""

    fields: tuple          # (A, B) or (a,)
    residual: FloatScalar  # max |EL residual| at the solution
    steps: Array           # Newton iterations


def _newton(residual, y0, rtol, atol, max_steps):
    sol = optx.root_find(residual, optx.Newton(rtol=rtol, atol=atol), y0, max_steps=max_steps,
                         throw=False)
    leaves = jax.tree_util.tree_leaves(residual(sol.value, None))
    res = jnp.max(jnp.abs(jnp.concatenate([jnp.ravel(x) for x in leaves])))
    failed = (sol.result != optx.RESULTS.successful) | ~jnp.isfinite(res)
    return sol.value, res, sol.stats["num_steps"], failed


_NEWTON_MESSAGE = ("Newton did not converge within max_steps (or hit NaN): raise max_steps, loosen rtol/atol, "
                   "or check that the boundary data admit a solution")


def _solver_options(rtol, atol, max_steps, dtype, default):
    """Static solver options: tolerances finite and > 0 (None: the dtype's default), max_steps an
    integer >= 1 (2.5 or True is an error, never truncated)."""
    if isinstance(max_steps, bool) or not isinstance(max_steps, (int, np.integer)) or max_steps < 1:
        raise ValueError(f"max_steps must be an integer >= 1, got {max_steps!r}")
    out = []
    for name, tol in (("rtol", rtol), ("atol", atol)):
        if tol is not None:
            tol = check_scalar(as_float(tol, name), name)
            if is_traced(tol):
                raise TypeError(f"{name} must be a Python number (a static solver option), not a traced value")
            if not (float(tol) > 0 and np.isfinite(float(tol))):
                raise ValueError(f"{name} must be finite and > 0, got {float(tol)}")
        out.append(solver_tol(None if tol is None else float(tol), dtype, default))
    return out[0], out[1], int(max_steps)


def solve_schwarzschild(r: Real[ArrayLike, " n"], A_ends: Real[ArrayLike, " 2"], B_ends: Real[ArrayLike, " 2"], *,
                        rtol: float | None = None, atol: float | None = None, max_steps: int = 50) -> Solution:
    """Stationary point of :func:`schwarzschild_action` with fixed A, B at r[0] and r[-1].

    The Euler-Lagrange residuals δS/δA_i, δS/δB_i (interior nodes, divided by h) are ``jax.grad`` of
    the discrete action (88); Newton (``optimistix``) starts from the linear interpolation of the
    boundary data. Continuum solution: B = 1 - 2M/r, A = c B with M, c fixed by the data (the
    data must be consistent with it: the reduced equations are first order). Raises (``ValueError``,
    a runtime error under jit/vmap) on NaN data, r ≤ 0 or not increasing, non-positive A, B
    ends, and when Newton does not converge. Newton tolerances default to 1e-12 in float64 and 1e-5
    in float32 (the data's dtype; integers are promoted, never the other way).
    """
    r, A_ends, B_ends = _floats(r=r, A_ends=A_ends, B_ends=B_ends)
    _steps(r, "r")
    if A_ends.shape != (2,) or B_ends.shape != (2,):
        raise ValueError(f"A_ends and B_ends must have shape (2,), got {A_ends.shape}, {B_ends.shape}; "
                         "use jax.vmap to batch")
    rtol, atol, max_steps = _solver_options(rtol, atol, max_steps, r.dtype, 1e-12)
    flags, messages = _grid_flags(r, "r")
    flags = jnp.concatenate([flags, _nonfinite(A_ends, B_ends),
                             jnp.stack([jnp.any(r <= 0), jnp.any(A_ends <= 0), jnp.any(B_ends <= 0)])])
    messages = (*messages, "A_ends contains NaN or inf", "B_ends contains NaN or inf", "r must be > 0",
                "A_ends must be > 0 (outside the horizon)", "B_ends must be > 0 (outside the horizon)", _NEWTON_MESSAGE)
    sol, failed = _solve_schwarzschild(r, A_ends, B_ends, rtol, atol, max_steps)
    # the data checks come first: bad data also makes Newton fail
    return _guard(sol, jnp.concatenate([flags, (~jnp.any(flags) & failed)[None]]), messages)


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
        gA, gB = jax.grad(_schwarzschild_action, argnums=(0, 1))(*full(y), r)
        hi = 0.5 * (h[1:] + h[:-1])
        return gA[1:-1] / hi, gB[1:-1] / hi

    y, res, steps, failed = _newton(residual, (lin(A_ends)[1:-1], lin(B_ends)[1:-1]), rtol, atol, max_steps)
    return Solution(full(y), res, steps), failed


def solve_flrw_dust(t: Real[ArrayLike, " n"], a_ends: Real[ArrayLike, " 2"], *, rho0: Scalar = 1.0,
                    newton_G: Scalar = 1.0, rtol: float | None = None, atol: float | None = None,
                    max_steps: int = 50) -> Solution:
    """Stationary point of :func:`flrw_dust_action` (N = 1) with fixed a(t[0]), a(t[-1]).

    Residual: ``jax.grad`` of the discrete action (88) with respect to the interior a_i, over h; Newton
    (``optimistix``) from the linear interpolation. Continuum: 2aä + ȧ² = 0, a ∝ (t - t_b)^{2/3};
    ρ₀ does not enter this equation (it enters :func:`friedmann_constraint`). Newton tolerances
    default to 1e-12 in float64 and 1e-5 in float32 (the data's dtype). Raises on NaN data, t not
    increasing, a_ends ≤ 0, ρ₀ < 0, G ≤ 0, and when Newton does not converge.
    """
    t, a_ends = _floats(t=t, a_ends=a_ends)
    _steps(t, "t")
    if a_ends.shape != (2,):
        raise ValueError(f"a_ends must have shape (2,), got {a_ends.shape}; use jax.vmap to batch")
    rho0, newton_G = _scalar(rho0, "rho0", t.dtype), _scalar(newton_G, "newton_G", t.dtype)
    rtol, atol, max_steps = _solver_options(rtol, atol, max_steps, t.dtype, 1e-12)
    flags, messages = _grid_flags(t, "t")
    flags = jnp.concatenate([flags, _nonfinite(a_ends), _dust_flags(rho0, newton_G), jnp.any(a_ends <= 0)[None]])
    messages = (*messages, "a_ends contains NaN or inf", *_DUST_MESSAGES, "a_ends must be > 0", _NEWTON_MESSAGE)
    sol, failed = _solve_flrw(t, a_ends, rho0, newton_G, rtol, atol, max_steps)
    return _guard(sol, jnp.concatenate([flags, (~jnp.any(flags) & failed)[None]]), messages)


@functools.partial(jax.jit, static_argnums=(4, 5, 6))
def _solve_flrw(t, a_ends, rho0, newton_G, rtol, atol, max_steps):
    h = t[1:] - t[:-1]
    lin = a_ends[0] + (a_ends[1] - a_ends[0]) * (t - t[0]) / (t[-1] - t[0])
    full = lambda y: lin.at[1:-1].set(y)  # noqa: E731

    def residual(y, _):
        g = jax.grad(_flrw_dust_action)(full(y), t, rho0, jnp.ones_like(h), newton_G)
        return g[1:-1] / (0.5 * (h[1:] + h[:-1]))

    y, res, steps, failed = _newton(residual, lin[1:-1], rtol, atol, max_steps)
    return Solution((full(y),), res, steps), failed
