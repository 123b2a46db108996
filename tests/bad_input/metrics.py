"""Bad input for nnworld_jax.metrics: the factories' parameters (scalars, finite, in their domain;
dimensions are integers, never truncated), traced parameters under jit/grad, and the closures'
point shape."""

import math

import jax
import jax.numpy as jnp

from nnworld_jax import metrics as mt

from ._harness import Case


def run(fn, *args, **kw):
    return lambda: jax.block_until_ready(fn(*args, **kw))


X4 = jnp.array([0.0, 3.0, 1.0, 0.0])


def jit_grad_param(factory, value, *rest):
    """d g_tt/d(parameter) under jax.jit(jax.grad): a traced parameter is checked too."""
    def gtt(p):
        return factory(p, *rest)(X4)[0, 0]
    return lambda: jax.block_until_ready(jax.jit(jax.grad(gtt))(value))


POSITIVE = r"must be finite and > 0"
CASES = [
    # minkowski: n is an integer >= 2
    Case("metrics.minkowski", "n = 2.5 (would truncate to 2)", run(mt.minkowski, 2.5), r"n must be an integer", "input"),
    Case("metrics.minkowski", "n = 1", run(mt.minkowski, 1), r"n must be an integer >= 2", "domain"),
    Case("metrics.minkowski", "n = True", run(mt.minkowski, True), r"n must be an integer", "input"),
    Case("metrics.minkowski", "n = '4'", run(mt.minkowski, "4"), r"n must be an integer", "input"),
    Case("metrics.minkowski", "closure at a point of the wrong dimension", run(mt.minkowski(3), jnp.zeros(4)),
         r"X must be one point of shape \(3,\)", "input"),
    # schwarzschild: M finite and > 0, a scalar
    Case("metrics.schwarzschild", "M = -1", run(mt.schwarzschild, -1.0), r"M " + POSITIVE, "domain"),
    Case("metrics.schwarzschild", "M = 0", run(mt.schwarzschild, 0), r"M " + POSITIVE, "domain"),
    Case("metrics.schwarzschild", "M = NaN", run(mt.schwarzschild, math.nan), r"M " + POSITIVE, "input"),
    Case("metrics.schwarzschild", "M = inf", run(mt.schwarzschild, math.inf), r"M " + POSITIVE, "input"),
    Case("metrics.schwarzschild", "M of shape (2,)", run(mt.schwarzschild, jnp.array([1.0, 2.0])),
         r"M must be a scalar.*jax\.vmap", "input"),
    Case("metrics.schwarzschild", "M a string", run(mt.schwarzschild, "1"), r"M must be a number", "input"),
    Case("metrics.schwarzschild", "M = -1 under jit(grad)", jit_grad_param(mt.schwarzschild, -1.0), r"M " + POSITIVE,
         "transform"),
    Case("metrics.schwarzschild", "closure at a batch of points", run(mt.schwarzschild(1.0), jnp.ones((2, 4))),
         r"X must be one point of shape \(4,\).*jax\.vmap", "input"),
    # kerr: |a| <= M
    Case("metrics.kerr", "a > M", run(mt.kerr, 1.0, 1.5), r"\|a\| must be <= M", "domain"),
    Case("metrics.kerr", "a < -M", run(mt.kerr, 1.0, -1.5), r"\|a\| must be <= M", "domain"),
    Case("metrics.kerr", "a = NaN", run(mt.kerr, 1.0, math.nan), r"a must be finite", "input"),
    Case("metrics.kerr", "M = 0", run(mt.kerr, 0.0, 0.0), r"M " + POSITIVE, "domain"),
    Case("metrics.kerr", "a of shape (2,)", run(mt.kerr, 1.0, jnp.array([0.1, 0.2])), r"a must be a scalar", "input"),
    Case("metrics.kerr", "a > M under jit(grad) in M", jit_grad_param(mt.kerr, 1.0, 1.5), r"\|a\| must be <= M", "transform"),
    # reissner_nordstrom
    Case("metrics.reissner_nordstrom", "Q = NaN", run(mt.reissner_nordstrom, 1.0, math.nan), r"Q must be finite", "input"),
    Case("metrics.reissner_nordstrom", "Q = inf", run(mt.reissner_nordstrom, 1.0, math.inf), r"Q must be finite", "input"),
    Case("metrics.reissner_nordstrom", "M = -2", run(mt.reissner_nordstrom, -2.0, 0.1), r"M " + POSITIVE, "domain"),
    Case("metrics.reissner_nordstrom", "Q of shape (3,)", run(mt.reissner_nordstrom, 1.0, jnp.zeros(3)),
         r"Q must be a scalar", "input"),
    # de_sitter
    Case("metrics.de_sitter", "H = 0", run(mt.de_sitter, 0.0), r"H " + POSITIVE, "domain"),
    Case("metrics.de_sitter", "H = -1", run(mt.de_sitter, -1.0), r"H " + POSITIVE, "domain"),
    Case("metrics.de_sitter", "H = NaN", run(mt.de_sitter, math.nan), r"H " + POSITIVE, "input"),
    Case("metrics.de_sitter", "H complex", run(mt.de_sitter, 1.0 + 1.0j), r"H must be real", "input"),
    # flrw
    Case("metrics.flrw", "a_fn not callable", run(mt.flrw, 1.0), r"a_fn must be a callable", "input"),
    Case("metrics.flrw", "k = NaN", run(mt.flrw, jnp.exp, math.nan), r"k must be finite", "input"),
    Case("metrics.flrw", "k of shape (2,)", run(mt.flrw, jnp.exp, jnp.zeros(2)), r"k must be a scalar", "input"),
    Case("metrics.flrw", "closure at a 3-vector", run(mt.flrw(jnp.exp), jnp.zeros(3)), r"X must be one point of shape \(4,\)",
         "input"),
    # sphere
    Case("metrics.sphere", "a = 0", run(mt.sphere, 0.0), r"a " + POSITIVE, "domain"),
    Case("metrics.sphere", "a = -1", run(mt.sphere, -1.0), r"a " + POSITIVE, "domain"),
    Case("metrics.sphere", "a = inf", run(mt.sphere, math.inf), r"a " + POSITIVE, "input"),
    Case("metrics.sphere", "a of shape (2,)", run(mt.sphere, jnp.ones(2)), r"a must be a scalar", "input"),
    Case("metrics.sphere", "a = -1 under jit(grad)",
         lambda: jax.block_until_ready(jax.jit(jax.grad(lambda a: mt.sphere(a)(jnp.array([1.0, 0.0]))[1, 1]))(-1.0)),
         r"a " + POSITIVE, "transform"),
    # periodic_test_metric
    Case("metrics.periodic_test_metric", "d = 2.5 (would truncate)", run(mt.periodic_test_metric, 2.5, 0.1),
         r"d must be an integer", "input"),
    Case("metrics.periodic_test_metric", "d = 0", run(mt.periodic_test_metric, 0, 0.1), r"d must be an integer >= 1", "domain"),
    Case("metrics.periodic_test_metric", "eps = NaN", run(mt.periodic_test_metric, 2, math.nan), r"eps must be finite", "input"),
    Case("metrics.periodic_test_metric", "eps of shape (2,)", run(mt.periodic_test_metric, 2, jnp.ones(2)),
         r"eps must be a scalar", "input"),
    Case("metrics.periodic_test_metric", "unknown signature", run(mt.periodic_test_metric, 2, 0.1, "riemannian"),
         r"signature must be", "input"),
    Case("metrics.periodic_test_metric", "closure at a point of the wrong dimension",
         run(mt.periodic_test_metric(3, 0.1), jnp.zeros(2)), r"X must be one point of shape \(3,\)", "input"),
]
