"""Bad input for nnworld_jax.estimators: quadrature and Monte Carlo estimates of log Z (5)/(7)."""

import jax
import jax.numpy as jnp

from nnworld_jax import estimators as es
from nnworld_jax import reference as ref

from ._harness import Case, jitted, run

NET = ref.diagonal_network([0.3, 1.7])
HEAVY = ref.diagonal_network([0.3, 1.7], m=5.0)
BIG = ref.diagonal_network([0.3, 1.7, 0.5, 0.9])  # N = 4 > 3: quadrature would cost n_points**4
KEY = jax.random.PRNGKey(0)
quad = es.log_partition_quadrature
mc = es.log_partition_monte_carlo

CASES = [
    Case("estimators.log_partition_quadrature", "beta shape (2,)", run(quad, NET, jnp.array([1.0, 2.0]), n_points=5),
         r"beta must be a scalar.*vmap", "input"),
    Case("estimators.log_partition_quadrature", "beta=-1", run(quad, NET, -1.0, n_points=5), r"beta must be finite and > 0", "domain"),
    Case("estimators.log_partition_quadrature", "beta=NaN under jit", jitted(lambda b: quad(NET, b, n_points=5), jnp.nan),
         r"beta must be finite", "transform"),
    Case("estimators.log_partition_quadrature", "n_points=1", run(quad, NET, 1.0, n_points=1), r"n_points must be an integer >= 2", "domain"),
    Case("estimators.log_partition_quadrature", "n_points=8.7", run(quad, NET, 1.0, n_points=8.7), r"n_points must be an integer", "input"),
    Case("estimators.log_partition_quadrature", "half_width=inf", run(quad, NET, 1.0, half_width=jnp.inf, n_points=5),
         r"half_width must be finite", "domain"),
    Case("estimators.log_partition_quadrature", "half_width=-3", run(quad, NET, 1.0, half_width=-3.0, n_points=5),
         r"half_width must be finite and > 0", "domain"),
    Case("estimators.log_partition_quadrature", "N = 4", run(quad, BIG, 1.0, n_points=5), r"N <= 3", "domain"),
    Case("estimators.log_partition_quadrature", "no Gaussian frame (1 + beta (lambda - m) < 0)", run(quad, HEAVY, 1.0, n_points=5),
         r"not positive definite", "domain"),
    Case("estimators.log_partition_quadrature", "unknown method", run(quad, NET, 1.0, method="mc", n_points=5), r"method must be one of", "input"),
    Case("estimators.log_partition_quadrature", "net is an array", run(quad, jnp.eye(2), 1.0), r"net must be a Network", "input"),
    Case("estimators.log_partition_monte_carlo", "n_samples=0", run(mc, NET, 1.0, key=KEY, n_samples=0), r"n_samples must be an integer >= 2", "domain"),
    Case("estimators.log_partition_monte_carlo", "n_samples=1 (no standard error)", run(mc, NET, 1.0, key=KEY, n_samples=1),
         r"n_samples must be an integer >= 2", "domain"),
    Case("estimators.log_partition_monte_carlo", "n_samples=100.5", run(mc, NET, 1.0, key=KEY, n_samples=100.5), r"n_samples must be an integer", "input"),
    Case("estimators.log_partition_monte_carlo", "widen=0.5", run(mc, NET, 1.0, key=KEY, n_samples=16, widen=0.5), r"widen must be >= 1", "domain"),
    Case("estimators.log_partition_monte_carlo", "widen=NaN", run(mc, NET, 1.0, key=KEY, n_samples=16, widen=jnp.nan), r"widen contains NaN", "input"),
    Case("estimators.log_partition_monte_carlo", "beta shape (2,)", run(mc, NET, jnp.ones(2), key=KEY, n_samples=16), r"beta must be a scalar", "input"),
    Case("estimators.log_partition_monte_carlo", "beta=0 under jit", jitted(lambda b: mc(NET, b, key=KEY, n_samples=16), 0.0),
         r"beta must be finite and > 0", "transform"),
    Case("estimators.log_partition_monte_carlo", "key is an int", run(mc, NET, 1.0, key=0, n_samples=16), r"key must be a jax\.random key", "input"),
    Case("estimators.log_partition_monte_carlo", "no Gaussian frame (laplace, lambda < m)",
         run(mc, HEAVY, 1.0, key=KEY, n_samples=16, method="laplace"), r"not positive definite", "domain"),
]

EXEMPT = {"estimators.MonteCarloEstimate": "a NamedTuple of results returned by log_partition_monte_carlo, not an entry point"}
