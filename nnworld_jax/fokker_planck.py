"""Fokker-Planck dynamics of the trainable variables, paper §4, eqs. (18)-(22).

The density p(t, q) of the trainable variables q on a periodic :class:`~nnworld_jax.grid.Grid`
evolves by stochastic learning with constant diffusion D > 0 and drift velocity v = γ∇F
(γ > 0 the learning rate, F(q) the free energy, fixed in time here):

    ∂_t p = ∇·(D ∇p − p v),        v = γ ∇F,                                   (18)-(20)

with the sign of ``docs/conventions.md`` §2: the probability current is J = p v − D∇p, the
stationary state is the Boltzmann density p ∝ exp(γF/D), and

    S = −∫ p log p dᴷq                                                              (21)
    dS/dt = −∫ log p ∂_t p = ∫ ∂_k p (D ∂_k p / p − v_k) = ∫ √p (−4D∇² + ∇·v) √p     (22)

where ∇·v = γ∇²F multiplies √p (it is not an operator on √p). The two parts of (22) are the
stochastic production 4D∫|∇√p|² ≥ 0 and the learning production ∫p ∇·v = γ∫p∇²F (any sign).

A drift that is not the gradient of a periodic F (the Ornstein-Uhlenbeck drift −k(q − c), a linear
force) is passed directly as ``drift``, an array of shape (K, *grid.shape). Such a drift is not
periodic: the box must be large enough that p is ~0 near its faces (where the periodic drift
jumps), and :func:`ornstein_uhlenbeck_drift` centres the well at the box centre c = L/2.

Conventions: fields are sampled at the grid points (point values of the density, not cell
masses); integrals are Σ · cell volume (spectrally accurate on the periodic box); p need not be
normalised, but (21)-(22) are read with ∫p = 1 (:func:`normalize`). One unbatched density per call;
batch with ``jax.vmap``. Functions keep the dtype of ``p``.

Time stepping (:func:`etdrk4`): a :class:`~nnworld_jax.stepping.Stepper` over the layer's
:class:`~nnworld_jax.stepping.State` ``(t, p)``, run by :func:`nnworld_jax.stepping.solve`. The stiff linear
diffusion D∇² is integrated exactly in Fourier space and the drift −∇·(p v) explicitly, by the
fourth-order exponential time-differencing Runge-Kutta scheme ETDRK4 (Cox & Matthews 2002), with
its φ-function coefficients evaluated by contour integrals (Kassam & Trefethen 2005) so that no
cancellation occurs for small |D k² dt|. The zero Fourier mode is untouched by every stage, so
mass is conserved to round-off.

Limitations: F (or the drift) is fixed in time; the stepper is spectral only (``method`` applies
to the kernels); the explicit drift limits the step to dt ≲ 6.5 D/max|v|² (see :func:`etdrk4`);
the ``"flux"`` form of (22) divides by p and needs p bounded away from 0.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import stepping as _stepping
from ._checks import as_float, host_value, is_traced
from ._fields import (_checked_field, _divergence, _gradient, _guard, _guard_finite, _integral, _laplacian,
                      _positive_scalar)
from ._fields import _complex_dtype
from .grid import METHODS, Grid, check_field, fft_wavenumbers
from .stepping import Stepper
from .types import Array, Field, Float, FloatScalar, Scalar, VectorField

__all__ = ["normalize", "ornstein_uhlenbeck_drift", "fokker_planck_rhs", "shannon_entropy",
           "EntropyProduction", "entropy_production_parts", "entropy_production", "etdrk4",
           "FORMS", "NEGATIVE_TOL"]

FORMS = ("flow", "flux", "operator")

#: Negative values of a density down to −NEGATIVE_TOL · max p are accepted as numerical noise: the
#: round-off of FFTs (~1e-16 in float64, ~1e-7 in float32) and the undershoots that any
#: high-order, non-positivity-preserving scheme (spectral derivatives, ETDRK4) makes where p is
#: tiny (up to ~1e-3 of the peak for the first coarse ETDRK4 step of a narrow Gaussian at an L1
#: error of 3e-4). A blow-up, or a field that is not a density, crosses it at once.
NEGATIVE_TOL = 1e-3


# ------------------------------------------------------------------------------------- helpers
def _tolerance(negative_tol):
    if negative_tol is not None and not (isinstance(negative_tol, (int, float)) and 0 <= negative_tol < 1):
        raise ValueError(f"negative_tol must be a number in [0, 1) (a fraction of max p), got {negative_tol!r}")
    return negative_tol


def _negative_tolerance(p: Array, negative_tol: float | None) -> Array:
    """Absolute allowance below zero: ``negative_tol`` (default :data:`NEGATIVE_TOL`) × max |p|."""
    rel = NEGATIVE_TOL if _tolerance(negative_tol) is None else negative_tol
    return rel * jnp.max(jnp.abs(p))


def _check_density(p: Array, negative_tol: float | None, strict: bool = False, what: str = "p") -> Array:
    """NaN/inf or negative values beyond round-off raise (``strict``: any p <= 0 raises)."""
    p = _guard_finite(p, what)
    if strict:
        return _guard(p, p <= 0, f"{what} must be > 0 everywhere for this form (it takes log p or 1/p); "
                                "use form='operator', which needs only p >= 0")
    return _guard(p, p < -_negative_tolerance(p, negative_tol),
                 f"{what} has negative values beyond round-off (below -negative_tol * max p): "
                 "not a density")


def _drift(grid: Grid, F, gamma, drift, method: str, dtype) -> Array:
    """v = γ∇F, or the given drift array; shape (K, *grid.shape)."""
    if (F is None) == (drift is None):
        raise ValueError("give exactly one of F (with gamma) or drift")
    if drift is not None:
        if gamma is not None:
            raise ValueError("gamma multiplies ∇F only; fold it into the drift array instead")
        return _checked_field(grid, drift, "drift", dtype, components=grid.ndim).astype(dtype)
    if gamma is None:
        raise ValueError("F needs the learning rate gamma (drift velocity v = gamma ∇F)")
    F = _checked_field(grid, F, "F", dtype).astype(dtype)
    gamma = _positive_scalar(gamma, "gamma", dtype)
    return gamma * _gradient(grid, F, method)


def _drift_divergence(grid: Grid, F, gamma, drift, drift_divergence, method: str, dtype) -> Array:
    """∇·v: γ∇²F, or ``drift_divergence`` when given, or ∇·drift by ``method``."""
    if (F is None) == (drift is None):
        raise ValueError("give exactly one of F (with gamma) or drift")
    if drift_divergence is not None:
        if drift is None:
            raise ValueError("drift_divergence goes with a drift array, not with F")
        if jnp.shape(drift_divergence) not in ((), grid.shape):
            raise ValueError(f"drift_divergence must be a scalar or have shape {grid.shape}, got "
                             f"{jnp.shape(drift_divergence)}; use jax.vmap to batch")
        div = _guard_finite(as_float(drift_divergence, "drift_divergence", dtype), "drift_divergence")
        return jnp.broadcast_to(div.astype(dtype), grid.shape)
    if F is not None:
        if gamma is None:
            raise ValueError("F needs the learning rate gamma (drift velocity v = gamma ∇F)")
        F = _checked_field(grid, F, "F", dtype).astype(dtype)
        return _positive_scalar(gamma, "gamma", dtype) * _laplacian(grid, F, method)
    return _divergence(grid, _drift(grid, None, gamma, drift, method, dtype), method)


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")


def _density_field(grid: Grid, p, name: str = "p") -> Array:
    """p of ``grid.shape``, integers promoted to float before any parameter takes p's dtype."""
    check_field(p, grid, name)
    return as_float(p, name)


