"""The one curvature core (paper §9, eqs. (93)-(96)): the only implementation in the package of the
metric's determinant and inverse, √|g|, the Christoffel symbols, the Riemann and Ricci tensors, the
Ricci scalar, the Einstein tensor and the Kretschmann scalar.

It serves :mod:`~nnworld_jax.curvature` (one point of a metric callable, and a metric sampled on a
grid), :mod:`~nnworld_jax.gravity` (the pointwise densities and the d = 4 grid Euler-Lagrange
programs), :mod:`~nnworld_jax.minimal_coupling` (Γ of a metric field) and, through
``curvature.curvature_on_grid``, :mod:`~nnworld_jax.network_gravity`.

Tensors have their indices first and any number of trailing *point* axes (none at one point, the
grid's axes on a grid, a batch under ``vmap``): every contraction is a sum of elementwise products
over those axes, so the same code serves one point and a whole grid. A tensor is either

* a dense array (the grid kernels and the dense pointwise route): a contraction is one broadcast
  product summed over the contracted letters, never ``jnp.einsum``, whose batched 4 × 4 ``dot_general`` under vmap was slow on XLA:CPU; or
* :class:`Components` (the pointwise route of metrics with structural zeros): one array per
  component, ``None`` where the component vanishes identically, computed lazily and once per
  independent component (symmetries declared below), so products with a structural zero are never
  formed (Schwarzschild: diagonal g; Kerr: 6 of 16 entries).

The formulas are written once (:func:`christoffel_second_kind`, :func:`riemann_lower`, :func:`ricci`,
...) on the operations :func:`ein`, :func:`lin`, :func:`tp`, :func:`times`, which work on either form.

Conventions (``docs/conventions.md`` §6; MTW / Wald): dg[a, b, c] = ∂_c g_ab,
ddg[a, b, c, e] = ∂_e∂_c g_ab;

* (93) Γ_{d,bc} = ½(∂_b g_dc + ∂_c g_db − ∂_d g_bc), Γ^a_bc = g^{ad}Γ_{d,bc};
* R^a_{bcd} = ∂_cΓ^a_{db} − ∂_dΓ^a_{cb} + Γ^a_{ce}Γ^e_{db} − Γ^a_{de}Γ^e_{cb}, computed lowered from
  the jet as R_abcd = ½(∂_b∂_c g_ad + ∂_a∂_d g_bc − ∂_a∂_c g_bd − ∂_b∂_d g_ac)
  + Γ^e_bc Γ_{e,ad} − Γ^e_bd Γ_{e,ac} (∂Γ is never formed); 2-sphere: R^θ_{φθφ} = sin²θ > 0;
* (96) as conventions §6 reads it: R_bd = R^a_{bad} = g^{ac}R_abcd, the contraction of R_abcd where
  it is at hand (the pointwise kernels), else distributed over the terms of the same jet formula so
  the Riemann tensor is never formed (the gravity densities: K⁴ products per point, not K⁵);
* R = g^{bd}R_bd, G_ab = R_ab − ½ g_ab R, K = R_abcd R^abcd (over bivector pairs).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import jax.numpy as jnp
import numpy as np

from .types import Array

__all__ = ["Components", "apply", "christoffel_first_kind", "christoffel_second_kind", "dense", "det_inv", "ein",
           "einstein", "kretschmann_scalar", "lin", "ricci", "riemann_lower", "riemann_up", "scalar_curvature",
           "sqrt_abs_det", "symmetric", "times", "tp"]


# ------------------------------------------------------------------------------ component tensors
Canon = Callable[[tuple], tuple[int, tuple]]


class Components:
    """A tensor given component by component: ``get(index)`` is ``(sign, array)`` or ``None`` (a
    structural zero). ``fn(key)`` computes the component at a canonical index ``key`` (once: memoized);
    ``canon(index) -> (sign, key)`` maps an index to its canonical one (sign 0: zero by symmetry)."""

    def __init__(self, shape: tuple, fn: Callable[[tuple], Array | None], zero: Array, canon: Canon | None = None):
        self.shape, self.zero = tuple(shape), zero
        self._fn, self._canon, self._memo = fn, canon, {}

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def get(self, index: tuple):
        sign, key = (1, tuple(index)) if self._canon is None else self._canon(tuple(index))
        if sign == 0:
            return None
        if key not in self._memo:
            self._memo[key] = self._fn(key)
        v = self._memo[key]
        return None if v is None else (sign, v)

    @classmethod
    def of(cls, array: Array, zero_mask=None, canon: Canon | None = None) -> Components:
        """Components of a dense array (tensor axes first); entries where ``zero_mask`` is True are
        structural zeros."""
        n = array.ndim if zero_mask is None else np.ndim(zero_mask)
        shape = array.shape[:n]

        def fn(key):
            return None if zero_mask is not None and zero_mask[key] else array[key]

        return cls(shape, fn, jnp.zeros_like(array[(0,) * n]), canon)


def symmetric(*pairs: tuple[int, int], anti: tuple[tuple[int, int], ...] = (), swap=None) -> Canon:
    """Canonicalization for index pairs symmetric (``pairs``) or antisymmetric (``anti``) under
    exchange, and optionally the exchange of two antisymmetric pairs ``swap = ((0, 1), (2, 3))``."""
    def canon(index):
        idx, sign = list(index), 1
        for i, j in pairs:
            if idx[i] > idx[j]:
                idx[i], idx[j] = idx[j], idx[i]
        for i, j in anti:
            if idx[i] == idx[j]:
                return 0, ()
            if idx[i] > idx[j]:
                idx[i], idx[j], sign = idx[j], idx[i], -sign
        if swap is not None:
            (i, j), (k, m) = swap
            if (idx[i], idx[j]) > (idx[k], idx[m]):
                idx[i], idx[j], idx[k], idx[m] = idx[k], idx[m], idx[i], idx[j]
        return sign, tuple(idx)

    return canon


def _acc(terms):
    """Σ coef·value over terms (coef, value | None); None if every value is None. A term with a
    positive coefficient goes first, so −a + b is b − a (no negation)."""
    terms = [(c, v) for c, v in terms if v is not None and c != 0]
    if not terms:
        return None
    pos = next((i for i, (c, _) in enumerate(terms) if c > 0), 0)
    terms.insert(0, terms.pop(pos))
    out = None
    for coef, v in terms:
        if out is None:
            out = v if coef == 1 else (-v if coef == -1 else coef * v)
        elif coef == 1:
            out = out + v
        elif coef == -1:
            out = out - v
        else:
            out = out + coef * v
    return out


def _signed(entry, coef=1):
    """(coef·sign, value) of a ``Components.get`` result, or (0, None)."""
    return (0, None) if entry is None else (coef * entry[0], entry[1])


def _product_terms(pairs):
    """(sign, x·y) for pairs of ``Components.get`` results, skipping structural zeros."""
    return [(a[0] * b[0], a[1] * b[1]) for a, b in pairs if a is not None and b is not None]


# ------------------------------------------------------------------------------ the operations
def tp(x, perm: tuple[int, ...]):
    """Transpose the tensor axes by ``perm`` (``jnp.transpose`` order); point axes stay."""
    if isinstance(x, Components):
        def fn(index):
            j = [0] * len(perm)
            for k, p in enumerate(perm):
                j[p] = index[k]
            return _acc([_signed(x.get(tuple(j)))])
        return Components(tuple(x.shape[p] for p in perm), fn, x.zero)
    return jnp.transpose(x, (*perm, *range(len(perm), x.ndim)))


def lin(*terms, canon: Canon | None = None):
    """Σ coef·tensor over ``terms = ((coef, tensor), ...)`` of one shape."""
    first = terms[0][1]
    if isinstance(first, Components):
        def fn(index):
            return _acc([_signed(t.get(index), c) for c, t in terms])
        return Components(first.shape, fn, first.zero, canon)
    return _acc(terms)


def times(x, s: Array):
    """The tensor x times the scalar field s (an array of the point axes)."""
    if isinstance(x, Components):
        def fn(key):
            v = _acc([_signed(x.get(key))])
            return None if v is None else v * s
        return Components(x.shape, fn, x.zero)
    return x * jnp.reshape(s, (1,) * (x.ndim - jnp.ndim(s)) + jnp.shape(s))


def apply(x, f: Callable[[Array], Array]):
    """f applied to every independent component (x's symmetries kept: f must commute with the sign
    flips of antisymmetric components, e.g. a division by a scalar field)."""
    if isinstance(x, Components):
        def fn(key):  # key is canonical: x.get(key) has sign +1
            e = x.get(key)
            return None if e is None else f(e[1])
        return Components(x.shape, fn, x.zero, x._canon)
    return f(x)


def _aligned(a: Array, sa: str, order: str, dims: dict, nbatch: int) -> Array:
    """``a`` (tensor letters sa) transposed and reshaped to broadcast against the letters ``order``,
    its point axes right-aligned over ``nbatch`` trailing axes."""
    a = jnp.transpose(a, (*sorted(range(len(sa)), key=lambda i: order.index(sa[i])), *range(len(sa), a.ndim)))
    pts = a.shape[len(sa):]
    return a.reshape((*(dims[c] if c in sa else 1 for c in order), *(1,) * (nbatch - len(pts)), *pts))


def _ein_dense(spec, x, y):
    # One broadcast product over all letters, summed over the contracted ones: XLA fuses it into an
    # elementwise loop over the points. (Unrolling a single contracted letter into a sum of
    # products made the d = 4 grid Euler-Lagrange programs of gravity ~1.5x slower to compile and
    # 2-4x slower to run: bench_gravity --quick, same loaded machine.)
    ins, out = spec.split("->")
    sx, sy = ins.split(",")
    summed = "".join(sorted((set(sx) | set(sy)) - set(out)))
    nbatch = max(x.ndim - len(sx), y.ndim - len(sy))
    dims = {c: a.shape[k] for a, sa in ((x, sx), (y, sy)) for k, c in enumerate(sa)}
    full = out + summed
    prod = _aligned(x, sx, full, dims, nbatch) * _aligned(y, sy, full, dims, nbatch)
    return prod.sum(axis=tuple(range(len(out), len(full)))) if summed else prod


def _ein_components(spec, x: Components, y: Components, canon):
    ins, out = spec.split("->")
    sx, sy = ins.split(",")
    summed = sorted((set(sx) | set(sy)) - set(out))
    dims = {c: s for sa, t in ((sx, x), (sy, y)) for c, s in zip(sa, t.shape)}

    def fn(index):
        fixed = dict(zip(out, index))
        pairs = []
        for values in itertools.product(*(range(dims[c]) for c in summed)):
            f = {**fixed, **dict(zip(summed, values))}
            a = x.get(tuple(f[c] for c in sx))
            if a is not None:
                pairs.append((a, y.get(tuple(f[c] for c in sy))))
        return _acc(_product_terms(pairs))

    return Components(tuple(dims[c] for c in out), fn, x.zero, canon)


def ein(spec: str, x, y, canon: Canon | None = None):
    """Two-operand einsum over the tensor letters (``"ad,dbc->abc"``, no ellipsis); point axes
    trailing and elementwise. ``canon``: the result's symmetry (:class:`Components` only)."""
    if isinstance(x, Components):
        return _ein_components(spec, x, y, canon)
    return _ein_dense(spec, x, y)


