"""One time-stepping layer for every evolution equation of the package (paper §4-§8).

Every stepper of the package is built here and has one shape, in the manner of diffrax's solvers
and jax-md's simulators:

* :class:`State` ``(t, y)``: the time ``t`` (a 0-d array of y's real floating dtype) and the
  solution ``y`` (any pytree of arrays: a density, a pair (p, F), a wave function, a
  characteristic);
* :class:`Stepper` ``(init, step)``: ``init(y0, t0=0.0) -> State`` validates y0 and t0;
  ``step(state) -> State`` advances by one fixed step dt (pure, jit-, vmap- and grad-able);
* :func:`solve`: the one driver, ``solve(stepper, y0, *, t0=0.0, n_steps, save_every=0)``.
  ``save_every=0`` returns the final :class:`State` (``lax.fori_loop``; ``n_steps`` may be
  traced); ``save_every=s > 0`` returns a :class:`State` whose leaves carry a leading time axis of
  length ``n_steps // s + 1``: the initial state first, then the states after s, 2s, ... steps
  (``lax.scan``; ``n_steps`` static and a multiple of s).

Schemes (each returns a :class:`Stepper`):

* :func:`ode_stepper`: dy/dt = f(t, y) by one of diffrax's fixed-step explicit Runge-Kutta solvers
  (:data:`SOLVERS`: ``"rk4"`` is the classical fourth-order tableau run by diffrax's Runge-Kutta
  machinery; ``"tsit5"``, ``"dopri5"``, ``"heun"``, ... are diffrax's own). There is no hand-written
  Runge-Kutta loop in the package.
* :func:`etdrk4`: ∂_t u = L u + N(u) for a real field u on a periodic box, L diagonal in Fourier
  space (its ``symbol`` on the ``rfftn`` layout) and integrated exactly, N explicit, by the
  fourth-order exponential time-differencing Runge-Kutta scheme of Cox & Matthews (2002) with the
  φ-function coefficients by the contour integrals of Kassam & Trefethen (2005).
* :func:`shift_rk4`: the classical RK4 step of a linear flow dy/dt = r (P - I) y written exactly as
  the five-tap stencil Σ_j β_j P^j y (one pass over y; P a permutation or any linear map given by
  its powers), the scheme of eq. (61).
* :func:`from_update`: any other one-step map ``y ↦ update(t, y)`` (the split-step propagators of
  eq. (36)) with the same init, time bookkeeping and failure policy.

Failure policy (one for every stepper): a step whose result leaves the state's domain (NaN/inf,
plus the scheme's own condition such as p > 0) raises ``ValueError`` eagerly and an ``equinox``
runtime error under jit, with the message ``"<stepper>: a step left the domain of the state
(<domain>): <hint>"``. Steppers whose step maps finite states to finite states by construction
(the unitary split steps, whose sub-steps are phases of finite arguments) say so and skip the check.

Constructor convention of the physics steppers: ``scheme(physics inputs, grid, Coefficients, dt,
*, options)`` (e.g. :func:`nnworld_jax.entropic.entropic_stepper`, :func:`nnworld_jax.quantum.split_step`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import diffrax
import jax
import jax.numpy as jnp
import numpy as np

from ._checks import (
    all_concrete,
    as_float,
    check,
    check_count,
    check_positive,
    check_scalar,
    host_value,
    is_traced,
)
from ._fields import _cis, _complex_dtype
from .types import Array, FloatScalar, PyTree

__all__ = ["State", "Stepper", "solve", "from_update", "ode_stepper", "RK4", "SOLVERS", "etdrk4",
           "etdrk4_coefficients", "shift_rk4", "shift_rk4_taps", "guard_state"]


class State(NamedTuple):
    """The state of every stepper: time ``t`` (0-d, the real floating dtype of ``y``) and solution ``y``."""

    t: FloatScalar
    y: PyTree


class Stepper(NamedTuple):
    """A pure ``(init, step)`` pair: ``init(y0, t0=0.0) -> State`` and ``step(State) -> State``."""

    init: Callable[..., State]
    step: Callable[[State], State]


# --------------------------------------------------------------------------------------- driver
def _n_steps(n, saving: bool):
    """A concrete step count (integer >= 0), or a traced one (integer scalar, checked >= 0 at run
    time) when nothing is saved."""
    if is_traced(n):
        if saving:
            raise TypeError("n_steps must be an integer known at trace time when save_every > 0 "
                            "(it sets the length of the saved axis), got a traced value")
        if jnp.shape(n) != () or not jnp.issubdtype(jnp.result_type(n), jnp.integer):
            raise TypeError(f"n_steps must be an integer scalar, got dtype {jnp.result_type(n)} shape {jnp.shape(n)}")
        return check(n, n < 0, "n_steps must be an integer >= 0")
    if isinstance(n, (jax.Array, np.ndarray)) and n.shape == () and jnp.issubdtype(n.dtype, jnp.integer):
        n = int(n)
    return check_count(n, "n_steps", 0)


def _drive(step: Callable[[State], State], state: State, n_steps, save_every: int) -> State:
    """Apply ``step`` ``n_steps`` times from ``state`` (counts already checked)."""
    if save_every == 0:
        return jax.lax.fori_loop(0, n_steps, lambda _, s: step(s), state)

    def chunk(s, _):
        s = jax.lax.fori_loop(0, save_every, lambda _, x: step(x), s)
        return s, s

    _, saved = jax.lax.scan(chunk, state, None, length=n_steps // save_every)
    return jax.tree.map(lambda a, b: jnp.concatenate([a[None], b]), state, saved)


def _check_save_every(save_every, n_steps) -> int:
    save_every = check_count(save_every, "save_every", 0)
    if save_every and n_steps % save_every:
        raise ValueError(f"save_every = {save_every} must divide n_steps = {n_steps}")
    return save_every


def solve(stepper: Stepper, y0: PyTree | State, *, t0=None, n_steps, save_every: int = 0) -> State:
    """Integrate from ``y0`` at ``t0`` by ``n_steps`` steps of ``stepper``: the package's one driver.

    Arguments:
        stepper: a :class:`Stepper` (any ``(init, step)`` pair of this layer).
        y0: the initial solution (the pytree ``stepper.init`` takes; checked there), or a
            :class:`State` to continue from (a state the stepper produced: taken as it is, with its
            own time).
        t0: initial time, a finite scalar (default 0; not allowed with a :class:`State`).
        n_steps: number of steps, an integer >= 0; may be traced when ``save_every == 0``
            (``lax.fori_loop``, then forward-mode only), else a Python integer (``lax.scan``).
        save_every: 0 (return the final state) or s >= 1 dividing ``n_steps``.

    Returns: the final :class:`State`; or, for ``save_every = s``, a :class:`State` whose leaves
    have a leading axis of length ``n_steps // s + 1``: the initial state, then every s-th state
    (times t0, t0 + s·dt, ...). The initial state is always included.

    Example:
        >>> from nnworld_jax import set_precision
        >>> set_precision("float64")  # the figures below are float64 ones
        >>> decay = ode_stepper(lambda t, y: -y, 0.1)
        >>> out = solve(decay, jnp.ones(2), n_steps=10, save_every=5)   # y(t) = e^{-t}
        >>> [round(float(t), 12) for t in out.t], round(float(out.y[-1, 0]), 5)
        ([0.0, 0.5, 1.0], 0.36788)
    """
    if not (isinstance(stepper, tuple) and len(stepper) == 2 and all(callable(f) for f in stepper)):
        raise TypeError(f"stepper must be a Stepper (init, step), got {type(stepper).__name__}")
    save_every = check_count(save_every, "save_every", 0)
    n_steps = _n_steps(n_steps, saving=save_every > 0)
    if save_every:
        _check_save_every(save_every, n_steps)
    if isinstance(y0, State):
        if t0 is not None:
            raise ValueError("t0 must not be given with a State (the state carries its own time)")
        state = _check_continued(y0)
    else:
        state = stepper[0](y0, 0.0 if t0 is None else t0)
    return _drive(stepper[1], state, n_steps, save_every)


# -------------------------------------------------------------------------- the common policy
def _check_continued(state: State) -> State:
    """A state to continue from is checked as an initial one is: finite (a step that keeps NaN, such
    as a split-step propagator, would otherwise carry it through silently)."""
    def finite(x):
        x = jnp.asarray(x)
        if not jnp.issubdtype(x.dtype, jnp.inexact):
            return x
        return check(x, ~jnp.isfinite(x), "y0 (a State to continue from) contains NaN or inf")

    return jax.tree.map(finite, state)


def _real_dtype(y):
    leaves = jax.tree.leaves(y)
    if not leaves:
        raise ValueError("y0 must hold at least one array")
    # A dtype query, no arithmetic: the standard lattice (integer and float leaves) even under strict promotion.
    with jax.numpy_dtype_promotion("standard"):
        return jnp.finfo(jnp.result_type(*leaves)).dtype


def _default_validate(y0):
    """Every leaf promoted to float (integers never truncated) with one common dtype, and finite."""
    leaves, tree = jax.tree.flatten(y0)
    leaves = [as_float(x, "y0") for x in leaves]
    if not leaves:
        raise ValueError("y0 must hold at least one array")
    dtype = jnp.result_type(*leaves)
    leaves = [x.astype(dtype) for x in leaves]
    return jax.tree.unflatten(tree, [check(x, ~jnp.isfinite(x), "y0 contains NaN or inf") for x in leaves])


def _time(t0, dtype):
    t0 = check_scalar(as_float(t0, "t0", dtype), "t0")
    return check(t0, ~jnp.isfinite(t0), "t0 contains NaN or inf").astype(dtype)


def guard_state(y: PyTree, name: str, *, bad=None, domain: str = "finite", hint: str = "") -> PyTree:
    """The one failure policy of the layer: ``y`` unchanged, or an error when a leaf holds NaN/inf
    or ``bad`` (a boolean array, the scheme's own domain condition) has a True entry.

    Message: ``"<name>: a step left the domain of the state (<domain>): <hint>"``; ``ValueError``
    eagerly, an ``equinox`` runtime error under jit/vmap/grad."""
    flags = [jnp.any(~jnp.isfinite(x)) for x in jax.tree.leaves(y)]
    if bad is not None:
        flags.append(jnp.any(bad))
    message = f"{name}: a step left the domain of the state ({domain})" + (f": {hint}" if hint else "")
    return check(y, jnp.any(jnp.stack(flags)), message)


def _dt(dt, name: str = "dt"):
    dt = check_scalar(as_float(dt, name), name)
    dt = check(dt, ~jnp.isfinite(dt), f"{name} contains NaN or inf")
    return check(dt, dt == 0, f"{name} must be nonzero")


def from_update(update: Callable[[Array, PyTree], PyTree], dt, *, name: str, validate: Callable | None = None,
                check_step: bool = True, bad: Callable[[PyTree], Array] | None = None, domain: str = "finite",
                hint: str = "") -> Stepper:
    """A :class:`Stepper` from a one-step map ``y_{n+1} = update(t_n, y_n)`` of a fixed step ``dt``.

    The layer supplies the rest: ``init(y0, t0=0.0)`` runs ``validate(y0)`` (default: leaves as
    floats of one dtype, finite) and casts t0 to y's real dtype; ``step`` applies ``update``, checks
    the result by :func:`guard_state` (``check_step``; ``bad(y)`` adds the scheme's domain
    condition) and advances t by dt (cast to t's dtype).

    Arguments:
        update: ``(t, y) -> y`` over one step (pure).
        dt: the step, a finite nonzero scalar (traced is fine; negative runs backwards).
        name: the stepper's name in error messages.
    """
    dt = _dt(dt)
    validate = _default_validate if validate is None else validate

    def init(y0: PyTree, t0=0.0) -> State:
        y0 = validate(y0)
        return State(_time(t0, _real_dtype(y0)), y0)

    def step(state: State) -> State:
        y = update(state.t, state.y)
        if check_step:
            y = guard_state(y, name, bad=None if bad is None else bad(y), domain=domain, hint=hint)
        return State(state.t + dt.astype(state.t.dtype), y)

    return Stepper(init, step)


# ------------------------------------------------------------------------- diffrax Runge-Kutta
_RK4_TABLEAU = diffrax.ButcherTableau(
    c=np.array([0.5, 0.5, 1.0]),
    b_sol=np.array([1 / 6, 1 / 3, 1 / 3, 1 / 6]),
    b_error=np.zeros(4),  # no embedded method: fixed steps only
    a_lower=(np.array([0.5]), np.array([0.0, 0.5]), np.array([0.0, 0.0, 1.0])),
)


class RK4(diffrax.AbstractERK):
    """The classical fourth-order Runge-Kutta method as a diffrax explicit Runge-Kutta tableau
    (fixed steps only: it has no embedded error estimate)."""

    tableau = _RK4_TABLEAU
    interpolation_cls = diffrax.LocalLinearInterpolation

    def order(self, terms):
        del terms
        return 4


SOLVERS: dict[str, Callable[[], diffrax.AbstractSolver]] = {
    "euler": diffrax.Euler, "heun": diffrax.Heun, "midpoint": diffrax.Midpoint, "ralston": diffrax.Ralston,
    "bosh3": diffrax.Bosh3, "rk4": RK4, "tsit5": diffrax.Tsit5, "dopri5": diffrax.Dopri5, "dopri8": diffrax.Dopri8,
}
"""Fixed-step explicit solvers of :func:`ode_stepper`, by name (orders 1, 2, 2, 2, 3, 4, 5, 5, 8)."""


def ode_stepper(vector_field: Callable[[Array, PyTree], PyTree], dt, *, solver: str | diffrax.AbstractSolver = "rk4",
                name: str = "ode_stepper", validate: Callable | None = None, check_step: bool = True,
                bad: Callable[[PyTree], Array] | None = None, domain: str = "finite",
                hint: str = "reduce dt, or the solution blows up") -> Stepper:
    """Fixed-step integration of dy/dt = f(t, y) by a diffrax solver: the layer's generic ODE stepper.

    One step is ``solver.step`` of diffrax over [t, t + dt] with the term ``ODETerm(f)`` (the
    solver state is rebuilt every step, so first-same-as-last solvers spend one extra evaluation of
    f per step and the :class:`State` stays ``(t, y)``).

    Arguments:
        vector_field: ``f(t, y) -> dy/dt``, the same pytree structure as y (pure).
        dt: fixed step, finite and nonzero (negative integrates backwards); may be traced.
        solver: a key of :data:`SOLVERS` (default ``"rk4"``, global error O(dt⁴)) or a diffrax
            explicit solver instance.
        name, validate, check_step, bad, domain, hint: as :func:`from_update` (the failure policy).

    Returns: :class:`Stepper`.

    Example:
        >>> from nnworld_jax import set_precision
        >>> set_precision("float64")  # the figures below are float64 ones
        >>> osc = ode_stepper(lambda t, y: (y[1], -y[0]), 0.01, solver="tsit5")
        >>> s = solve(osc, (jnp.array(1.0), jnp.array(0.0)), n_steps=314)
        >>> round(float(s.y[0]), 4), round(float(s.t), 2)
        (-1.0, 3.14)
    """
    if not callable(vector_field):
        raise TypeError(f"vector_field must be a callable f(t, y), got {type(vector_field).__name__}")
    if isinstance(solver, str):
        if solver not in SOLVERS:
            raise ValueError(f"solver must be one of {tuple(SOLVERS)} or a diffrax solver, got {solver!r}")
        solver = SOLVERS[solver]()
    elif not isinstance(solver, diffrax.AbstractSolver):
        raise TypeError(f"solver must be a name in {tuple(SOLVERS)} or a diffrax solver, got {type(solver).__name__}")
    term = diffrax.ODETerm(lambda t, y, args: vector_field(t, y))
    dt_checked = _dt(dt)

    def update(t, y):
        h = dt_checked.astype(t.dtype)
        state = solver.init(term, t, t + h, y, None)
        y1, _, _, _, _ = solver.step(term, t, t + h, y, None, state, made_jump=False)
        return y1

    return from_update(update, dt_checked, name=name, validate=validate, check_step=check_step, bad=bad,
                       domain=domain, hint=hint)


# ------------------------------------------------------------------------------------- ETDRK4
def _contour_terms(r, exp):
    er, er2 = exp(r), exp(r / 2)
    return ((er2 - 1) / r,
            (-4 - r + er * (4 - 3 * r + r * r)) / r**3,
            (2 + r + er * (r - 2)) / r**3,
            (-4 - 3 * r - r * r + er * (4 - r)) / r**3)


def _wide_dtype():
    return jnp.zeros((), dtype=float).dtype  # float64 when x64 is on, else float32


def etdrk4_coefficients(symbol, dt, n_contour: int = 32) -> tuple[Array, ...]:
    """(E, E2, Q, f1, f2, f3) of ETDRK4 for the diagonal linear operator with real ``symbol`` L and step dt.

    E = e^{z}, E2 = e^{z/2} (z = dt·L), and the φ-function weights
    Q = dt (e^{z/2} - 1)/z, f1 = dt (-4 - z + e^z(4 - 3z + z²))/z³, f2 = dt (2 + z + e^z(z - 2))/z³,
    f3 = dt (-4 - 3z - z² + e^z(4 - z))/z³, each as the mean over ``n_contour`` points of the upper
    unit half-circle around z (Kassam & Trefethen 2005): no cancellation for small |z|.

    Concrete ``symbol`` and ``dt`` on the host: NumPy in float64 (whatever jax's x64 flag), then the
    widest enabled float dtype. Traced: a rolled ``fori_loop`` over the contour points.
    """
    wide = _wide_dtype()
    n_contour = check_count(n_contour, "n_contour", 4)
    host_L, host_dt = host_value(symbol), host_value(dt)
    if host_L is not None and host_dt is not None and all_concrete(symbol, dt):
        z = float(host_dt) * np.asarray(host_L, np.float64)
        acc = [np.zeros_like(z) for _ in range(4)]
        for j in range(n_contour):
            r = z + np.exp(1j * np.pi * (j + 0.5) / n_contour)
            acc = [a + t.real for a, t in zip(acc, _contour_terms(r, np.exp))]
        out = (np.exp(z), np.exp(z / 2)) + tuple(float(host_dt) * a / n_contour for a in acc)
        return tuple(jnp.asarray(c, wide) for c in out)
    dt = jnp.asarray(dt, wide)
    z = dt * jnp.asarray(symbol, wide)

    def add(j, acc):  # r = z + e^{iπ(j + ½)/n}, cast explicitly (strict dtype promotion)
        e = _cis(jnp.pi * (j.astype(wide) + 0.5) / n_contour)
        r = z.astype(e.dtype) + e
        return tuple(a + jnp.real(t) for a, t in zip(acc, _contour_terms(r, jnp.exp)))

    acc = jax.lax.fori_loop(0, n_contour, add, tuple(jnp.zeros_like(z) for _ in range(4)))
    return (jnp.exp(z), jnp.exp(z / 2)) + tuple(dt * a / n_contour for a in acc)


def etdrk4(symbol, nonlinear: Callable[[Array], Array], dt, *, shape: tuple[int, ...], name: str = "etdrk4",
           validate: Callable | None = None, check_step: bool = True, bad: Callable[[Array], Array] | None = None,
           domain: str = "finite", hint: str = "reduce dt or refine the grid") -> Stepper:
    """ETDRK4 for ∂_t u = L u + N(u): a real field u on a periodic box, L diagonal in Fourier space.

    The linear part is integrated exactly (factors e^{dt L}, e^{dt L/2}), the nonlinear part by the
    fourth-order exponential Runge-Kutta stages of Cox & Matthews (2002) (a, b, c stages and the
    update u_{n+1} = E û + f1 N̂(u) + 2 f2 (N̂(a) + N̂(b)) + f3 N̂(c)); coefficients from
    :func:`etdrk4_coefficients`. Global error O(dt⁴). Autonomous: L and N do not depend on t.

    Arguments:
        symbol: L on the ``rfftn`` layout of ``shape`` (shape[:-1] + (shape[-1]//2 + 1,)), real
            (e.g. -D|k|² for diffusion).
        nonlinear: ``N̂(u)``, the ``rfftn`` (over all axes) of the nonlinear term at the real field
            u, on the same layout (returning it in Fourier space saves a transform when N is a
            derivative, as the drift -∇·(p v) of eq. (18)).
        dt: step > 0 (concrete or traced).
        shape: the field's shape.
        name, validate, check_step, bad, domain, hint: as :func:`from_update`.

    Returns: :class:`Stepper` over u; the coefficients (computed in the widest float dtype) are cast
    to u's dtype in ``step``. The k = 0 mode of a conservative N (N̂ = 0 at k = 0) is untouched.

    References: S. M. Cox, P. C. Matthews, J. Comput. Phys. 176, 430 (2002); A.-K. Kassam,
    L. N. Trefethen, SIAM J. Sci. Comput. 26, 1214 (2005).
    """
    shape = tuple(check_count(n, "shape", 1) for n in shape)
    layout = shape[:-1] + (shape[-1] // 2 + 1,)
    if jnp.shape(symbol) != layout:
        raise ValueError(f"symbol must have the rfftn layout shape {layout} of the field shape {shape}, "
                         f"got {jnp.shape(symbol)}")
    if not callable(nonlinear):
        raise TypeError(f"nonlinear must be a callable u -> N̂(u), got {type(nonlinear).__name__}")
    dt_checked = check_positive(check_scalar(as_float(dt, "dt"), "dt"), "dt")
    host_L = host_value(symbol)
    if host_L is not None:  # kept in its own precision (float64 NumPy) for the coefficients
        if not np.all(np.isfinite(host_L)):
            raise ValueError("symbol contains NaN or inf")
        symbol = host_L
    else:
        symbol = check(jnp.asarray(symbol), ~jnp.isfinite(jnp.asarray(symbol)), "symbol contains NaN or inf")
    exact_dt = isinstance(dt, (int, float)) and not isinstance(dt, bool)  # a Python number: used as is
    coeffs = etdrk4_coefficients(symbol, dt if exact_dt else dt_checked)
    axes = tuple(range(len(shape)))

    def update(t, u):
        real = u.dtype
        # Real coefficients in u's precision, then complex: they multiply spectra (strict dtype promotion).
        E, E2, Q, f1, f2, f3 = (c.astype(real).astype(_complex_dtype(real)) for c in coeffs)

        def to_real(fh):
            return jnp.fft.irfftn(fh, s=shape, axes=axes).astype(real)

        uh = jnp.fft.rfftn(u, axes=axes)
        n_u = nonlinear(u)
        ah = E2 * uh + Q * n_u
        n_a = nonlinear(to_real(ah))
        bh = E2 * uh + Q * n_a
        n_b = nonlinear(to_real(bh))
        ch = E2 * ah + Q * (2 * n_b - n_u)
        n_c = nonlinear(to_real(ch))
        return to_real(E * uh + f1 * n_u + 2 * f2 * (n_a + n_b) + f3 * n_c)

    def validate_field(u0):
        u0 = (_default_validate if validate is None else validate)(u0)
        if jnp.shape(u0) != shape:
            raise ValueError(f"y0 must have shape {shape}, got {jnp.shape(u0)}")
        return u0

    return from_update(update, dt_checked, name=name, validate=validate_field, check_step=check_step, bad=bad,
                       domain=domain, hint=hint)


# ------------------------------------------------------------------ the permutation stencil
def shift_rk4_taps(c: float) -> tuple[float, ...]:
    """β_0..β_4 with RK4 on dy/dt = r(P - I)y equal to y ↦ Σ_j β_j P^j y, c = r·dt.

    RK4 on a linear flow is the Taylor polynomial p(z) = Σ_{k≤4} z^k/k! of z = c(P - I); expanded
    in powers of P, β_j = Σ_{k=j}^{4} c^k/k! C(k, j) (-1)^{k-j} (so Σ_j β_j = 1: constants are kept).
    """
    if isinstance(c, bool) or is_traced(c) or not isinstance(c, (int, float)) or not math.isfinite(c):
        raise ValueError(f"c must be a finite number (r·dt), got {c!r}")
    c = float(c)
    return tuple(sum(c**k / math.factorial(k) * math.comb(k, j) * (-1) ** (k - j) for k in range(j, 5))
                 for j in range(5))


def shift_rk4(powers: Callable[[Array, int], Array], rate, dt, *, name: str = "shift_rk4",
              validate: Callable | None = None, rate_name: str = "rate") -> Stepper:
    """Classical RK4 for the linear flow dy/dt = r (P - I) y as the exact five-tap stencil of eq. (61).

    y ↦ Σ_{j=0}^{4} β_j P^j y with β from :func:`shift_rk4_taps` (r·dt): the same map as four RK4
    stages of the vector field r(P - I)y (equal up to round-off, one fused pass instead of four). For
    a permutation P (the shift π of eq. (60)) the taps are gathers or rolls: O(N) per step, no N×N
    matrix. A convex combination of finite values with finite taps stays finite, so no check runs
    per step.

    Arguments:
        powers: ``(y, j) -> P^j y`` for j = 0..4 (j = 0 must return y).
        rate, dt: r > 0 and dt > 0, concrete finite numbers (the taps are static).
        name, validate: as :func:`from_update`; ``rate_name`` names r in error messages.
    """
    vals = []
    for arg, v in ((rate_name, rate), ("dt", dt)):
        if isinstance(v, bool) or is_traced(v) or jnp.shape(v) != ():
            raise ValueError(f"{arg} must be finite and > 0 (a concrete scalar), got {v!r}")
        v = float(v)
        if not (v > 0 and math.isfinite(v)):
            raise ValueError(f"{arg} must be finite and > 0, got {v}")
        vals.append(v)
    if not callable(powers):
        raise TypeError(f"powers must be a callable (y, j) -> P^j y, got {type(powers).__name__}")
    rate, dt = vals
    beta = shift_rk4_taps(rate * dt)

    def update(t, y):
        return sum(b * powers(y, j) for j, b in enumerate(beta))

    return from_update(update, dt, name=name, validate=validate, check_step=False)
