"""Private helpers for the networks of paper §2, shared by the modules that take one.

Holds the activation table and its resolver (``ACTIVATIONS``, ``_resolve_activation``; re-exported
as :data:`nnworld_jax.network.ACTIVATIONS`), the slope f'(y) (``_slope``), the input checks that
return checked leaves (``_check_network`` for a dense :class:`~nnworld_jax.network.Network`,
``_check_sparse_network`` for a :class:`~nnworld_jax.sparse.SparseNetwork`, ``_state`` for a neuron
state), the unchecked bulk loss (3) (``_bulk_loss``, for solver loops whose iterates are checked by
the solver), and the layout of the chain network (100) (``_chain_edges``).

Used by :mod:`~nnworld_jax.network`, :mod:`~nnworld_jax.partition`, :mod:`~nnworld_jax.thermo`,
:mod:`~nnworld_jax.estimators`, :mod:`~nnworld_jax.sparse`, :mod:`~nnworld_jax.lanczos` and
:mod:`~nnworld_jax.holography`. Conventions as :mod:`nnworld_jax.network`: ``w[i, j]`` is the edge
j -> i; one unbatched network per call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import equinox as eqx
import jax
import jax.numpy as jnp
from ._checks import check_finite, float_array
from .types import Array, State

if TYPE_CHECKING:
    from .network import Network
    from .sparse import SparseNetwork

__all__ = ["ACTIVATIONS", "_bulk_loss", "_chain_edges", "_check_network", "_check_sparse_network",
           "_resolve_activation", "_slope", "_state"]

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


def _check_network(net, name: str = "net") -> Network:
    """``net`` as a Network whose w, b, m are finite (an optimizer step can put NaN in a network
    without calling the constructor); the checked leaves are returned, so the checks survive jit."""
    # Looked up at call time: network imports this module for its own functions.
    from .network import Network

    if not isinstance(net, Network):
        raise TypeError(f"{name} must be a Network (for sparse weights use nnworld_jax.sparse), got {type(net).__name__}")
    leaves = (check_finite(net.w, "w"), check_finite(net.b, "b"), check_finite(net.m, "m"))
    return eqx.tree_at(lambda n: (n.w, n.b, n.m), net, leaves)


def _state(net: Network, x, name: str = "x") -> State:
    """A neuron state for ``net``: (N,), promoted to the weights' dtype, finite (else an error naming ``name``)."""
    return float_array(x, name, net.w.dtype, shape=(net.n,))


def _bulk_loss(net: Network, x):
    # Unchecked (3), for solver loops whose iterates are checked by the solver itself.
    r = x - net.activation(net.w @ x + net.b)
    return 0.5 * jnp.vdot(r, r) - 0.5 * net.m * jnp.vdot(x, x)


def _check_sparse_network(net, name: str = "net") -> SparseNetwork:
    """``net`` as a SparseNetwork whose values, b and m are finite, as :func:`_check_network`."""
    # Looked up at call time: sparse imports this module for its own functions.
    from .sparse import SparseNetwork

    if not isinstance(net, SparseNetwork):
        raise TypeError(f"{name} must be a SparseNetwork (for dense weights use nnworld_jax.Network), "
                        f"got {type(net).__name__}")
    # Finite leaves, returned so the checks survive jit (a tree_at or optimizer step skips __init__).
    leaves = (check_finite(net.weights.values, "w"), check_finite(net.b, "b"), check_finite(net.m, "m"))
    return eqx.tree_at(lambda n: (n.weights.values, n.b, n.m), net, leaves)


def _slope(activation, y):
    """f'(y) elementwise, by forward-mode autodiff of the elementwise activation f."""
    return jax.jvp(activation, (y,), (jnp.ones_like(y),))[1]


def _chain_edges(k: int, chains, n_total: int | None) -> tuple[int, list[tuple[int, int]]]:
    """Layout of the (100) chain network: the neuron count and every edge (dst, src), repeated once
    per chain that uses it (parallel L = 0 chains between one pair add up). Shared by the dense
    builder :func:`nnworld_jax.holography.chain_network` and :func:`nnworld_jax.sparse.chain_network_weights`."""
    n = k + sum(int(c[2]) for c in chains)
    if n_total is not None:
        if n_total < n:
            raise ValueError(f"n_total={n_total} is smaller than the {n} neurons the chains need")
        n = int(n_total)
    edges, nxt = [], k
    for a, b, length in chains:
        a, b, length = int(a), int(b), int(length)
        if not (0 <= a < k and 0 <= b < k) or length < 0:
            raise ValueError(f"chain {(a, b, length)}: endpoints must be boundary indices < {k}, L >= 0")
        nodes = [a, *range(nxt, nxt + length), b]
        nxt += length
        edges += [(dst, src) for src, dst in zip(nodes[:-1], nodes[1:])]
    return n, edges