def dense(x, max_stack: int = 16) -> Array:
    """A dense array (tensor axes first) of a tensor. Components: up to ``max_stack`` entries
    stacked (fastest at run time), larger tensors as their distinct components stacked once and
    spread by one constant gather and one sign multiply (far fewer operations to compile)."""
    if not isinstance(x, Components):
        return x
    values, slot, idx, sgn = [x.zero], {}, [], []
    for index in itertools.product(*(range(k) for k in x.shape)):
        e = x.get(index)
        if e is None:
            idx.append(0)
            sgn.append(1)
            continue
        s, v = e
        if id(v) not in slot:
            slot[id(v)] = len(values)
            values.append(v)
        idx.append(slot[id(v)])
        sgn.append(s)
    if len(idx) <= max_stack:
        return jnp.stack([values[i] if s > 0 else -values[i] for i, s in zip(idx, sgn)]).reshape(
            (*x.shape, *jnp.shape(x.zero)))
    out = jnp.stack(values)[np.asarray(idx)]
    if any(s < 0 for s in sgn):
        sg = np.asarray(sgn).reshape((-1, *(1,) * jnp.ndim(x.zero)))
        out = out * jnp.asarray(sg, dtype=out.dtype)
    return out.reshape((*x.shape, *jnp.shape(x.zero)))


