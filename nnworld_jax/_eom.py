"""Private: the one equation-of-motion builder behind the field modules (paper §5-§6).

Every equation of motion in :mod:`~nnworld_jax.entropic` (eqs. (29)-(30)), :mod:`~nnworld_jax.quantum`
(eq. (36) and the kinetic symbol of its split-step integrator) and :mod:`~nnworld_jax.hamilton_jacobi`
(eqs. (38)/(43) on a grid and along characteristics) is the canonical flow of one density ℒ. The
density's time-derivative part is μ-weighted P ∂_tQ for a canonical pair (Q, P) (p and F in (28);
a = Re Ψ and b = Im Ψ in (36); q and P = ∇F for characteristics); the rest, at ∂_t = 0, integrated
with the measure, is the Hamiltonian H. Stationarity of S = ∫dt [∫ s P ∂_tQ + H] gives

    s ∂_tQ = δH/δP,     s ∂_tP = -δH/δQ,

with δ/δφ = ``jax.grad(H)`` ÷ the measure of one point (a grid's cell volume, as
:func:`nnworld_jax.grid.functional_derivative`; 1 at a single point q ∈ Rᴷ). Nothing here writes an
Euler-Lagrange expression by hand: a module hands over its density, this module lifts it onto the
grid (Σ ℒ · cell volume) and differentiates.

* :func:`_hamiltonian`: H = Σ ℒ · cell volume of a density on a grid (or ℒ itself at a point).
* :func:`_variation`: δH/δφ of chosen arguments.
* :func:`_canonical_flow`: (∂_tQ, ∂_tP) from the two variations (or one of them).
* :func:`_linear_symbol`: the Fourier symbol of a translation-invariant linear flow on a periodic
  grid, from one application of the grad-derived operator to the unit impulse (whose transform is
  1 for every plane wave): how the split-step kinetic symbol is derived from the density (36).

Conventions (signs, μ kept, grid measure) as ``docs/conventions.md`` §3 and :mod:`nnworld_jax.grid`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp

from ._fields import _integral

if TYPE_CHECKING:
    from .grid import Grid

__all__ = ["_canonical_flow", "_hamiltonian", "_linear_symbol", "_variation"]


def _measure(grid: Grid | None) -> float:
    return 1.0 if grid is None else grid.cell_volume


def _hamiltonian(density: Callable, grid: Grid | None) -> Callable:
    """H(*fields) = Σ ℒ(*fields) · cell volume on ``grid`` (the lift of a grid density to its
    integral), or ℒ(*fields) itself (a scalar) when ``grid`` is None (one point, measure 1)."""
    if grid is None:
        return density
    return lambda *fields: _integral(grid, density(*fields))


def _variation(density: Callable, grid: Grid | None, fields: Sequence, argnums: int | tuple[int, ...]):
    """δH/δφ_i for i in ``argnums`` (H of :func:`_hamiltonian`): ``jax.grad`` ÷ the measure of one point."""
    grads = jax.grad(_hamiltonian(density, grid), argnums=argnums)(*fields)
    measure = _measure(grid)
    return jax.tree.map(lambda g: g / measure, grads)


def _canonical_flow(density: Callable, grid: Grid | None, Q, P, *, scale=1.0, only: str | None = None):
    """The canonical flow of ``density(Q, P)`` (its ∂_t-free part): s ∂_tQ = δH/δP, s ∂_tP = -δH/δQ.

    ``scale`` is s, the coefficient of P ∂_tQ in the density (μ for (28), 2μħ_eff for (36), 1 for
    characteristics). Returns (∂_tQ, ∂_tP); ``only="Q"`` or ``"P"`` returns that rate alone (one
    gradient instead of two)."""
    if only == "Q":
        return _variation(density, grid, (Q, P), 1) / scale
    if only == "P":
        return -_variation(density, grid, (Q, P), 0) / scale
    dh_dq, dh_dp = _variation(density, grid, (Q, P), (0, 1))
    return dh_dp / scale, -dh_dq / scale


def _linear_symbol(operator: Callable, grid: Grid, dtype) -> jax.Array:
    """Fourier symbol σ(k) (FFT order, shape ``grid.shape``) of a linear, translation-invariant
    operator L on the periodic grid: L e^{ik·q} = σ(k) e^{ik·q} for every grid plane wave.

    The unit impulse δ₀ at index 0 is the sum of all plane waves with weight 1 (its FFT is 1), so
    σ = FFT(L δ₀): one application of L builds the whole symbol. For a real symmetric L (a
    Hermitian kinetic form) σ is real; the round-off imaginary part is dropped."""
    impulse = jnp.zeros(grid.shape, dtype).at[(0,) * grid.ndim].set(1)
    return jnp.real(jnp.fft.fftn(operator(impulse))).astype(dtype)
