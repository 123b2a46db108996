"""Private gather kernels for :class:`~nnworld_jax.sparse.SparseWeights`, shared by sparse and lanczos.

Holds w x and wᵀ v as K (resp. Kt) gathers over the padded "ELL" tables of the weights, with no
scatter (``_gather_apply``, ``_row_values``, ``_col_values``), the same laid out once outside an
iteration loop (``_Prepared``, ``_prepare``), and the row-wise broadcast of a per-neuron vector
against a state or a block of states (``_rows``). Used by :mod:`~nnworld_jax.sparse` (products,
mean state, Gauss-Newton operator (8)-(9)) and :mod:`~nnworld_jax.lanczos` (stochastic Lanczos
quadrature). Conventions and storage as :mod:`nnworld_jax.sparse`: ``w[i, j]`` is the edge j → i.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import equinox as eqx
import jax.numpy as jnp

from .types import Array

if TYPE_CHECKING:
    from .sparse import SparseWeights

__all__ = ["_Prepared", "_col_values", "_gather_apply", "_prepare", "_row_values", "_rows"]


def _rows(v: Array, x: Array) -> Array:
    """v (N,) shaped to multiply x (N,) or a block (N, p) row by row."""
    return v.reshape(v.shape + (1,) * (x.ndim - 1))


def _gather_apply(vals: Array, idx: Array, x: Array) -> Array:
    # Σ_k vals[:, k] x[idx[:, k]]: K gathers, no scatter (K is static and small). x may be a block
    # (N, p) of p vectors: each gather then fetches a contiguous row of p values per index, which
    # keeps random (permutation) gathers cache-friendly.
    out = _rows(vals[:, 0], x) * x[idx[:, 0]]
    for k in range(1, idx.shape[1]):
        out = out + _rows(vals[:, k], x) * x[idx[:, k]]
    return out


def _row_values(w: SparseWeights) -> Array:
    return jnp.concatenate([w.values, jnp.zeros((1,), w.dtype)])[w.row_pos]


def _col_values(w: SparseWeights) -> Array:
    return jnp.concatenate([w.values, jnp.zeros((1,), w.dtype)])[w.col_pos]


class _Prepared(eqx.Module):
    """w and wᵀ as gather tables with the values laid out (done once, outside iteration loops)."""

    row_vals: Array
    row_cols: Array
    col_vals: Array
    col_rows: Array

    def mv(self, x):
        return _gather_apply(self.row_vals, self.row_cols, x)

    def rmv(self, v):
        return _gather_apply(self.col_vals, self.col_rows, v)


def _prepare(w: SparseWeights) -> _Prepared:
    return _Prepared(_row_values(w), w.row_cols, _col_values(w), w.col_rows)
