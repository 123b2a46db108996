"""Private helpers for metrics and their curvature, shared by the geometry modules (paper §9-§10).

Holds the small index algebra on arrays whose tensor indices come first and whose trailing axes (if
any) are grid points, so that pointwise and grid kernels share it: det and inverse of g
(``_det_and_adjugate``, ``_inverse``), the two-operand contraction ``_ein``, the Christoffel symbols
of the first kind ``_christoffel_first`` and, for a metric sampled on a
:class:`~nnworld_jax.grid.Grid`, its derivatives and Γ^a_bc of eq. (93) (``_grid_gradient``,
``_grid_christoffel``). It also holds the flag checks of these kernels: a kernel returns
(result, flags), flags[i] saying that condition i failed, and ``_guard`` raises the message of the
first failed one (eagerly a ``ValueError``, under jit/vmap/grad an equinox runtime error that
survives ``jit(grad)``, through ``_checked``); ``_symmetry_tolerance`` is the asymmetry they accept.

Used by :mod:`~nnworld_jax.curvature`, :mod:`~nnworld_jax.gravity`, :mod:`~nnworld_jax.reduced_gravity`
and :mod:`~nnworld_jax.minimal_coupling`. Index conventions as :mod:`nnworld_jax.curvature`.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from ._checks import is_traced
from .grid import derivative

if TYPE_CHECKING:
    from .grid import Grid

__all__ = ["_christoffel_first", "_det_inv", "_ein", "_grid_christoffel", "_grid_gradient", "_guard", "_inverse",
           "_points_last_to_first", "_symmetry_tolerance"]


def _det_and_adjugate(g: Array) -> tuple[Array, Array]:
    """det and adjugate of (n, n, *pts) by cofactors (n ≤ 4): only multiplies and adds."""
    n = g.shape[0]
    if n == 1:
        return g[0, 0], jnp.ones_like(g)

    def det(rows, cols):
        if len(rows) == 1:
            return g[rows[0], cols[0]]
        if len(rows) == 2:
            return g[rows[0], cols[0]] * g[rows[1], cols[1]] - g[rows[0], cols[1]] * g[rows[1], cols[0]]
        r0, rest = rows[0], rows[1:]
        return sum((-1) ** j * g[r0, c] * det(rest, cols[:j] + cols[j + 1:]) for j, c in enumerate(cols))

    idx = tuple(range(n))
    cof = [[(-1) ** (i + j) * det(idx[:i] + idx[i + 1:], idx[:j] + idx[j + 1:]) for j in idx] for i in idx]
    d = sum(g[0, j] * cof[0][j] for j in idx)
    adj = jnp.stack([jnp.stack([cof[j][i] for j in idx]) for i in idx])  # adj[i, j] = cof[j, i]
    return d, adj


def _inverse(g: Array) -> tuple[Array, Array]:
    """(det g, g⁻¹) for g of shape (n, n, *pts)."""
    n = g.shape[0]
    if n <= 4:
        d, adj = _det_and_adjugate(g)
        return d, adj / d.reshape((1, 1, *d.shape))
    gm = jnp.moveaxis(jnp.moveaxis(g, 0, -1), 0, -1)  # (*pts, n, n) for LAPACK
    inv = jnp.linalg.inv(gm)
    return jnp.linalg.det(gm), jnp.moveaxis(jnp.moveaxis(inv, -1, 0), -1, 0)


def _aligned_full(a: Array, sa: str, full: str, nbatch: int) -> Array:
    """Transpose a's tensor axes (letters sa) into the order of ``full``, size-1 axes elsewhere."""
    a = jnp.transpose(a, (*sorted(range(len(sa)), key=lambda i: full.index(sa[i])), *range(len(sa), a.ndim)))
    shape, it = [], iter(a.shape[:len(sa)])
    for c in full:
        shape.append(next(it) if c in sa else 1)
    extra = a.shape[len(sa):]
    return a.reshape((*shape, *((1,) * (nbatch - len(extra))), *extra))