# ----------------------------------------------------------------------------------- densities
def normalize(p: Field, grid: Grid) -> Float[Array, "*grid"]:
    """p / ∫p, the normalisation ∫p dᴷq = 1 under which eqs. (21)-(22) are read.

    p: shape ``grid.shape``, finite, ≥ 0 up to round-off (as :func:`shannon_entropy`), ∫p > 0.
    """
    p = _check_density(_density_field(grid, p), None)
    mass = _integral(grid, p)
    mass = _guard(mass, ~(mass > 0), "p must have a positive integral to be normalised (got ∫p <= 0)")
    return p / mass


def ornstein_uhlenbeck_drift(grid: Grid, k: Scalar, center=None, dtype=None) -> Float[Array, "K *grid"]:
    """The linear (Ornstein-Uhlenbeck) drift v = −k (q − c) for eq. (18), shape (K, *grid.shape).

    It is the drift of a quadratic free energy γF = −(k/2)|q − c|² (whose Boltzmann state
    exp(γF/D) is the Gaussian of variance D/k), which is not periodic: pass the result as
    ``drift=`` on a box large enough that p is ~0 near its faces. ``center`` defaults to the box
    centre c_k = L_k/2; the drift has constant divergence ∇·v = −K k (pass it as
    ``drift_divergence`` to :func:`entropy_production`, since the periodic sawtooth is not
    differentiable at the faces).
    """
    dtype = dtype or jnp.zeros(()).dtype
    k = _positive_scalar(k, "k", dtype)
    if not isinstance(grid, Grid):
        raise TypeError(f"grid must be a Grid, got {type(grid).__name__}")
    c = jnp.asarray([L / 2 for L in grid.lengths]) if center is None else as_float(center, "center", dtype)
    if c.shape != (grid.ndim,):
        raise ValueError(f"center must have shape ({grid.ndim},), got {c.shape}; use jax.vmap to batch")
    c = _guard_finite(c, "center")
    q = grid.mesh(dtype)
    shift = c.astype(dtype).reshape((grid.ndim,) + (1,) * grid.ndim)
    return -k.astype(dtype) * (q - shift)