def _scalar(x) -> Array:
    """The array of a rank-0 tensor."""
    if isinstance(x, Components):
        e = x.get(())
        return x.zero if e is None else (e[1] if e[0] > 0 else -e[1])
    return x


# ------------------------------------------------------------------------------ det and inverse
def _entries(g):
    if isinstance(g, Components):
        return [[_acc([_signed(g.get((i, j)))]) for j in range(g.shape[0])] for i in range(g.shape[0])]
    return [[g[i, j] for j in range(g.shape[0])] for i in range(g.shape[0])]


def _mul(x, y):
    return None if x is None or y is None else x * y


def _det_minor(a, rows, cols):
    """Laplace expansion of the minor (rows, cols) along its first row (None: zero entries)."""
    if len(rows) == 1:
        return a[rows[0]][cols[0]]
    return _acc([(1 - 2 * (j % 2), _mul(a[rows[0]][c], _det_minor(a, rows[1:], cols[:j] + cols[j + 1:])))
                 for j, c in enumerate(cols)])


def _det_adj4(a):
    """det and adjugate of a 4 × 4 matrix of entries by the twelve 2 × 2 minors of rows (0, 1) and
    (2, 3) (Laplace expansion by complementary minors): ~130 multiplies and adds instead of ~250."""
    pairs = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))

    def minor2(r0, r1, p):
        return _acc([(1, _mul(a[r0][p[0]], a[r1][p[1]])), (-1, _mul(a[r0][p[1]], a[r1][p[0]]))])

    s = {p: minor2(0, 1, p) for p in pairs}
    c = {p: minor2(2, 3, p) for p in pairs}
    comp = {p: tuple(k for k in range(4) if k not in p) for p in pairs}
    det = _acc([(-1 if sum(p) % 2 == 0 else 1, _mul(s[p], c[comp[p]])) for p in pairs])

    def minor3(rows, cols, minors, mrows):
        (r,) = [x for x in rows if x not in mrows]
        pos = rows.index(r)
        return _acc([(1 - 2 * ((pos + j) % 2), _mul(a[r][col], minors[tuple(x for x in cols if x != col)]))
                     for j, col in enumerate(cols)])

    adj = [[None] * 4 for _ in range(4)]
    for i in range(4):  # cofactor C_ij -> adj[j][i]
        rows = tuple(x for x in range(4) if x != i)
        minors, mrows = (c, (2, 3)) if i < 2 else (s, (0, 1))
        for j in range(4):
            adj[j][i] = _acc([(1 - 2 * ((i + j) % 2), minor3(rows, tuple(x for x in range(4) if x != j), minors, mrows))])
    return det, adj