def _ein(spec: str, x: Array, y: Array) -> Array:
    """Two-operand einsum with tensor indices first and point axes ('...') last.

    A single contracted index (range n ≤ a few) is unrolled into a sum of n broadcast products, so
    XLA fuses the contraction into elementwise loops; with two or more contracted indices one
    broadcast product is summed (fewer ops to compile). ``jnp.einsum``'s batched ``dot_general``
    on 4×4 operands was slower on CPU under vmap.
    """
    ins, out = spec.replace("...", "").split("->")
    sx, sy = ins.split(",")
    summed = sorted((set(sx) | set(sy)) - set(out))
    nbatch = max(x.ndim - len(sx), y.ndim - len(sy))
    dims = {c: a.shape[k] for a, sa in ((x, sx), (y, sy)) for k, c in enumerate(sa)}

    def aligned(a, sa, fixed):
        # index the summed letters, then transpose/reshape the rest to the order of ``out``
        sel = tuple(fixed[c] if c in fixed else slice(None) for c in sa)
        a, rest = a[sel], [c for c in sa if c not in fixed]
        a = jnp.transpose(a, (*sorted(range(len(rest)), key=lambda i: out.index(rest[i])),
                              *range(len(rest), a.ndim)))
        shape = [dims[c] if c in rest else 1 for c in out]
        extra = a.shape[len(rest):]
        return a.reshape((*shape, *((1,) * (nbatch - len(extra))), *extra))

    if len(summed) > 1:  # a full/double contraction: one broadcast product, summed (fewer ops to compile)
        full = out + "".join(summed)
        prod = _aligned_full(x, sx, full, nbatch) * _aligned_full(y, sy, full, nbatch)
        return prod.sum(axis=tuple(range(len(out), len(full))))
    total = None
    for values in itertools.product(*(range(dims[c]) for c in summed)):
        fixed = dict(zip(summed, values))
        term = aligned(x, sx, fixed) * aligned(y, sy, fixed)
        total = term if total is None else total + term
    return total


def _christoffel_first(dg: Array) -> Array:
    """Γ_{dbc} = ½(∂_b g_dc + ∂_c g_db − ∂_d g_bc), with dg[a, b, c, ...] = ∂_c g_ab."""
    return 0.5 * (jnp.einsum("dcb...->dbc...", dg) + dg - jnp.einsum("bcd...->dbc...", dg))


def _symmetry_tolerance(dtype) -> float:
    # A metric built symmetrically is symmetric to a few ulp of its largest entry (e.g. J η Jᵀ
    # summed in another order); 1000 ulp leaves room for that and still catches any real asymmetry.
    return 1e3 * float(jnp.finfo(dtype).eps)


def _checked(out, flags, messages):
    """``out`` with every floating leaf multiplied by ``one``: 1.0 once no flag is set, else an
    equinox runtime error. x·1 is x exactly; the product puts the check on the path of each leaf
    and of its tangent, so it survives ``jit(grad)`` (a check on the primal output alone is dead
    code when only the derivative is used) and unused leaves are still removed by XLA (passing
    them all through one check would keep Riemann alive when only R is asked for)."""
    one = eqx.branched_error_if(jnp.ones((), jnp.float32), jnp.any(flags), jnp.argmax(flags), messages)

    def guarded(x):
        x = jnp.asarray(x)
        return x * one.astype(x.dtype) if jnp.issubdtype(x.dtype, jnp.inexact) else x

    return jax.tree_util.tree_map(guarded, out)


def _guard(out, flags, messages, where: str = ""):
    """Raise ``messages[i]`` for the first set flag ``flags[i]``, else return ``out``: ``ValueError`` (with ``where``
    appended) when ``flags`` is concrete, an equinox runtime error under transformations."""
    if is_traced(flags):
        return _checked(out, flags, tuple(messages))
    flags = np.asarray(flags)
    if flags.any():
        raise ValueError(messages[int(np.argmax(flags))] + where)
    return out


def _grid_gradient(t: Array, grid: Grid, method: str) -> Array:
    """∂_e of every component: t (*idx, *grid.shape) -> (*idx, n, *grid.shape), derivative index last."""
    n = grid.ndim
    flat = t.reshape((-1, *grid.shape))
    out = jnp.stack([jax.vmap(lambda f, e=e: derivative(grid, f, e, 1, method=method))(flat) for e in range(n)],
                    axis=1)
    return out.reshape((*t.shape[:t.ndim - n], n, *grid.shape))


