"""Sparse weight matrices and the matrix-free Gauss-Newton operator (8)-(9) for very large networks.

Dense (N, N) weights stop at a few thousand neurons; the networks of the paper's later sections —
permutations (59)-(60), disjoint cycles, chains (97)-(100) — have O(N) edges. Here the weights are
a :class:`SparseWeights` pytree that stores only its nonzeros (O(N) memory for these networks) and
applies w and wᵀ by gathers, and the Gauss-Newton operator G = JᵀJ of eqs. (8)-(9),

    J v = v - diag(f'(y)) (w v),   Jᵀ u = u - wᵀ (diag(f'(y)) u),   y = w x̄ + b,

is applied to a vector without ever forming a matrix. :mod:`nnworld_jax.lanczos` turns it into
log det((1 - βm) I + βG) and the free energy (45) for N ~ 10⁶.

Conventions (as :mod:`nnworld_jax.network`): ``w[i, j]`` is the edge j → i; permutations are the
index maps of :mod:`nnworld_jax.hidden` (``perm[i] = j`` means (πx)_i = x_j, the single cycle is
(πx)_i = x_{i-1}). Storage: the nonzeros ``values`` (the differentiable leaf), their ``rows`` and
``cols``, and two padded "ELL" index tables (K = max nonzeros per row, Kt per column) so that both
w x and wᵀ v are K (resp. Kt) gathers with no scatter. Structure is built eagerly (NumPy) at
construction; the values may be traced, differentiated and vmapped.

The mean state of a sparse network is the fixed point x̄ = f(w x̄ + b) of the dynamics (1)-(2),
found by iteration (:func:`sparse_mean_state`). It equals the stationary point x* of the bulk loss
(3) used by :func:`nnworld_jax.mean_state` when m = 0 (conventions §1); for m ≠ 0 pass the state ``x``
explicitly. The iteration converges, to the unique fixed point, when x ↦ f(wx + b) is a
contraction (‖diag(f') w‖ < 1); otherwise it raises.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from ._checks import as_float, check, check_count, check_finite, float_array, scalar_param
from .holography import _chain_edges
from .network import _resolve_activation

__all__ = [
    "SparseWeights", "sparse_weights", "from_dense", "to_dense", "to_bcoo", "permutation_weights",
    "cycle_weights", "multi_cycle_weights", "chain_weights", "chain_network_weights", "weights_matvec",
    "weights_rmatvec", "SparseNetwork", "sparse_preactivation", "sparse_step", "sparse_mean_state",
    "jacobian_matvec", "jacobian_rmatvec", "gauss_newton_matvec",
]


# ---------------------------------------------------------------------------------------------
# Storage


def _float_dtype(dtype):
    # The dtype jax would use (float64 -> float32 without x64), without creating an array.
    try:
        dtype = jax.dtypes.canonicalize_dtype(jnp.float64 if dtype is None else dtype)
    except TypeError:
        raise TypeError(f"dtype must be a floating dtype, got {dtype!r}") from None
    if not jnp.issubdtype(dtype, jnp.floating):
        raise ValueError(f"weights need a floating dtype, got {dtype}")
    return dtype


def _ell_tables(major: np.ndarray, minor: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Padded per-``major`` tables: (n, K) positions into the nonzero list (pad = nnz) and the
    matching ``minor`` indices (pad = 0), K = max count per major index (at least 1)."""
    nnz = major.shape[0]
    order = np.arange(nnz) if np.all(major[1:] >= major[:-1]) else np.argsort(major, kind="stable")
    counts = np.bincount(major, minlength=n)
    k = max(1, int(counts.max()) if nnz else 1)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    slot = np.arange(nnz) - starts[major[order]]
    pos = np.full((n, k), nnz, dtype=np.int32)
    idx = np.zeros((n, k), dtype=np.int32)
    pos[major[order], slot] = order
    idx[major[order], slot] = minor[order]
    return pos, idx


