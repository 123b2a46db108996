"""Bad-input cases for nnworld_jax.minimal_coupling (the toolkit's scalar-matter model, not (77)-(80))."""

import jax
import jax.numpy as jnp

from nnworld_jax import minimal_coupling as mc
from nnworld_jax.grid import Grid

from ._harness import Case

N = 8
GRID = Grid((N, N))
FLAT = jnp.broadcast_to(jnp.diag(jnp.asarray([-1.0, 1.0])).reshape(2, 2, 1, 1), (2, 2, N, N))
PHI = jnp.zeros((1, N, N))
SHEET = jnp.zeros((3, N, N))


def _minkowski3(X):
    return jnp.diag(jnp.asarray([-1.0, 1.0, 1.0], dtype=X.dtype))


def _force(f):
    return lambda: jax.block_until_ready(f())


CASES = [
    Case("minimal_coupling.emergent_metric", "displacement shape", _force(lambda: mc.emergent_metric(jnp.zeros((3, N, N)), GRID)),
         "displacement must have shape"),
    Case("minimal_coupling.emergent_metric", "NaN in conformal",
         _force(lambda: mc.emergent_metric(jnp.zeros((2, N, N)), GRID, conformal=jnp.full((N, N), jnp.nan))),
         "conformal contains NaN"),
    Case("minimal_coupling.hidden_density", "metric shape", _force(lambda: mc.hidden_density(FLAT[:, :, :4], PHI, GRID)),
         "metric must have shape"),
    Case("minimal_coupling.hidden_action", "fields shape", _force(lambda: mc.hidden_action(FLAT, PHI[0], GRID)),
         "fields must have shape"),
    Case("minimal_coupling.hidden_action", "coupling < 0", _force(lambda: mc.hidden_action(FLAT, PHI, GRID, coupling=-1.0)),
         "coupling must be >= 0", "domain"),
    Case("minimal_coupling.hidden_action", "NaN in fields under jit",
         _force(lambda: jax.jit(lambda f: mc.hidden_action(FLAT, f, GRID))(PHI.at[0, 1, 1].set(jnp.nan))),
         "fields contain NaN", "transform"),
    Case("minimal_coupling.hidden_euler_lagrange", "mass = NaN",
         _force(lambda: mc.hidden_euler_lagrange(FLAT, PHI, GRID, mass=float("nan"))), "mass must be finite", "domain"),
    Case("minimal_coupling.energy_momentum_density", "NaN in metric",
         _force(lambda: mc.energy_momentum_density(FLAT.at[0, 0, 1, 1].set(jnp.nan), PHI, GRID)), "metric contains NaN"),
    Case("minimal_coupling.christoffel_field", "degenerate metric",
         _force(lambda: mc.christoffel_field(FLAT.at[0, 0].set(0.0), GRID)), "degenerate", "domain"),
    Case("minimal_coupling.covariant_divergence_density", "density shape",
         _force(lambda: mc.covariant_divergence_density(FLAT, jnp.ones((2, N, N)), GRID)), "density must have shape"),
    Case("minimal_coupling.noether_residual", "unknown method", _force(lambda: mc.noether_residual(FLAT, PHI, GRID, method="fd3")),
         "method must be"),
    Case("minimal_coupling.string_action", "tension = 0", _force(lambda: mc.string_action(SHEET, GRID, _minkowski3, tension=0.0)),
         "tension must be finite and > 0", "domain"),
    Case("minimal_coupling.string_action", "metric_fn of the wrong shape",
         _force(lambda: mc.string_action(SHEET, GRID, lambda X: jnp.eye(2))), "metric_fn must map"),
    Case("minimal_coupling.string_eom", "drift shape", _force(lambda: mc.string_eom(SHEET, GRID, _minkowski3, drift=jnp.ones(2))),
         "drift must have shape"),
    Case("minimal_coupling.string_eom", "NaN in Y", _force(lambda: mc.string_eom(SHEET.at[0, 0, 0].set(jnp.nan), GRID, _minkowski3)),
         "Y contains NaN"),
]
