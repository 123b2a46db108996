"""Bad input for nnworld_jax.partition: mean state, operator G (8)-(9), log Z (5)/(7), F (6)/(45)."""

import equinox as eqx
import jax.numpy as jnp

import nnworld_jax as nw
from nnworld_jax import partition as pt
from nnworld_jax import reference as ref

from ._harness import Case, jit_grad, jit_vmap_grad, jitted, run

NET = ref.diagonal_network([0.3, 1.7])  # linear, G = diag(0.3, 1.7) at x = 0
HEAVY = ref.diagonal_network([0.3, 1.7], m=5.0)  # 1 + β(λ_i - m) < 0 for every i at β = 1
NAN_W = eqx.tree_at(lambda n: n.w, NET, NET.w.at[0, 1].set(jnp.nan))  # an optimizer step bypasses __init__
NAN_M = eqx.tree_at(lambda n: n.m, NET, jnp.asarray(jnp.nan))
G = jnp.diag(jnp.array([0.3, 1.7]))
X = jnp.zeros(2)
# tanh: G depends on x and b, so their gradients read the (checked) values. For the linear NET the
# derivative in x or b is structurally zero and no check is needed to get it right.
TANH = nw.Network(jnp.array([[0.2, -0.3], [0.1, 0.4]]), jnp.array([0.5, -0.2]))
NO_FIXED_POINT = nw.Network(jnp.eye(2), jnp.array([0.5, -0.2]), activation="linear")
TANH_NAN_W = eqx.tree_at(lambda n: n.w, TANH, TANH.w.at[0, 1].set(jnp.nan))


def set_w(net, w):
    return eqx.tree_at(lambda n: n.w, net, w)