# ---------------------------------------------------------------------------------- (18)-(20)
def fokker_planck_rhs(p: Field, grid: Grid, D, *, F: Field | None = None,
                      gamma=None, drift: VectorField | None = None,
                      method: str = "spectral") -> Float[Array, "*grid"]:
    """∂_t p of the Fokker-Planck equation, eqs. (18)-(20): ∂_t p = ∇·(D∇p − p v).

    The drift velocity is v = γ∇F (``F`` and ``gamma``), or a given array ``drift`` of shape
    (K, *grid.shape) (e.g. :func:`ornstein_uhlenbeck_drift`; then ``gamma`` must be None). Sign:
    the learning drift climbs F, so the stationary state is p ∝ exp(γF/D) (conventions §2).

    Arguments:
        p: density at the grid points, shape ``grid.shape``.
        grid: the periodic box.
        D: diffusion constant, > 0.
        F, gamma: free energy on the grid and learning rate (> 0); or
        drift: the drift velocity field v.
        method: derivatives, ``"spectral"`` (D∇² with multiplier −|k|², ∇· with the Nyquist mode
            dropped), ``"fd2"`` or ``"fd4"``.

    Returns: ∂_t p, shape and dtype of ``p``; ∫∂_t p = 0 (to round-off) for every method.

    Example:
        >>> from nnworld_jax import set_precision
        >>> set_precision("float64")  # the figures below are float64 ones
        >>> g = Grid((64,))
        >>> F = jnp.cos(g.axis(0))
        >>> p = normalize(jnp.exp(2.0 * F), g)          # Boltzmann state exp(γF/D), γ/D = 2
        >>> bool(jnp.max(jnp.abs(fokker_planck_rhs(p, g, 0.5, F=F, gamma=1.0))) < 1e-12)
        True
    """
    _check_method(method)
    p = _check_density(_density_field(grid, p), None)
    D = _positive_scalar(D, "D", p.dtype)
    v = _drift(grid, F, gamma, drift, method, p.dtype)
    return D * _laplacian(grid, p, method) - _divergence(grid, p[None] * v, method)


