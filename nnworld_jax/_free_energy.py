"""Private helper for thermodynamics from a free energy, shared by learning and training.

Holds ``_thermo_from_logdet``: given βF as a function of β (in practice -log Z of a Gaussian form,
eq. (7) or Laplace, from a log-determinant), the free energy F (6), the average loss U = ∂(βF)/∂β
(10), the entropy S_x = β(U - F) (13), S_0 = (n/2)(1 + log(2π/β)), the complexity C = S_x - S_0
(12)-(14) and the heat capacity -β² ∂U/∂β, all by nested forward-mode ``jax.jvp`` in β (as
:func:`nnworld_jax.thermodynamics`; docs/conventions.md §1). Used by
:mod:`~nnworld_jax.learning` (clamped and data thermodynamics) and :mod:`~nnworld_jax.training`
(the feed-forward fast path).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .thermo import Thermodynamics

__all__ = ["_thermo_from_logdet"]


def _thermo_from_logdet(beta_f, beta, n):
    """F, U, S_x, S_0, C, heat capacity from βF(β) by nested ``jax.jvp`` (as :func:`nnworld_jax.thermodynamics`)."""

    def beta_f_and_u(bt):
        return jax.jvp(beta_f, (bt,), (jnp.ones_like(bt),))

    (bf, u), (_, du_dbeta) = jax.jvp(beta_f_and_u, (beta,), (jnp.ones_like(beta),))
    s = beta * u - bf
    s0 = 0.5 * n * (1.0 + jnp.log(2 * jnp.pi / beta))
    return Thermodynamics(bf / beta, u, s, s0, s - s0, -beta**2 * du_dbeta)