class SparseWeights(eqx.Module):
    """Sparse (N, N) weights w: only the nonzeros are stored (O(nnz) memory), eqs. (1)-(2), (59)-(60).

    Build with :func:`sparse_weights` (COO triplets) or the network builders
    (:func:`permutation_weights`, :func:`cycle_weights`, :func:`multi_cycle_weights`,
    :func:`chain_weights`, :func:`chain_network_weights`, :func:`from_dense`). ``values`` is the
    differentiable leaf; the index arrays are structure. ``w[rows[k], cols[k]] = values[k]``.
    """

    values: Float[Array, " nnz"]
    rows: Int[Array, " nnz"]
    cols: Int[Array, " nnz"]
    row_pos: Int[Array, "N K"]  # positions into values of row i's entries (pad: nnz)
    row_cols: Int[Array, "N K"]  # their column indices (pad: 0)
    col_pos: Int[Array, "N Kt"]  # positions into values of column j's entries (pad: nnz)
    col_rows: Int[Array, "N Kt"]  # their row indices (pad: 0)
    n: int = eqx.field(static=True)

    def __check_init__(self):
        # Static structure only (values may be traced): the builders validate indices and values.
        check_count(self.n, "n")
        nnz = jnp.shape(self.values)
        if len(nnz) != 1 or jnp.shape(self.rows) != nnz or jnp.shape(self.cols) != nnz:
            raise ValueError(f"values, rows and cols must be vectors of one length, got {jnp.shape(self.values)}, "
                             f"{jnp.shape(self.rows)}, {jnp.shape(self.cols)}; build with sparse_weights")
        for name in ("row_pos", "row_cols", "col_pos", "col_rows"):
            shape = jnp.shape(getattr(self, name))
            if len(shape) != 2 or shape[0] != self.n:
                raise ValueError(f"{name} must have shape ({self.n}, K), got {shape}; build with sparse_weights")

    @property
    def nnz(self) -> int:
        return self.values.shape[0]

    @property
    def dtype(self):
        return self.values.dtype


def sparse_weights(rows, cols, values, n: int, dtype=None) -> SparseWeights:
    """Sparse weights from COO triplets, ``w[rows[k], cols[k]] = values[k]`` (edge cols[k] → rows[k]).

    Eq. (1)-(2) conventions: ``w[i, j]`` is the weight of the edge j → i. Indices must lie in
    [0, n) and be unique pairs; ``values`` may be a scalar (all edges equal) or (nnz,).
    Built eagerly (the structure is NumPy); O(nnz log nnz) time, O(N + nnz) memory.

    Example:
        >>> w = sparse_weights([1, 2], [0, 1], 0.5, 3)   # the chain 0 → 1 → 2
        >>> to_dense(w).tolist()
        [[0.0, 0.0, 0.0], [0.5, 0.0, 0.0], [0.0, 0.5, 0.0]]
    """
    n = check_count(n, "n")
    rows, cols = _indices(rows, "rows"), _indices(cols, "cols")
    if rows.shape != cols.shape:
        raise ValueError(f"rows and cols must have the same length, got {rows.shape} and {cols.shape}")
    if rows.size and (rows.min() < 0 or rows.max() >= n or cols.min() < 0 or cols.max() >= n):
        raise ValueError(f"indices must lie in [0, {n})")
    if dtype is None:
        dtype = getattr(values, "dtype", None)
        if dtype is not None and not jnp.issubdtype(dtype, jnp.floating):
            dtype = None
    dtype = _float_dtype(dtype)
    xp = jnp if isinstance(values, jax.core.Tracer) else np  # concrete values: no per-shape compiles
    if xp is np:
        if values is None or isinstance(values, (str, bytes)):
            raise TypeError(f"values must be a number or an array of numbers, got {type(values).__name__}")
        values = np.asarray(values)
        if not (np.issubdtype(values.dtype, np.number) or values.dtype == np.bool_):
            raise TypeError(f"values must be a number or an array of numbers, got dtype {values.dtype}")
        if not np.all(np.isfinite(values)):
            raise ValueError("values contains NaN or inf")
    else:
        values = check_finite(as_float(values, "values"), "values")
    values = xp.asarray(values, dtype=dtype)
    if values.ndim == 0:
        values = xp.full(rows.shape, values, dtype=dtype)
    if values.shape != rows.shape:
        raise ValueError(f"values must be a scalar or have shape {rows.shape}, got {values.shape}")
    order = np.lexsort((cols, rows))  # canonical order: by row, then column
    rows, cols = rows[order], cols[order]
    if np.any((rows[1:] == rows[:-1]) & (cols[1:] == cols[:-1])):
        raise ValueError("duplicate (row, col) pairs: sum them before building the weights")
    values = jnp.asarray(values[order], dtype=dtype)
    row_pos, row_cols = _ell_tables(rows, cols, n)
    col_pos, col_rows = _ell_tables(cols, rows, n)
    i32 = lambda a: jnp.asarray(a, dtype=jnp.int32)  # noqa: E731
    return SparseWeights(values, i32(rows), i32(cols), i32(row_pos), i32(row_cols), i32(col_pos),
                         i32(col_rows), n)


