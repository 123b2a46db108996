"""Private helpers for the entropic action of paper §5, shared by entropic, quantum and hamilton_jacobi.

Holds the unchecked Lagrangian density (28) (``_density``) and the Hamiltonian H[p, F] = ∫ ℒ|_{∂_tF = 0}
(``_hamiltonian``) that the canonical equations come from by ``jax.grad``, and the static part of
the input policy for the constants (D, γ, μ) (``_scalar_coefficients``). The public kernels of
:mod:`~nnworld_jax.entropic` check their inputs once at entry and then call these inside every
``grad``/``jacfwd`` trace. Used by :mod:`~nnworld_jax.entropic`, :mod:`~nnworld_jax.quantum` and
:mod:`~nnworld_jax.hamilton_jacobi`. Conventions (signs, μ kept, the grid measure) as
:mod:`nnworld_jax.entropic` and ``docs/conventions.md`` §3.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import jax.numpy as jnp

from ._checks import as_float, check_scalar
from ._fields import _gradient, _integral, _laplacian

if TYPE_CHECKING:
    from .entropic import Coefficients
    from .grid import Grid

__all__ = ["_density", "_hamiltonian", "_scalar_coefficients"]


def _scalar_coefficients(c: Coefficients, dtype=None) -> Coefficients:
    """Static part of the policy for (D, γ, μ): a 3-tuple of scalars, integers promoted to float."""
    # Looked up at call time: entropic imports this module for its own functions.
    from .entropic import Coefficients

    if not isinstance(c, tuple) or len(c) != 3:
        raise TypeError(f"c must be Coefficients(D, gamma, mu), got {type(c).__name__}")
    return Coefficients(*(check_scalar(as_float(x, name, dtype), name) for x, name in zip(c, Coefficients._fields)))


def _density(p, F, F_t, V, space: Grid, c: Coefficients, learning: bool, method: str):
    # Unchecked ℒ (28): the checks run once at each public entry point, not inside every grad/jacfwd
    # trace (eqx.error_if there multiplies trace and compile time several-fold).
    sqrt_p = jnp.sqrt(p)
    grad_f = _gradient(space, F, method)
    density = (-4.0 * c.D * sqrt_p * _laplacian(space, sqrt_p, method)
               + c.mu * p * F_t + c.mu * c.gamma * p * jnp.sum(grad_f**2, axis=0) + c.mu * p * V)
    if learning:
        density = density + c.gamma * p * _laplacian(space, F, method)
    return density


def _hamiltonian(p, F, V, space: Grid, c: Coefficients, learning: bool, method: str):
    return _integral(space, _density(p, F, jnp.zeros_like(F), V, space, c, learning, method))