def _det_adj(a, n):
    if n == 4:
        return _det_adj4(a)
    idx = tuple(range(n))
    det = _det_minor(a, idx, idx)
    if n == 1:
        return det, [[1.0]]
    adj = [[_acc([(1 - 2 * ((i + j) % 2), _det_minor(a, idx[:j] + idx[j + 1:], idx[:i] + idx[i + 1:]))])
            for j in range(n)] for i in range(n)]  # adj[i][j] = cofactor C_ji
    return det, adj


def det_inv(g):
    """(det g, g^{ab}) of a metric g_ab (n, n, *points): cofactors for n ≤ 4 (only multiplies and
    adds: no LAPACK call under vmap, conventions "Numerical hazards"), ``jnp.linalg`` above
    (dense only). :class:`Components` in, :class:`Components` g^{ab} (symmetric) out; a
    structurally singular g gives det = 0 and a non-finite inverse, as any singular g."""
    n = g.shape[0]
    if n > 4:
        if isinstance(g, Components):
            raise ValueError("component tensors are for n <= 4")
        gm = jnp.moveaxis(jnp.moveaxis(g, 0, -1), 0, -1)  # (*points, n, n) for LAPACK
        inv = jnp.moveaxis(jnp.moveaxis(jnp.linalg.inv(gm), -1, 0), -1, 0)
        return jnp.linalg.det(gm), inv
    a = _entries(g)
    det, adj = _det_adj(a, n)
    if isinstance(g, Components):
        det = g.zero if det is None else det
        return det, Components((n, n), lambda key: None if adj[key[0]][key[1]] is None else adj[key[0]][key[1]] / det,
                               g.zero, symmetric((0, 1)))
    if n == 1:
        return det, (1.0 / det)[None, None]
    zero = jnp.zeros_like(det)
    adj = jnp.stack([jnp.stack([zero if v is None else v for v in row]) for row in adj])
    return det, adj / det[None, None]