def _indices(idx, name: str) -> np.ndarray:
    """Integer edge indices as a flat int64 NumPy array; a non-integer index is an error, not truncated."""
    a = np.asarray(idx)
    if a.size and not (np.issubdtype(a.dtype, np.integer) or (np.issubdtype(a.dtype, np.floating)
                                                               and np.all(np.isfinite(a)) and np.all(a == np.round(a)))):
        raise ValueError(f"{name} must be integer indices, got {a.dtype} values {a.reshape(-1)[:4].tolist()}")
    return a.astype(np.int64).reshape(-1)


def _check_weights(w, name: str = "w") -> "SparseWeights":
    if not isinstance(w, SparseWeights):
        raise TypeError(f"{name} must be SparseWeights (build with sparse_weights or from_dense), got {type(w).__name__}")
    return w


def from_dense(w) -> SparseWeights:
    """The nonzeros of a dense (N, N) weight matrix (eqs. (1)-(2) convention) as :class:`SparseWeights` (eager).

    Integer matrices are promoted to the default float dtype; NaN/inf is an error."""
    if isinstance(w, jax.core.Tracer):
        raise TypeError("from_dense needs a concrete w (its sparsity pattern fixes the structure); call it outside jit")
    w = as_float(w, "w")
    w_np = np.asarray(w)
    if w_np.ndim != 2 or w_np.shape[0] != w_np.shape[1]:
        raise ValueError(f"w must have shape (N, N), got {w_np.shape}; use jax.vmap to batch")
    if not np.all(np.isfinite(w_np)):
        raise ValueError("w contains NaN or inf")
    rows, cols = np.nonzero(w_np)
    return sparse_weights(rows, cols, w_np[rows, cols], w_np.shape[0], dtype=w.dtype)


def to_dense(w: SparseWeights) -> Float[Array, "N N"]:
    """The dense (N, N) matrix of eq. (1)-(2) (for small N and tests); differentiable in the values."""
    w = _check_weights(w)
    return jnp.zeros((w.n, w.n), dtype=w.dtype).at[w.rows, w.cols].set(w.values)


def to_bcoo(w: SparseWeights):
    """The weights as a ``jax.experimental.sparse.BCOO`` (N, N) matrix (eq. (1)-(2) convention)."""
    from jax.experimental import sparse as jsparse

    w = _check_weights(w)
    indices = jnp.stack([w.rows, w.cols], axis=1)
    return jsparse.BCOO((w.values, indices), shape=(w.n, w.n), indices_sorted=True, unique_indices=True)


# ---------------------------------------------------------------------------------------------
# Network builders: permutations (59)-(60), cycles, chains (97)-(100)


def permutation_weights(perm, weight=1.0, dtype=None) -> SparseWeights:
    """The permutation network of eqs. (59)-(60) as sparse weights: w = weight · π, (πx)_i = x_{perm[i]}.

    ``perm`` is the index map of :mod:`nnworld_jax.hidden` (e.g. ``hidden.cycle_permutation(n)``);
    ``weight`` a scalar or (N,) per-row weights (``w[i, perm[i]] = weight[i]``). O(N) memory.
    """
    perm = np.asarray(perm)
    if perm.ndim != 1:
        raise ValueError(f"perm must be a vector (an index map of length N), got shape {perm.shape}")
    perm = _indices(perm, "perm")
    n = perm.shape[0]
    if n < 1 or not np.array_equal(np.sort(perm), np.arange(n)):
        raise ValueError("perm must be a permutation of 0..N-1 (an index map, perm[i] = j means (πx)_i = x_j)")
    return sparse_weights(np.arange(n), perm, weight, n, dtype=dtype)


def cycle_weights(n: int, weight=1.0, dtype=None) -> SparseWeights:
    """The single N-cycle of eq. (60) with weight c: (w x)_i = c x_{i-1} (indices mod N), O(N) memory."""
    n = check_count(n, "n")
    return permutation_weights((np.arange(n) - 1) % n, weight, dtype)


