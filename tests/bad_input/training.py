"""Bad input for nnworld_jax.training: the feed-forward fast path, metrics, the optax interface, SLQ."""

import equinox as eqx
import jax
import jax.numpy as jnp

from nnworld_jax import training as tr

from ._harness import Case

MLP = eqx.nn.MLP(3, 1, 4, 2, activation=jnp.tanh, key=jax.random.PRNGKey(0))
RELU = eqx.nn.MLP(3, 1, 4, 2, activation=jax.nn.relu, key=jax.random.PRNGKey(0))
NAN_MLP = eqx.tree_at(lambda m: m.layers[1].weight, MLP, MLP.layers[1].weight.at[0, 0].set(jnp.nan))
X = jnp.array([0.5, -0.3, 0.2])
BATCH = jnp.stack([X, -X])
PARAMS = eqx.filter(MLP, eqx.is_inexact_array)
KEY = jax.random.PRNGKey(1)


def run(fn, *args, **kw):
    return lambda: jax.block_until_ready(fn(*args, **kw))


def _transform_update(*args, inputs=None, **kw):
    tx = tr.free_energy_gradient(*args, **kw)
    return tx.update(PARAMS, tx.init(PARAMS), PARAMS, inputs=inputs)[0]


CASES = [
    Case("training.feedforward_mean_state", "inputs of the wrong length", run(tr.feedforward_mean_state, MLP, X[:2]),
         r"inputs must have shape \(3,\)"),
    Case("training.feedforward_mean_state", "NaN in a weight under filter_jit",
         run(eqx.filter_jit(tr.feedforward_mean_state), NAN_MLP, X), "layer 1 weight contains NaN", kind="transform"),
    Case("training.feedforward_mean_state", "relu model", run(tr.feedforward_mean_state, RELU, X), "kink"),
    Case("training.feedforward_logdet", "a1 = 0", run(tr.feedforward_logdet, MLP, X, 1.0, 0.0),
         "a1 must be finite and > 0", kind="domain"),
    Case("training.feedforward_logdet", "a0 < 0 under filter_jit",
         run(eqx.filter_jit(tr.feedforward_logdet), MLP, X, -1.0, 1.0), "a0 must be finite and >= 0", kind="transform"),
    Case("training.feedforward_thermodynamics", "beta = 0", run(tr.feedforward_thermodynamics, MLP, 0.0, X),
         "beta must be finite and > 0", kind="domain"),
    Case("training.feedforward_thermodynamics", "beta < 0 under filter_jit(grad)",
         run(eqx.filter_jit(jax.grad(lambda b: tr.feedforward_thermodynamics(MLP, b, X).free_energy)), -1.0),
         "beta must be finite and > 0", kind="transform"),
    Case("training.feedforward_thermodynamics", "unknown method",
         run(tr.feedforward_thermodynamics, MLP, 1.0, X, method="exact"), "method must be one of"),
    Case("training.feedforward_thermodynamics", "integer-free string inputs",
         run(tr.feedforward_thermodynamics, MLP, 1.0, "x"), "inputs must be a number"),
    Case("training.feedforward_thermodynamics", "not a model", run(tr.feedforward_thermodynamics, object(), 1.0, X),
         "model must be an eqx.nn.MLP"),
    Case("training.metrics", "inputs of the wrong width", run(tr.metrics, MLP, 1.0, BATCH[:, :2]),
         r"inputs must have shape \(B, 3\)"),
    Case("training.metrics", "NaN inputs under filter_jit", run(eqx.filter_jit(tr.metrics), MLP, 1.0,
                                                               BATCH.at[0, 0].set(jnp.nan)),
         "inputs contains NaN", kind="transform"),
    Case("training.metrics", "beta batch", run(tr.metrics, MLP, jnp.ones(2), BATCH), "beta must be a scalar"),
    Case("training.metrics", "inf in a weight under vmap",
         run(jax.vmap(lambda b: tr.metrics(NAN_MLP, 1.0, b)["free_energy"]), BATCH[None]), "weight contains NaN",
         kind="transform"),
    Case("training.free_energy_term", "strength = nan", run(tr.free_energy_term, MLP, 1.0, BATCH, strength=jnp.nan),
         "strength contains NaN"),
    Case("training.free_energy_term", "beta = -1 under grad",
         run(jax.grad(lambda b: tr.free_energy_term(MLP, b, BATCH)), -1.0), "beta must be finite and > 0",
         kind="transform"),
    Case("training.free_energy_gradient", "beta = 0", run(tr.free_energy_gradient, MLP, 0.0),
         "beta must be finite and > 0", kind="domain"),
    Case("training.free_energy_gradient", "inputs of the wrong width",
         run(tr.free_energy_gradient, MLP, 1.0, inputs=BATCH[:, :1]), r"inputs must have shape \(B, 3\)"),
    Case("training.free_energy_gradient", "NaN in this step's inputs",
         run(_transform_update, MLP, 1.0, inputs=BATCH.at[1, 1].set(jnp.nan)), "inputs contains NaN"),
    Case("training.feedforward_free_energy_slq", "num_probes = 0",
         run(tr.feedforward_free_energy_slq, MLP, 1.0, BATCH, key=KEY, num_probes=0), "num_probes must be"),
    Case("training.feedforward_free_energy_slq", "beta = inf",
         run(tr.feedforward_free_energy_slq, MLP, jnp.inf, BATCH, key=KEY), "beta must be finite and > 0", kind="domain"),
]

EXEMPT = {
    "training.SLQFreeEnergy": "a NamedTuple of results",
}