CASES = [
    # mean_state: finite w, b, m (checked where they enter the Newton solve), max_steps >= 1.
    Case("partition.mean_state", "NaN in w", run(pt.mean_state, NAN_W), r"w contains NaN", "input"),
    Case("partition.mean_state", "NaN in w under jit (not lineax's 'bug upstream')", jitted(pt.mean_state, NAN_W),
         r"w contains NaN", "transform"),
    Case("partition.mean_state", "NaN in m under jit", jitted(pt.mean_state, NAN_M), r"m contains NaN", "transform"),
    Case("partition.mean_state", "inf in b under jit", jitted(pt.mean_state, eqx.tree_at(lambda n: n.b, NET, jnp.array([jnp.inf, 0.0]))),
         r"b contains NaN or inf", "transform"),
    Case("partition.mean_state", "max_steps=0", run(pt.mean_state, NET, max_steps=0), r"max_steps must be an integer >= 1", "domain"),
    Case("partition.mean_state", "max_steps=-5", run(pt.mean_state, NET, max_steps=-5), r"max_steps must be an integer >= 1", "domain"),
    Case("partition.mean_state", "max_steps=2.5", run(pt.mean_state, NET, max_steps=2.5), r"max_steps must be an integer", "input"),
    Case("partition.mean_state", "net is a matrix", run(pt.mean_state, G), r"net must be a Network", "input"),
    Case("partition.mean_state", "NaN in w under jit(grad) of x*", jit_grad(lambda w: jnp.sum(pt.mean_state(set_w(NET, w))),
                                                                          NAN_W.w), r"w contains NaN", "transform"),
    # m = 0 runs Newton on the fixed point r = x - f(wx + b) = 0: w = I, f linear has J = 0 and no
    # fixed point for b ≠ 0 (every x is stationary for H, which is constant): an error, never NaN.
    Case("partition.mean_state", "no fixed point (J = I - w = 0)", run(pt.mean_state, NO_FIXED_POINT),
         r"did not converge", "domain"),
    Case("partition.mean_state", "no fixed point under jit(grad) in b",
         jit_grad(lambda b: jnp.sum(pt.mean_state(eqx.tree_at(lambda n: n.b, NO_FIXED_POINT, b))), NO_FIXED_POINT.b),
         r"did not converge", "transform"),
    # gauss_newton_operator (8)-(9)
    Case("partition.gauss_newton_operator", "x shape (3,)", run(pt.gauss_newton_operator, NET, jnp.zeros(3)),
         r"x must have shape \(2,\)", "input"),
    Case("partition.gauss_newton_operator", "NaN in x", run(pt.gauss_newton_operator, NET, X.at[0].set(jnp.nan)),
         r"x contains NaN", "input"),
    Case("partition.gauss_newton_operator", "NaN in x under jit(grad)",
         jit_grad(lambda x: jnp.trace(pt.gauss_newton_operator(TANH, x)), X.at[1].set(jnp.nan)), r"x contains NaN", "transform"),
    Case("partition.gauss_newton_operator", "NaN in w under jit", jitted(pt.gauss_newton_operator, NAN_W, X),
         r"w contains NaN", "transform"),
    # logdet_spd: square, finite, symmetric, positive definite, under every transformation.
    Case("partition.logdet_spd", "shape (2, 3)", run(pt.logdet_spd, jnp.ones((2, 3))), r"must have shape \(N, N\)", "input"),
    Case("partition.logdet_spd", "batched (2, 2, 2)", run(pt.logdet_spd, jnp.stack([G, G])), r"use jax\.vmap", "input"),
    Case("partition.logdet_spd", "non-symmetric (one triangle would be mirrored)",
         run(pt.logdet_spd, jnp.array([[2.0, 1.0], [0.0, 2.0]])), r"must be symmetric", "domain"),
    Case("partition.logdet_spd", "NaN entry", run(pt.logdet_spd, G.at[0, 0].set(jnp.nan)), r"contains NaN", "input"),
    Case("partition.logdet_spd", "indefinite", run(pt.logdet_spd, G - jnp.eye(2)), r"not positive definite", "domain"),
    Case("partition.logdet_spd", "indefinite under jit(grad)", jit_grad(pt.logdet_spd, G - jnp.eye(2)),
         r"not positive definite", "transform"),
    Case("partition.logdet_spd", "one indefinite matrix under jit(vmap(grad))",
         jit_vmap_grad(pt.logdet_spd, jnp.stack([G + jnp.eye(2), G - jnp.eye(2)])), r"not positive definite", "transform"),
    # log_partition_from_operator (7) / Laplace (5)
    Case("partition.log_partition_from_operator", "beta shape (2,)", run(pt.log_partition_from_operator, G, jnp.array([1.0, 2.0])),
         r"beta must be a scalar.*use jax\.vmap", "input"),
    Case("partition.log_partition_from_operator", "beta=0", run(pt.log_partition_from_operator, G, 0.0), r"beta must be finite and > 0", "domain"),
    Case("partition.log_partition_from_operator", "beta=NaN", run(pt.log_partition_from_operator, G, jnp.nan), r"beta must be finite", "input"),
    Case("partition.log_partition_from_operator", "m shape (2,)", run(pt.log_partition_from_operator, G, 1.0, jnp.ones(2)),
         r"m must be a scalar", "input"),
    Case("partition.log_partition_from_operator", "m=inf", run(pt.log_partition_from_operator, G, 1.0, jnp.inf), r"m contains NaN or inf", "input"),
    Case("partition.log_partition_from_operator", "h_star NaN (laplace)",
         run(pt.log_partition_from_operator, G, 1.0, method="laplace", h_star=jnp.nan), r"h_star contains NaN", "input"),
    Case("partition.log_partition_from_operator", "non-symmetric G", run(pt.log_partition_from_operator, G.at[0, 1].set(0.5), 1.0),
         r"G must be symmetric", "domain"),
    Case("partition.log_partition_from_operator", "1 + beta (lambda - m) < 0", run(pt.log_partition_from_operator, G, 1.0, 5.0),
         r"needs 1 \+ beta \(lambda_i - m\) > 0", "domain"),
    Case("partition.log_partition_from_operator", "laplace with lambda < m", run(pt.log_partition_from_operator, G, 1.0, 1.0, method="laplace"),
         r"lambda_i > m", "domain"),
    Case("partition.log_partition_from_operator", "unknown method", run(pt.log_partition_from_operator, G, 1.0, method="saddle"),
         r"method must be one of", "input"),
    Case("partition.log_partition_from_operator", "outside the domain under jit(grad) in G",
         jit_grad(lambda g: pt.log_partition_from_operator(g, 1.0, 5.0), G), r"not positive definite", "transform"),
    # log_partition
    Case("partition.log_partition", "beta shape (2,)", run(pt.log_partition, NET, jnp.array([1.0, 2.0])), r"beta must be a scalar", "input"),
    Case("partition.log_partition", "beta=-1 under jit", jitted(pt.log_partition, NET, -1.0), r"beta must be finite and > 0", "transform"),
    Case("partition.log_partition", "x shape (3,)", run(pt.log_partition, NET, 1.0, x=jnp.zeros(3)), r"x must have shape", "input"),
    Case("partition.log_partition", "1 + beta (lambda - m) < 0 under jit(grad) in beta",
         jit_grad(lambda b: pt.log_partition(HEAVY, b), 1.0), r"not positive definite", "transform"),
    # free_energy (6)/(45): the examples.
    Case("partition.free_energy", "beta shape (2,) (broadcast into a wrong F)", run(pt.free_energy, NET, jnp.array([1.0, 2.0])),
         r"beta must be a scalar.*use jax\.vmap", "input"),
    Case("partition.free_energy", "beta=inf", run(pt.free_energy, NET, jnp.inf), r"beta must be finite", "input"),
    Case("partition.free_energy", "beta a string", run(pt.free_energy, NET, "1.0"), r"beta must be a number", "input"),
    Case("partition.free_energy", "outside the domain", run(pt.free_energy, HEAVY, 1.0), r"1 \+ beta \(lambda_i - m\) > 0", "domain"),
    Case("partition.free_energy", "outside the domain under jit(grad) in w (was NaN)",
         jit_grad(lambda w: pt.free_energy(set_w(HEAVY, w), 1.0), HEAVY.w), r"not positive definite", "transform"),
    Case("partition.free_energy", "beta < 0 in one entry under jit(vmap(grad))",
         jit_vmap_grad(lambda b: pt.free_energy(NET, b), jnp.array([1.0, -1.0])), r"beta must be finite and > 0", "transform"),
    Case("partition.free_energy", "NaN weights under jit(grad) in b",
         jit_grad(lambda b: pt.free_energy(eqx.tree_at(lambda n: n.b, TANH_NAN_W, b), 1.0), TANH.b), r"w contains NaN", "transform"),
    Case("partition.free_energy", "net is a SparseNetwork",
         run(pt.free_energy, nw.sparse.SparseNetwork(nw.sparse.chain_weights(2, 0.3), jnp.zeros(2)), 1.0),
         r"net must be a Network", "input"),
]