def multi_cycle_weights(lengths: Sequence[int], weight=1.0, dtype=None) -> SparseWeights:
    """Disjoint cycles of the given lengths (eq. (60) per block), numbered block by block as in
    :func:`nnworld_jax.hidden.multi_cycle_permutation`: inside a block of length L starting at s,
    (w x)_{s+j} = c x_{s + (j-1 mod L)}."""
    if isinstance(lengths, (str, bytes)) or np.ndim(lengths) != 1 or len(lengths) == 0:
        raise ValueError(f"lengths must be a non-empty list of positive integers, got {lengths!r}")
    lengths = [check_count(L, f"lengths[{i}]") for i, L in enumerate(lengths)]
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    perm = np.concatenate([s + (np.arange(L) - 1) % L for s, L in zip(starts, lengths)])
    return permutation_weights(perm, weight, dtype)


def chain_weights(n: int, weight=1.0, dtype=None) -> SparseWeights:
    """An open chain 0 → 1 → … → N-1 (the bulk chains of eqs. (97)-(100)): w[i+1, i] = c.

    J = I - diag(f') w is then unit lower bidiagonal, so det J = 1 and G = JᵀJ is tridiagonal.
    """
    n = check_count(n, "n")
    return sparse_weights(np.arange(1, n), np.arange(n - 1), weight, n, dtype=dtype)


def chain_network_weights(n_boundary: int, chains: Sequence[tuple[int, int, int]], *, weight=1.0,
                          n_total: int | None = None, dtype=None) -> SparseWeights:
    """The chain network of eq. (100) (:func:`nnworld_jax.holography.chain_network`) without the
    dense matrix: boundary neurons 0..K-1, then per chain (a, b, L) L new bulk neurons
    a → b_1 → … → b_L → b of weight ``weight``; ``n_total`` pads with isolated neurons.
    Parallel chains with L = 0 between the same pair add up, as in the dense builder."""
    n_boundary = check_count(n_boundary, "n_boundary")
    n_total = None if n_total is None else check_count(n_total, "n_total")
    if isinstance(weight, jax.core.Tracer):
        weight = scalar_param(weight, "weight")
    else:
        weight = float(scalar_param(weight, "weight"))
    n, edge_list = _chain_edges(n_boundary, chains, n_total)
    edges: dict[tuple[int, int], float] = {}
    for edge in edge_list:
        edges[edge] = edges.get(edge, 0.0) + 1.0
    pairs = np.array(sorted(edges), dtype=np.int64).reshape(-1, 2)
    mult = np.array([edges[tuple(p)] for p in pairs.tolist()], dtype=np.float64)
    dtype = _float_dtype(dtype)
    values = mult * weight if not isinstance(weight, jax.core.Tracer) else jnp.asarray(mult, dtype) * weight
    return sparse_weights(pairs[:, 0], pairs[:, 1], values, n, dtype=dtype)


# ---------------------------------------------------------------------------------------------
# Products


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


def weights_matvec(w: SparseWeights, x: Float[Array, " N"]) -> Float[Array, " N"]:
    """w x, the weighted input of eqs. (1)-(2): (w x)_i = Σ_j w_ij x_j, O(nnz), gathers only.

    Example:
        >>> import jax.numpy as jnp
        >>> weights_matvec(cycle_weights(4), jnp.arange(4.0)).tolist()   # eq. (60): (πx)_i = x_{i-1}
        [3.0, 0.0, 1.0, 2.0]
    """
    w = _check_weights(w)
    x = float_array(x, "x", w.dtype, shape=(w.n,))
    return _gather_apply(_row_values(w), w.row_cols, x)


def weights_rmatvec(w: SparseWeights, v: Float[Array, " N"]) -> Float[Array, " N"]:
    """wᵀ v (for Jᵀ of eq. (9)): (wᵀ v)_j = Σ_i w_ij v_i, O(nnz), gathers only."""
    w = _check_weights(w)
    v = float_array(v, "v", w.dtype, shape=(w.n,))
    return _gather_apply(_col_values(w), w.col_rows, v)


# ---------------------------------------------------------------------------------------------
# The network and its mean state


