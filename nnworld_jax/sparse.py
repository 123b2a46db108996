"""Sparse weight matrices and the matrix-free Gauss-Newton operator (8)-(9) for very large networks.

Dense (N, N) weights stop at a few thousand neurons; the networks of the paper's later sections —
permutations (59)-(60), disjoint cycles, chains (97)-(100) — have O(N) edges. Here the weights are
a :class:`SparseWeights` pytree that stores only its nonzeros (O(N) memory for these networks) and
applies w and wᵀ by gathers, and the Gauss-Newton operator G = JᵀJ of eqs. (8)-(9),

    J v = v - diag(f'(y)) (w v),   Jᵀ u = u - wᵀ (diag(f'(y)) u),   y = w x̄ + b,

is applied to a vector without ever forming a matrix. :mod:`nnworld_jax.lanczos` turns it into
log det((1 - βm) I + βG) and the free energy (45) for N ~ 10⁶ by stochastic Lanczos quadrature.
For chains, cycles, permutations and their disjoint unions the log-det is computed exactly here
instead (:func:`structured_logdet`, :func:`structured_free_energy`): the layout is found once, when
the weights are built (:func:`has_structured_logdet`), and the value is an O(N) pivot scan.

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

import math
from collections.abc import Callable, Sequence
from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._checks import as_float, check, check_count, check_finite, float_array, is_traced, scalar_param
from ._config import dtype_tol
from ._netcore import _chain_edges, _check_sparse_network, _resolve_activation, _slope
from ._sparse_ops import _col_values, _gather_apply, _prepare, _row_values
from .types import Array, Float, FloatScalar, Int, State

__all__ = [
    "SparseWeights", "sparse_weights", "from_dense", "to_dense", "to_bcoo", "permutation_weights",
    "cycle_weights", "multi_cycle_weights", "chain_weights", "chain_network_weights", "weights_matvec",
    "weights_rmatvec", "SparseNetwork", "sparse_preactivation", "sparse_step", "sparse_mean_state",
    "jacobian_matvec", "jacobian_rmatvec", "gauss_newton_matvec",
    "has_structured_logdet", "structured_logdet", "structured_free_energy", "circulant_logdet",
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
    chains: "_Chains | None" = None  # paths/cycles layout of A = sI + βJᵀJ when it has one (exact log-det)

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
    xp = jnp if is_traced(values) else np  # concrete values: no per-shape compiles
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
    chains = _chain_plan(rows, cols, n, row_cols, row_pos, col_rows, col_pos)
    return SparseWeights(values, i32(rows), i32(cols), i32(row_pos), i32(row_cols), i32(col_pos),
                         i32(col_rows), n, chains)


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
    if is_traced(w):
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
    if is_traced(weight):
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
    values = mult * weight if not is_traced(weight) else jnp.asarray(mult, dtype) * weight
    return sparse_weights(pairs[:, 0], pairs[:, 1], values, n, dtype=dtype)


# ---------------------------------------------------------------------------------------------
# Products


def weights_matvec(w: SparseWeights, x: State) -> State:
    """w x, the weighted input of eqs. (1)-(2): (w x)_i = Σ_j w_ij x_j, O(nnz), gathers only.

    Example:
        >>> import jax.numpy as jnp
        >>> weights_matvec(cycle_weights(4), jnp.arange(4.0)).tolist()   # eq. (60): (πx)_i = x_{i-1}
        [3.0, 0.0, 1.0, 2.0]
    """
    w = _check_weights(w)
    x = float_array(x, "x", w.dtype, shape=(w.n,))
    return _gather_apply(_row_values(w), w.row_cols, x)


def weights_rmatvec(w: SparseWeights, v: State) -> State:
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
    b: State
    m: FloatScalar
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


def sparse_preactivation(net: SparseNetwork, x: State) -> State:
    """y = w x + b, the argument of the activation in eqs. (1)-(2), with sparse w; x (N,), finite."""
    net = _check_sparse_network(net)
    return weights_matvec(net.weights, x) + net.b


def sparse_step(net: SparseNetwork, x: State) -> State:
    """One synchronous update of all neurons, eqs. (1)-(2): x(t+1) = f(w x(t) + b)."""
    return net.activation(sparse_preactivation(net, x))


def _default_rtol(dtype) -> float:
    # the fixed-point iteration stops near the dtype's resolution of |x| ~ 1
    return dtype_tol(dtype, float64=1e-13, float32=1e-6)


def _iterate(fn, x0, tol, max_steps):
    """Iterate x ← fn(x) until max|Δx| ≤ tol (1 + max|x|); returns (x, converged).

    The stopping rule is tested at selected steps only: at N = 10⁶ its two max-reductions cost as
    much as a step (a gather and f), so testing every step doubled the cost of the mean state. The
    steps between two tests follow the geometric rate measured between the last two tests,
    r = (Δ_new / Δ_old)^(1/steps), aimed at the first step predicted to satisfy the rule (capped
    at the number of steps done so far, at least 8: a misjudged rate costs at most a doubling);
    without a usable rate (the first two steps, a growing or non-finite Δ) the next step is tested.
    The returned x meets the same rule at its last step. Testing every step would stop at the
    first step that meets it, so this stops there or later, never earlier: it returns that result
    itself or, when a prediction overshoots, a few more steps towards the same fixed point (for a
    sup-norm contraction of rate L they move x by at most L/(1-L) tol (1 + max|x|)). At most
    ``max_steps`` steps are taken, tested or not.
    """

    def measure(x, x_new):
        dx = jnp.max(jnp.abs(x_new - x)) / (1 + jnp.max(jnp.abs(x_new)))
        return jnp.where(jnp.isfinite(dx), dx, jnp.inf)

    def cond(state):
        _, dx, k, _ = state
        return (dx > tol) & (k < max_steps)

    def body(state):
        x, dx, k, skip = state
        skip = jnp.minimum(skip, max_steps - k - 1)
        x = jax.lax.fori_loop(0, skip, lambda _, x: fn(x), x)  # untested steps
        x_new = fn(x)
        dx_new = measure(x, x_new)
        k = k + skip + 1
        rate = (dx_new / dx) ** (1 / (skip + 1).astype(dx.dtype))  # per step, since the last test
        usable = (rate > 0) & (rate < 1) & (dx_new > tol)
        steps = jnp.log(tol / jnp.where(usable, dx_new, 1)) / jnp.log(jnp.where(usable, rate, 0.5))
        skip = jnp.clip(jnp.ceil(steps) - 1, 0, jnp.maximum(k, 8).astype(steps.dtype))  # the last of them is tested
        return x_new, dx_new, k, jnp.where(usable, skip, 0).astype(jnp.int32)

    inf = jnp.asarray(jnp.inf, dtype=x0.dtype)
    zero = jnp.zeros((), jnp.int32)
    x, dx, _, _ = jax.lax.while_loop(cond, body, (x0, inf, zero, zero))
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


def sparse_mean_state(net: SparseNetwork, *, max_steps: int = 2000, rtol: float | None = None) -> State:
    """The mean state of a sparse network: the fixed point x̄ = f(w x̄ + b) of eqs. (1)-(2).

    Found by iterating the dynamics (1)-(2) from x = 0 until max|Δx| ≤ rtol (1 + max|x|) (default
    rtol 1e-13 in float64, 1e-6 in float32); the rule is tested at the steps where the measured
    contraction rate predicts it to hold, not at every step (its reductions cost as much as a step
    at N = 10⁶), and the state returned meets it at its last step. For m = 0 it is the stationary
    point x* of the bulk loss (3) (conventions §1), i.e. :func:`nnworld_jax.mean_state`; for m ≠ 0
    the two differ (pass x).
    Unique and reached when x ↦ f(wx + b) is a contraction (‖diag(f') w‖ < 1, e.g. tanh with
    max_i Σ_j |w_ij| < 1); when the iteration does not converge (or diverges) it raises (eager
    ValueError, a runtime error under jit) instead of returning a wrong state.

    Gradients with respect to the weights' values and b go through the implicit function theorem
    (one adjoint fixed-point iteration), never through the iterations.

    Returns: x̄ (N,) in the dtype of the weights. O(N) memory.
    """
    net = _check_sparse_network(net)
    max_steps = check_count(max_steps, "max_steps")
    tol = _default_rtol(net.weights.dtype) if rtol is None else float(scalar_param(rtol, "rtol", positive=True))
    # _check_sparse_network returned checked w, b: they feed the iteration (a discarded check vanishes under jit).
    return _fixed_point(net.activation, max_steps, tol, net.weights, net.b)


# ---------------------------------------------------------------------------------------------
# Matrix-free J, Jᵀ and G, eqs. (8)-(9)


def _vector(net: SparseNetwork, v, name: str):
    return float_array(v, name, net.weights.dtype, shape=(net.n,))


def jacobian_matvec(net: SparseNetwork, x: State, v: State) -> State:
    """J v with J = I - diag(f'(w x + b)) w, eq. (9), at the state x; O(nnz), no matrix."""
    net = _check_sparse_network(net)
    x, v = _vector(net, x, "x"), _vector(net, v, "v")
    d = _slope(net.activation, sparse_preactivation(net, x))
    return v - d * weights_matvec(net.weights, v)


def jacobian_rmatvec(net: SparseNetwork, x: State, u: State) -> State:
    """Jᵀ u = u - wᵀ (diag(f'(w x + b)) u), the transpose of eq. (9) at the state x; O(nnz)."""
    net = _check_sparse_network(net)
    x, u = _vector(net, x, "x"), _vector(net, u, "u")
    d = _slope(net.activation, sparse_preactivation(net, x))
    return u - weights_rmatvec(net.weights, d * u)


def gauss_newton_matvec(net: SparseNetwork, x: State, v: State) -> State:
    """G v = Jᵀ (J v), the Gauss-Newton operator of eqs. (8)-(9) applied matrix-free at the state x.

    Equals ``partition.gauss_newton_operator(Network(to_dense(w), b), x) @ v``; O(nnz) time and
    O(N) memory, so it runs at N = 10⁶.
    """
    net = _check_sparse_network(net)
    x, v = _vector(net, x, "x"), _vector(net, v, "v")
    prep = _prepare(net.weights)
    d = _slope(net.activation, prep.mv(x) + net.b)
    jv = v - d * prep.mv(v)
    return jv - prep.rmv(d * jv)


# ---------------------------------------------------------------------------------------------
# Exact log det((1 - βm) I + βG) for chains, cycles and their disjoint unions, eqs. (45), (60), (97)-(100)
#
# A = sI + βJᵀJ (s = 1 - βm, J = I - Dw, D = diag f'(y)) has the entries
#     A_uv = s δ_uv + β (δ_uv - d_u w_uv - d_v w_vu + Σ_i d_i² w_iu w_iv),
# so its graph joins the ends of every edge of w and every two inputs of one neuron. When every
# neuron has at most two neighbours in that graph (chains, cycles, permutations, disjoint unions of
# them: the networks of (59)-(60) and (97)-(100) without shared boundary neurons), the graph is a
# union of paths and cycles. Laid out path after path, A is tridiagonal (an off-diagonal of 0
# between components) plus one corner entry per cycle, and log det A follows exactly from the pivot
# recurrence p_k = a_k - b_k² / p_{k-1} (an associative scan of 2 × 2 Möbius matrices, O(N) work,
# O(log N) depth) and, per cycle, the rank-2 corner correction (matrix determinant lemma).


class _Chains(eqx.Module):
    """Index tables of the paths/cycles layout (built eagerly, :func:`_chain_plan`); pad position nnz."""

    order: Int[Array, " N"]  # node at layout position k
    self_pos: Int[Array, " N"]  # position of w[v, v] (v = order[k])
    in_pos: Int[Array, "N Kt"]  # positions of w[i, v] (column v's entries) and their rows i
    in_rows: Int[Array, "N Kt"]
    link: Int[Array, "N 2"]  # positions of w[u, v], w[v, u], u = order[k-1] (pad: no link)
    link_co: Int[Array, "N Q 3"]  # common inputs i of u, v: positions of w[i, u], w[i, v] and i
    corner: Int[Array, "C 2"]  # the same for the closing edge of each cycle (u = last, v = first)
    corner_co: Int[Array, "C Q 3"]
    cycle_ends: Int[Array, "C 2"]  # first and last layout position of each cycle
    cycle_id: Int[Array, " N"]  # cycle of each layout position (C: none)


def has_structured_logdet(w: SparseWeights) -> bool:
    """Whether :func:`structured_logdet` applies to weights ``w`` (static: decided at construction).

    True when the graph of A = (1 - βm)I + βJᵀJ (eq. (45), J of eq. (9)) is a union of paths and
    cycles: chains, cycles (60), permutations (59), and disjoint unions of them.
    """
    return _check_weights(w).chains is not None


def _pair_positions(keys: np.ndarray, n: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Positions of w[u, v] in the canonical (row-major) nonzero list, nnz where absent."""
    nnz = keys.shape[0]
    q = u.astype(np.int64) * n + v
    pos = np.searchsorted(keys, q)
    hit = (pos < nnz) & (keys[np.minimum(pos, nnz - 1)] == q) if nnz else np.zeros(q.shape, bool)
    return np.where(hit, pos, nnz)


def _common_inputs(col_rows, col_pos, nnz, u, v):
    """(M, Q, 3): for each pair (u, v), the neurons i fed by both, as (pos w[i,u], pos w[i,v], i)."""
    ru, pu = col_rows[u], col_pos[u]  # (M, Kt)
    rv, pv = col_rows[v], col_pos[v]
    match = (ru[:, :, None] == rv[:, None, :]) & (pu[:, :, None] < nnz) & (pv[:, None, :] < nnz)
    m = u.shape[0]
    if m == 0:
        return np.zeros((0, 1, 3), np.int64)
    match = match.reshape(m, -1)
    pa = np.broadcast_to(pu[:, :, None], ru.shape + (rv.shape[1],)).reshape(m, -1)
    pb = np.broadcast_to(pv[:, None, :], ru.shape + (rv.shape[1],)).reshape(m, -1)
    ri = np.broadcast_to(ru[:, :, None], ru.shape + (rv.shape[1],)).reshape(m, -1)
    q = max(1, int(match.sum(axis=1).max()) if m else 1)
    first = np.argsort(~match, axis=1, kind="stable")[:, :q]  # matches first
    take = lambda a: np.take_along_axis(a, first, axis=1)  # noqa: E731
    keep = take(match)
    return np.stack([np.where(keep, take(pa), nnz), np.where(keep, take(pb), nnz), np.where(keep, take(ri), 0)], -1)


_WALK_LIMIT = 200_000


def _layout(pairs: np.ndarray, n: int):
    """Order the nodes of a max-degree-2 graph path by path; returns (order, linked, cycles) with
    linked[k] = (order[k-1], order[k]) is an edge and cycles a list of (first, last) positions;
    None when the identity numbering does not work and N > _WALK_LIMIT."""
    a, b = pairs[:, 0], pairs[:, 1]
    adjacent = b - a == 1
    linked = np.zeros(n, bool)
    linked[b[adjacent]] = True
    run_start = np.flatnonzero(~linked)
    run_end = np.concatenate([run_start[1:] - 1, [n - 1]])
    closers = pairs[~adjacent]
    if closers.size == 0:
        return np.arange(n), linked, []
    # The identity layout works when every other edge closes one whole run into a cycle (>= 3 nodes).
    idx = np.searchsorted(run_start, closers[:, 0], side="right") - 1
    if np.all((run_start[idx] == closers[:, 0]) & (run_end[idx] == closers[:, 1]) & (closers[:, 1] - closers[:, 0] >= 2)):
        return np.arange(n), linked, [tuple(c) for c in closers.tolist()]
    # Otherwise walk the graph: O(N) Python, for weights not numbered along their chains (e.g. a
    # random permutation); above _WALK_LIMIT neurons that would cost seconds at every construction,
    # so such weights get no layout (SLQ then; number the neurons along the chains to get it).
    if n > _WALK_LIMIT:
        return None
    nbrs = [[] for _ in range(n)]
    for x, y in pairs.tolist():
        nbrs[x].append(y)
        nbrs[y].append(x)
    seen = [False] * n
    order, cycles = [], []
    linked = np.zeros(n, bool)
    starts = [v for v in range(n) if len(nbrs[v]) < 2] + list(range(n))
    for v0 in starts:
        if seen[v0]:
            continue
        first, prev, v = len(order), -1, v0
        while True:
            seen[v] = True
            if len(order) > first:
                linked[len(order)] = True
            order.append(v)
            nxt = [y for y in nbrs[v] if y != prev and not seen[y]]
            if not nxt:
                break
            prev, v = v, nxt[0]
        if len(nbrs[v0]) == 2:  # every node of a component without degree < 2 lies on a cycle
            cycles.append((first, len(order) - 1))
    return np.asarray(order), linked, cycles


def _chain_plan(rows, cols, n, row_cols, row_pos, col_rows, col_pos) -> "_Chains | None":
    """The paths/cycles layout of the graph of A = sI + βJᵀJ, or None when a node has > 2 neighbours."""
    nnz = rows.shape[0]
    off = rows != cols
    if off.any() and max(np.bincount(rows[off], minlength=n).max(), np.bincount(cols[off], minlength=n).max()) > 2:
        return None  # a node with three distinct in- or out-neighbours has degree >= 3
    # Edges of A: those of w, and every two inputs of one neuron.
    k = row_cols.shape[1]
    valid = row_pos < nnz
    ends = [np.stack([rows[off], cols[off]], 1)]
    for s1 in range(k):
        for s2 in range(s1 + 1, k):
            both = valid[:, s1] & valid[:, s2]
            ends.append(np.stack([row_cols[both, s1], row_cols[both, s2]], 1))
    e = np.concatenate(ends).astype(np.int64)
    e = e[e[:, 0] != e[:, 1]]
    e = np.sort(e, axis=1)
    keys_e = np.sort(e[:, 0] * n + e[:, 1])  # 1-D keys, deduplicated after a sort (np.unique is slower here)
    keys_e = keys_e[np.concatenate([[True], keys_e[1:] != keys_e[:-1]])] if keys_e.size else keys_e
    pairs = np.stack([keys_e // n, keys_e % n], 1)
    if pairs.size and np.bincount(pairs.ravel(), minlength=n).max() > 2:
        return None
    layout = _layout(pairs, n)
    if layout is None:
        return None
    order, linked, cycles = layout
    keys = rows.astype(np.int64) * n + cols
    u, v = np.roll(order, 1), order
    link = np.stack([_pair_positions(keys, n, u, v), _pair_positions(keys, n, v, u)], 1)
    link = np.where(linked[:, None], link, nnz)
    link_co = _common_inputs(col_rows, col_pos, nnz, u, v)
    link_co[~linked] = np.array([nnz, nnz, 0])
    cyc = np.asarray(cycles, dtype=np.int64).reshape(-1, 2)
    cu, cv = order[cyc[:, 1]], order[cyc[:, 0]]
    corner = np.stack([_pair_positions(keys, n, cu, cv), _pair_positions(keys, n, cv, cu)], 1)
    corner_co = _common_inputs(col_rows, col_pos, nnz, cu, cv)
    cycle_id = np.full(n, len(cycles), np.int64)
    for c, (f, l) in enumerate(cycles):
        cycle_id[f:l + 1] = c
    i32 = lambda a: jnp.asarray(a, dtype=jnp.int32)  # noqa: E731
    return _Chains(i32(order), i32(_pair_positions(keys, n, order, order)), i32(col_pos[order]), i32(col_rows[order]),
                   i32(link), i32(link_co), i32(corner), i32(corner_co), i32(cyc), i32(cycle_id))


def _entries(ext, d, pos2, co, beta):
    """β(-d_u w_uv - d_v w_vu + Σ_i d_i² w_iu w_iv) for pairs given by (pos w_uv, pos w_vu) and their
    common inputs; ``ext`` the values with a trailing 0 (pads), d the slopes of u and v."""
    du, dv, d_all = d
    common = jnp.sum(ext[co[..., 0]] * ext[co[..., 1]] * d_all[co[..., 2]] ** 2, axis=-1)
    return beta * (common - du * ext[pos2[:, 0]] - dv * ext[pos2[:, 1]])


def _normalized(m):
    """A 2 × 2 matrix (4 arrays) or vector (2 arrays) divided by its largest entry: the pivot
    recurrence is projective (only ratios matter), so the scale needs no gradient."""
    scale = jax.lax.stop_gradient(jnp.max(jnp.stack([jnp.abs(t) for t in m]), axis=0))
    scale = jnp.where(scale > 0, scale, 1)
    return tuple(t / scale for t in m)


def _moebius_pivots(a, b2, reverse: bool = False):
    """Pivots p_k = a_k - b2_k / p_{k-1} (b2_k = 0 restarts) of the LDLᵀ factorization of a
    tridiagonal matrix: p_k is the ratio of M_k ⋯ M_0 (1, 0)ᵀ, M_k = [[a_k, -b2_k], [1, 0]].

    Blocked, with O(1) program size: the N steps are cut into B blocks of L ≈ √N; (1) one scan of
    L steps, vectorized over the blocks, forms each block's product; (2) a scan over the B products
    gives each block's incoming vector; (3) a second L-step scan applies the M_k from there,
    emitting the pivots. ``reverse``: the backward recurrence q_k = a_k - b2_k / q_{k+1}, where
    b2_k couples k and k+1.
    """
    if reverse:
        return jnp.flip(_moebius_pivots(jnp.flip(a), jnp.flip(b2)))
    n = a.shape[0]
    length = max(1, int(math.isqrt(n - 1)) + 1)
    blocks = -(-n // length)
    pad = blocks * length - n  # trailing decoupled unit entries: p = 1, no effect on earlier pivots
    a_blk = jnp.concatenate([a, jnp.ones((pad,), a.dtype)]).reshape(blocks, length).T
    b2_blk = jnp.concatenate([b2, jnp.zeros((pad,), a.dtype)]).reshape(blocks, length).T
    one, zero = jnp.ones((blocks,), a.dtype), jnp.zeros((blocks,), a.dtype)

    def product(m, ab):  # M_l @ m, with M_l = [[a, -b2], [1, 0]]
        al, bl = ab
        m00, m01, m10, m11 = m
        return _normalized((al * m00 - bl * m10, al * m01 - bl * m11, m00, m01)), None

    (m00, m01, m10, m11), _ = jax.lax.scan(product, (one, zero, zero, one), (a_blk, b2_blk))

    def chain(v, m):  # the vector entering each block, then through it
        v0, v1 = v
        p00, p01, p10, p11 = m
        return _normalized((p00 * v0 + p01 * v1, p10 * v0 + p11 * v1)), v

    start = (jnp.ones((), a.dtype), jnp.zeros((), a.dtype))
    _, (v0, v1) = jax.lax.scan(chain, start, (m00, m01, m10, m11))

    def pivots(v, ab):
        al, bl = ab
        v0, v1 = v
        u0, u1 = al * v0 - bl * v1, v0
        return _normalized((u0, u1)), u0 / u1

    _, p = jax.lax.scan(pivots, (v0, v1), (a_blk, b2_blk))
    return p.T.reshape(-1)[:n]


def _per_cycle(values, cycle_id, ncyc: int):
    """Sums of ``values`` over the positions of each cycle: masked reductions (fused, no scatter)
    for a few cycles, one segment sum (a scatter-add) for many."""
    if ncyc <= 8:
        return jnp.stack([jnp.sum(jnp.where(cycle_id == c, values, 0)) for c in range(ncyc)])
    return jax.ops.segment_sum(values, cycle_id, ncyc + 1)[:ncyc]


def _structured_logdet(chains: _Chains, values, d, beta, shift):
    """log det A by pivots (+ per-cycle corner terms); NaN when A is not positive definite."""
    dtype = values.dtype
    ext = jnp.concatenate([values, jnp.zeros((1,), dtype)])
    o = chains.order
    d_ord = d[o]
    sq = jnp.sum(ext[chains.in_pos] ** 2 * d[chains.in_rows] ** 2, axis=1)
    a = shift + beta * (1 - 2 * d_ord * ext[chains.self_pos] + sq)
    b = _entries(ext, (jnp.roll(d_ord, 1), d_ord, d), chains.link, chains.link_co, beta)
    # The domain checks sit on the pivots and corner factors themselves: under jax.grad only what
    # feeds the gradient is computed, and both do (a check on the returned value alone is dropped).
    p = _moebius_pivots(a, b * b)
    ok = jnp.all(p > 0)
    p = check(p, ~ok, _NOT_SPD)
    logdet = jnp.sum(jnp.log(jnp.where(p > 0, p, 1)))
    if chains.cycle_ends.shape[0]:
        # det(T + c(e_f e_lᵀ + e_l e_fᵀ)) / det T = (1 + c t_fl)² - c² t_ff t_ll, t = T⁻¹ of the
        # cycle's path: t_ll = 1/p_l, t_ff = 1/q_f (backward pivots), t_fl = t_ll Π_{f<=j<l} (-b_{j+1}/p_j).
        first, last = chains.cycle_ends[:, 0], chains.cycle_ends[:, 1]
        c = _entries(ext, (d[o[last]], d[o[first]], d), chains.corner, chains.corner_co, beta)
        q = _moebius_pivots(a, jnp.concatenate([b[1:], jnp.zeros((1,), dtype)]) ** 2, reverse=True)
        ratio = -jnp.concatenate([b[1:], jnp.zeros((1,), dtype)]) / jnp.where(p > 0, p, 1)
        ncyc = chains.cycle_ends.shape[0]
        inner = (chains.cycle_id < ncyc) & (jnp.arange(o.shape[0], dtype=last.dtype) != last[jnp.minimum(chains.cycle_id, ncyc - 1)])
        log_r = _per_cycle(jnp.where(inner, jnp.log(jnp.abs(jnp.where(ratio != 0, ratio, 1))), 0), chains.cycle_id, ncyc)
        neg = _per_cycle(jnp.where(inner & (ratio < 0), 1, 0), chains.cycle_id, ncyc)
        zero = _per_cycle(jnp.where(inner & (ratio == 0), 1, 0), chains.cycle_id, ncyc)
        t_ll = 1 / jnp.where(p[last] > 0, p[last], 1)
        t_ff = 1 / jnp.where(q[first] > 0, q[first], 1)
        t_fl = jnp.where(zero > 0, 0, t_ll * jnp.where(neg % 2 == 1, -1, 1) * jnp.exp(log_r))
        corr = (1 + c * t_fl) ** 2 - c * c * t_ff * t_ll
        ok = ok & jnp.all(q > 0) & jnp.all(corr > 0)
        corr = check(corr, ~ok, _NOT_SPD)
        logdet = logdet + jnp.sum(jnp.log(jnp.where(corr > 0, corr, 1)))
    return jnp.where(ok, logdet, jnp.nan)


_NOT_SPD = "(1 - beta m) I + beta G is not positive definite (eq. (7) needs 1 + beta (lambda_i - m) > 0)"


def structured_logdet(net: SparseNetwork, beta, x: State | None = None) -> FloatScalar:
    """Exact log det((1 - βm) I + βG), G = JᵀJ of eqs. (8)-(9): the Σ_i log(1 + βν_i) of eq. (45),
    for networks whose A has a paths/cycles graph (:func:`has_structured_logdet`).

    Chains (97)-(100), cycles (60), permutations (59) and disjoint unions of them: A laid out path
    by path is tridiagonal plus a corner entry per cycle; log det A = Σ log p_k over the pivots of
    its LDLᵀ factorization (an associative scan, O(N) work) plus, per cycle, the matrix
    determinant lemma for the corner. Exact (no sampling), O(N) memory, float32 or float64 (the
    weights' dtype), differentiable (``jax.grad``) in the weights' values, b, m, β and, through
    :func:`sparse_mean_state` (implicit function theorem), the mean state.

    Arguments:
        net: the sparse network (its weights built by this module's builders or :func:`sparse_weights`).
        beta: inverse temperature β > 0; needs 1 + β(λ_i - m) > 0 (else an error).
        x: state to expand around (default the fixed point x̄, :func:`sparse_mean_state`).

    Raises ValueError when the weights have no such structure (use SLQ, :mod:`nnworld_jax.lanczos`).
    """
    net = _check_sparse_network(net)
    w = net.weights
    if w.chains is None:
        raise ValueError("structured_logdet needs weights whose G = JᵀJ graph is a union of paths and cycles "
                         "(chains, cycles, permutations); use nnworld_jax.lanczos for other networks")
    dtype = w.dtype
    beta = scalar_param(beta, "beta", dtype, positive=True)
    x = sparse_mean_state(net) if x is None else float_array(x, "x", dtype, shape=(net.n,))
    d = _slope(net.activation, weights_matvec(w, x) + net.b)
    value = _structured_logdet(w.chains, w.values, d, beta, 1 - beta * net.m)
    return check(value, ~jnp.isfinite(value), _NOT_SPD)


def structured_free_energy(net: SparseNetwork, beta, x: State | None = None) -> FloatScalar:
    """Free energy, eq. (45), F = (1/2β) log det((1 - βm)I + βG) - (N/2β) log 2π, exactly, for the
    networks of :func:`structured_logdet` (same arguments); a scalar in the weights' dtype."""
    net = _check_sparse_network(net)
    dtype = net.weights.dtype
    beta = scalar_param(beta, "beta", dtype, positive=True)
    logdet = structured_logdet(net, beta, x)
    return (logdet - net.n * jnp.log(jnp.asarray(2 * jnp.pi, dtype))) / (2 * beta)


def circulant_logdet(column: State) -> FloatScalar:
    """log det C of a symmetric positive-definite circulant C (first column ``column``, c_k = c_{N-k}),
    by FFT: its eigenvalues are the DFT of the column, eq. (60)'s cycle spectrum. For a uniform
    cycle of weight c and slope a, A = (1 - βm)I + βJᵀJ has column (s + β(1 + a²c²), -βac, 0, …, -βac).

    The column must be finite, symmetric (to 1e-12 relative) with a positive spectrum, else an error.
    """
    column = as_float(column, "column")
    if column.ndim != 1 or column.shape[0] < 1:
        raise ValueError(f"column must have shape (N,), N >= 1, got {column.shape}; use jax.vmap to batch")
    column = check_finite(column, "column")
    mirrored = jnp.roll(jnp.flip(column), 1)
    scale = jnp.max(jnp.abs(column))
    column = check(column, jnp.max(jnp.abs(column - mirrored)) > dtype_tol(column.dtype, float64=1e-12, float32=1e-7) * scale,
                   "column must be symmetric (c_k = c_{N-k}): a symmetric circulant")
    eig = jnp.real(jnp.fft.fft(column))
    eig = check(eig, ~jnp.all(eig > 0), "column: the circulant is not positive definite (a DFT coefficient <= 0)")
    return jnp.sum(jnp.log(eig))
