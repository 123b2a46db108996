"""Bad input for nnworld_jax.sparse: sparse weights, builders, products and the mean state (1)-(3), (8)-(9)."""

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from nnworld_jax import sparse as sp

from ._harness import Case, jit_grad, jit_vmap_grad, jitted, run

W = sp.chain_weights(3, 0.3)
NET = sp.SparseNetwork(W, jnp.array([0.1, -0.2, 0.3]))
X = jnp.array([0.2, -0.1, 0.4])
XNAN = X.at[1].set(jnp.nan)
NAN_W = eqx.tree_at(lambda n: n.weights.values, NET, NET.weights.values.at[0].set(jnp.nan))
HUB = sp.chain_network_weights(3, [(0, 1, 2), (0, 2, 2), (1, 2, 1)], weight=0.3)  # shared boundary neurons
HEAVY = sp.SparseNetwork(sp.cycle_weights(4, 0.3), 0.1, m=3.0)  # 1 - beta m = -2 at beta = 1
STRONG = sp.SparseNetwork(sp.cycle_weights(3, 3.0), jnp.array([1.0, -1.0, 0.5]), activation="linear")  # not a contraction


def with_b(b):
    return sp.SparseNetwork(W, b)


CASES = [
    # SparseWeights: structure only (the builders check indices and values).
    Case("sparse.SparseWeights", "values (2, 2) with rows (2,)",
         run(sp.SparseWeights, jnp.zeros((2, 2)), jnp.zeros(2, int), jnp.zeros(2, int), jnp.zeros((2, 1), int),
             jnp.zeros((2, 1), int), jnp.zeros((2, 1), int), jnp.zeros((2, 1), int), 2), r"values, rows and cols must be vectors", "input"),
    Case("sparse.SparseWeights", "n=0", run(sp.SparseWeights, *[jnp.zeros(0)] * 3, *[jnp.zeros((0, 1), int)] * 4, 0),
         r"n must be an integer >= 1", "domain"),
    # sparse_weights
    Case("sparse.sparse_weights", "n=0", run(sp.sparse_weights, [], [], 1.0, 0), r"n must be an integer >= 1", "domain"),
    Case("sparse.sparse_weights", "n=8.7", run(sp.sparse_weights, [1], [0], 1.0, 8.7), r"n must be an integer", "input"),
    Case("sparse.sparse_weights", "row index 5 of 3", run(sp.sparse_weights, [5], [0], 1.0, 3), r"indices must lie in \[0, 3\)", "domain"),
    Case("sparse.sparse_weights", "row index 1.5", run(sp.sparse_weights, [1.5], [0], 1.0, 3), r"rows must be integer indices", "input"),
    Case("sparse.sparse_weights", "NaN value", run(sp.sparse_weights, [1, 2], [0, 1], [0.5, np.nan], 3), r"values contains NaN", "input"),
    Case("sparse.sparse_weights", "NaN value under jit", jitted(lambda v: sp.sparse_weights([1, 2], [0, 1], v, 3).values,
                                                                  jnp.array([0.5, jnp.nan])), r"values contains NaN", "transform"),
    Case("sparse.sparse_weights", "values of the wrong length", run(sp.sparse_weights, [1, 2], [0, 1], [0.5, 0.5, 0.5], 3),
         r"values must be a scalar or have shape \(2,\)", "input"),
    Case("sparse.sparse_weights", "duplicate edges", run(sp.sparse_weights, [1, 1], [0, 0], 1.0, 3), r"duplicate \(row, col\)", "input"),
    Case("sparse.sparse_weights", "rows and cols of different lengths", run(sp.sparse_weights, [1, 2], [0], 1.0, 3),
         r"rows and cols must have the same length", "input"),
    Case("sparse.sparse_weights", "string values", run(sp.sparse_weights, [1], [0], "x", 3), r"values must be a number", "input"),
    # from_dense / to_dense / to_bcoo
    Case("sparse.from_dense", "shape (2, 3)", run(sp.from_dense, jnp.ones((2, 3))), r"w must have shape \(N, N\)", "input"),
    Case("sparse.from_dense", "NaN entry", run(sp.from_dense, jnp.eye(2).at[0, 1].set(jnp.nan)), r"w contains NaN", "input"),
    Case("sparse.from_dense", "under jit (structure needs concrete values)", jitted(lambda w: sp.from_dense(w).values, jnp.eye(2)),
         r"from_dense needs a concrete w", "transform"),
    Case("sparse.to_dense", "w is a dense array", run(sp.to_dense, jnp.eye(2)), r"w must be SparseWeights", "input"),
    Case("sparse.to_bcoo", "w is a dense array", run(sp.to_bcoo, jnp.eye(2)), r"w must be SparseWeights", "input"),
    # builders
    Case("sparse.permutation_weights", "not a permutation", run(sp.permutation_weights, [0, 0, 1]), r"perm must be a permutation", "domain"),
    Case("sparse.permutation_weights", "perm of shape (2, 2)", run(sp.permutation_weights, [[0, 1], [1, 0]]), r"perm must be a vector", "input"),
    Case("sparse.permutation_weights", "NaN weight", run(sp.permutation_weights, [1, 0], jnp.nan), r"values contains NaN", "input"),
    Case("sparse.permutation_weights", "per-row weights of the wrong length", run(sp.permutation_weights, [1, 0], [1.0, 2.0, 3.0]),
         r"values must be a scalar or have shape \(2,\)", "input"),
    Case("sparse.cycle_weights", "n=0", run(sp.cycle_weights, 0), r"n must be an integer >= 1", "domain"),
    Case("sparse.cycle_weights", "n=8.7", run(sp.cycle_weights, 8.7), r"n must be an integer", "input"),
    Case("sparse.cycle_weights", "inf weight", run(sp.cycle_weights, 4, jnp.inf), r"values contains NaN or inf", "input"),
    Case("sparse.multi_cycle_weights", "empty lengths", run(sp.multi_cycle_weights, []), r"lengths must be a non-empty list", "input"),
    Case("sparse.multi_cycle_weights", "length inf", run(sp.multi_cycle_weights, [3, float("inf")]), r"lengths\[1\] must be an integer", "input"),
    Case("sparse.multi_cycle_weights", "length 0", run(sp.multi_cycle_weights, [3, 0]), r"lengths\[1\] must be an integer >= 1", "domain"),
    Case("sparse.chain_weights", "dtype 'banana'", run(sp.chain_weights, 4, 0.3, "banana"), r"dtype must be a floating dtype", "input"),
    Case("sparse.chain_weights", "integer dtype (would truncate the weight)", run(sp.chain_weights, 4, 0.3, jnp.int32),
         r"weights need a floating dtype", "input"),
    Case("sparse.chain_weights", "n=-2", run(sp.chain_weights, -2), r"n must be an integer >= 1", "domain"),
    Case("sparse.chain_weights", "NaN weight", run(sp.chain_weights, 4, jnp.nan), r"values contains NaN", "input"),
    Case("sparse.chain_network_weights", "n_boundary=0", run(sp.chain_network_weights, 0, [(0, 1, 2)]), r"n_boundary must be an integer >= 1", "domain"),
    Case("sparse.chain_network_weights", "NaN weight", run(sp.chain_network_weights, 2, [(0, 1, 2)], weight=jnp.nan),
         r"weight contains NaN", "input"),
    Case("sparse.chain_network_weights", "weight shape (2,)", run(sp.chain_network_weights, 2, [(0, 1, 2)], weight=jnp.ones(2)),
         r"weight must be a scalar", "input"),
    # products
    Case("sparse.weights_matvec", "x shape (4,)", run(sp.weights_matvec, W, jnp.zeros(4)), r"x must have shape \(3,\)", "input"),
    Case("sparse.weights_matvec", "NaN in x under jit", jitted(sp.weights_matvec, W, XNAN), r"x contains NaN", "transform"),
    Case("sparse.weights_matvec", "w dense", run(sp.weights_matvec, jnp.eye(3), X), r"w must be SparseWeights", "input"),
    Case("sparse.weights_rmatvec", "batched v (2, 3)", run(sp.weights_rmatvec, W, jnp.zeros((2, 3))), r"use jax\.vmap", "input"),
    Case("sparse.weights_rmatvec", "NaN in v under jit(grad)", jit_grad(lambda v: jnp.sum(sp.weights_rmatvec(W, v) ** 2), XNAN),
         r"v contains NaN", "transform"),
    # SparseNetwork
    Case("sparse.SparseNetwork", "dense weights", run(sp.SparseNetwork, jnp.eye(3), jnp.zeros(3)), r"weights must be SparseWeights", "input"),
    Case("sparse.SparseNetwork", "b shape (2,)", run(sp.SparseNetwork, W, jnp.zeros(2)), r"b must have shape \(3,\)", "input"),
    Case("sparse.SparseNetwork", "NaN in b", run(sp.SparseNetwork, W, XNAN), r"b contains NaN", "input"),
    Case("sparse.SparseNetwork", "m shape (3,)", run(sp.SparseNetwork, W, X, m=jnp.ones(3)), r"m must be a scalar.*vmap", "input"),
    Case("sparse.SparseNetwork", "m=inf", run(sp.SparseNetwork, W, X, m=jnp.inf), r"m contains NaN or inf", "input"),
    Case("sparse.SparseNetwork", "unknown activation", run(sp.SparseNetwork, W, X, activation="gelu9"), r"unknown activation", "input"),
    Case("sparse.sparse_preactivation", "x shape (2,)", run(sp.sparse_preactivation, NET, jnp.zeros(2)), r"x must have shape", "input"),
    Case("sparse.sparse_preactivation", "net is a tuple", run(sp.sparse_preactivation, (W, X), X), r"net must be a SparseNetwork", "input"),
    Case("sparse.sparse_step", "NaN in x under jit", jitted(sp.sparse_step, NET, XNAN), r"x contains NaN", "transform"),
    Case("sparse.sparse_step", "NaN in x under jit(grad)", jit_grad(lambda x: jnp.sum(sp.sparse_step(NET, x)), XNAN),
         r"x contains NaN", "transform"),
    Case("sparse.weights_matvec", "NaN in x under jit(grad)", jit_grad(lambda x: jnp.sum(sp.weights_matvec(W, x) ** 2), XNAN),
         r"x contains NaN", "transform"),
    Case("sparse.jacobian_matvec", "NaN in v under jit(grad)", jit_grad(lambda v: jnp.sum(sp.jacobian_matvec(NET, X, v) ** 2), XNAN),
         r"v contains NaN", "transform"),
    Case("sparse.sparse_step", "string x", run(sp.sparse_step, NET, "x"), r"x must be a number", "input"),
    # sparse_mean_state
    Case("sparse.sparse_mean_state", "max_steps=0", run(sp.sparse_mean_state, NET, max_steps=0), r"max_steps must be an integer >= 1", "domain"),
    Case("sparse.sparse_mean_state", "rtol=-1", run(sp.sparse_mean_state, NET, rtol=-1.0), r"rtol must be finite and > 0", "domain"),
    Case("sparse.sparse_mean_state", "NaN weight values under jit", jitted(sp.sparse_mean_state, NAN_W), r"w contains NaN", "transform"),
    Case("sparse.sparse_mean_state", "not a contraction", run(sp.sparse_mean_state, STRONG), r"not a contraction", "domain"),
    Case("sparse.sparse_mean_state", "NaN in b under jit(grad)", jit_grad(lambda b: jnp.sum(sp.sparse_mean_state(with_b(b))), XNAN),
         r"b contains NaN", "transform"),
    # J, Jᵀ, G (8)-(9)
    Case("sparse.jacobian_matvec", "v shape (4,)", run(sp.jacobian_matvec, NET, X, jnp.zeros(4)), r"v must have shape \(3,\)", "input"),
    Case("sparse.jacobian_matvec", "NaN in x under jit", jitted(sp.jacobian_matvec, NET, XNAN, X), r"x contains NaN", "transform"),
    Case("sparse.jacobian_rmatvec", "u shape (2,)", run(sp.jacobian_rmatvec, NET, X, jnp.zeros(2)), r"u must have shape \(3,\)", "input"),
    Case("sparse.jacobian_rmatvec", "NaN in u under jit(vmap(grad))",
         jit_vmap_grad(lambda u: jnp.sum(sp.jacobian_rmatvec(NET, X, u) ** 2), jnp.stack([X, XNAN])), r"u contains NaN", "transform"),
    Case("sparse.gauss_newton_matvec", "x shape (2,)", run(sp.gauss_newton_matvec, NET, jnp.zeros(2), X), r"x must have shape \(3,\)", "input"),
    Case("sparse.gauss_newton_matvec", "NaN weight values under jit", jitted(sp.gauss_newton_matvec, NAN_W, X, X),
         r"w contains NaN", "transform"),
    Case("sparse.gauss_newton_matvec", "inf in v", run(sp.gauss_newton_matvec, NET, X, X.at[0].set(jnp.inf)), r"v contains NaN or inf", "input"),
    Case("sparse.gauss_newton_matvec", "NaN in x under jit(grad)", jit_grad(lambda x: jnp.sum(sp.gauss_newton_matvec(NET, x, X)), XNAN),
         r"x contains NaN", "transform"),
    # exact structured log-dets (45)
    Case("sparse.has_structured_logdet", "w is a dense array", run(sp.has_structured_logdet, jnp.eye(3)), r"w must be SparseWeights", "input"),
    Case("sparse.structured_logdet", "a network with a hub (no paths/cycles layout)",
         run(sp.structured_logdet, sp.SparseNetwork(HUB, 0.1), 1.0), r"union of paths and cycles", "domain"),
    Case("sparse.structured_logdet", "beta=-1", run(sp.structured_logdet, NET, -1.0), r"beta must be finite and > 0", "domain"),
    Case("sparse.structured_logdet", "x shape (2,)", run(sp.structured_logdet, NET, 1.0, jnp.zeros(2)), r"x must have shape \(3,\)", "input"),
    Case("sparse.structured_logdet", "NaN in x under jit", jitted(lambda x: sp.structured_logdet(NET, 1.0, x), XNAN),
         r"x contains NaN", "transform"),
    Case("sparse.structured_logdet", "outside the domain (1 - beta m < 0) under jit(grad) in beta",
         jit_grad(lambda beta: sp.structured_logdet(HEAVY, beta), 1.0), r"not positive definite", "transform"),
    Case("sparse.structured_free_energy", "beta shape (2,)", run(sp.structured_free_energy, NET, jnp.ones(2)),
         r"beta must be a scalar.*vmap", "input"),
    Case("sparse.structured_free_energy", "NaN weight values under jit", jitted(lambda n: sp.structured_free_energy(n, 1.0), NAN_W),
         r"w contains NaN", "transform"),
    Case("sparse.circulant_logdet", "column shape (2, 2)", run(sp.circulant_logdet, jnp.eye(2)), r"column must have shape \(N,\)", "input"),
    Case("sparse.circulant_logdet", "NaN entry", run(sp.circulant_logdet, jnp.array([2.0, jnp.nan, jnp.nan])), r"column contains NaN", "input"),
    Case("sparse.circulant_logdet", "not symmetric", run(sp.circulant_logdet, jnp.array([2.0, 0.5, 0.1])), r"must be symmetric", "domain"),
    Case("sparse.circulant_logdet", "not positive definite under jit", jitted(sp.circulant_logdet, jnp.array([1.0, 1.0, 1.0])),
         r"not positive definite", "transform"),
    Case("sparse.circulant_logdet", "integer column is promoted, string is not", run(sp.circulant_logdet, "abc"),
         r"column must be a number", "input"),
]