def sqrt_abs_det(g) -> Array:
    """√|det g|, the density weight of (88)-(92) (√−g for a Lorentzian metric)."""
    return jnp.sqrt(jnp.abs(det_inv(g)[0]))


# ------------------------------------------------------------------------------ curvature, eqs. (93)-(96)
def christoffel_first_kind(dg):
    """Γ_{d,bc} = ½(∂_b g_dc + ∂_c g_db − ∂_d g_bc) (93, first kind) from dg[a, b, c] = ∂_c g_ab."""
    return lin((0.5, tp(dg, (0, 2, 1))), (0.5, dg), (-0.5, tp(dg, (2, 0, 1))), canon=symmetric((1, 2)))


def christoffel_second_kind(ginv, first):
    """Γ^a_bc = g^{ad}Γ_{d,bc}, eq. (93); stored [a, b, c], symmetric in (b, c)."""
    return ein("ad,dbc->abc", ginv, first, canon=symmetric((1, 2)))


def riemann_lower(first, gamma, ddg):
    """R_abcd = ½(∂_b∂_c g_ad + ∂_a∂_d g_bc − ∂_a∂_c g_bd − ∂_b∂_d g_ac) + Γ^e_bc Γ_{e,ad} − Γ^e_bd Γ_{e,ac}
    (all indices down; ddg[a, b, c, e] = ∂_e∂_c g_ab): the lowered form of R^a_bcd of the module
    docstring; antisymmetric in (a, b) and (c, d), symmetric under the exchange of the pairs."""
    canon = symmetric(anti=((0, 1), (2, 3)), swap=((0, 1), (2, 3)))
    return lin((0.5, tp(ddg, (0, 2, 3, 1))), (0.5, tp(ddg, (2, 0, 1, 3))), (-0.5, tp(ddg, (2, 0, 3, 1))),
               (-0.5, tp(ddg, (0, 2, 1, 3))), (1, ein("ebc,ead->abcd", gamma, first)),
               (-1, ein("ebd,eac->abcd", gamma, first)), canon=canon)


def riemann_up(ginv, low):
    """R^a_bcd = g^{ae}R_ebcd; stored [a, b, c, d], antisymmetric in (c, d)."""
    return ein("ae,ebcd->abcd", ginv, low, canon=symmetric(anti=((2, 3),)))