# ------------------------------------------------------------------------------------ (21)-(22)
def shannon_entropy(p: Field, grid: Grid, *, negative_tol: float | None = None) -> FloatScalar:
    """Shannon entropy of the density, eq. (21): S = −∫ p log p dᴷq (with 0 log 0 = 0).

    Arguments:
        p: density, shape ``grid.shape``, ≥ 0 (normalise it with :func:`normalize`; S then is the
            differential entropy, ½ log(2πe σ²) per axis for a Gaussian).
        grid: the box; the measure is the cell volume.
        negative_tol: negative values down to −negative_tol · max p (default
            :data:`NEGATIVE_TOL` = 1e-3) are read as numerical noise and counted as 0; below that,
            or NaN/inf: ValueError (eager) or a runtime error (under jit).

    Returns: S, a scalar of p's dtype.
    """
    p = _check_density(_density_field(grid, p), negative_tol)
    pp = jnp.maximum(p, 0)
    return -_integral(grid, jax.scipy.special.xlogy(pp, pp))


class EntropyProduction(NamedTuple):
    """The two parts of eq. (22): ``stochastic`` 4D∫|∇√p|² ≥ 0 and ``learning`` ∫p∇·v = γ∫p∇²F."""

    stochastic: FloatScalar
    learning: FloatScalar

    @property
    def total(self) -> FloatScalar:
        return self.stochastic + self.learning


def entropy_production_parts(p: Field, grid: Grid, D, *, F=None, gamma=None, drift=None,
                             drift_divergence=None, method: str = "spectral",
                             negative_tol: float | None = None) -> EntropyProduction:
    """The split of eq. (22): dS/dt = 4D∫|∇√p|² + ∫ p ∇·v (stochastic + learning).

    The learning part is γ∫p∇²F for ``F``; for a ``drift`` array it is ∫p ∇·v with ∇·v =
    ``drift_divergence`` (a scalar or a field) when given, else the ``method`` divergence of the
    drift (which must then be smooth and periodic). Arguments as :func:`entropy_production`.

    Returns: :class:`EntropyProduction` (``.total`` is dS/dt); for p ∝ exp(γF/D) the parts cancel.
    """
    _check_method(method)
    p = _check_density(_density_field(grid, p), negative_tol)
    D = _positive_scalar(D, "D", p.dtype)
    root = jnp.sqrt(jnp.maximum(p, 0))
    stochastic = 4 * D * _integral(grid, jnp.sum(_gradient(grid, root, method) ** 2, axis=0))
    div_v = _drift_divergence(grid, F, gamma, drift, drift_divergence, method, p.dtype)
    return EntropyProduction(stochastic, _integral(grid, p * div_v))


def entropy_production(p: Field, grid: Grid, D, *, F=None, gamma=None, drift=None,
                       drift_divergence=None, form: str = "flow", method: str = "spectral",
                       negative_tol: float | None = None) -> FloatScalar:
    """Entropy production dS/dt of eq. (22), in one of its three equal forms (conventions §2).

    * ``"flow"``:     −∫ log p ∂_t p, with ∂_t p from :func:`fokker_planck_rhs` (needs p > 0);
    * ``"flux"``:     ∫ ∂_k p (D ∂_k p / p − v_k)  (needs p > 0; where p/max p falls below the
      round-off of ∇p, ~1e-16 in float64, |∇p|²/p is noise over noise: a Gaussian whose tails
      reach 1e-40 on the grid gives garbage, so prefer the other forms there);
    * ``"operator"``: ∫ √p (−4D∇² + ∇·v) √p = −4D∫√p∇²√p + ∫p ∇·v, with ∇·v = γ∇²F
      multiplying √p (needs p ≥ 0); see :func:`entropy_production_parts` for ∇·v of a drift array.

    They agree to round-off for smooth positive p with spectral derivatives (integration by parts
    is exact for the spectral derivative on the periodic grid).

    Arguments:
        p: density, shape ``grid.shape`` (∫p = 1 for the usual reading).
        grid: the periodic box.
        D: diffusion constant, > 0.
        F, gamma / drift, drift_divergence: the drift velocity, as in :func:`fokker_planck_rhs`.
        form: ``"flow"``, ``"flux"`` or ``"operator"``.
        method: ``"spectral"``, ``"fd2"`` or ``"fd4"`` (finite differences: forms agree to O(h^order)).
        negative_tol: round-off allowance for p < 0 in the ``"operator"`` form (see
            :func:`shannon_entropy`).

    Returns: dS/dt, a scalar of p's dtype.

    Example (the conventions §2 test value):
        >>> from nnworld_jax import set_precision
        >>> set_precision("float64")  # the figures below are float64 ones
        >>> g = Grid((256,))
        >>> q = g.axis(0)
        >>> p = normalize(jnp.exp(0.5 * jnp.cos(q) + 0.3 * jnp.sin(2 * q)), g)
        >>> F = jnp.sin(q) + 0.5 * jnp.cos(3 * q)
        >>> round(float(entropy_production(p, g, 0.37, F=F, gamma=1.9)), 12)
        0.044778876065
    """
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, got {form!r}")
    _check_method(method)
    p = _density_field(grid, p)
    D = _positive_scalar(D, "D", p.dtype)
    if form == "operator":
        p = _check_density(p, negative_tol)
        root = jnp.sqrt(jnp.maximum(p, 0))
        div_v = _drift_divergence(grid, F, gamma, drift, drift_divergence, method, p.dtype)
        return _integral(grid, -4 * D * root * _laplacian(grid, root, method) + p * div_v)
    p = _check_density(p, _tolerance(negative_tol), strict=True)
    v = _drift(grid, F, gamma, drift, method, p.dtype)
    if form == "flow":
        rhs = D * _laplacian(grid, p, method) - _divergence(grid, p[None] * v, method)
        return -_integral(grid, jnp.log(p) * rhs)
    grad_p = _gradient(grid, p, method)
    return _integral(grid, jnp.sum(grad_p * (D * grad_p / p[None] - v), axis=0))


