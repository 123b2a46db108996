"""Bad input for nnworld_jax.network: the network pytree and the single-state kernels (1)-(4)."""

import equinox as eqx
import jax.numpy as jnp

from nnworld_jax import network as nn

from ._harness import Case, jit_grad, jit_vmap_grad, jitted, run

W = jnp.array([[0.2, -0.3], [0.1, 0.4]])
B = jnp.array([0.5, -0.2])
NET = nn.Network(W, B)
OUT = nn.Network(W, B, outputs=(1,))
X = jnp.array([0.3, -0.1])
XNAN = X.at[0].set(jnp.nan)
XS_ONE_NAN = jnp.stack([X, XNAN])


def loss_of_w(w):
    return nn.bulk_loss(nn.Network(w, B), X)


CASES = [
    # Network: w (N, N), b (N,), m a scalar, all finite; boundary indices in range and integral.
    Case("network.Network", "w shape (2, 3)", run(nn.Network, jnp.zeros((2, 3)), B), r"w must have shape", "input"),
    Case("network.Network", "batched w (2, 2, 2)", run(nn.Network, jnp.zeros((2, 2, 2)), B), r"use jax\.vmap", "input"),
    Case("network.Network", "NaN in w", run(nn.Network, W.at[0, 1].set(jnp.nan), B), r"w contains NaN", "input"),
    Case("network.Network", "inf in b", run(nn.Network, W, B.at[1].set(jnp.inf), B), r"b contains NaN or inf", "input"),
    Case("network.Network", "b shape (3,)", run(nn.Network, W, jnp.zeros(3)), r"b must have shape \(2,\)", "input"),
    Case("network.Network", "m shape (2,)", run(nn.Network, W, B, m=jnp.ones(2)), r"m must be a scalar.*vmap", "input"),
    Case("network.Network", "m NaN", run(nn.Network, W, B, m=jnp.nan), r"m contains NaN", "input"),
    Case("network.Network", "m a string", run(nn.Network, W, B, m="0.1"), r"m must be a number", "input"),
    Case("network.Network", "w a string", run(nn.Network, "w", B), r"w must be a number", "input"),
    Case("network.Network", "unknown activation", run(nn.Network, W, B, activation="relu6"), r"unknown activation", "input"),
    Case("network.Network", "output index 5 of 2", run(nn.Network, W, B, outputs=(5,)), r"outputs indices", "domain"),
    Case("network.Network", "input index 0.5", run(nn.Network, W, B, inputs=(0.5,)), r"inputs indices", "input"),
    Case("network.Network", "NaN in w under jit", jitted(lambda w: nn.Network(w, B).w, W.at[0, 0].set(jnp.nan)),
         r"w contains NaN", "transform"),
    Case("network.Network", "NaN in w under jit(grad) of the loss", jit_grad(loss_of_w, W.at[1, 0].set(jnp.nan)),
         r"w contains NaN", "transform"),
    # preactivation / activation_slope / step: one (N,) finite state.
    Case("network.preactivation", "x shape (3,)", run(nn.preactivation, NET, jnp.zeros(3)), r"x must have shape \(2,\)", "input"),
    Case("network.preactivation", "batched x (4, 2)", run(nn.preactivation, NET, jnp.zeros((4, 2))), r"use jax\.vmap", "input"),
    Case("network.preactivation", "NaN in x", run(nn.preactivation, NET, XNAN), r"x contains NaN", "input"),
    Case("network.preactivation", "NaN in x under jit", jitted(nn.preactivation, NET, XNAN), r"x contains NaN", "transform"),
    Case("network.preactivation", "net is a tuple", run(nn.preactivation, (W, B), X), r"net must be a Network", "input"),
    Case("network.activation_slope", "y shape (3,)", run(nn.activation_slope, NET, jnp.zeros(3)), r"y must have shape", "input"),
    Case("network.activation_slope", "inf in y", run(nn.activation_slope, NET, X.at[1].set(jnp.inf)), r"y contains NaN or inf", "input"),
    Case("network.activation_slope", "NaN in y under jit", jitted(nn.activation_slope, NET, XNAN), r"y contains NaN", "transform"),
    Case("network.step", "x shape ()", run(nn.step, NET, jnp.asarray(0.3)), r"x must have shape", "input"),
    Case("network.step", "NaN in x under jit", jitted(nn.step, NET, XNAN), r"x contains NaN", "transform"),
    Case("network.step", "NaN in x under jit(grad)", jit_grad(lambda x: jnp.sum(nn.step(NET, x)), XNAN), r"x contains NaN", "transform"),
    Case("network.preactivation", "NaN in x under jit(grad)", jit_grad(lambda x: jnp.sum(nn.preactivation(NET, x) ** 2), XNAN),
         r"x contains NaN", "transform"),
    Case("network.activation_slope", "NaN in y under jit(grad)", jit_grad(lambda y: jnp.sum(nn.activation_slope(NET, y)), XNAN),
         r"y contains NaN", "transform"),
    Case("network.step", "string x", run(nn.step, NET, "x"), r"x must be a number", "input"),
    # bulk_loss (3)
    Case("network.bulk_loss", "x shape (3,)", run(nn.bulk_loss, NET, jnp.zeros(3)), r"x must have shape", "input"),
    Case("network.bulk_loss", "NaN in x", run(nn.bulk_loss, NET, XNAN), r"x contains NaN", "input"),
    Case("network.bulk_loss", "NaN in x under jit(grad)", jit_grad(lambda x: nn.bulk_loss(NET, x), XNAN),
         r"x contains NaN", "transform"),
    Case("network.bulk_loss", "one NaN state under jit(vmap(grad))", jit_vmap_grad(lambda x: nn.bulk_loss(NET, x), XS_ONE_NAN),
         r"x contains NaN", "transform"),
    Case("network.bulk_loss", "NaN weights set by tree_at, under jit(grad)",
         jit_grad(lambda x: nn.bulk_loss(eqx.tree_at(lambda n: n.m, NET, jnp.asarray(jnp.nan)), x), X),
         r"m contains NaN", "transform"),
    # boundary_loss (4)
    Case("network.boundary_loss", "network without outputs", run(nn.boundary_loss, NET, X, jnp.zeros(1)), r"output neurons", "input"),
    Case("network.boundary_loss", "target shape (2,) for one output", run(nn.boundary_loss, OUT, X, jnp.zeros(2)),
         r"target must have shape \(1,\)", "input"),
    Case("network.boundary_loss", "NaN target", run(nn.boundary_loss, OUT, X, jnp.array([jnp.nan])), r"target contains NaN", "input"),
    Case("network.boundary_loss", "NaN in x under jit(grad)", jit_grad(lambda x: nn.boundary_loss(OUT, x, jnp.zeros(1)), XNAN),
         r"x contains NaN", "transform"),
]