def ricci(ginv, first, gamma, ddg, low=None):
    """R_bd = g^{ac}R_abcd = R^a_bad, eq. (96) (conventions §6 reading), symmetric (computed for b ≤ d,
    or symmetrized). With the lowered Riemann tensor at hand (``low``, :func:`riemann_lower`) it is
    that contraction; without, the same contraction distributed over the terms of the jet formula,
    so the Riemann tensor is never formed (K⁴ products per point, not K⁵): with
    T_bd = g^{ac}∂_c∂_b g_ad (the symmetries of g^{ac} and ∂∂g pair the four second-derivative
    terms), P_e^c_d = g^{ca}Γ_{e,ad} and u_e = g^{ac}Γ_{e,ac},
    R_bd = ½(T_bd + T_db − g^{ac}∂_b∂_d g_ac − g^{ac}∂_a∂_c g_bd) + Γ^e_bc P_e^c_d − u_e Γ^e_bd."""
    if low is not None:
        r = ein("ac,abcd->bd", ginv, low, canon=symmetric((0, 1)))
    else:
        t = ein("ac,adbc->bd", ginv, ddg)
        p = ein("ca,ead->ecd", ginv, first)
        u = ein("ac,eac->e", ginv, first)
        r = lin((0.5, t), (0.5, tp(t, (1, 0))), (-0.5, ein("ac,acbd->bd", ginv, ddg)),
                (-0.5, ein("ac,bdac->bd", ginv, ddg)), (1, ein("ebc,ecd->bd", gamma, p)),
                (-1, ein("e,ebd->bd", u, gamma)), canon=symmetric((0, 1)))
    return r if isinstance(r, Components) else 0.5 * (r + tp(r, (1, 0)))


def scalar_curvature(ginv, ric) -> Array:
    """R = g^{bd}R_bd (2-sphere of radius a: 2/a²); an array of the point axes."""
    return _scalar(ein("bd,bd->", ginv, ric))


def einstein(g, ric, scalar: Array):
    """G_ab = R_ab − ½ g_ab R (lower indices), with R_ab of eq. (96); Einstein's equations (95) read
    G_ab + Λg_ab = 8πG T_ab."""
    return lin((1, ric), (-0.5, times(g, scalar)), canon=symmetric((0, 1)))


def _bivectors(x, pairs, canon: Canon | None = None):
    """The (m, m) matrix x_AB = x_abcd of a rank-4 tensor over the index pairs A = (a, b), B = (c, d)
    in ``pairs`` (a < b: the independent ones of a tensor antisymmetric in both pairs); ``canon``
    its symmetry (:class:`Components` only)."""
    if isinstance(x, Components):
        return Components((len(pairs),) * 2, lambda key: _acc([_signed(x.get((*pairs[key[0]], *pairs[key[1]])))]),
                          x.zero, canon)
    a, b = (np.asarray([p[k] for p in pairs]) for k in (0, 1))
    return x[a[:, None], b[:, None], a[None, :], b[None, :]]


def kretschmann_scalar(ginv, low) -> Array:
    """K = R_abcd R^abcd (Schwarzschild: 48M²/r⁶) from the lowered Riemann tensor over the bivectors
    A = (a < b): K = 4 Σ_AB T_A^B T_B^A with T = S W, S_AB = R_abcd and W^AB = g^ac g^bd − g^ad g^bc
    (W raises a bivector index: R^{abcd} = (W S W)^{AB})."""
    n = ginv.shape[0]
    pairs = [(a, b) for a in range(n) for b in range(a + 1, n)]
    if not pairs:
        return ginv.zero if isinstance(ginv, Components) else jnp.zeros_like(ginv[0, 0])
    gg = ein("ac,bd->abcd", ginv, ginv)
    w = _bivectors(lin((1, gg), (-1, tp(gg, (0, 1, 3, 2)))), pairs, symmetric((0, 1)))  # W^AB = W^BA
    t = ein("AC,CB->AB", _bivectors(low, pairs), w)
    return 4.0 * _scalar(ein("AB,BA->", t, t))