# ------------------------------------------------------------------------------- time stepper
def _rfft_wavenumbers(grid: Grid, dtype, xp=jnp) -> tuple[list, list]:
    """Per-axis angular wavenumbers on the ``rfftn`` layout, broadcast to its full shape: the
    plain ones (for ∇²) and the ones with the Nyquist mode zeroed (for first derivatives)."""
    shape = grid.shape[:-1] + (grid.shape[-1] // 2 + 1,)
    ks, ks_odd = [], []
    for a, n in enumerate(grid.shape):
        kk = fft_wavenumbers(n, grid.spacing[a], half=a == grid.ndim - 1)
        odd = kk.copy()
        if n % 2 == 0:
            odd[n // 2] = 0.0
        for out, arr in ((ks, kk), (ks_odd, odd)):
            arr = xp.asarray(arr, dtype).reshape((1,) * a + (-1,) + (1,) * (grid.ndim - a - 1))
            out.append(xp.broadcast_to(arr, shape))
    return ks, ks_odd


def _diffusion_symbol(grid: Grid, D_checked, D):
    """-D|k|² on the ``rfftn`` layout: NumPy float64 for a concrete D (the coefficients are then
    computed in float64 whatever jax's x64 flag), else traced in the widest enabled dtype."""
    if not is_traced(D) and host_value(D_checked) is not None:
        return -float(host_value(D_checked)) * sum(k * k for k in _rfft_wavenumbers(grid, np.float64, xp=np)[0])
    wide = _wide_dtype()
    return -D_checked.astype(wide) * sum(k * k for k in _rfft_wavenumbers(grid, wide)[0])


def _wide_dtype():
    return jnp.zeros((), dtype=float).dtype  # float64 when x64 is on, else float32


def etdrk4(grid: Grid, D, dt, *, F: Field | None = None, gamma=None,
           drift: VectorField | None = None, check_every_step: bool = True,
           negative_tol: float | None = None) -> Stepper:
    """Time stepper for the Fokker-Planck equation (18)-(20): exact diffusion, ETDRK4 drift.

    Splits ∂_t p = L p + N(p) with L = D∇² (diagonal in Fourier space, −D|k|², integrated
    exactly) and N(p) = −∇·(p v) (spectral, Nyquist dropped; evaluated explicitly), and advances
    by the fourth-order ETDRK4 scheme of Cox & Matthews (:func:`nnworld_jax.stepping.etdrk4`, the
    layer's generic ETDRK4 over a linear symbol and a nonlinear term). Global error O(dt⁴). There
    is no diffusive step limit (the stiff modes are damped exactly); the explicit drift sets one on
    the modes diffusion does not damp (|k| ≲ |v|/D): dt ≲ 6.5 D / max|v|² (measured for the
    Ornstein-Uhlenbeck drift from the spectral radius of the step map, 1D and 2D with |v| the
    vector's length). Beyond it a run can look accurate for a while, as the unstable modes start
    at round-off where p ≈ 0, before it blows up; ``check_every_step`` then stops it. Mass (the
    k = 0 mode) is conserved exactly up to round-off.

    Constructor convention of :mod:`nnworld_jax.stepping`: physics inputs (``F`` with ``gamma``,
    or ``drift``: keywords, exactly one of them), grid, coefficient D, dt, options.

    Arguments:
        grid: the periodic box (spectral in every axis).
        D: diffusion constant, > 0.
        dt: time step, > 0.
        F, gamma / drift: the drift velocity v = γ∇F or a drift array, as in
            :func:`fokker_planck_rhs` (fixed in time).
        check_every_step: the layer's failure policy (:func:`nnworld_jax.stepping.guard_state`):
            raise (``equinox`` runtime error under jit, ValueError eagerly) when a step produces
            NaN/inf or p < −negative_tol · max p (default :data:`NEGATIVE_TOL`): the sign of an
            unstable dt or an under-resolved grid, instead of a silent blow-up. Undershoots below
            that level are the scheme's truncation error and are kept (p is not clipped, so mass
            stays exact).
        negative_tol: relative allowance for negative values, see above.

    Returns: :class:`~nnworld_jax.stepping.Stepper` over :class:`~nnworld_jax.stepping.State`
    ``(t, p)``. ``init(p0, t0=0.0)`` validates p0; ``step`` is pure, jit- and vmap-able and keeps
    p's dtype (the coefficients, computed in the widest enabled float type, are cast to it). Run it
    with :func:`nnworld_jax.stepping.solve`.

    Example:
        >>> from nnworld_jax import set_precision
        >>> from nnworld_jax.stepping import solve
        >>> set_precision("float64")  # the figures below are float64 ones
        >>> g = Grid((64,))
        >>> F = jnp.cos(g.axis(0))
        >>> fp = etdrk4(g, 0.5, 0.25, F=F, gamma=1.0)
        >>> run = jax.jit(lambda p: solve(fp, p, n_steps=400))  # jit once, reuse
        >>> state = run(jnp.full(g.shape, 1 / (2 * jnp.pi)))
        >>> target = normalize(jnp.exp(2.0 * F), g)     # relaxes to exp(γF/D) by t = 100
        >>> float(state.t), bool(jnp.max(jnp.abs(state.y - target)) < 1e-12)
        (100.0, True)

    References: S. M. Cox, P. C. Matthews, J. Comput. Phys. 176, 430 (2002); A.-K. Kassam,
    L. N. Trefethen, SIAM J. Sci. Comput. 26, 1214 (2005).
    """
    wide = _wide_dtype()
    if not isinstance(grid, Grid):
        raise TypeError(f"grid must be a Grid, got {type(grid).__name__}")
    _tolerance(negative_tol)
    D_ok = _positive_scalar(D, "D")
    v = _drift(grid, F, gamma, drift, "spectral", wide)
    iks = _rfft_wavenumbers(grid, wide)[1]
    axes = tuple(range(grid.ndim))

    def nonlinear(field):  # N̂ = −∇·(p v) in Fourier space, from the real-space field
        real = field.dtype
        cplx = _complex_dtype(real)  # the spectrum's dtype in the field's precision
        vel = v.astype(real)
        out = jnp.zeros(iks[0].shape, cplx)
        for a in axes:
            out = out - 1j * iks[a].astype(real).astype(cplx) * jnp.fft.rfftn(field * vel[a], axes=axes)
        return out

    def validate(p0):
        return _check_density(_density_field(grid, p0, "p0"), negative_tol, what="p0")

    return _stepping.etdrk4(
        _diffusion_symbol(grid, D_ok, D), nonlinear, dt, shape=grid.shape, name="fokker_planck.etdrk4",
        validate=validate, check_step=check_every_step,
        bad=lambda p: p < -_negative_tolerance(p, negative_tol), domain="finite, p >= -negative_tol * max p",
        hint="dt too large for the drift, or the grid does not resolve p")
