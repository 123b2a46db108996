"""Bad-input cases for nnworld_jax.network_gravity (§9, (77)-(83))."""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from nnworld_jax import gravity as gv
from nnworld_jax import network_gravity as ng
from nnworld_jax.grid import Grid

from ._harness import Case

K, N, NT = 2, 3, 8
TAU = Grid((NT,))
X = jnp.asarray(np.arange(K * N * NT, dtype=float).reshape(K, N, NT) / 10)
G = jnp.eye(N)
METRIC = jnp.broadcast_to(jnp.diag(jnp.asarray([-1.0, 1.0])), (N, K, K))
ST = Grid((16, 16))
W = jnp.ones((K, K, N, NT))
FIELD = jnp.broadcast_to(jnp.diag(jnp.asarray([-1.0, 1.0])).reshape(2, 2, 1, 1), (2, 2, 16, 16))
DENS = jnp.ones((2, 2, 16, 16))
_nan = X.at[0, 0, 0].set(jnp.nan)


def _force(f):
    return lambda: jax.block_until_ready(f())


def _net(fn, **kw):
    return functools.partial(fn, X, G, METRIC, TAU, alpha=1.0, **kw)


CASES = [
    Case("network_gravity.state_average", "x with 2 axes", _force(lambda: ng.state_average(X[0], G)), "x must have shape"),
    Case("network_gravity.state_average", "operator (2, 2)", _force(lambda: ng.state_average(X, jnp.eye(2))), "operator"),
    Case("network_gravity.state_average", "covariance shape", _force(lambda: ng.state_average(X, G, covariance=jnp.eye(N))),
         "covariance must have shape"),
    Case("network_gravity.source_weights", "alpha = 0", _force(lambda: ng.source_weights(X, G, TAU, alpha=0.0)),
         "alpha must be finite and > 0", "domain"),
    Case("network_gravity.source_weights", "alpha batch", _force(lambda: ng.source_weights(X, G, TAU, alpha=jnp.ones(2))),
         "alpha must be a scalar"),
    Case("network_gravity.source_weights", "non-symmetric operator",
         _force(lambda: ng.source_weights(X, jnp.triu(jnp.ones((N, N))), TAU, alpha=1.0)), "operator must be symmetric",
         "domain"),
    Case("network_gravity.hidden_lagrangian", "metric shape", _force(lambda: ng.hidden_lagrangian(X, G, METRIC[0], TAU, alpha=1.0)),
         "metric must have shape"),
    Case("network_gravity.hidden_lagrangian", "unknown form", _force(_net(ng.hidden_lagrangian, form="paper")), "form must be"),
    Case("network_gravity.hidden_action", "NaN in x", _force(lambda: ng.hidden_action(_nan, G, METRIC, TAU, alpha=1.0)),
         "x contains NaN"),
    Case("network_gravity.hidden_action", "NaN in x under jit",
         _force(lambda: jax.jit(lambda y: ng.hidden_action(y, G, METRIC, TAU, alpha=1.0))(_nan)), "x contains NaN", "transform"),
    Case("network_gravity.hidden_action", "grid not a 1-D τ grid", _force(lambda: ng.hidden_action(X, G, METRIC, ST, alpha=1.0)),
         "grid must be a 1-D Grid"),
    Case("network_gravity.hidden_action", "x with the wrong τ length",
         _force(lambda: ng.hidden_action(X[:, :, :4], G, METRIC, TAU, alpha=1.0)), "x must have shape"),
    Case("network_gravity.hidden_eom", "alpha < 0 under jit",
         _force(lambda: jax.jit(lambda a: ng.hidden_eom(X, G, METRIC, TAU, alpha=a))(-1.0)), "alpha must be finite and > 0",
         "transform"),
    Case("network_gravity.hidden_eom", "unknown method", _force(_net(ng.hidden_eom, method="fd3")), "method must be"),
    Case("network_gravity.printed_eom", "NaN in metric",
         _force(lambda: ng.printed_eom(X, G, METRIC.at[0, 0, 0].set(jnp.nan), TAU, alpha=1.0)), "metric contains NaN"),
    Case("network_gravity.metric_at_neurons", "metric_fn of the wrong shape",
         _force(lambda: ng.metric_at_neurons(lambda p: jnp.eye(3), X)), "metric_fn must map"),
    Case("network_gravity.metric_at_neurons", "NaN in x",
         _force(lambda: ng.metric_at_neurons(functools.partial(gv.reference_metric, eps=0.1), _nan)), "x contains NaN"),
    Case("network_gravity.deposit_sources", "width below the grid spacing",
         _force(lambda: ng.deposit_sources(X, W, TAU, ST, width=0.01)), "width must lie in", "domain"),
    Case("network_gravity.deposit_sources", "width = NaN", _force(lambda: ng.deposit_sources(X, W, TAU, ST, width=jnp.nan)),
         "width must be finite", "domain"),
    Case("network_gravity.deposit_sources", "space-time with 3 axes",
         _force(lambda: ng.deposit_sources(X, W, TAU, Grid((4, 4, 4)), width=0.5)), "grid must be a Grid with K"),
    Case("network_gravity.deposit_sources", "weights shape", _force(lambda: ng.deposit_sources(X, W[0], TAU, ST, width=0.5)),
         "weights must have shape"),
    Case("network_gravity.spacetime_action", "density shape", _force(lambda: ng.spacetime_action(FIELD, DENS[0], ST)),
         "density must have shape"),
    Case("network_gravity.spacetime_action", "NaN in metric",
         _force(lambda: ng.spacetime_action(FIELD.at[0, 0, 0, 0].set(jnp.nan), DENS, ST)), "metric contains NaN"),
    Case("network_gravity.source_variation", "metric shape", _force(lambda: ng.source_variation(FIELD[:, :, :4], DENS, ST)),
         "metric must have shape"),
    Case("network_gravity.entropy_production_action", "kappa batch",
         _force(lambda: ng.entropy_production_action(FIELD, DENS, ST, kappa=jnp.ones(2))), "kappa must be a scalar"),
    Case("network_gravity.entropy_production_action", "average = inf",
         _force(lambda: ng.entropy_production_action(FIELD, DENS, ST, kappa=1.0, average=jnp.inf)), "average contains NaN or inf",
         "domain"),
    Case("network_gravity.entropy_production_equation", "NaN in density",
         _force(lambda: ng.entropy_production_equation(FIELD, DENS.at[0, 0, 0, 0].set(jnp.nan), ST, kappa=1.0)),
         "density contains NaN"),
    Case("network_gravity.entropy_production_equation", "unknown method",
         _force(lambda: ng.entropy_production_equation(FIELD, DENS, ST, kappa=1.0, method="fd3")), "method must be"),
]
