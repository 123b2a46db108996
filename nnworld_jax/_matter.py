"""The one Klein-Gordon Lagrangian of the package (paper §9, the matter term L_M of (84)-(85)).

Serves :mod:`~nnworld_jax.gravity` (``scalar_field_lagrangian``, one point) and
:mod:`~nnworld_jax.minimal_coupling` (the toolkit's matter model on a grid): both write
L_M = -½ g^{μν} Σ_A ∂_μφ_A ∂_νφ_A - Σ_A (½ m² φ_A² + ¼ λ φ_A⁴) through this function, with the
indices first and any number of trailing point axes (none at one point, the grid's axes on a grid).
Signature (-, +, +, +) as in ``docs/conventions.md``: a static field has L_M = -(|∇φ|² + m²φ²)/2.
Not multiplied by √|g|; no input checks (the callers check).
"""

from __future__ import annotations

import jax.numpy as jnp

__all__ = ["scalar_lagrangian"]


def scalar_lagrangian(ginv, q, dq, mass, coupling=0.0):
    """L_M of m real scalars: ``ginv`` (K, K, *P) the inverse metric, ``q`` (m, *P) the fields,
    ``dq`` (m, K, *P) with ``dq[A, μ] = ∂_μφ_A``, ``mass`` and the quartic ``coupling`` λ scalars.
    Returns (*P)."""
    kinetic = jnp.einsum("mn...,am...,an...->...", ginv, dq, dq)
    potential = jnp.sum(0.5 * mass**2 * q**2 + 0.25 * coupling * q**4, axis=0)
    return -0.5 * kinetic - potential
