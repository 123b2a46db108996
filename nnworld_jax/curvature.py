"""Curvature of a metric by forward-mode autodiff (paper §9, eqs. (93)-(96)), pointwise or on a grid.

A metric is a callable ``metric(X) -> g`` from one point X of shape (n,) to the covariant metric
g_ab of shape (n, n): any dimension n, any signature (see :mod:`nnworld_jax.metrics`). Kernels take
one point; batch with ``jax.vmap``, or with :func:`on_points` for many points (chunked ``jit(vmap)``).

Conventions (MTW / Wald; ``../shared/SPEC.md`` §6):

* Christoffel symbols (93): Γ^a_{bc} = ½ g^{ad}(∂_b g_{dc} + ∂_c g_{db} − ∂_d g_{bc}), stored
  ``Γ[a, b, c]``.
* Riemann: R^a_{bcd} = ∂_cΓ^a_{db} − ∂_dΓ^a_{cb} + Γ^a_{ce}Γ^e_{db} − Γ^a_{de}Γ^e_{cb},
  stored ``R[a, b, c, d]``; the 2-sphere has R^θ_{φθφ} = sin²θ > 0.
* Ricci (96 as SPEC §6 reads it): R_{bd} = R^a_{bad}
  = ∂_αΓ^α_{bd} − ∂_dΓ^α_{bα} + Γ^α_{αβ}Γ^β_{bd} − Γ^α_{dβ}Γ^β_{bα}; R = g^{bd}R_{bd}.
* Einstein tensor G_{ab} = R_{ab} − ½ g_{ab} R (lower indices); Kretschmann K = R_{abcd}R^{abcd}.

Derivatives are shared: one nested ``jax.jacfwd`` gives ∂g and ∂∂g at the point; Γ and ∂Γ follow
algebraically (∂_e g^{ad} = −g^{af} ∂_e g_{fh} g^{hd}), so the metric inverse is taken once per
point and never differentiated. The inverse is the closed-form adjugate for n ≤ 4 (no LAPACK call
inside vmapped code: see SPEC "Numerical hazards") and ``jnp.linalg.inv`` above.

On a periodic grid (:func:`curvature_on_grid`) the derivatives are spectral
(:func:`nnworld_jax.grid.derivative`): ∂g of the sampled metric, then ∂Γ of the sampled Γ.

Performance (float64, CPU, 2 cores shared with other jobs at load 5-7; benchmarks/bench_curvature.py):
R, G_ab and K for Kerr at 1e5 points in 0.55-0.9 s after 2-4 s of compilation (1.1-1.8e5 points/s,
~2e5 points per CPU-second), chunks of 4096: below the 1e6 points/s aimed for. Index contractions are unrolled broadcast
products (:func:`_ein`), not ``jnp.einsum``: batched 4×4 ``dot_general`` was slower on CPU.
Limitations: the metric must be twice differentiable by ``jax.jacfwd``; points where g is singular
(horizons, coordinate poles) give inf/NaN; n > 4 uses ``jnp.linalg.inv`` (batched LAPACK under
vmap: the SPEC hazard), so prefer single points or small batches there.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from . import grid as gr
from ._checks import check_finite

Metric = Callable[[Float[Array, " n"]], Float[Array, "n n"]]


class Curvature(NamedTuple):
    """Everything :func:`curvature` computes at one point (or, on a grid, per grid point in the
    trailing axes): index conventions as in the module docstring."""

    metric: Float[Array, "n n *pts"]            # g_ab
    inverse_metric: Float[Array, "n n *pts"]    # g^ab
    det: Float[Array, "*pts"]                   # det g_ab
    christoffel: Float[Array, "n n n *pts"]     # Γ^a_bc
    riemann: Float[Array, "n n n n *pts"]       # R^a_bcd
    ricci_tensor: Float[Array, "n n *pts"]      # R_bd = R^a_bad
    ricci_scalar: Float[Array, "*pts"]          # R
    einstein_tensor: Float[Array, "n n *pts"]   # G_ab
    kretschmann: Float[Array, "*pts"]           # R_abcd R^abcd


# ------------------------------------------------------------------------------ small algebra
# All helpers act on arrays whose tensor indices come first and whose trailing axes (if any) are
# grid points, so the pointwise and grid kernels share them.

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


def _riemann_from(gamma: Array, dgamma: Array) -> Array:
    """R^a_{bcd} from Γ^a_{bc} and dgamma[a, b, c, e] = ∂_e Γ^a_{bc}."""
    return (jnp.einsum("adbc...->abcd...", dgamma) - jnp.einsum("acbd...->abcd...", dgamma)
            + _ein("ace...,edb...->abcd...", gamma, gamma)
            - _ein("ade...,ecb...->abcd...", gamma, gamma))


def _contractions(g: Array, ginv: Array, det: Array, gamma: Array, riem: Array) -> Curvature:
    ricci = jnp.einsum("abad...->bd...", riem)
    scalar = _ein("bd...,bd...->...", ginv, ricci)
    einstein = ricci - 0.5 * g * scalar.reshape((1, 1, *scalar.shape))
    # K = R_abcd R^abcd = M^ab_cd M^cd_ab with M^ab_cd = g^be R^a_ecd (pair symmetry of Riemann).
    mixed = _ein("be...,aecd...->abcd...", ginv, riem)
    kretsch = _ein("abcd...,cdab...->...", mixed, mixed)
    return Curvature(g, ginv, det, gamma, riem, ricci, scalar, einstein, kretsch)


# ------------------------------------------------------------------------------- pointwise
def _check_point(metric: Metric, X) -> Array:
    X = jnp.asarray(X)
    if X.ndim != 1:
        raise ValueError(f"X must be one point of shape (n,), got {X.shape}; use jax.vmap or on_points to batch")
    if not jnp.issubdtype(X.dtype, jnp.floating):
        X = X.astype(jnp.zeros(()).dtype)
    shape = jax.eval_shape(metric, X).shape
    if shape != (X.shape[0], X.shape[0]):
        raise ValueError(f"metric(X) must have shape ({X.shape[0]}, {X.shape[0]}) for X of shape {X.shape}, "
                         f"got {shape}")
    return X


def _point_kernel(static_argnums):
    """jit with the callables static; a concrete X is checked eagerly (``ValueError`` on NaN/inf).

    Under the caller's jit/vmap the check is skipped (it cost 25% of the throughput per point):
    a non-finite X then gives non-finite output; :func:`on_points` checks its points eagerly.
    """
    def decorate(fn):
        jitted = jax.jit(fn, static_argnums=static_argnums)

        @functools.wraps(fn)
        def wrapper(*args):
            X = args[-1]
            if not isinstance(X, jax.core.Tracer):
                check_finite(X, "X")
            return jitted(*args)

        return wrapper

    return decorate


def _jet(metric: Metric, X: Array) -> tuple[Array, Array, Array]:
    """(g, ∂g, ∂∂g) at X by nested forward mode: dg[a,b,c] = ∂_c g_ab, d2g[a,b,c,e] = ∂_e∂_c g_ab."""
    def with_value(x):
        g = metric(x)
        return g, g

    def first(x):
        dg, g = jax.jacfwd(with_value, has_aux=True)(x)
        return dg, (g, dg)

    d2g, (g, dg) = jax.jacfwd(first, has_aux=True)(X)
    return g, dg, d2g


def _gamma_and_derivative(g, dg, d2g):
    det, ginv = _inverse(g)
    first = _christoffel_first(dg)
    gamma = _ein("ad...,dbc...->abc...", ginv, first)
    dfirst = 0.5 * (jnp.einsum("dcbe...->dbce...", d2g) + d2g - jnp.einsum("bcde...->dbce...", d2g))
    # ∂_e Γ^a_bc = ∂_e g^ad Γ_dbc + g^ad ∂_e Γ_dbc with ∂_e g^ad = -g^af ∂_e g_fh g^hd, i.e.
    # ∂_e Γ^a_bc = g^ad (∂_e Γ_dbc - ∂_e g_dh Γ^h_bc).
    dgamma = _ein("ad...,dbce...->abce...", ginv, dfirst - _ein("dhe...,hbc...->dbce...", dg, gamma))
    return det, ginv, gamma, dgamma


@_point_kernel(0)
def christoffel(metric: Metric, X: Float[Array, " n"]) -> Float[Array, "n n n"]:
    """Christoffel symbols Γ^a_{bc} = ½ g^{ad}(∂_b g_{dc} + ∂_c g_{db} − ∂_d g_{bc}), eq. (93).

    Arguments:
        metric: callable X (n,) -> g_ab (n, n), any dimension and signature.
        X: one point, shape (n,).

    Returns: Γ[a, b, c] = Γ^a_{bc}, shape (n, n, n), symmetric in (b, c).

    Example:
        >>> import jax.numpy as jnp
        >>> from nnworld_jax.metrics import sphere
        >>> G = christoffel(sphere(1.0), jnp.array([1.0, 0.0]))
        >>> round(float(G[0, 1, 1]), 6)  # Γ^θ_φφ = -sinθ cosθ
        -0.454649
    """
    X = _check_point(metric, X)
    dg, g = jax.jacfwd(lambda x: (metric(x),) * 2, has_aux=True)(X)
    _, ginv = _inverse(g)
    return _ein("ad,dbc->abc", ginv, _christoffel_first(dg))


@_point_kernel(0)
def curvature(metric: Metric, X: Float[Array, " n"]) -> Curvature:
    """All curvature quantities of paper §9 at one point, sharing derivatives, eqs. (93)-(96).

    One nested forward-mode ``jax.jacfwd`` gives g, ∂g and ∂∂g; Γ (93), ∂Γ, Riemann, Ricci (96,
    SPEC §6 form), R, G_ab and K follow algebraically (conventions in the module docstring).

    Arguments:
        metric: callable X (n,) -> g_ab (n, n), any dimension and signature.
        X: one point, shape (n,).

    Returns: :class:`Curvature` (metric, inverse_metric, det, christoffel, riemann, ricci_tensor,
    ricci_scalar, einstein_tensor, kretschmann), tensors with the shapes of the point kernels.

    Example:
        >>> import jax.numpy as jnp
        >>> from nnworld_jax.metrics import schwarzschild
        >>> c = curvature(schwarzschild(1.0), jnp.array([0.0, 3.0, 1.0, 0.0]))
        >>> round(float(c.kretschmann * 3.0**6 / 48), 12)
        1.0
    """
    X = _check_point(metric, X)
    g, dg, d2g = _jet(metric, X)
    det, ginv, gamma, dgamma = _gamma_and_derivative(g, dg, d2g)
    return _contractions(g, ginv, det, gamma, _riemann_from(gamma, dgamma))


def riemann(metric: Metric, X: Float[Array, " n"]) -> Float[Array, "n n n n"]:
    """Riemann tensor R^a_{bcd} = ∂_cΓ^a_{db} − ∂_dΓ^a_{cb} + Γ^a_{ce}Γ^e_{db} − Γ^a_{de}Γ^e_{cb}
    from the Christoffels (93); stored R[a, b, c, d], antisymmetric in (c, d)."""
    return curvature(metric, X).riemann


def ricci_tensor(metric: Metric, X: Float[Array, " n"]) -> Float[Array, "n n"]:
    """Ricci tensor R_{bd} = R^a_{bad}, eq. (96) as SPEC §6 reads it:
    R_μν = ∂_αΓ^α_μν − ∂_νΓ^α_μα + Γ^α_αβΓ^β_μν − Γ^α_νβΓ^β_μα. Shape (n, n), symmetric."""
    return curvature(metric, X).ricci_tensor


def ricci_scalar(metric: Metric, X: Float[Array, " n"]) -> Float[Array, ""]:
    """Ricci scalar R = g^{μν}R_μν with R_μν of eq. (96) (2-sphere of radius a: R = 2/a²)."""
    return curvature(metric, X).ricci_scalar


def einstein_tensor(metric: Metric, X: Float[Array, " n"]) -> Float[Array, "n n"]:
    """Einstein tensor G_μν = R_μν − ½ g_μν R (lower indices), R_μν of eq. (96).

    SPEC §6: the Euler-Lagrange expression of √|g| R is −√|g| G^{μν}; Einstein's equations read
    G_μν = 8π T_μν in units G = c = 1."""
    return curvature(metric, X).einstein_tensor


def kretschmann(metric: Metric, X: Float[Array, " n"]) -> Float[Array, ""]:
    """Kretschmann scalar K = R_{abcd}R^{abcd} of the Riemann tensor built from (93)
    (Schwarzschild: 48M²/r⁶)."""
    return curvature(metric, X).kretschmann


@_point_kernel((0, 1))
def covariant_divergence(metric: Metric, T_upper_fn: Callable[[Array], Array],
                         X: Float[Array, " n"]) -> Float[Array, " n"]:
    """∇_μ T^{μν} = ∂_μT^{μν} + Γ^μ_{μλ}T^{λν} + Γ^ν_{μλ}T^{μλ}, with Γ of eq. (93).

    Arguments:
        metric: callable X (n,) -> g_ab (n, n).
        T_upper_fn: callable X (n,) -> T^{μν} (n, n), a contravariant rank-2 field (the last
            term assumes nothing; for symmetric T either index order gives the same result).
        X: one point, shape (n,).

    Returns: the vector ∇_μ T^{μν}, shape (n,). With T^{μν} = G^{μν} this is the contracted
    Bianchi identity, zero for every metric.
    """
    X = _check_point(metric, X)
    n = X.shape[0]
    if jax.eval_shape(T_upper_fn, X).shape != (n, n):
        raise ValueError(f"T_upper_fn(X) must have shape ({n}, {n})")
    dT, T = jax.jacfwd(lambda x: (T_upper_fn(x),) * 2, has_aux=True)(X)  # dT[m, n, e] = ∂_e T^mn
    gamma = christoffel(metric, X)
    return (jnp.einsum("mvm->v", dT) + jnp.einsum("mml,lv->v", gamma, T)
            + jnp.einsum("vml,ml->v", gamma, T))


# ------------------------------------------------------------------------------ many points
@functools.partial(jax.jit, static_argnums=(0, 1))
def _vmapped(fn, metric, X):
    return jax.vmap(lambda x: fn(metric, x))(X)


def on_points(fn: Callable, metric: Metric, points: Float[Array, "N n"], *, chunk_size: int = 4096):
    """Evaluate ``fn(metric, X)`` at many points: ``jit(vmap)`` over chunks of ``chunk_size``.

    Helper for the kernels of this module (``fn`` = :func:`curvature`, :func:`ricci_scalar`, …;
    any ``fn(metric, X)`` works). The last chunk is padded by repeating its last point, so one
    compilation serves every chunk; ``fn`` and ``metric`` are static (reuse the same objects to
    hit the compile cache). Chunking keeps memory flat and avoids the very large single programs
    that hung ``jax.lax.map`` on CPU (SPEC "Numerical hazards").

    Returns: ``fn``'s output pytree with a leading axis of length N.
    """
    points = jnp.asarray(points)
    if points.ndim != 2:
        raise ValueError(f"points must have shape (N, n), got {points.shape}")
    if int(chunk_size) < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    N = points.shape[0]
    if N == 0:
        raise ValueError("points is empty")
    if not isinstance(points, jax.core.Tracer):
        check_finite(points, "points")
    size = min(int(chunk_size), N)
    outs = []
    for start in range(0, N, size):
        chunk = points[start:start + size]
        m = chunk.shape[0]
        if m < size:
            chunk = jnp.concatenate([chunk, jnp.broadcast_to(chunk[-1:], (size - m, chunk.shape[1]))])
        out = _vmapped(fn, metric, chunk)
        outs.append(jax.tree_util.tree_map(lambda a, m=m: a[:m], out))
    return jax.tree_util.tree_map(lambda *a: jnp.concatenate(a), *outs)


# ------------------------------------------------------------------------------------- grid
@functools.partial(jax.jit, static_argnames="method")
def curvature_on_grid(g_field: Float[Array, "n n ..."], grid: gr.Grid, *,
                      method: str = "spectral") -> Curvature:
    """Curvature of a metric sampled on a periodic grid, eqs. (93)-(96), by grid derivatives.

    ∂_c g_ab and then ∂_e Γ^a_bc come from :func:`nnworld_jax.grid.derivative` (spectral by
    default: exponentially accurate for smooth periodic metrics; ``"fd2"``/``"fd4"`` available);
    the algebra and conventions are those of :func:`curvature`. The coordinates X^a are the
    grid axes (grid.ndim = n).

    Arguments:
        g_field: g_ab at every grid point, shape (n, n, *grid.shape), symmetric in (a, b).
        grid: the periodic :class:`nnworld_jax.grid.Grid`, with n axes.
        method: derivative method, one of ``nnworld_jax.grid.METHODS``.

    Returns: :class:`Curvature` with the grid axes trailing every field (e.g. ricci_scalar has
    shape grid.shape, riemann (n, n, n, n, *grid.shape)). ∫√|g| R dⁿX is
    ``grid.integral(grid, jnp.sqrt(jnp.abs(c.det)) * c.ricci_scalar)``.
    """
    n = grid.ndim
    if jnp.shape(g_field) != (n, n, *grid.shape):
        raise ValueError(f"g_field must have shape {(n, n, *grid.shape)} on this grid, got {jnp.shape(g_field)}; "
                         "kernels take one field, use jax.vmap to batch")
    g_field = check_finite(g_field, "g_field")

    def d(f, axis):
        return gr.derivative(grid, f, axis, 1, method=method)

    def grad_components(t):  # t: (*idx, *grid.shape) -> (*idx, n, *grid.shape), derivative index last
        k = t.ndim - n
        flat = t.reshape((-1, *grid.shape))
        out = jnp.stack([jax.vmap(lambda f, e=e: d(f, e))(flat) for e in range(n)], axis=1)
        return out.reshape((*t.shape[:k], n, *grid.shape))

    det, ginv = _inverse(g_field)
    dg = grad_components(g_field)
    gamma = _ein("ad...,dbc...->abc...", ginv, _christoffel_first(dg))
    dgamma = grad_components(gamma)
    return _contractions(g_field, ginv, det, gamma, _riemann_from(gamma, dgamma))


__all__ = ["Curvature", "christoffel", "riemann", "ricci_tensor", "ricci_scalar", "einstein_tensor",
           "kretschmann", "covariant_divergence", "curvature", "curvature_on_grid", "on_points"]

