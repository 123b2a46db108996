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
import jax.numpy as jnp

from ._checks import as_float, check_finite, check_square, float_array, scalar_param
from ._netcore import ACTIVATIONS, _bulk_loss, _check_network, _resolve_activation, _slope, _state
from .types import ArrayLike, FloatScalar, Real, State, Weights

__all__ = ["Network", "preactivation", "activation_slope", "step", "bulk_loss", "boundary_loss",
           "ACTIVATIONS"]


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

    w: Weights
    b: State
    m: FloatScalar
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


def preactivation(net: Network, x: State) -> State:
    """y = w x + b, the argument of the activation in eqs. (1)-(2); x of shape (N,), finite."""
    net = _check_network(net)
    x = _state(net, x)
    return net.w @ x + net.b


def activation_slope(net: Network, y: State) -> State:
    """f'(y) elementwise, eq. (9), by forward-mode autodiff of the activation; y of shape (N,), finite."""
    y = _state(_check_network(net), y, "y")
    return _slope(net.activation, y)


def step(net: Network, x: State) -> State:
    """One synchronous update of all neurons, eqs. (1)-(2): x(t+1) = f(w x(t) + b)."""
    return net.activation(preactivation(net, x))


def bulk_loss(net: Network, x: State) -> FloatScalar:
    """Bulk loss, eq. (3): H(x) = ½|x - f(w x + b)|² + V(x), with V(x) = -(m/2)|x|².

    The first term vanishes on a fixed point of the dynamics (1)-(2); m > 0 lowers the loss of
    large states (the paper's bulk potential).
    """
    net = _check_network(net)
    return _bulk_loss(net, _state(net, x))


def boundary_loss(net: Network, x: State, target: Real[ArrayLike, " K"]) -> FloatScalar:
    """Boundary loss, eq. (4), in its supervised form: H_∂ = ½ Σ_{i ∈ outputs} (x_i - target_i)².

    ``target`` lists the data's values for the output neurons, in the order of ``net.outputs``.
    """
    x = _state(_check_network(net), x)
    if not net.outputs:
        raise ValueError("boundary_loss needs a network with output neurons (Network(..., outputs=...))")
    out = x[jnp.asarray(net.outputs)]
    target = float_array(target, "target", net.w.dtype, shape=(len(net.outputs),))
    return 0.5 * jnp.sum((out - target) ** 2)