def _grid_christoffel(g_field: Array, grid: Grid, method: str) -> tuple[Array, Array, Array]:
    """det g, g^{ab} and Γ^a_{bc} (93) of a metric sampled on a grid (unchecked; see curvature_on_grid)."""
    det, ginv = _inverse(g_field)
    gamma = _ein("ad...,dbc...->abc...", ginv, _christoffel_first(_grid_gradient(g_field, grid, method)))
    return det, ginv, gamma


# Cofactor determinant and inverse of small metrics with trailing point axes (gravity's grid
# kernels, minimal_coupling's checks): plain elementwise arithmetic, no LAPACK call under vmap.

def _det_entries(rows, cols, g):
    # Laplace expansion along the first row of the minor (rows, cols): unrolled Python recursion
    # (plain elementwise arithmetic, also on trailing point axes).
    if len(rows) == 1:
        return g[rows[0], cols[0]]
    total = 0.0
    for j, c in enumerate(cols):
        sub = _det_entries(rows[1:], cols[:j] + cols[j + 1:], g)
        total = total + (1 - 2 * (j % 2)) * g[rows[0], c] * sub
    return total


def _det_adj4(g):
    # 4 x 4 by the twelve 2 x 2 minors of rows (0, 1) and rows (2, 3) (Laplace expansion by
    # complementary minors): det and adjugate in ~130 multiplies and adds instead of ~250.
    a = [[g[i, j] for j in range(4)] for i in range(4)]
    pairs = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
    s = {p: a[0][p[0]] * a[1][p[1]] - a[0][p[1]] * a[1][p[0]] for p in pairs}  # rows 0, 1
    c = {p: a[2][p[0]] * a[3][p[1]] - a[2][p[1]] * a[3][p[0]] for p in pairs}  # rows 2, 3

    def comp(p):
        return tuple(k for k in range(4) if k not in p)

    def sign(p):  # of the permutation (p, complement of p)
        return -1.0 if (p[0] + p[1]) % 2 == 0 else 1.0

    det = sum(sign(p) * s[p] * c[comp(p)] for p in pairs)

    def minor3(rows, cols, minors, mrows):
        # 3 x 3 determinant of rows x cols expanded along the one row not in ``mrows``, using the
        # 2 x 2 minors of ``mrows`` (rows in increasing order)
        (r,) = [x for x in rows if x not in mrows]
        pos = rows.index(r)
        total = 0.0
        for j, col in enumerate(cols):
            rest = tuple(x for x in cols if x != col)
            total = total + (1 - 2 * ((pos + j) % 2)) * a[r][col] * minors[rest]
        return total

    adj = [[None] * 4 for _ in range(4)]
    for i in range(4):  # cofactor C_ij -> adj[j][i]
        rows = tuple(x for x in range(4) if x != i)
        minors, mrows = (c, (2, 3)) if i < 2 else (s, (0, 1))
        for j in range(4):
            cols = tuple(x for x in range(4) if x != j)
            adj[j][i] = (1 - 2 * ((i + j) % 2)) * minor3(rows, cols, minors, mrows)
    return det, jnp.stack([jnp.stack(row) for row in adj])


def _det_inv(g):
    """(det g, g⁻¹) of g with shape (n, n, *pts): cofactors for n ≤ 4 (elementwise arithmetic, also
    under vmap: no LAPACK call), ``jnp.linalg`` above."""
    n = g.shape[0]
    if n > 4:
        gm = jnp.moveaxis(jnp.moveaxis(g, 0, -1), 0, -1)
        inv = jnp.moveaxis(jnp.moveaxis(jnp.linalg.inv(gm), -1, 0), -1, 0)
        return jnp.linalg.det(gm), inv
    if n == 4:
        det, adj = _det_adj4(g)
        return det, adj / det[None, None]
    idx = tuple(range(n))
    det = _det_entries(idx, idx, g)
    if n == 1:
        return det, (1.0 / det)[None, None]
    cof = [[(1 - 2 * ((i + j) % 2)) * _det_entries(idx[:i] + idx[i + 1:], idx[:j] + idx[j + 1:], g)
            for j in range(n)] for i in range(n)]
    adj = jnp.stack([jnp.stack([cof[j][i] for j in range(n)]) for i in range(n)])  # transpose
    return det, adj / det[None, None]


def _points_last_to_first(a, k):
    # (i1..ik, *grid) -> (P, i1..ik)
    lead = a.shape[:k]
    return jnp.moveaxis(a.reshape((*lead, -1)), -1, 0)
