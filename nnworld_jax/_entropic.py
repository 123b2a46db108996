"""Private helpers for the entropic action of paper §5, shared by entropic, quantum and hamilton_jacobi.

Holds the unchecked Lagrangian density (28): pointwise in the jet (p, ∂_tF, ∇F, ∇²F, V, √p∇²√p)
(``_pointwise_density``, also the D = 0 density of :func:`nnworld_jax.hamilton_jacobi.classical_density`:
one implementation) and lifted onto a grid (``_density``); the Hamiltonian H[p, F] = ∫ ℒ|_{∂_tF = 0}
(``_hamiltonian``) that the canonical equations come from by ``jax.grad`` (:mod:`nnworld_jax._eom`),
and the static part of
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
from ._eom import _canonical_flow
from ._eom import _hamiltonian as _eom_hamiltonian
from ._fields import _gradient, _laplacian

if TYPE_CHECKING:
    from .entropic import Coefficients
    from .grid import Grid

__all__ = ["_density", "_hamiltonian", "_pointwise_density", "_rates", "_scalar_coefficients", "_static_density"]


def _scalar_coefficients(c: Coefficients, dtype=None) -> Coefficients:
    """Static part of the policy for (D, γ, μ): a 3-tuple of scalars, integers promoted to float."""
    # Looked up at call time: entropic imports this module for its own functions.
    from .entropic import Coefficients

    if not isinstance(c, tuple) or len(c) != 3:
        raise TypeError(f"c must be Coefficients(D, gamma, mu), got {type(c).__name__}")
    return Coefficients(*(check_scalar(as_float(x, name, dtype), name) for x, name in zip(c, Coefficients._fields)))


def _pointwise_density(p, F_t, grad_F, lap_F, V, D, gamma, mu, learning: bool, quantum=None):
    """ℒ (28) at each point from its jet: -4D·``quantum`` + μ p ∂_tF + μγ p |∇F|² + μ p V [+ γ p ∇²F].

    ``quantum`` is √p ∇²√p (None: D = 0, the classical density ℒ_0 of §6); ``grad_F`` has the
    component axis first; ``lap_F`` is used only when ``learning``. Unchecked."""
    density = mu * p * F_t + mu * gamma * p * jnp.sum(grad_F**2, axis=0) + mu * p * V
    if quantum is not None:
        density = -4.0 * D * quantum + density
    if learning:
        density = density + gamma * p * lap_F
    return density


def _density(p, F, F_t, V, space: Grid, c: Coefficients, learning: bool, method: str):
    # Unchecked ℒ (28) on the grid: the jet of (p, F) by the grid's derivatives, then the pointwise
    # density. The checks run once at each public entry point, not inside every grad/jacfwd trace
    # (a traced check there multiplies trace and compile time several-fold).
    sqrt_p = jnp.sqrt(p)
    lap_F = _laplacian(space, F, method) if learning else None
    return _pointwise_density(p, F_t, _gradient(space, F, method), lap_F, V, c.D, c.gamma, c.mu, learning,
                              quantum=sqrt_p * _laplacian(space, sqrt_p, method))


def _static_density(V, space: Grid, c: Coefficients, learning: bool, method: str):
    """ℒ (28) at ∂_tF = 0 as a function of the canonical pair (p, F): the density whose lift is H."""
    return lambda p, F: _density(p, F, jnp.zeros_like(F), V, space, c, learning, method)


def _hamiltonian(p, F, V, space: Grid, c: Coefficients, learning: bool, method: str):
    return _eom_hamiltonian(_static_density(V, space, c, learning, method), space)(p, F)


def _rates(p, F, V, space: Grid, c: Coefficients, learning: bool, method: str, only: str | None = None):
    """(∂_t p, ∂_t F) of eqs. (29)-(30): the canonical flow μ ∂_t p = δH/δF, μ ∂_t F = -δH/δp of the
    density (28), built by :func:`nnworld_jax._eom._canonical_flow` (``only="P"``: ∂_t F alone)."""
    return _canonical_flow(_static_density(V, space, c, learning, method), space, p, F, scale=c.mu, only=only)
