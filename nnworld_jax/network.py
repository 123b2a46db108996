"""The neural network of paper §2 as a pytree: weights, biases, activation, boundary, bulk loss.

The paper's septuple is (x, P_in, P_out, w, b, f, H). Here the trainable part (w, b) and the
bulk-potential mass m are array leaves of :class:`Network`; the activation f and the boundary
(input/output neuron indices, i.e. the projections P_in, P_out) are static fields; the state x
is the dynamical variable every function takes separately.

Conventions: ``w[i, j]`` is the weight of the edge j -> i, so the pre-activation of neuron i is
``(w @ x + b)[i]``. Kernels take one unbatched network; batch with ``jax.vmap``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._checks import as_float, check_finite, check_square, float_array, scalar_param

__all__ = ["Network", "preactivation", "activation_slope", "step", "bulk_loss", "boundary_loss",
           "ACTIVATIONS"]

ACTIVATIONS: dict[str, Callable[[Array], Array]] = {
    "tanh": jnp.tanh,
    "linear": lambda y: y,
    "sigmoid": jax.nn.sigmoid,
    "softplus": jax.nn.softplus,
    "sin": jnp.sin,
}


def _resolve_activation(f: str | Callable) -> Callable:
    if callable(f):
        return f
    try:
        return ACTIVATIONS[f]
    except KeyError:
        raise ValueError(f"unknown activation {f!r}; choose from {sorted(ACTIVATIONS)} or pass a callable") from None


class Network(eqx.Module):
    """One network: ``N`` neurons, weights ``w`` (N, N), bias ``b`` (N,), elementwise activation.

    Arguments:
        w: (N, N) weights, ``w[i, j]`` the edge j -> i.
        b: (N,) bias.
        activation: ``"tanh"`` (default), ``"linear"``, ``"sigmoid"``, ``"softplus"``, ``"sin"``
            or any elementwise callable.
        m: mass of the bulk potential V(x) = -(m/2)|x|^2 of eq. (3), a scalar.
        inputs, outputs: indices of the boundary neurons (the projections P_in, P_out of §2).

    Integer w, b, m are promoted to the default float dtype; b and m are cast to w's dtype. A
    wrong shape, or NaN/inf in w, b or m, is an error (eagerly, and under jit/vmap/grad).

    Example:
        >>> import jax.numpy as jnp
        >>> net = Network(0.3 * jnp.eye(3), jnp.zeros(3))
        >>> net.n
        3
    """

    w: Float[Array, "N N"]
    b: Float[Array, " N"]
    m: Float[Array, ""]
    activation: Callable = eqx.field(static=True)
    inputs: tuple[int, ...] = eqx.field(static=True)
    outputs: tuple[int, ...] = eqx.field(static=True)

    def __init__(self, w, b, activation: str | Callable = "tanh", m=0.0,
                 inputs: Sequence[int] = (), outputs: Sequence[int] = ()):
        # Integers are promoted to the default float dtype, never the other way (input policy).
        w = check_finite(check_square(as_float(w, "w"), "w"), "w")
        n = w.shape[0]
        self.w = w
        self.b = float_array(b, "b", w.dtype, shape=(n,))
        self.m = scalar_param(m, "m", w.dtype)
        self.activation = _resolve_activation(activation)
        for name, idx in (("inputs", inputs), ("outputs", outputs)):
            if any(isinstance(i, bool) or int(i) != i or not 0 <= int(i) < n for i in idx):
                raise ValueError(f"{name} indices must lie in [0, {n}), got {tuple(idx)}")
        self.inputs = tuple(int(i) for i in inputs)
        self.outputs = tuple(int(i) for i in outputs)

    @property
    def n(self) -> int:
        return self.w.shape[0]


def _check_network(net, name: str = "net") -> Network:
    """``net`` as a Network whose w, b, m are finite (an optimizer step can put NaN in a network
    without calling the constructor); the checked leaves are returned, so the checks survive jit."""
    if not isinstance(net, Network):
        raise TypeError(f"{name} must be a Network (for sparse weights use nnworld_jax.sparse), got {type(net).__name__}")
    leaves = (check_finite(net.w, "w"), check_finite(net.b, "b"), check_finite(net.m, "m"))
    return eqx.tree_at(lambda n: (n.w, n.b, n.m), net, leaves)


def _state(net: Network, x, name: str = "x") -> Float[Array, " N"]:
    """A neuron state for ``net``: (N,), promoted to the weights' dtype, finite (else an error naming ``name``)."""
    return float_array(x, name, net.w.dtype, shape=(net.n,))


def preactivation(net: Network, x: Float[Array, " N"]) -> Float[Array, " N"]:
    """y = w x + b, the argument of the activation in eqs. (1)-(2); x of shape (N,), finite."""
    net = _check_network(net)
    x = _state(net, x)
    return net.w @ x + net.b


def activation_slope(net: Network, y: Float[Array, " N"]) -> Float[Array, " N"]:
    """f'(y) elementwise, eq. (9), by forward-mode autodiff of the activation; y of shape (N,), finite."""
    y = _state(_check_network(net), y, "y")
    return jax.jvp(net.activation, (y,), (jnp.ones_like(y),))[1]


def step(net: Network, x: Float[Array, " N"]) -> Float[Array, " N"]:
    """One synchronous update of all neurons, eqs. (1)-(2): x(t+1) = f(w x(t) + b)."""
    return net.activation(preactivation(net, x))


def bulk_loss(net: Network, x: Float[Array, " N"]) -> Float[Array, ""]:
    """Bulk loss, eq. (3): H(x) = ½|x - f(w x + b)|² + V(x), with V(x) = -(m/2)|x|².

    The first term vanishes on a fixed point of the dynamics (1)-(2); m > 0 lowers the loss of
    large states (the paper's bulk potential).
    """
    net = _check_network(net)
    return _bulk_loss(net, _state(net, x))


def _bulk_loss(net: Network, x):
    # Unchecked (3), for solver loops whose iterates are checked by the solver itself.
    r = x - net.activation(net.w @ x + net.b)
    return 0.5 * jnp.vdot(r, r) - 0.5 * net.m * jnp.vdot(x, x)


def boundary_loss(net: Network, x: Float[Array, " N"], target: Float[Array, " K"]) -> Float[Array, ""]:
    """Boundary loss, eq. (4), in its supervised form: H_∂ = ½ Σ_{i ∈ outputs} (x_i - target_i)².

    ``target`` lists the data's values for the output neurons, in the order of ``net.outputs``.
    """
    x = _state(_check_network(net), x)
    if not net.outputs:
        raise ValueError("boundary_loss needs a network with output neurons (Network(..., outputs=...))")
    out = x[jnp.asarray(net.outputs)]
    target = float_array(target, "target", net.w.dtype, shape=(len(net.outputs),))
    return 0.5 * jnp.sum((out - target) ** 2)
