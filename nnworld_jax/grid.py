"""Periodic grids for fields: coordinates, derivatives, integrals, functional derivatives.

A :class:`Grid` is the box [0, L_1) × … × [0, L_K) sampled at n_k points per axis (cell-centred at
q_j = j h, h = L/n), periodic in every axis. Fields are arrays of exactly ``grid.shape`` (one field
per call; batch with ``jax.vmap``); vector fields carry the component first, ``(K, *grid.shape)``.
Space-time fields use a grid whose first axis is time (periodic in t, as ``docs/conventions.md`` §3).
As everywhere in the package, the field comes first and the grid after it: ``derivative(f, grid, 0)``.

Derivatives come in two families:

* ``"spectral"`` (default): FFT multipliers i k and -k²; the Nyquist mode is dropped for odd
  derivatives (its i k is not the derivative of any real trigonometric interpolant). Exponential
  convergence for smooth periodic fields.
* ``"fd2"``, ``"fd4"``: central finite differences of order 2 and 4 (``jnp.roll`` stencils).

The integral is the trapezoid (= rectangle) rule Σ f · h_1 ⋯ h_K, spectrally accurate for periodic
fields. :func:`functional_derivative` divides ``jax.grad`` of a discretized action by the cell
volume: the quotient every equation of motion of the package is (the canonical flows of the
entropic, Schrödinger and Hamilton-Jacobi densities take it through their one shared builder).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import SupportsIndex

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from ._fields import (METHODS, _check_method, _checked_field, _derivative, _divergence, _gradient, _integral,
                      _is_integer, _laplacian, fft_modes, fft_wavenumbers)
from .types import Array, ArrayLike, Field, Float, Inexact, Int, Num, RealOrComplexField

__all__ = ["Grid", "check_field", "derivative", "gradient", "divergence", "laplacian", "integral",
           "functional_derivative", "fft_modes", "fft_wavenumbers", "METHODS"]


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

    def __init__(self, shape: SupportsIndex | Sequence[SupportsIndex] | Int[ArrayLike, " K"],
                 lengths: Sequence[float] | float | None = None):
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
        # Built on the host (exact j·h in float64, then cast): eagerly, jnp's iota and multiply were two
        # XLA programs per grid size; under a trace the array is a constant either way.
        return jnp.asarray(np.arange(self.shape[k]) * self.spacing[k], dtype or jnp.zeros(()).dtype)

    def mesh(self, dtype=None) -> Float[Array, "K *grid"]:
        """All coordinates, shape (K, *shape): ``q0, q1 = grid.mesh()`` for a 2D grid."""
        axes = [np.arange(n) * h for n, h in zip(self.shape, self.spacing)]
        return jnp.asarray(np.stack(np.meshgrid(*axes, indexing="ij")), dtype or jnp.zeros(()).dtype)

    def wavenumbers(self, k: int, dtype=None) -> Float[Array, " n"]:
        """Angular wavenumbers 2π m / L_k in FFT order."""
        return jnp.asarray(fft_wavenumbers(self.shape[k], self.spacing[k]), dtype or jnp.zeros(()).dtype)


def check_field(f: Num[ArrayLike, "..."], grid: Grid, name: str = "field", *, components: int | None = None) -> None:
    """Static shape check: ``f`` is ``grid.shape`` (or ``(components, *grid.shape)``)."""
    if not isinstance(grid, Grid):
        raise TypeError(f"grid must be a Grid, got {type(grid).__name__}")
    want = grid.shape if components is None else (components, *grid.shape)
    if jnp.shape(f) != want:
        raise ValueError(f"{name} must have shape {want} on this grid, got {jnp.shape(f)}; "
                         "kernels take one field, use jax.vmap to batch")


def derivative(f: RealOrComplexField, grid: Grid, axis: int, order: int = 1, *,
               method: str = "spectral") -> Inexact[Array, "*grid"]:
    """∂^order f / ∂q_axis^order on the periodic grid (order 1 or 2), same shape and dtype as f.

    ``f`` has shape ``grid.shape`` (integers are promoted to float; NaN/inf raise); ``axis`` is
    in ``range(grid.ndim)``.
    """
    _check_method(method, order)
    f = _checked_field(grid, f, "f")
    if isinstance(axis, bool) or not _is_integer(axis) or not 0 <= axis < grid.ndim:
        raise ValueError(f"axis must be an integer in [0, {grid.ndim}) for this {grid.ndim}-D grid, got {axis!r}")
    return _derivative(grid, f, int(axis), order, method)


def gradient(f: RealOrComplexField, grid: Grid, *, method: str = "spectral") -> Inexact[Array, "K *grid"]:
    """∇f, shape (K, *grid.shape); ``f`` as in :func:`derivative`."""
    _check_method(method)
    return _gradient(grid, _checked_field(grid, f, "f"), method)


def divergence(v: Num[ArrayLike, "K *grid"], grid: Grid, *, method: str = "spectral") -> Inexact[Array, "*grid"]:
    """∇·v = Σ_k ∂_k v_k for a vector field of shape (K, *grid.shape)."""
    _check_method(method)
    return _divergence(grid, _checked_field(grid, v, "vector field v", components=grid.ndim), method)


def laplacian(f: RealOrComplexField, grid: Grid, *, method: str = "spectral") -> Inexact[Array, "*grid"]:
    """∇²f = Σ_k ∂²_k f (spectral: multiplier -|k|², Nyquist kept); ``f`` as in :func:`derivative`."""
    _check_method(method)
    return _laplacian(grid, _checked_field(grid, f, "f"), method)


def integral(f: RealOrComplexField, grid: Grid) -> Inexact[Array, ""]:
    """∫ f dᴷq ≈ Σ f · h_1 ⋯ h_K (trapezoid rule on the periodic box); f of ``grid.shape``, finite."""
    return _integral(grid, _checked_field(grid, f, "f"))


def functional_derivative(action: Callable[[Array], Array], field: Field,
                          grid: Grid) -> Float[Array, "*grid"]:
    """δS/δφ of a discretized action S[φ] = Σ ℒ(φ) · cell_volume: ``jax.grad(action) / cell_volume``.

    Arguments:
        action: scalar function of the field (close over the other fields and parameters).
        field: the field φ, shape ``grid.shape``.
        grid: the grid whose cell volume is the measure of the action's sum.

    Returns: δS/δφ at every grid point, shape ``grid.shape``. Equations of motion of every action
    in this package are this quotient (here, or in the canonical-flow builder the entropic,
    Schrödinger and Hamilton-Jacobi modules share), never a hand-coded Euler-Lagrange expression.
    """
    if not callable(action):
        raise TypeError(f"action must be a callable of the field, got {type(action).__name__}")
    field = _checked_field(grid, field, "field")
    # A non-scalar action fails in jax.grad with "Gradient only defined for scalar-output functions".
    return jax.grad(action)(field) / grid.cell_volume
