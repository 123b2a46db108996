"""Private helpers of the geometry modules (paper §9-§10): the flag checks of their kernels and the
grid derivatives of a metric field.

A kernel returns (result, flags), flags[i] saying that condition i failed, and ``_guard`` raises the
message of the first failed one (eagerly a ``ValueError``, under jit/vmap/grad an equinox runtime
error that survives ``jit(grad)``, through ``_checked``); ``_symmetry_tolerance`` is the asymmetry
they accept. ``_metric_derivatives`` gives ∂_μ g_ab and ∂_μ∂_ν g_ab of a metric sampled on a periodic
:class:`~nnworld_jax.grid.Grid` (the operators of :func:`nnworld_jax.grid.derivative`, spectral ones
from one real FFT of all components), the input of the curvature core
(:mod:`nnworld_jax._curvature_core`) on a grid; ``_points_last_to_first`` moves grid axes first for vmap.

Used by :mod:`~nnworld_jax.curvature`, :mod:`~nnworld_jax.gravity`, :mod:`~nnworld_jax.reduced_gravity`
and :mod:`~nnworld_jax.minimal_coupling`. Index conventions as :mod:`nnworld_jax._curvature_core`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._checks import is_traced
from ._fields import _derivative_symbol, fft_wavenumbers

if TYPE_CHECKING:
    from .grid import Grid

__all__ = ["_component_derivative", "_guard", "_metric_derivatives", "_points_last_to_first", "_symmetry_tolerance"]


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


# The central-difference operators of nnworld_jax.grid.derivative: (offset, weight) times h^-order.
_STENCILS = {
    ("fd2", 1): ((1, 0.5), (-1, -0.5)),
    ("fd2", 2): ((1, 1.0), (0, -2.0), (-1, 1.0)),
    ("fd4", 1): ((2, -1 / 12), (1, 2 / 3), (-1, -2 / 3), (-2, 1 / 12)),
    ("fd4", 2): ((2, -1 / 12), (1, 4 / 3), (0, -5 / 2), (-1, 4 / 3), (-2, -1 / 12)),
}


def _component_derivative(grid: Grid, f, axis: int, order: int, method: str):
    # f: (*lead, *grid.shape), real: derivative of every component along grid axis ``axis``, the
    # operators of nnworld_jax.grid.derivative (same results to round-off) applied to all components
    # at once and unchecked (the public entry points check the field once).
    ax = f.ndim - grid.ndim + axis
    if method != "spectral":
        h = grid.spacing[axis]
        # f(q + s h) is f rolled by -s along the axis.
        return sum(wt * jnp.roll(f, -s, axis=ax) for s, wt in _STENCILS[method, order]) / h**order
    # real FFT: half the spectrum of the complex one; the Nyquist mode of an even grid is dropped
    # from odd derivatives, as in grid.derivative
    n = grid.shape[axis]
    mult = _derivative_symbol(n, grid.spacing[axis], order, f.dtype, half=True)
    fh = jnp.fft.rfft(f, axis=ax)
    shape = [1] * f.ndim
    shape[ax] = n // 2 + 1
    return jnp.fft.irfft(fh * mult.reshape(shape), n=n, axis=ax)


def _pair_matrices(n: int):
    """(select, expand) for the n(n+1)/2 index pairs a ≤ b of a symmetric n x n tensor: ``select``
    (pairs, n²) picks them from the flattened tensor, ``expand`` (n², pairs) copies them back to
    both (a, b) and (b, a). 0/1 matrices: the products are exact."""
    pairs = [(a, b) for a in range(n) for b in range(a, n)]
    select, expand = np.zeros((len(pairs), n * n)), np.zeros((n * n, len(pairs)))
    for i, (a, b) in enumerate(pairs):
        select[i, a * n + b] = 1.0
        expand[a * n + b, i] = expand[b * n + a, i] = 1.0
    return select, expand


def _metric_derivatives(grid: Grid, metric, second: bool, method: str, symmetric: bool = True):
    # With ``symmetric`` (the actions, which symmetrize the metric first) derivatives of the
    # n(n+1)/2 independent components only; always ∂_μ∂_ν for μ ≤ ν only; copied to the symmetric
    # places by exact 0/1 products (2.5x fewer derivative operations at K = 4).
    n = grid.ndim
    if symmetric:
        select, expand = (jnp.asarray(a, metric.dtype) for a in _pair_matrices(n))
        uniq = jnp.tensordot(select, metric.reshape((n * n, *grid.shape)), 1)  # (pairs, *grid)
    else:
        expand = jnp.eye(n * n, dtype=metric.dtype)
        uniq = metric.reshape((n * n, *grid.shape))
    pair_expand = jnp.asarray(_pair_matrices(n)[1], metric.dtype)
    if method == "spectral":
        d1, d2 = _spectral_derivatives(grid, uniq, second)
    else:
        d1 = jnp.stack([_component_derivative(grid, uniq, mu, 1, method) for mu in range(n)], axis=1)
        if second:
            d1_axis = [d1[:, mu] for mu in range(n)]
            d2 = jnp.stack([_component_derivative(grid, uniq, mu, 2, method) if mu == nu else
                            _component_derivative(grid, d1_axis[mu], nu, 1, method)
                            for mu in range(n) for nu in range(mu, n)], axis=1)  # (pairs, μ ≤ ν, *grid)
    dg = jnp.tensordot(expand, d1, 1).reshape((n, n, n, *grid.shape))
    if not second:
        return dg
    ddg = jnp.tensordot(expand, d2, 1)  # (n², μ ≤ ν, *grid)
    ddg = jnp.moveaxis(jnp.tensordot(pair_expand, jnp.moveaxis(ddg, 1, 0), 1), 0, 1)  # (n², n², *grid)
    return dg, ddg.reshape((n, n, n, n, *grid.shape))


def _spectral_derivatives(grid: Grid, comps, second: bool):
    # ∂_μ (comps, n, *grid) and ∂_μ∂_ν for μ ≤ ν (comps, pairs, *grid) from one real n-dimensional
    # FFT and one batched inverse per order. The multipliers are those of nnworld_jax.grid.derivative
    # (ik along one axis, the Nyquist mode of an even axis dropped from odd derivatives, kept in ∂²_μ
    # as -k²), so ∂_μ is the grid's first derivative and ∂_μ∂_ν (μ ≠ ν) the composition of two, to
    # round-off; a few large FFTs instead of a pair per axis and component: fewer operations to compile.
    n = grid.ndim
    spec = jnp.fft.rfftn(comps, axes=tuple(range(1, n + 1)))  # (comps, *grid.shape[:-1], m // 2 + 1)
    ik, k2 = [], []
    for mu in range(n):
        m = grid.shape[mu]
        k = jnp.asarray(fft_wavenumbers(m, grid.spacing[mu], half=mu == n - 1), comps.dtype)  # last axis: rfft half
        shape = [1] * n
        shape[mu] = k.shape[0]
        odd = k.at[m // 2].set(0.0) if m % 2 == 0 else k
        # Multipliers built complex in k's precision (spec's dtype): no implicit real-complex promotion.
        ik.append(jnp.broadcast_to(jax.lax.complex(jnp.zeros_like(odd), odd).reshape(shape), spec.shape[1:]))
        k2.append(jnp.broadcast_to(jax.lax.complex(-(k**2), jnp.zeros_like(k)).reshape(shape), spec.shape[1:]))
    d1 = jnp.fft.irfftn(spec[:, None] * jnp.stack(ik)[None], s=grid.shape, axes=tuple(range(2, n + 2)))
    if not second:
        return d1, None
    mult = jnp.stack([k2[mu] if mu == nu else ik[mu] * ik[nu] for mu in range(n) for nu in range(mu, n)])
    return d1, jnp.fft.irfftn(spec[:, None] * mult[None], s=grid.shape, axes=tuple(range(2, n + 2)))


def _points_last_to_first(a, k):
    # (i1..ik, *grid) -> (P, i1..ik)
    lead = a.shape[:k]
    return jnp.moveaxis(a.reshape((*lead, -1)), -1, 0)
