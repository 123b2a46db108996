"""Periodic grids for fields: coordinates, derivatives, integrals, functional derivatives.

A :class:`Grid` is the box [0, L_1) × … × [0, L_K) sampled at n_k points per axis (cell-centred at
q_j = j h, h = L/n), periodic in every axis. Fields are arrays of exactly ``grid.shape`` (one field
per call; batch with ``jax.vmap``); vector fields carry the component first, ``(K, *grid.shape)``.
Space-time fields use a grid whose first axis is time (periodic in t, as ``docs/conventions.md`` §3).

Derivatives come in two families:

* ``"spectral"`` (default): FFT multipliers i k and -k²; the Nyquist mode is dropped for odd
  derivatives (its i k is not the derivative of any real trigonometric interpolant). Exponential
  convergence for smooth periodic fields.
* ``"fd2"``, ``"fd4"``: central finite differences of order 2 and 4 (``jnp.roll`` stencils).

The integral is the trapezoid (= rectangle) rule Σ f · h_1 ⋯ h_K, spectrally accurate for periodic
fields. :func:`functional_derivative` divides ``jax.grad`` of a discretized action by the cell
volume: the one place equations of motion come from.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Inexact

from ._checks import as_float, check, check_scalar

__all__ = ["Grid", "check_field", "derivative", "gradient", "divergence", "laplacian", "integral",
           "functional_derivative", "METHODS"]

METHODS = ("spectral", "fd2", "fd4")


class Grid(eqx.Module):
    """A periodic box [0, L_1) × … × [0, L_K) with n_k points per axis.

    Arguments:
        shape: points per axis (n_1, …, n_K).
        lengths: box lengths (L_1, …, L_K); default 2π each.

    Example:
        >>> g = Grid((64,))
        >>> round(g.spacing[0] * g.shape[0], 12) == round(2 * math.pi, 12)
        True
    """

    shape: tuple[int, ...] = eqx.field(static=True)
    lengths: tuple[float, ...] = eqx.field(static=True)

    def __init__(self, shape: Sequence[int], lengths: Sequence[float] | float | None = None):
        shape = tuple(np.ravel(np.asarray(shape, dtype=object)).tolist())  # an int, a tuple or an array
        # A point count is an integer: int(8.7) would silently build an 8-point grid.
        if not shape or any(isinstance(n, bool) or not _is_integer(n) or n < 2 for n in shape):
            raise ValueError(f"grid shape must be 1 or more integer point counts >= 2, got {shape}")
        shape = tuple(int(n) for n in shape)
        if lengths is None:
            lengths = (2 * math.pi,) * len(shape)
        elif np.ndim(lengths) == 0:
            lengths = (lengths,) * len(shape)
        try:
            lengths = tuple(float(length) for length in lengths)
        except (TypeError, ValueError) as e:
            raise ValueError(f"lengths must be {len(shape)} finite positive numbers (> 0), got {lengths!r}") from e
        if len(lengths) != len(shape) or any(not (math.isfinite(x) and x > 0) for x in lengths):
            raise ValueError(f"lengths must be {len(shape)} finite positive numbers (> 0), got {lengths}")
        self.shape, self.lengths = shape, lengths

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def spacing(self) -> tuple[float, ...]:
        return tuple(length / n for length, n in zip(self.lengths, self.shape))

    @property
    def cell_volume(self) -> float:
        """h_1 ⋯ h_K, the measure of one grid point in :func:`integral`."""
        return math.prod(self.spacing)

    def axis(self, k: int, dtype=None) -> Float[Array, " n"]:
        """Coordinates q_j = j h along axis ``k``."""
        return jnp.arange(self.shape[k], dtype=dtype or jnp.zeros(()).dtype) * self.spacing[k]

    def mesh(self, dtype=None) -> Float[Array, "K ..."]:
        """All coordinates, shape (K, *shape): ``q0, q1 = grid.mesh()`` for a 2D grid."""
        return jnp.stack(jnp.meshgrid(*(self.axis(k, dtype) for k in range(self.ndim)), indexing="ij"))

    def wavenumbers(self, k: int, dtype=None) -> Float[Array, " n"]:
        """Angular wavenumbers 2π m / L_k in FFT order."""
        return 2 * jnp.pi * jnp.fft.fftfreq(self.shape[k], d=self.spacing[k]).astype(dtype or jnp.zeros(()).dtype)


def _is_integer(n) -> bool:
    try:
        return int(n) == n
    except (TypeError, ValueError, OverflowError):
        return False


def check_field(grid: Grid, f, name: str = "field", *, components: int | None = None) -> None:
    """Static shape check: ``f`` is ``grid.shape`` (or ``(components, *grid.shape)``)."""
    if not isinstance(grid, Grid):
        raise TypeError(f"grid must be a Grid, got {type(grid).__name__}")
    want = grid.shape if components is None else (components, *grid.shape)
    if jnp.shape(f) != want:
        raise ValueError(f"{name} must have shape {want} on this grid, got {jnp.shape(f)}; "
                         "kernels take one field, use jax.vmap to batch")


def _guard(x, bad, message: str) -> Array:
    """``check(x, bad, message)`` that also survives differentiation.

    A check on x whose result only feeds the primal output vanishes from ``jit(grad(f))`` when f is
    linear in x (the gradient does not need x, so XLA drops the check with the unused primal).
    Here the check rides on a zero that multiplies x, so every derivative with respect to x carries
    it; eagerly it raises ``ValueError`` as :func:`check` does."""
    flag = check(jnp.zeros_like(jnp.real(x), shape=()), bad, message)  # keeps a Python float's weak type
    return x * (1 + flag)


def _guard_finite(x, name: str) -> Array:
    return _guard(x, ~jnp.isfinite(x), f"{name} contains NaN or inf")


def _guard_positive(x, name: str) -> Array:
    return _guard(x, ~(x > 0) | ~jnp.isfinite(x), f"{name} must be finite and > 0")


def _positive_scalar(x, name: str, dtype=None) -> Array:
    """A scalar parameter > 0: promoted (never truncated), a scalar (batch with ``jax.vmap``),
    finite and > 0 under every transformation."""
    return _guard_positive(check_scalar(as_float(x, name, dtype), name), name)


def _finite_scalar(x, name: str, dtype=None) -> Array:
    return _guard_finite(check_scalar(as_float(x, name, dtype), name), name)


def _checked_field(grid: Grid, f, name: str, dtype=None, *, components: int | None = None) -> Array:
    """The input policy for a field (docs/conventions.md, README "Errors and domains"): shape
    ``grid.shape`` (or ``(components, *grid.shape)``), integers promoted to ``dtype`` (default
    float) before anything else is cast, NaN/inf an error (also under jit(grad)). Returns the
    checked array: use it."""
    check_field(grid, f, name, components=components)
    return _guard_finite(as_float(f, name, dtype), name)


def _check_method(method: str, order: int = 1) -> None:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if isinstance(order, bool) or order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order!r}")


def _broadcast(v: Array, k: int, ndim: int) -> Array:
    # Explicit rank: callers may run with jax_numpy_rank_promotion="raise".
    return v.reshape((1,) * k + (-1,) + (1,) * (ndim - k - 1))


def _spectral_derivative(grid: Grid, f: Inexact[Array, "..."], k: int, order: int) -> Array:
    n = grid.shape[k]
    real = not jnp.iscomplexobj(f)
    kk = grid.wavenumbers(k, jnp.real(f).dtype)
    mult = (1j * kk) ** order
    if order % 2 == 1 and n % 2 == 0:
        mult = mult.at[n // 2].set(0.0)
    fh = jnp.fft.fft(f, axis=k)
    df = jnp.fft.ifft(fh * _broadcast(mult, k, f.ndim), axis=k)
    return df.real if real else df


_STENCILS = {  # central differences: (offset, weight) for d/dq and d²/dq², times h^-order
    ("fd2", 1): ((1, 0.5), (-1, -0.5)),
    ("fd2", 2): ((1, 1.0), (0, -2.0), (-1, 1.0)),
    ("fd4", 1): ((2, -1 / 12), (1, 2 / 3), (-1, -2 / 3), (-2, 1 / 12)),
    ("fd4", 2): ((2, -1 / 12), (1, 4 / 3), (0, -5 / 2), (-1, 4 / 3), (-2, -1 / 12)),
}


def derivative(grid: Grid, f: Inexact[Array, "..."], axis: int, order: int = 1, *,
               method: str = "spectral") -> Inexact[Array, "..."]:
    """∂^order f / ∂q_axis^order on the periodic grid (order 1 or 2), same shape and dtype as f.

    ``f`` has shape ``grid.shape`` (integers are promoted to float; NaN/inf raise); ``axis`` is
    in ``range(grid.ndim)``.
    """
    _check_method(method, order)
    f = _checked_field(grid, f, "f")
    if isinstance(axis, bool) or not _is_integer(axis) or not 0 <= axis < grid.ndim:
        raise ValueError(f"axis must be an integer in [0, {grid.ndim}) for this {grid.ndim}-D grid, got {axis!r}")
    return _derivative(grid, f, int(axis), order, method)


def _derivative(grid: Grid, f: Array, axis: int, order: int, method: str) -> Array:
    # Unchecked: kernels validate once at their entry, not inside every grad/jacfwd trace.
    if method == "spectral":
        return _spectral_derivative(grid, f, axis, order)
    h = grid.spacing[axis]
    # f(q + s h) is f rolled by -s along the axis.
    return sum(wt * jnp.roll(f, -s, axis=axis) for s, wt in _STENCILS[method, order]) / h**order


def gradient(grid: Grid, f: Inexact[Array, "..."], *, method: str = "spectral") -> Inexact[Array, "K ..."]:
    """∇f, shape (K, *grid.shape); ``f`` as in :func:`derivative`."""
    _check_method(method)
    return _gradient(grid, _checked_field(grid, f, "f"), method)


def _gradient(grid: Grid, f: Array, method: str) -> Array:
    return jnp.stack([_derivative(grid, f, k, 1, method) for k in range(grid.ndim)])


def divergence(grid: Grid, v: Inexact[Array, "K ..."], *, method: str = "spectral") -> Inexact[Array, "..."]:
    """∇·v = Σ_k ∂_k v_k for a vector field of shape (K, *grid.shape)."""
    _check_method(method)
    return _divergence(grid, _checked_field(grid, v, "vector field v", components=grid.ndim), method)


def _divergence(grid: Grid, v: Array, method: str) -> Array:
    return sum(_derivative(grid, v[k], k, 1, method) for k in range(grid.ndim))


def laplacian(grid: Grid, f: Inexact[Array, "..."], *, method: str = "spectral") -> Inexact[Array, "..."]:
    """∇²f = Σ_k ∂²_k f (spectral: multiplier -|k|², Nyquist kept); ``f`` as in :func:`derivative`."""
    _check_method(method)
    return _laplacian(grid, _checked_field(grid, f, "f"), method)


def _laplacian(grid: Grid, f: Array, method: str) -> Array:
    return sum(_derivative(grid, f, k, 2, method) for k in range(grid.ndim))


def integral(grid: Grid, f: Inexact[Array, "..."]) -> Inexact[Array, ""]:
    """∫ f dᴷq ≈ Σ f · h_1 ⋯ h_K (trapezoid rule on the periodic box); f of ``grid.shape``, finite."""
    return _integral(grid, _checked_field(grid, f, "f"))


def _integral(grid: Grid, f: Array) -> Array:
    return jnp.sum(f) * grid.cell_volume


def functional_derivative(action: Callable[[Array], Array], field: Float[Array, "..."],
                          grid: Grid) -> Float[Array, "..."]:
    """δS/δφ of a discretized action S[φ] = Σ ℒ(φ) · cell_volume: ``jax.grad(action) / cell_volume``.

    Arguments:
        action: scalar function of the field (close over the other fields and parameters).
        field: the field φ, shape ``grid.shape``.
        grid: the grid whose cell volume is the measure of the action's sum.

    Returns: δS/δφ at every grid point, shape ``grid.shape``. Equations of motion of every action
    in this package come from here, never from a hand-coded Euler-Lagrange expression.
    """
    if not callable(action):
        raise TypeError(f"action must be a callable of the field, got {type(action).__name__}")
    field = _checked_field(grid, field, "field")
    # A non-scalar action fails in jax.grad with "Gradient only defined for scalar-output functions".
    return jax.grad(action)(field) / grid.cell_volume
