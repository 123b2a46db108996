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

from ._checks import check_square, check_vector

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
        m: mass of the bulk potential V(x) = -(m/2)|x|^2 of eq. (3).
        inputs, outputs: indices of the boundary neurons (the projections P_in, P_out of §2).

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
        w = jnp.asarray(w)
        if not jnp.issubdtype(w.dtype, jnp.floating):
            w = w.astype(jnp.zeros(()).dtype)
        check_square(w, "w")
        n = w.shape[0]
        self.w = w
        self.b = check_vector(jnp.asarray(b, dtype=w.dtype), "b", n)
        self.m = jnp.asarray(m, dtype=w.dtype)
        if self.m.shape != ():
            raise ValueError(f"m must be a scalar, got shape {self.m.shape}")
        self.activation = _resolve_activation(activation)
        for name, idx in (("inputs", inputs), ("outputs", outputs)):
            if any(not 0 <= int(i) < n for i in idx):
                raise ValueError(f"{name} indices must lie in [0, {n}), got {tuple(idx)}")
        self.inputs = tuple(int(i) for i in inputs)
        self.outputs = tuple(int(i) for i in outputs)

    @property
    def n(self) -> int:
        return self.w.shape[0]


def preactivation(net: Network, x: Float[Array, " N"]) -> Float[Array, " N"]:
    """y = w x + b, the argument of the activation in eqs. (1)-(2)."""
    check_vector(x, "x", net.n)
    return net.w @ x + net.b


def activation_slope(net: Network, y: Float[Array, " N"]) -> Float[Array, " N"]:
    """f'(y) elementwise, eq. (9), by forward-mode autodiff of the activation."""
    return jax.jvp(net.activation, (y,), (jnp.ones_like(y),))[1]


def step(net: Network, x: Float[Array, " N"]) -> Float[Array, " N"]:
    """One synchronous update of all neurons, eqs. (1)-(2): x(t+1) = f(w x(t) + b)."""
    return net.activation(preactivation(net, x))


def bulk_loss(net: Network, x: Float[Array, " N"]) -> Float[Array, ""]:
    """Bulk loss, eq. (3): H(x) = ½|x - f(w x + b)|² + V(x), with V(x) = -(m/2)|x|².

    The first term vanishes on a fixed point of the dynamics (1)-(2); m > 0 lowers the loss of
    large states (the paper's bulk potential).
    """
    r = x - step(net, x)
    return 0.5 * jnp.vdot(r, r) - 0.5 * net.m * jnp.vdot(x, x)


def boundary_loss(net: Network, x: Float[Array, " N"], target: Float[Array, " K"]) -> Float[Array, ""]:
    """Boundary loss, eq. (4), in its supervised form: H_∂ = ½ Σ_{i ∈ outputs} (x_i - target_i)².

    ``target`` lists the data's values for the output neurons, in the order of ``net.outputs``.
    """
    check_vector(x, "x", net.n)
    if not net.outputs:
        raise ValueError("boundary_loss needs a network with output neurons (Network(..., outputs=...))")
    out = x[jnp.asarray(net.outputs)]
    check_vector(target, "target", len(net.outputs))
    return 0.5 * jnp.sum((out - target) ** 2)
