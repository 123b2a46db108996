"""Strings, paper §8 (eqs. (66)-(76)): the π/πᵀ ensemble and its wave equation, the Polyakov and
Nambu-Goto actions on a world-sheet lattice, Virasoro constraints, and minimal surfaces.

Conventions (``docs/conventions.md`` §5):

* Ensemble (66)-(72): x⁻ evolves with π, dx⁻/dτ = α(π - I)x⁻ (right-mover), x⁺ with πᵀ,
  dx⁺/dτ = α(πᵀ - I)x⁺ (left-mover), from the same x(0). G(π) = G(πᵀ) = 2I - π - πᵀ (67). The
  average x̄ = ½(x⁻ + x⁺) obeys exactly ∂²_τx̄ = αΛ∂_τx̄ + α²Λx̄ with Λ = π + πᵀ - 2I; with σ = i/α
  this is the wave equation (73) plus (1/α)∂²_σ∂_τx̄. Its solution tends to d'Alembert's
  ½[f(σ-τ) + f(σ+τ)] with first correction (τ/4α)[f''(σ-τ) + f''(σ+τ)] (Poisson spreading).
* World sheet: coordinates (τ, σ) on a periodic :class:`~nnworld_jax.grid.Grid` of shape
  (Nτ, Nσ); the embedding X^μ(τ, σ), μ = 0..D, is X = v τ + Y with a constant drift v (D+1,)
  (so X⁰ = τ-like time coordinates fit a periodic lattice) and Y periodic, shape (D+1, Nτ, Nσ).
  Target metric η (default Minkowski diag(-1, 1, ..., 1)); world-sheet metric h_ab (default the
  conformal gauge diag(-1, 1)), constant (2, 2) or a field (2, 2, Nτ, Nσ).
* Polyakov (76), with the conventions' index fix (the second factor carries ν):
  S_P = -(T/2) ∫ dτ dσ √|h| h^{ab} ∂_aX^μ ∂_bX^ν η_μν. Nambu-Goto: S_NG = -T ∫ √(-det γ),
  γ_ab = ∂_aX·∂_bX (Euclidean target: +T ∫ √det γ, the area). The integral is the lattice sum
  times the cell volume; equations of motion are ``jax.grad`` of it divided by the cell volume.
* Virasoro (75): T_±± = ∂_±X·∂_±X with ∂_± = ½(∂_τ ± ∂_σ); zero on physical solutions.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx

from ._checks import as_float, check, is_traced, under_vmap
from ._config import dtype_tol
from ._fields import (_check_method, _derivative, _finite_scalar, _guard, _guard_finite, _is_integer,
                      _positive_scalar)
from .grid import Grid
from .hidden import poisson_shift_exact
from .stepping import shift_rk4, solve
from .types import Array, ArrayLike, Float, FloatScalar, Real

__all__ = [
    "ensemble_exact", "ensemble_simulate", "dalembert", "dalembert_correction",
    "minkowski", "worldsheet_derivatives", "polyakov_density", "polyakov_action", "polyakov_eom",
    "nambu_goto_density", "nambu_goto_action", "virasoro_residuals",
    "GOLDSCHMIDT_RATIO", "GoldschmidtError", "catenoid_parameter", "catenoid_profile",
    "ring_surface_area", "RingSurface", "minimize_ring_surface",
]


# ---------------------------------------------------------------------------------------------
# The π/πᵀ ensemble, eqs. (66)-(73)


def _vector(x, name: str, dtype=None, min_size: int = 1) -> Array:
    x = as_float(x, name, dtype)
    if x.ndim != 1 or x.shape[0] < min_size:
        raise ValueError(f"{name} must have shape (N,) with N >= {min_size}, got {x.shape}; use jax.vmap to batch")
    return _guard_finite(x, name)


def _count(n, name: str, lo: int) -> int:
    if isinstance(n, bool) or not _is_integer(n) or n < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, got {n!r}")
    return int(n)


def _callable(f, name: str):
    if not callable(f):
        raise TypeError(f"{name} must be a callable of sigma, got {type(f).__name__}")
    return f


def _concrete_positive(x, name: str) -> float:
    """A concrete, finite, > 0 Python float (the catenoid routines run outside jit)."""
    try:
        if isinstance(x, (str, bytes)):
            raise TypeError(type(x).__name__)
        v = float(x)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name} must be a finite number > 0, got {x!r}") from e
    if isinstance(x, bool) or not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {x!r}")
    return v


def ensemble_exact(x0: Real[ArrayLike, " N"], alpha, tau) -> Float[Array, "2 N"]:
    """(x⁻(τ), x⁺(τ)) of eqs. (66)-(72), exactly, by FFT on the single N-cycle.

    x⁻ solves dx/dτ = α(π - I)x (multiplier exp(ατ(e^{-ik} - 1))), x⁺ solves dx/dτ = α(πᵀ - I)x
    (multiplier exp(ατ(e^{ik} - 1)), the mirror image). The average x̄ = ½(x⁻ + x⁺) is their mean.
    """
    x0 = _vector(x0, "x0", min_size=2)  # x0: (N,), N >= 2, finite; alpha > 0 and tau finite scalars
    alpha, tau = _positive_scalar(alpha, "alpha", x0.dtype), _finite_scalar(tau, "tau", x0.dtype)
    xm = poisson_shift_exact(x0, alpha, tau)
    xp = jnp.flip(poisson_shift_exact(jnp.flip(x0), alpha, tau))
    return jnp.stack([xm, xp])


def ensemble_simulate(x0: Real[ArrayLike, " N"], alpha, dt, steps: int) -> Float[Array, "2 N"]:
    """(x⁻, x⁺) at τ = steps·dt by RK4 on the neuron level (``jnp.roll``, no N×N matrix).

    The independent route to :func:`ensemble_exact` (eqs. (66)-(72)); error O((α dt)⁴). Both rows
    advance together as one state of the layer's five-tap RK4 stencil
    (:func:`nnworld_jax.stepping.shift_rk4`, as :func:`nnworld_jax.hidden.permutation_flow`): row 0
    under π (x⁻), row 1 under πᵀ (x⁺), driven by :func:`nnworld_jax.stepping.solve`.
    """
    x0 = _vector(x0, "x0", min_size=2)  # alpha, dt: static, checked finite and > 0 by shift_rk4
    steps = _count(steps, "steps", 0)

    def power(y, j):  # (πʲx⁻, (πᵀ)ʲx⁺): rolls by +j and -j sites
        return jnp.stack([jnp.roll(y[0], j), jnp.roll(y[1], -j)]) if j else y

    return solve(shift_rk4(power, alpha, dt, name="strings.ensemble_simulate", rate_name="alpha"), jnp.stack([x0, x0]), n_steps=steps).y


def dalembert(profile, sigma: Real[ArrayLike, " N"], tau) -> Float[Array, " N"]:
    """d'Alembert's solution of the wave equation (73) with zero initial velocity:
    x̄(τ, σ) = ½[f(σ - τ) + f(σ + τ)], f = ``profile`` (a callable of σ)."""
    profile = _callable(profile, "profile")
    sigma = _vector(sigma, "sigma")  # sigma (N,), tau a scalar
    tau = _finite_scalar(tau, "tau", sigma.dtype)
    return 0.5 * (profile(sigma - tau) + profile(sigma + tau))


def dalembert_correction(profile_dd, sigma: Real[ArrayLike, " N"], tau, alpha) -> Float[Array, " N"]:
    """First finite-α correction to d'Alembert, from the conventions §5 continuum limit of (61):
    x̄ - ½[f(σ-τ) + f(σ+τ)] = (τ/4α)[f''(σ-τ) + f''(σ+τ)] + O(α⁻²). ``profile_dd`` is f''."""
    profile_dd = _callable(profile_dd, "profile_dd")
    sigma = _vector(sigma, "sigma")
    tau, alpha = _finite_scalar(tau, "tau", sigma.dtype), _positive_scalar(alpha, "alpha", sigma.dtype)
    return tau / (4 * alpha) * (profile_dd(sigma - tau) + profile_dd(sigma + tau))


# ---------------------------------------------------------------------------------------------
# World-sheet lattice, eqs. (74)-(76)


def minkowski(d1: int, dtype=None) -> Float[Array, "D1 D1"]:
    """η = diag(-1, 1, ..., 1) of the (D+1)-dimensional target space of eqs. (64)-(76) (d1 = D + 1 >= 2)."""
    d1 = _count(d1, "d1", 2)
    return jnp.diag(jnp.concatenate([-jnp.ones(1), jnp.ones(d1 - 1)])).astype(dtype or jnp.zeros(()).dtype)


def _check_sheet(grid: Grid, y, drift, method: str = "spectral", *, flag: bool = False):
    """Validated (Y, drift). With ``flag``, Y comes back as given and a third value is returned: a
    scalar 0 that carries Y's finiteness check (``check``: ValueError eagerly, a runtime error under
    jit); the caller must multiply it into its result (as ``(1 + flag)`` on a scalar factor)."""
    _check_method(method)
    if not isinstance(grid, Grid):
        raise TypeError(f"grid must be a Grid, got {type(grid).__name__}")
    if grid.ndim != 2:
        raise ValueError(f"the world-sheet grid must be 2-D (τ, σ), got {grid.ndim}-D")
    y = as_float(y, "Y")
    if y.ndim != 3 or y.shape[1:] != grid.shape:
        raise ValueError(f"Y must have shape (D+1, {grid.shape[0]}, {grid.shape[1]}), got {y.shape}; "
                         "kernels take one world sheet, use jax.vmap to batch")
    if jnp.iscomplexobj(y):
        raise TypeError(f"Y must be real, got dtype {y.dtype}")
    if flag:
        y_flag = check(jnp.zeros((), y.dtype), ~jnp.isfinite(y), "Y contains NaN or inf")
    else:
        y = _guard_finite(y, "Y")
    if drift is None:
        drift = jnp.zeros(y.shape[0], y.dtype)
    drift = as_float(drift, "drift", y.dtype)
    if drift.shape != (y.shape[0],):
        raise ValueError(f"drift must have shape ({y.shape[0]},), got {drift.shape}; use jax.vmap to batch")
    drift = _guard_finite(drift, "drift")
    return (y, drift, y_flag) if flag else (y, drift)


def worldsheet_derivatives(y: Real[ArrayLike, "D1 Nt Ns"], grid: Grid, *, drift=None,
                           method: str = "spectral") -> Float[Array, "2 D1 Nt Ns"]:
    """(∂_τX^μ, ∂_σX^μ) of X = drift·τ + Y on the periodic world sheet, eqs. (74)-(76); shape (2, D+1, Nτ, Nσ)."""
    y, drift = _check_sheet(grid, y, drift, method)
    return _worldsheet_derivatives(y, grid, drift, method)


def _worldsheet_derivatives(y, grid: Grid, drift, method: str):
    dt, ds = _sheet_gradient(y, grid, drift, method)
    return jnp.stack([dt, ds])


# Central-difference weights (offset s > 0, weight of f(q + s h); f(q - s h) has minus it) of the
# grid's fd2 / fd4 first derivatives (:mod:`nnworld_jax.grid`): the same discretization, by slicing.
_FD_FIRST = {"fd2": ((1, 0.5),), "fd4": ((1, 2 / 3), (2, -1 / 12))}


def _stencil(f, taps):
    """Σ_k c_k f(τ + a_k h_τ, σ + b_k h_σ) on the periodic sheet, f of shape (..., Nτ, Nσ), for
    taps ((a_k, b_k, c_k), ...) with |a_k| <= Nτ, |b_k| < Nσ.

    By slicing ONE flat copy of f with ghost rows (a concatenation along the major τ axis only:
    XLA:CPU runs a wrap along the minor axis, as ``jnp.roll`` or a ghost pad there, several times
    slower). In the flattened array a τ-shift is an offset a·Nσ and a σ-shift an offset b, except
    for the |b| columns that wrap, which read offset b ∓ Nσ instead (one select).
    """
    *lead, nt, ns = f.shape
    w = max(max(abs(a), 1 if b else 0) for a, b, _ in taps)
    n = nt * ns
    ghosted = jnp.concatenate([f[..., nt - w:, :], f, f[..., :w, :]], axis=-2)
    flat = ghosted.reshape(*lead, (nt + 2 * w) * ns)
    col = jax.lax.broadcasted_iota(jnp.int32, (nt, ns), 1).reshape(n)

    def at(a: int, offset: int):
        start = (w + a) * ns + offset
        return jax.lax.slice_in_dim(flat, start, start + n, axis=-1)

    def tap(a: int, b: int):
        if b == 0:
            return at(a, 0)
        wraps = col >= ns - b if b > 0 else col < -b
        return jnp.where(wraps, at(a, b - ns if b > 0 else b + ns), at(a, b))

    return sum(c * tap(a, b) for a, b, c in taps).reshape(f.shape)


def _fd_taps(grid: Grid, method: str):
    """The (τ, σ) first-derivative stencils of ``method`` as taps ((a, b, weight), ...) for :func:`_stencil`."""
    ht, hs = grid.spacing
    half = _FD_FIRST[method]
    taps_t = tuple((s, 0, c / ht) for s, c in half) + tuple((-s, 0, -c / ht) for s, c in half)
    taps_s = tuple((0, s, c / hs) for s, c in half) + tuple((0, -s, -c / hs) for s, c in half)
    return taps_t, taps_s


def _mirror(taps):
    """The transpose of a periodic stencil: every tap reflected (s -> -s), same weight."""
    return tuple((-a, -b, c) for a, b, c in taps)


def _fd_sheet(y, grid: Grid, method: str):
    """(D_τ Y, D_σ Y) by the periodic central differences of ``method`` as ONE linear map with its
    transpose (``jax.custom_derivatives.linear_call``): under ``jax.grad`` the transpose is the
    mirrored stencil (taps s → -s), applied by the same slicing, instead of JAX's transpose of the
    slices (zero pads of every cotangent, summed). Forward mode (jvp) applies the map itself.
    The action, not its gradient, is what is written down: the EOM is still ``jax.grad`` of it."""
    taps_t, taps_s = _fd_taps(grid, method)

    def apply(_, f):
        return _stencil(f, taps_t), _stencil(f, taps_s)

    def transpose(_, cts):
        ct_t, ct_s = cts
        return _stencil(ct_t, _mirror(taps_t)) + _stencil(ct_s, _mirror(taps_s))

    return jax.custom_derivatives.linear_call(apply, transpose, (), y)


# Band decomposition of the periodic sheet for the fd Polyakov action (see _fd_band_sheet).


def _band_reach(grid: Grid, method: str) -> int:
    """Stencil reach w of the band decomposition, or 0 where the sheet is too small for it."""
    if method not in _FD_FIRST:
        return 0
    w = len(_FD_FIRST[method])
    nt, ns = grid.shape
    return w if nt >= 6 * w and ns > 2 * w else 0


def _band(f, ns: int, row0: int, rows: int, taps):
    """Σ_k c_k f(τ + a_k, σ + b_k) at rows row0 .. row0+rows-1 of f (..., R·Nσ) (flattened rows),
    by slices of f only: no padding, no copy. Every τ-tap must stay inside f (row0 + a_k >= 0,
    row0 + rows + a_k <= R), and one spare row each side for the σ wrap (row0 >= 1, row0 + rows < R).
    A σ-tap b reads flat offset b, except the |b| columns that wrap, which read b ∓ Nσ (one select)."""
    m = rows * ns
    col = jax.lax.broadcasted_iota(jnp.int32, (rows, ns), 1).reshape(m)

    def at(offset: int):
        start = row0 * ns + offset
        return jax.lax.slice_in_dim(f, start, start + m, axis=-1)

    def tap(a: int, b: int):
        if b == 0:
            return at(a * ns)
        wraps = col >= ns - b if b > 0 else col < -b
        return jnp.where(wraps, at(a * ns + b - ns if b > 0 else a * ns + b + ns), at(a * ns + b))

    return sum(c * tap(a, b) for a, b, c in taps)


def _block(f, taps, row0: int, rows: int):
    """The same stencil on a few rows of a small block f (..., R, Nσ): τ-taps by slicing (they must
    stay inside the block), σ-taps periodic by ``jnp.roll`` (cheap on a block of a few rows)."""
    def tap(a: int, b: int):
        rows_a = jax.lax.slice_in_dim(f, row0 + a, row0 + a + rows, axis=-2)
        return jnp.roll(rows_a, -b, axis=-1) if b else rows_a

    return sum(c * tap(a, b) for a, b, c in taps)


def _fd_band_sheet(y, grid: Grid, method: str, w: int, own_transpose: bool = True):
    """(D_τY, D_σY) of the fd stencils, split into the band of rows w .. Nτ-1-w (flattened, shape
    (D+1, (Nτ-2w)·Nσ)) and the 2w edge rows Nτ-w .. Nτ-1, 0 .. w-1 (in that cyclic order, shape
    (D+1, 2w, Nσ)): four arrays, each a sum of slices of Y (the edge rows: of a thin ring of rows).

    Why: the band needs no τ wrap, so it is slices of Y itself, not of a ghost-padded copy. With
    ``own_transpose`` the map carries its transpose (``linear_call``): rows 2w .. Nτ-1-2w of Dᵀ(ct)
    are slices of the band cotangents (the mirrored stencil) and the 4w rows around the seam come
    from a thin ring, written in place. Under ``jax.grad`` XLA then fuses the cotangents (elementwise
    in the band derivatives) and both stencils into ONE loop over the sheet: Y read once, the EOM
    written once. JAX's own transpose (``own_transpose=False``, needed under ``jax.vmap``, for which
    ``linear_call`` has no rule) is a sum of zero pads of every cotangent: also one fused loop, but
    with a bounds test per tap and element, 2-4x slower on CPU. The lattice sum over band + edges
    is the same sum over every site; only its order differs.
    """
    nt, ns = y.shape[-2:]
    taps_t, taps_s = _fd_taps(grid, method)

    def apply(_, f):
        flat = f.reshape(*f.shape[:-2], nt * ns)
        ring = jnp.concatenate([f[..., nt - 2 * w:, :], f[..., :2 * w, :]], axis=-2)  # rows Nτ-2w .. 2w-1
        return (_band(flat, ns, w, nt - 2 * w, taps_t), _band(flat, ns, w, nt - 2 * w, taps_s),
                _block(ring, taps_t, w, 2 * w), _block(ring, taps_s, w, 2 * w))

    def transpose(_, cts):
        band_t, band_s, edge_t, edge_s = cts
        lead = band_t.shape[:-1]
        mt, ms = _mirror(taps_t), _mirror(taps_s)
        # Result rows 2w .. Nτ-1-2w: band rows (index = sheet row - w) w .. Nτ-3w-1 and their taps.
        inner = _band(band_t, ns, w, nt - 4 * w, mt) + _band(band_s, ns, w, nt - 4 * w, ms)

        def ring(band, edge):  # cotangent rows Nτ-3w .. 3w-1 (cyclic) around the seam
            band = band.reshape(*lead, nt - 2 * w, ns)
            return jnp.concatenate([band[..., nt - 4 * w:, :], edge, band[..., :2 * w, :]], axis=-2)

        seam = _block(ring(band_t, edge_t), mt, w, 4 * w) + _block(ring(band_s, edge_s), ms, w, 4 * w)
        # Assembled in the result's own shape, so both row updates are in place (a reshape in between
        # would make XLA copy the whole sheet once more).
        zero = jnp.zeros((), inner.dtype)
        out = jax.lax.pad(inner.reshape(*lead, nt - 4 * w, ns), zero,
                          ((0, 0, 0),) * len(lead) + ((2 * w, 2 * w, 0), (0, 0, 0)))
        out = jax.lax.dynamic_update_slice_in_dim(out, seam[..., 2 * w:, :], 0, axis=-2)
        return jax.lax.dynamic_update_slice_in_dim(out, seam[..., :2 * w, :], nt - 2 * w, axis=-2)

    if not own_transpose:
        return apply(None, y)
    return jax.custom_derivatives.linear_call(apply, transpose, (), y)


def _sheet_gradient(y, grid: Grid, drift, method: str):
    """(∂_τX, ∂_σX), each (D+1, Nτ, Nσ), of X = drift·τ + Y on the periodic sheet.

    Finite differences (fd2, fd4: the grid's stencils) by slicing (:func:`_fd_sheet`); spectral
    derivatives through the grid's FFT; sheets narrower than the stencil by ``jnp.roll``.
    """
    reach = 2 if method == "fd4" else 1
    if method == "spectral" or reach >= min(grid.shape):
        dt = jax.vmap(lambda f: _derivative(grid, f, 0, 1, method))(y)
        ds = jax.vmap(lambda f: _derivative(grid, f, 1, 1, method))(y)
    else:
        dt, ds = _fd_sheet(y, grid, method)
    return dt + drift.reshape(-1, 1, 1), ds


def _sheet_metric(h, grid: Grid, dtype):
    if h is None:
        h = jnp.diag(jnp.asarray([-1.0, 1.0], dtype))
    h = as_float(h, "h", dtype)
    if h.shape == (2, 2):
        h = h.reshape(2, 2, 1, 1)  # constant metric: broadcast lazily against the fields
    elif h.shape != (2, 2, *grid.shape):
        raise ValueError(f"h must have shape (2, 2) or (2, 2, {grid.shape[0]}, {grid.shape[1]}), got {h.shape}")
    det = h[0, 0] * h[1, 1] - h[0, 1] * h[1, 0]
    h = _guard(h, (det == 0) | ~jnp.isfinite(det) | (jnp.abs(h[0, 1] - h[1, 0]) > 0),
              "world-sheet metric h must be symmetric, finite and non-degenerate")
    inv = jnp.stack([jnp.stack([h[1, 1], -h[0, 1]]), jnp.stack([-h[1, 0], h[0, 0]])]) / det.reshape(1, 1, *det.shape)
    return inv, jnp.sqrt(jnp.abs(det))


def _target_metric(eta, d1, dtype):
    eta = minkowski(d1, dtype) if eta is None else as_float(eta, "eta", dtype)
    if eta.shape != (d1, d1):
        raise ValueError(f"eta must have shape ({d1}, {d1}), got {eta.shape}")
    # Symmetric, finite, non-degenerate: an antisymmetric part would silently drop out of the
    # contraction with the symmetric ∂X·∂X.
    finite = jnp.all(jnp.isfinite(eta))
    det = jnp.linalg.det(jnp.where(jnp.isfinite(eta), eta, 0))
    bad = ~finite | jnp.any(eta != eta.T) | ~(jnp.abs(det) > 0)
    return _guard(eta, bad, "target metric eta must be symmetric, finite and non-degenerate")


def _check_dx(dx) -> Array:
    dx = as_float(dx, "dx")
    if dx.ndim != 4 or dx.shape[0] != 2 or dx.shape[2] < 2 or dx.shape[3] < 2:
        raise ValueError(f"dx must have shape (2, D+1, Nτ, Nσ) (from worldsheet_derivatives), got {dx.shape}; "
                         "use jax.vmap to batch")
    return _guard_finite(dx, "dx")


def _induced(dx, eta):
    # γ_ab = ∂_aX^μ ∂_bX^ν η_μν, shape (2, 2, Nτ, Nσ): η contracted first (a small matmul), then an
    # elementwise product summed over μ, which XLA fuses into one pass.
    eta_dx = jnp.einsum("mn,bnij->bmij", eta, dx)
    return jnp.sum(dx[:, None] * eta_dx[None, :], axis=2)


def polyakov_density(dx: Real[ArrayLike, "2 D1 Nt Ns"], h, eta, tension) -> Float[Array, "Nt Ns"]:
    """Polyakov Lagrangian density, eq. (76) with the reference index fix:
    ℒ_P = -(T/2) √|h| h^{ab} ∂_aX^μ ∂_bX^ν η_μν at every lattice site.

    ``dx`` from :func:`worldsheet_derivatives`; ``h`` (2, 2, Nτ, Nσ) lower-index metric; ``eta``
    (D+1, D+1); T > 0. In conformal gauge h = diag(-1, 1): ℒ = (T/2)(Ẋ·Ẋ - X'·X').
    """
    dx = _check_dx(dx)
    grid_shape = dx.shape[2:]
    inv, sqrt_h = _sheet_metric(h, Grid(grid_shape), dx.dtype)
    eta = _target_metric(eta, dx.shape[1], dx.dtype)
    tension = _positive_scalar(tension, "tension", dx.dtype)
    # The density the action and polyakov_eom sum (one implementation), general η and h.
    return jnp.broadcast_to(_pointwise_polyakov(dx[0], dx[1], inv, sqrt_h, eta, tension, False, False), grid_shape)


def _static_diagonal(x) -> bool:
    """Whether ``x`` (a (d, d) or (2, 2, Nτ, Nσ) metric, or None = the default diagonal one) is
    concrete with every off-diagonal entry exactly 0: static structure that lets the Polyakov core
    drop terms that are exactly zero (the same sum). A traced metric takes the general path."""
    if x is None:
        return True
    if is_traced(x):
        return False
    try:
        a = np.asarray(x)
    except (TypeError, ValueError):
        return False
    if a.ndim < 2 or a.shape[0] != a.shape[1] or a.dtype.kind not in "biuf":
        return False
    return not np.any(a[~np.eye(a.shape[0], dtype=bool)] != 0)


def polyakov_action(y: Real[ArrayLike, "D1 Nt Ns"], grid: Grid, *, drift=None, h=None, eta=None,
                    tension=1.0, method: str = "spectral") -> FloatScalar:
    """Discretized Polyakov action (76): S_P = Σ_sites ℒ_P · h_τ h_σ on the periodic world sheet.

    Arguments: Y (D+1, Nτ, Nσ) with X = drift·τ + Y; ``h`` the world-sheet metric (default conformal
    gauge diag(-1, 1)); ``eta`` the target metric (default Minkowski); T = ``tension`` > 0;
    ``method`` the grid derivative (``"spectral"``, ``"fd2"``, ``"fd4"``).
    """
    y, drift = _check_sheet(grid, y, drift, method)
    tension = _positive_scalar(tension, "tension", y.dtype)
    eta_c = _target_metric(eta, y.shape[0], y.dtype)
    inv, sqrt_h = _sheet_metric(h, grid, y.dtype)
    eta_diag = _static_diagonal(eta)
    eta_c = jnp.diagonal(eta_c) if eta_diag else eta_c
    return _polyakov_core(y, drift, inv, sqrt_h, eta_c, tension, grid, method, eta_diag, _static_diagonal(h),
                          not under_vmap(y, drift, inv, sqrt_h, eta_c, tension)) * grid.cell_volume


def _contract(a, b, eta, eta_diag: bool):
    """Σ_μν η_μν a^μ b^ν over the leading axis (η given by its diagonal when ``eta_diag``).

    Written as broadcasts and a sum over the component axis, never per-component indexing: the
    transpose of a sum is a broadcast, which XLA fuses into the stencils, while the transpose of
    ``a[μ]`` would pad every component's cotangent back to full size."""
    shape = (a.shape[0],) + (1,) * (a.ndim - 1)
    if eta_diag:
        return jnp.sum(eta.reshape(shape) * a * b, axis=0)
    eta_b = jnp.sum(eta.reshape(a.shape[0], *shape) * b[None], axis=1)  # η_μν b^ν
    return jnp.sum(a * eta_b, axis=0)


def _pointwise_polyakov(dt, ds, inv, sqrt_h, eta, tension, eta_diag: bool, h_diag: bool):
    # ℒ_P = -(T/2) √|h| h^{ab} γ_ab at every site, h symmetric (checked): h^{ab} γ_ab =
    # h^{ττ}γ_ττ + 2h^{τσ}γ_τσ + h^{σσ}γ_σσ (the τσ term dropped where h is statically diagonal).
    # The one implementation of (76): polyakov_density evaluates it, the action and EOM sum it.
    trace = inv[0, 0] * _contract(dt, dt, eta, eta_diag) + inv[1, 1] * _contract(ds, ds, eta, eta_diag)
    if not h_diag:
        trace = trace + 2 * inv[0, 1] * _contract(dt, ds, eta, eta_diag)
    return -0.5 * tension * sqrt_h * trace


def _density_sum(dt, ds, inv, sqrt_h, eta, tension, eta_diag: bool, h_diag: bool):
    # Σ over these sites of ℒ_P (:func:`_pointwise_polyakov`).
    return jnp.sum(_pointwise_polyakov(dt, ds, inv, sqrt_h, eta, tension, eta_diag, h_diag))


@eqx.filter_jit
def _polyakov_core(y, drift, inv, sqrt_h, eta, tension, grid, method, eta_diag: bool, h_diag: bool,
                   own_transpose: bool = True):
    """Σ_sites ℒ_P (the action without the cell volume) of validated inputs; one compiled program.

    ``eta`` is η's diagonal when ``eta_diag`` (static: η concretely diagonal), else η. With fd2/fd4
    on a sheet wide enough, the derivatives come in band + edge pieces (:func:`_fd_band_sheet`) and
    the sum runs over both; the field-valued h is cut the same way."""
    w = _band_reach(grid, method)
    if not w:
        dt, ds = _sheet_gradient(y, grid, drift, method)
        return _density_sum(dt, ds, inv, sqrt_h, eta, tension, eta_diag, h_diag)
    nt, ns = grid.shape
    band_t, band_s, edge_t, edge_s = _fd_band_sheet(y, grid, method, w, own_transpose)

    def band(x):  # a metric field (..., Nτ, Nσ) on the band rows, flattened; a constant as is
        if x.shape[-2:] != (nt, ns):
            return x.reshape(*x.shape[:-2], 1)
        return x.reshape(*x.shape[:-2], nt * ns)[..., w * ns:(nt - w) * ns]

    def edge(x):  # ... on the edge rows Nτ-w .. Nτ-1, 0 .. w-1
        return x if x.shape[-2:] != (nt, ns) else jnp.concatenate([x[..., nt - w:, :], x[..., :w, :]], axis=-2)

    return (_density_sum(band_t + drift[:, None], band_s, band(inv), band(sqrt_h), eta, tension, eta_diag, h_diag)
            + _density_sum(edge_t + drift[:, None, None], edge_s, edge(inv), edge(sqrt_h), eta, tension,
                           eta_diag, h_diag))


def polyakov_eom(y: Real[ArrayLike, "D1 Nt Ns"], grid: Grid, *, drift=None, h=None, eta=None, tension=1.0,
                 method: str = "spectral") -> Float[Array, "D1 Nt Ns"]:
    """δS_P/δX^μ, eq. (74), as ``jax.grad`` of :func:`polyakov_action` divided by the cell volume.

    Keyword arguments as in :func:`polyakov_action` (``drift``, ``h``, ``eta``, ``tension``,
    ``method``). In conformal gauge this equals T η_μν (∂²_σ - ∂²_τ) X^ν: the wave equation (74)
    is δS_P/δX = 0. Computed as ``jax.grad`` of the lattice sum Σ_sites ℒ_P (the action over the
    cell volume: the same quotient, without a division pass). With ``method="fd2"``/``"fd4"`` the
    lattice derivatives are slices of Y itself (a band without τ wrap plus thin edge rows) with a
    hand-given transpose (the mirrored stencil), so the gradient compiles to one fused pass over the
    sheet plus in-place edge fix-ups. Under ``jax.vmap`` JAX's own transpose is used instead (slower,
    same values). ``jax.jit(jax.vmap(polyakov_eom))`` works; ``jax.vmap`` of an already jitted
    fd EOM, or of its pullback (``jax.jacrev``), does not (``linear_call`` has no batching rule).
    """
    # Inputs validated once (as polyakov_action does), then the gradient of the unchecked action.
    # Y's finiteness check rides on the tension, a scalar factor of every term of the gradient,
    # rather than on Y itself: a guarded copy of Y would be one more pass over the sheet.
    y, drift, y_flag = _check_sheet(grid, y, drift, method, flag=True)
    tension = _positive_scalar(tension, "tension", y.dtype) * (1 + y_flag)
    eta_diag = _static_diagonal(eta)
    eta = _target_metric(eta, y.shape[0], y.dtype)
    h_diag = _static_diagonal(h)
    inv, sqrt_h = _sheet_metric(h, grid, y.dtype)
    eta = jnp.diagonal(eta) if eta_diag else eta
    return jax.grad(_polyakov_core)(y, drift, inv, sqrt_h, eta, tension, grid, method, eta_diag, h_diag,
                                    not under_vmap(y, drift, inv, sqrt_h, eta, tension))


def nambu_goto_density(dx: Real[ArrayLike, "2 D1 Nt Ns"], eta, tension, *,
                       euclidean: bool = False) -> Float[Array, "Nt Ns"]:
    """Nambu-Goto density: -T √(-det γ) (Lorentzian), or T √(det γ) (Euclidean area density),
    γ_ab = ∂_aX·∂_bX. Equal to the Polyakov density (76) on shell in conformal gauge (75)."""
    dx = _check_dx(dx)
    eta = _target_metric(eta, dx.shape[1], dx.dtype)
    tension = _positive_scalar(tension, "tension", dx.dtype)
    g = _induced(dx, eta)
    det = g[0, 0] * g[1, 1] - g[0, 1] * g[1, 0]
    return tension * jnp.sqrt(jnp.abs(det)) * (1.0 if euclidean else -1.0)


def nambu_goto_action(y: Real[ArrayLike, "D1 Nt Ns"], grid: Grid, *, drift=None, eta=None, tension=1.0,
                      euclidean: bool = False, method: str = "spectral") -> FloatScalar:
    """Discretized Nambu-Goto action S_NG = -T ∫ √(-det γ) dτ dσ (``euclidean``: T × area), beside (76)."""
    y, drift = _check_sheet(grid, y, drift, method)
    tension = _positive_scalar(tension, "tension", y.dtype)
    eta = _target_metric(eta, y.shape[0], y.dtype) if not (euclidean and eta is None) else jnp.eye(y.shape[0], dtype=y.dtype)
    return _nambu_goto_core(y, drift, eta, tension, grid, method, euclidean)


@eqx.filter_jit
def _nambu_goto_core(y, drift, eta, tension, grid, method, euclidean):
    dx = _worldsheet_derivatives(y, grid, drift, method)
    return jnp.sum(nambu_goto_density(dx, eta, tension, euclidean=euclidean)) * grid.cell_volume


def virasoro_residuals(y: Real[ArrayLike, "D1 Nt Ns"], grid: Grid, *, drift=None, eta=None,
                       method: str = "spectral") -> Float[Array, "2 Nt Ns"]:
    """Virasoro constraints, eq. (75) (= (65)): (T_++, T_--) = (∂_+X·∂_+X, ∂_-X·∂_-X),
    ∂_± = ½(∂_τ ± ∂_σ), target metric η. Zero on a physical string in conformal gauge."""
    y, drift = _check_sheet(grid, y, drift, method)
    eta = _target_metric(eta, y.shape[0], y.dtype)
    return _virasoro_core(y, drift, eta, grid, method)


@eqx.filter_jit
def _virasoro_core(y, drift, eta, grid, method):
    dx = _worldsheet_derivatives(y, grid, drift, method)
    dp, dm = 0.5 * (dx[0] + dx[1]), 0.5 * (dx[0] - dx[1])
    tpp = jnp.einsum("mij,mn,nij->ij", dp, eta, dp)
    tmm = jnp.einsum("mij,mn,nij->ij", dm, eta, dm)
    return jnp.stack([tpp, tmm])


# ---------------------------------------------------------------------------------------------
# Euclidean string between two coaxial rings: the catenoid and the Goldschmidt limit


def _goldschmidt_u() -> float:
    # u tanh u = 1 maximizes 2u / cosh u = L / R over u = L / (2a).
    u = 1.2
    for _ in range(50):
        u -= (u * math.tanh(u) - 1) / (math.tanh(u) + u / math.cosh(u) ** 2)
    return u


_U_STAR = _goldschmidt_u()
GOLDSCHMIDT_RATIO: float = 2 * _U_STAR / math.cosh(_U_STAR)  # ≈ 1.3255: largest L/R with a catenoid


class GoldschmidtError(ValueError):
    """No catenoid spans the two rings (Euclidean (76)): L/R exceeds the Goldschmidt ratio ≈ 1.3255."""


def catenoid_parameter(radius: float, separation: float) -> float:
    """Euclidean minimal world sheet of eq. (76): the neck a of the stable catenoid r(z) = a cosh(z/a) through rings of radius R at z = ±L/2.

    Solves R = a cosh(L/(2a)) for the larger root a (the area minimum), by bisection in
    u = L/(2a) ∈ (0, u*) where u* tanh u* = 1. Raises :class:`GoldschmidtError` when
    L/R > :data:`GOLDSCHMIDT_RATIO` (no catenoid; the minimal surface is the two discs).

    Example:
        >>> round(catenoid_parameter(1.0, 1.0), 6)
        0.848338
    """
    radius, separation = _concrete_positive(radius, "radius"), _concrete_positive(separation, "separation")
    ratio = separation / radius
    if ratio > GOLDSCHMIDT_RATIO:
        raise GoldschmidtError(f"L/R = {ratio:.6g} exceeds the Goldschmidt ratio {GOLDSCHMIDT_RATIO:.6g}: "
                               "no catenoid exists, the minimal surface collapses to two discs")
    lo, hi = 0.0, _U_STAR
    for _ in range(200):  # 2u/cosh u increases on (0, u*)
        mid = 0.5 * (lo + hi)
        if 2 * mid / math.cosh(mid) < ratio:
            lo = mid
        else:
            hi = mid
    return separation / (2 * 0.5 * (lo + hi))


def catenoid_profile(z: Real[ArrayLike, " n"], a) -> Float[Array, " n"]:
    """r(z) = a cosh(z/a), the catenoid: the minimal Euclidean world sheet of revolution, eq. (76); a > 0."""
    z = _guard_finite(as_float(z, "z"), "z")
    a = _positive_scalar(a, "a", z.dtype)
    return a * jnp.cosh(z / a)


def ring_surface_area(r: Real[ArrayLike, " n1"], separation) -> FloatScalar:
    """Euclidean Nambu-Goto area (eq. (76) on shell) of the surface of revolution through the nodes (z_j, r_j), z_j = -L/2 + jL/n, j = 0..n:
    the exact sum of conical-frustum areas π(r_j + r_{j+1}) √(Δz² + Δr²) (Euclidean Nambu-Goto
    with T = 1 on a piecewise-linear profile; discretization error O(Δz²))."""
    r = _vector(r, "r", min_size=2)
    r = _guard(r, r < 0, "r must be >= 0 (radii of the surface of revolution)")
    separation = _positive_scalar(separation, "separation", r.dtype)
    dz = separation / (r.shape[0] - 1)
    dr = jnp.diff(r)
    return jnp.sum(jnp.pi * (r[1:] + r[:-1]) * jnp.sqrt(dz**2 + dr**2))


class RingSurface(NamedTuple):
    """Result of :func:`minimize_ring_surface`."""

    z: Array  # (n+1,) node positions
    r: Array  # (n+1,) radii, r[0] = r[n] = R
    area: Array  # discretized area at the minimizer
    disc_area: float  # 2πR², the Goldschmidt (two discs) area
    neck: Array  # min r
    collapsed: bool  # the neck pinched (r_min < collapse_tol·R): no catenoid
    steps: int


def minimize_ring_surface(radius: float, separation: float, n: int = 64, *, max_steps: int = 2000,
                          collapse_tol: float = 1e-2) -> RingSurface:
    """Minimize the discretized area (:func:`ring_surface_area`, Euclidean eq. (76)) between two coaxial rings.

    Interior radii r_j = ρ_j² (r ≥ 0) start from the cylinder r = R; BFGS (optimistix) with the
    gradient from ``jax.grad``. Below the Goldschmidt ratio it converges to the discrete catenoid
    (nodes within O(Δz²) of a cosh(z/a)); above it the neck runs to zero and ``collapsed`` is True
    (area → 2πR², the two discs). Float64 recommended.
    """
    n, max_steps = _count(n, "n", 4), _count(max_steps, "max_steps", 1)
    radius, separation = _concrete_positive(radius, "radius"), _concrete_positive(separation, "separation")
    if isinstance(collapse_tol, bool) or not (isinstance(collapse_tol, (int, float)) and 0 < collapse_tol < 1):
        raise ValueError(f"collapse_tol must be a number in (0, 1) (a fraction of R), got {collapse_tol!r}")
    z, r, area, neck, steps = _minimize_ring(n, radius, separation, max_steps)
    return RingSurface(z, r, area, 2 * math.pi * radius**2, neck, bool(neck < collapse_tol * radius), int(steps))


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3))
def _minimize_ring(n: int, radius: float, separation: float, max_steps: int):
    # minimize_ring_surface's computation as one program (its inputs are Python numbers, checked).
    dtype = jnp.zeros(()).dtype
    big_r = jnp.asarray(radius, dtype)

    def full(rho):
        return jnp.concatenate([big_r[None], rho**2, big_r[None]])

    def area(rho, _):
        return ring_surface_area(full(rho), separation)

    rho0 = jnp.full((n - 1,), math.sqrt(radius), dtype)
    tol = dtype_tol(dtype, float64=1e-12, float32=1e-6)  # BFGS to the dtype's resolution of the area
    sol = optx.minimise(area, optx.BFGS(rtol=tol, atol=tol), rho0, max_steps=max_steps, throw=False)
    r = full(sol.value)
    z = jnp.linspace(-separation / 2, separation / 2, n + 1, dtype=dtype)
    return z, r, area(sol.value, None), jnp.min(r), sol.stats["num_steps"]
