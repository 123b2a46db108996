"""Bad input for nnworld_jax.reference: the reference networks of docs/conventions.md §1."""

import jax
import jax.numpy as jnp

from nnworld_jax import reference as ref

from ._harness import Case, jitted, run

KEY = jax.random.PRNGKey(0)

CASES = [
    Case("reference.linear_network", "integer dtype (would truncate the weights)", run(ref.linear_network, jnp.int32),
         r"dtype must be a floating dtype", "input"),
    Case("reference.linear_network", "dtype 'banana'", run(ref.linear_network, "banana"), r"dtype must be a floating dtype", "input"),
    Case("reference.diagonal_network", "negative eigenvalue (no real square root)", run(ref.diagonal_network, [0.3, -1.0]),
         r"spectrum must be >= 0", "domain"),
    Case("reference.diagonal_network", "negative eigenvalue under jit", jitted(lambda s: ref.diagonal_network(s).w, jnp.array([0.3, -1.0])),
         r"spectrum must be >= 0", "transform"),
    Case("reference.diagonal_network", "NaN eigenvalue", run(ref.diagonal_network, [0.3, jnp.nan]), r"spectrum contains NaN", "input"),
    Case("reference.diagonal_network", "spectrum of shape (2, 2)", run(ref.diagonal_network, jnp.ones((2, 2))), r"spectrum must have 1 axes", "input"),
    Case("reference.diagonal_network", "m shape (2,)", run(ref.diagonal_network, [0.3, 1.7], jnp.ones(2)), r"m must be a scalar", "input"),
    Case("reference.diagonal_network", "m NaN", run(ref.diagonal_network, [0.3, 1.7], jnp.nan), r"m contains NaN", "input"),
    Case("reference.random_network", "n=0", run(ref.random_network, 0, key=KEY), r"n must be an integer >= 1", "domain"),
    Case("reference.random_network", "n=3.5", run(ref.random_network, 3.5, key=KEY), r"n must be an integer", "input"),
    Case("reference.random_network", "gain=inf", run(ref.random_network, 3, key=KEY, gain=jnp.inf), r"gain contains NaN or inf", "input"),
    Case("reference.random_network", "bias shape (3,)", run(ref.random_network, 3, key=KEY, bias=jnp.ones(3)), r"bias must be a scalar", "input"),
    Case("reference.random_network", "integer dtype", run(ref.random_network, 3, key=KEY, dtype=jnp.int32), r"dtype must be a floating dtype", "input"),
    Case("reference.random_network", "unknown activation", run(ref.random_network, 3, key=KEY, activation="cosh2"), r"unknown activation", "input"),
]