class SparseNetwork(eqx.Module):
    """A network of §2 with sparse weights: eqs. (1)-(3) with w a :class:`SparseWeights`.

    Arguments:
        weights: the sparse (N, N) weights, ``w[i, j]`` the edge j → i.
        b: (N,) bias, cast to the weights' dtype.
        activation: ``"tanh"`` (default) or any name/callable accepted by :class:`nnworld_jax.Network`.
        m: mass of the bulk potential V(x) = -(m/2)|x|² of eq. (3), a finite scalar.

    Integer b and m are promoted to the weights' dtype; NaN/inf in b or m is an error.
    """

    weights: SparseWeights
    b: Float[Array, " N"]
    m: Float[Array, ""]
    activation: Callable = eqx.field(static=True)

    def __init__(self, weights: SparseWeights, b, activation: str | Callable = "tanh", m=0.0):
        if not isinstance(weights, SparseWeights):
            raise TypeError(f"weights must be SparseWeights (see nnworld_jax.sparse), got {type(weights).__name__}")
        self.weights = weights
        b = as_float(b, "b", weights.dtype)
        if b.ndim == 0:
            b = jnp.full((weights.n,), b, dtype=weights.dtype)
        self.b = float_array(b, "b", shape=(weights.n,))
        self.m = scalar_param(m, "m", weights.dtype)
        self.activation = _resolve_activation(activation)

    @property
    def n(self) -> int:
        return self.weights.n


def _check_network(net, name: str = "net") -> SparseNetwork:
    if not isinstance(net, SparseNetwork):
        raise TypeError(f"{name} must be a SparseNetwork (for dense weights use nnworld_jax.Network), "
                        f"got {type(net).__name__}")
    # Finite leaves, returned so the checks survive jit (a tree_at or optimizer step skips __init__).
    leaves = (check_finite(net.weights.values, "w"), check_finite(net.b, "b"), check_finite(net.m, "m"))
    return eqx.tree_at(lambda n: (n.weights.values, n.b, n.m), net, leaves)


def sparse_preactivation(net: SparseNetwork, x: Float[Array, " N"]) -> Float[Array, " N"]:
    """y = w x + b, the argument of the activation in eqs. (1)-(2), with sparse w; x (N,), finite."""
    net = _check_network(net)
    return weights_matvec(net.weights, x) + net.b


def sparse_step(net: SparseNetwork, x: Float[Array, " N"]) -> Float[Array, " N"]:
    """One synchronous update of all neurons, eqs. (1)-(2): x(t+1) = f(w x(t) + b)."""
    return net.activation(sparse_preactivation(net, x))


def _slope(activation, y):
    return jax.jvp(activation, (y,), (jnp.ones_like(y),))[1]


def _default_rtol(dtype) -> float:
    return 1e-13 if jnp.dtype(dtype) == jnp.float64 else 1e-6


def _iterate(fn, x0, tol, max_steps):
    """Iterate x ← fn(x) until max|Δx| ≤ tol (1 + max|x|); returns (x, converged)."""

    def cond(state):
        _, dx, k = state
        return (dx > tol) & (k < max_steps)

    def body(state):
        x, _, k = state
        x_new = fn(x)
        dx = jnp.max(jnp.abs(x_new - x)) / (1 + jnp.max(jnp.abs(x_new)))
        return x_new, jnp.where(jnp.isfinite(dx), dx, jnp.inf), k + 1

    inf = jnp.asarray(jnp.inf, dtype=x0.dtype)
    x, dx, k = jax.lax.while_loop(cond, body, (x0, inf, jnp.zeros((), jnp.int32)))
    return x, (dx <= tol) & jnp.all(jnp.isfinite(x))


_NOT_CONTRACTING = ("the fixed-point iteration x = f(w x + b) did not converge in {max_steps} steps: "
                    "x -> f(wx+b) is not a contraction (||diag(f') w|| >= 1?); pass the state x explicitly")


@partial(jax.custom_vjp, nondiff_argnums=(0, 1, 2))
def _fixed_point(activation, max_steps, rtol, w: SparseWeights, b):
    prep = _prepare(w)
    x, ok = _iterate(lambda x: activation(prep.mv(x) + b), jnp.zeros_like(b), rtol, max_steps)
    return check(x, ~ok, _NOT_CONTRACTING.format(max_steps=max_steps))


def _fixed_point_fwd(activation, max_steps, rtol, w, b):
    x = _fixed_point(activation, max_steps, rtol, w, b)
    return x, (w, b, x)


