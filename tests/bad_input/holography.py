"""Bad input for nnworld_jax.holography (eqs. (97)-(102)): boundary map, chain length, the two actions, OU model."""

import jax
import jax.numpy as jnp

from nnworld_jax import holography as h

from ._harness import Case

RING = jnp.asarray(h.cycle_network(5))
B = jnp.linspace(0.1, 0.5, 5)
BB = jnp.array([0.3, -0.2])
A = jnp.array([[1.0, 0.3], [-0.2, 0.8]])


def run(fn, *args, **kw):
    return lambda: jax.block_until_ready(fn(*args, **kw))


def jitted(fn, *args):
    return lambda: jax.block_until_ready(jax.jit(fn)(*args))


CASES = [
    Case("holography.ou_entropy_production", "unstable drift -I (issue #11: returned 0)",
         run(h.ou_entropy_production, -jnp.eye(2), jnp.eye(2)), r"a must be a stable drift", kind="domain"),
    Case("holography.ou_entropy_production", "unstable drift under jit",
         jitted(h.ou_entropy_production, jnp.array([[1.0, 0.0], [0.0, -0.5]]), jnp.eye(2)), r"a must be a stable drift",
         kind="transform"),
    Case("holography.ou_entropy_production", "indefinite diffusion",
         run(h.ou_entropy_production, A, jnp.diag(jnp.array([1.0, -1.0]))), r"diffusion must be symmetric positive definite",
         kind="domain"),
    Case("holography.stationary_covariance", "unstable drift", run(h.stationary_covariance, -A, jnp.eye(2)),
         r"a must be a stable drift", kind="domain"),
    Case("holography.stationary_covariance", "non-symmetric diffusion",
         run(h.stationary_covariance, A, jnp.array([[1.0, 0.5], [0.0, 1.0]])), r"diffusion must be symmetric", kind="domain"),
    Case("holography.boundary_projector", "repeated boundary index", run(h.boundary_projector, (0, 0), 3),
         r"boundary indices must be distinct"),
    Case("holography.boundary_state", "batched x", run(h.boundary_state, jnp.ones((2, 5)), (0, 1)), r"x must have shape \(N,\)"),
    Case("holography.boundary_bias", "batched b", run(h.boundary_bias, jnp.ones((2, 5)), (0, 1)), r"b must have shape \(N,\)"),
    Case("holography.spectral_radius", "non-square w", run(h.spectral_radius, jnp.ones((2, 3))), r"w must have shape \(N, N\)"),
    Case("holography.spectral_radius", "NaN in w", run(h.spectral_radius, RING.at[0, 0].set(jnp.nan)), r"w contains NaN"),
    Case("holography.boundary_weights", "eps * rho(w) = 1.2 under jit",
         jitted(lambda e: h.boundary_weights(RING, e, (0, 2)), 1.2), r"eps \* spectral_radius\(w\) must be < 1", "transform"),
    Case("holography.boundary_weights", "eps = -0.5", run(h.boundary_weights, RING, -0.5, (0, 2)), r"eps must be finite and > 0",
         "domain"),
    Case("holography.boundary_weights_series", "too few terms", run(h.boundary_weights_series, RING, 0.9, (0, 2), n_terms=3),
         r"boundary series not converged"),
    Case("holography.chain_length", "eps = 1.5", run(h.chain_length, jnp.ones((2, 2)), 1.5), r"chain_length needs 0 < eps < 1",
         "domain"),
    Case("holography.chain_length", "eps = 1.5 under jit", jitted(lambda e: h.chain_length(jnp.ones((2, 2)), e), 1.5),
         r"chain_length needs 0 < eps < 1", "transform"),
    Case("holography.chain_network", "chain endpoint outside the boundary", run(h.chain_network, 2, [(0, 3, 1)]),
         r"endpoints must be boundary indices", "domain"),
    Case("holography.random_chain_network", "more chains than pairs",
         run(h.random_chain_network, 4, 9, key=jax.random.PRNGKey(0)), r"n_chains must be in", "domain"),
    Case("holography.cycle_network", "c = 0", run(h.cycle_network, 0), r"c must be a positive integer", "domain"),
    Case("holography.boundary_network", "b of the wrong length", run(h.boundary_network, RING, 0.5, (0, 2), jnp.ones(4)),
         r"b must have shape \(5,\)"),
    Case("holography.boundary_action", "width = -1", run(h.boundary_action, RING, 0.5, (0, 2), B, width=-1.0),
         r"width must be finite and > 0", "domain"),
    Case("holography.boundary_action", "eps = 2", run(h.boundary_action, RING, 2.0, (0, 2), B),
         r"eps \* spectral_radius\(w\) must be < 1", "domain"),
    Case("holography.bulk_state", "b_boundary of the wrong length", run(h.bulk_state, RING, 0.5, (0, 2), jnp.ones(3)),
         r"b_boundary must have shape \(2,\)"),
    Case("holography.bulk_state", "eps = 1 under jit", jitted(lambda e: h.bulk_state(RING, e, (0, 2), BB), 1.0),
         r"eps \* spectral_radius\(w\) must be < 1", "transform"),
    Case("holography.bulk_action", "NaN in b_boundary", run(h.bulk_action, RING, 0.5, (0, 2), BB.at[0].set(jnp.nan)),
         r"b_boundary contains NaN"),
    Case("holography.stationary_covariance", "NaN in a", run(h.stationary_covariance, A.at[0, 0].set(jnp.nan), jnp.eye(2)),
         r"a contains NaN"),
    Case("holography.stationary_covariance", "diffusion of the wrong size", run(h.stationary_covariance, A, jnp.eye(3)),
         r"diffusion must have shape \(2, 2\)"),
    Case("holography.ou_entropy_production", "non-square a", run(h.ou_entropy_production, jnp.ones((2, 3)), jnp.eye(2)),
         r"a must have shape \(N, N\)"),
    Case("holography.bulk_entropy_production", "temperature = -1",
         run(h.bulk_entropy_production, RING, 0.5, temperature=-1.0), r"temperature must be finite and > 0", "domain"),
    Case("holography.bulk_entropy_production", "temperature = -1 under jit",
         jitted(lambda t: h.bulk_entropy_production(RING, 0.5, temperature=t), -1.0),
         r"temperature must be finite and > 0", "transform"),
    Case("holography.boundary_entropy_production", "temperature = 0 under jit",
         jitted(lambda t: h.boundary_entropy_production(RING, 0.5, (0, 2), temperature=t), 0.0),
         r"temperature must be finite and > 0", "transform"),
    Case("holography.boundary_entropy_production", "temperature of shape (2,)",
         run(h.boundary_entropy_production, RING, 0.5, (0, 2), temperature=jnp.ones(2)), r"temperature must be a scalar"),
]

EXEMPT = {
    "holography.ChainNetwork": "a NamedTuple result, built and checked by chain_network",
    "holography.BoundaryAction": "a NamedTuple result of boundary_action",
}
