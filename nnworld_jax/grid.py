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
from jaxtyping import Array, Float, Inexact

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
        shape = tuple(int(n) for n in shape)
        if not shape or any(n < 2 for n in shape):
            raise ValueError(f"grid shape must have 1 or more axes of >= 2 points, got {shape}")
        if lengths is None:
            lengths = (2 * math.pi,) * len(shape)
        elif isinstance(lengths, (int, float)):
            lengths = (float(lengths),) * len(shape)
        lengths = tuple(float(length) for length in lengths)
        if len(lengths) != len(shape) or any(not (length > 0) for length in lengths):
            raise ValueError(f"lengths must be {len(shape)} positive numbers, got {lengths}")
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


def check_field(grid: Grid, f, name: str = "field", *, components: int | None = None) -> None:
    """Static shape check: ``f`` is ``grid.shape`` (or ``(components, *grid.shape)``)."""
    want = grid.shape if components is None else (components, *grid.shape)
    if jnp.shape(f) != want:
        raise ValueError(f"{name} must have shape {want} on this grid, got {jnp.shape(f)}; "
                         "kernels take one field, use jax.vmap to batch")


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
    """∂^order f / ∂q_axis^order on the periodic grid (order 1 or 2), same shape and dtype as f."""
    check_field(grid, f)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order}")
    if method == "spectral":
        return _spectral_derivative(grid, f, axis, order)
    h = grid.spacing[axis]
    # f(q + s h) is f rolled by -s along the axis.
    return sum(wt * jnp.roll(f, -s, axis=axis) for s, wt in _STENCILS[method, order]) / h**order


def gradient(grid: Grid, f: Inexact[Array, "..."], *, method: str = "spectral") -> Inexact[Array, "K ..."]:
    """∇f, shape (K, *grid.shape)."""
    return jnp.stack([derivative(grid, f, k, 1, method=method) for k in range(grid.ndim)])


def divergence(grid: Grid, v: Inexact[Array, "K ..."], *, method: str = "spectral") -> Inexact[Array, "..."]:
    """∇·v = Σ_k ∂_k v_k for a vector field of shape (K, *grid.shape)."""
    check_field(grid, v, "vector field", components=grid.ndim)
    return sum(derivative(grid, v[k], k, 1, method=method) for k in range(grid.ndim))


def laplacian(grid: Grid, f: Inexact[Array, "..."], *, method: str = "spectral") -> Inexact[Array, "..."]:
    """∇²f = Σ_k ∂²_k f (spectral: multiplier -|k|², Nyquist kept)."""
    return sum(derivative(grid, f, k, 2, method=method) for k in range(grid.ndim))


def integral(grid: Grid, f: Inexact[Array, "..."]) -> Inexact[Array, ""]:
    """∫ f dᴷq ≈ Σ f · h_1 ⋯ h_K (trapezoid rule on the periodic box)."""
    check_field(grid, f)
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
    check_field(grid, field)
    return jax.grad(action)(field) / grid.cell_volume