def _fixed_point_bwd(activation, max_steps, rtol, res, g):
    # Implicit function theorem: x = f(w x + b) ⇒ (I - D w) dx = D (dw x + db), D = diag f'(y).
    # The adjoint λ = (I - D w)⁻ᵀ g solves λ = g + wᵀ(D λ), a contraction with the same rate.
    w, b, x = res
    prep = _prepare(w)
    y = prep.mv(x) + b
    d = _slope(activation, y)
    lam, ok = _iterate(lambda lam: g + prep.rmv(d * lam), g, rtol, max_steps)
    lam = check(lam, ~ok, "the adjoint of the fixed point did not converge: " + _NOT_CONTRACTING.format(
        max_steps=max_steps))

    def image(w_, b_):
        return activation(weights_matvec(w_, x) + b_)

    _, vjp = jax.vjp(image, w, b)
    gw, gb = vjp(lam)
    return gw, gb


_fixed_point.defvjp(_fixed_point_fwd, _fixed_point_bwd)


def sparse_mean_state(net: SparseNetwork, *, max_steps: int = 2000, rtol: float | None = None) -> Float[Array, " N"]:
    """The mean state of a sparse network: the fixed point x̄ = f(w x̄ + b) of eqs. (1)-(2).

    Found by iterating the dynamics (1)-(2) from x = 0 until max|Δx| ≤ rtol (1 + max|x|) (default
    rtol 1e-13 in float64, 1e-6 in float32). For m = 0 it is the stationary point x* of the bulk
    loss (3) (conventions §1), i.e. :func:`nnworld_jax.mean_state`; for m ≠ 0 the two differ (pass x).
    Unique and reached when x ↦ f(wx + b) is a contraction (‖diag(f') w‖ < 1, e.g. tanh with
    max_i Σ_j |w_ij| < 1); when the iteration does not converge (or diverges) it raises (eager
    ValueError, ``eqx.error_if`` under jit) instead of returning a wrong state.

    Gradients with respect to the weights' values and b go through the implicit function theorem
    (one adjoint fixed-point iteration), never through the iterations.

    Returns: x̄ (N,) in the dtype of the weights. O(N) memory.
    """
    net = _check_network(net)
    max_steps = check_count(max_steps, "max_steps")
    tol = _default_rtol(net.weights.dtype) if rtol is None else float(scalar_param(rtol, "rtol", positive=True))
    # _check_network returned checked w, b: they feed the iteration (a discarded check vanishes under jit).
    return _fixed_point(net.activation, max_steps, tol, net.weights, net.b)


# ---------------------------------------------------------------------------------------------
# Matrix-free J, Jᵀ and G, eqs. (8)-(9)


def _vector(net: SparseNetwork, v, name: str):
    return float_array(v, name, net.weights.dtype, shape=(net.n,))


def jacobian_matvec(net: SparseNetwork, x: Float[Array, " N"], v: Float[Array, " N"]) -> Float[Array, " N"]:
    """J v with J = I - diag(f'(w x + b)) w, eq. (9), at the state x; O(nnz), no matrix."""
    net = _check_network(net)
    x, v = _vector(net, x, "x"), _vector(net, v, "v")
    d = _slope(net.activation, sparse_preactivation(net, x))
    return v - d * weights_matvec(net.weights, v)


def jacobian_rmatvec(net: SparseNetwork, x: Float[Array, " N"], u: Float[Array, " N"]) -> Float[Array, " N"]:
    """Jᵀ u = u - wᵀ (diag(f'(w x + b)) u), the transpose of eq. (9) at the state x; O(nnz)."""
    net = _check_network(net)
    x, u = _vector(net, x, "x"), _vector(net, u, "u")
    d = _slope(net.activation, sparse_preactivation(net, x))
    return u - weights_rmatvec(net.weights, d * u)


def gauss_newton_matvec(net: SparseNetwork, x: Float[Array, " N"], v: Float[Array, " N"]) -> Float[Array, " N"]:
    """G v = Jᵀ (J v), the Gauss-Newton operator of eqs. (8)-(9) applied matrix-free at the state x.

    Equals ``partition.gauss_newton_operator(Network(to_dense(w), b), x) @ v``; O(nnz) time and
    O(N) memory, so it runs at N = 10⁶.
    """
    net = _check_network(net)
    x, v = _vector(net, x, "x"), _vector(net, v, "v")
    prep = _prepare(net.weights)
    d = _slope(net.activation, prep.mv(x) + net.b)
    jv = v - d * prep.mv(v)
    return jv - prep.rmv(d * jv)
