"""Bad input for nnworld_jax.reference: the reference networks of docs/conventions.md §1."""

import jax
import jax.numpy as jnp
import numpy as np

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
    Case("reference.uniform_fixed_point", "c NaN", run(ref.uniform_fixed_point, np.nan, 0.2), r"c contains NaN", "input"),
    Case("reference.uniform_fixed_point", "b array of shape (2,)", run(ref.uniform_fixed_point, 0.5, np.ones(2)), r"b must be a real scalar", "input"),
    Case("reference.uniform_fixed_point", "steps=0", run(ref.uniform_fixed_point, 0.5, 0.2, 0), r"steps must be an integer >= 1", "domain"),
    Case("reference.uniform_fixed_point", "c=-3 (oscillates, no fixed point reached)", run(ref.uniform_fixed_point, -3.0, 0.2),
         r"did not converge in steps", "domain"),
    Case("reference.cycle_logdet_closed_form", "beta=0", run(ref.cycle_logdet_closed_form, 8, 0.1, 0.0), r"beta must be > 0", "domain"),
    Case("reference.cycle_logdet_closed_form", "length 0", run(ref.cycle_logdet_closed_form, [8, 0], 0.1, 1.0),
         r"lengths must be an integer >= 1", "domain"),
    Case("reference.cycle_logdet_closed_form", "length 2.5", run(ref.cycle_logdet_closed_form, [2.5], 0.1, 1.0),
         r"lengths must be an integer", "input"),
    Case("reference.cycle_logdet_closed_form", "ac NaN", run(ref.cycle_logdet_closed_form, 8, np.nan, 1.0), r"ac contains NaN", "input"),
    Case("reference.cycle_logdet_closed_form", "three ac for two cycles", run(ref.cycle_logdet_closed_form, [4, 4], [0.1, 0.2, 0.3], 1.0),
         r"ac must be a scalar or one value per cycle", "input"),
    Case("reference.cycle_logdet_closed_form", "1 - βm < 0 (log of a negative number)", run(ref.cycle_logdet_closed_form, 8, 0.1, 1.0, 2.0),
         r"not positive definite", "domain"),
    Case("reference.chain_logdet_tridiagonal", "d of shape (2, 2)", run(ref.chain_logdet_tridiagonal, np.ones((2, 2)), 0.5, 1.0),
         r"d must be a 1-D array", "input"),
    Case("reference.chain_logdet_tridiagonal", "d with inf", run(ref.chain_logdet_tridiagonal, [0.5, np.inf], 0.5, 1.0),
         r"d contains NaN or inf", "input"),
    Case("reference.chain_logdet_tridiagonal", "beta=-1", run(ref.chain_logdet_tridiagonal, [0.5, 0.5], 0.5, -1.0), r"beta must be > 0", "domain"),
    Case("reference.chain_logdet_tridiagonal", "m too large (a pivot <= 0)", run(ref.chain_logdet_tridiagonal, [0.5, 0.5], 0.1, 1.0, 3.0),
         r"not positive definite", "domain"),
    Case("reference.chain_slopes", "n=0", run(ref.chain_slopes, 0, 0.5, 0.2), r"n must be an integer >= 1", "domain"),
    Case("reference.chain_slopes", "c=inf", run(ref.chain_slopes, 4, np.inf, 0.2), r"c contains NaN or inf", "input"),
    Case("reference.chain_slopes", "b=True (a bool, not a number)", run(ref.chain_slopes, 4, 0.5, True), r"b must be a real scalar", "input"),
]
