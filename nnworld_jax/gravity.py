"""Onsager entropy production and the Einstein-Hilbert action, paper §9, eqs. (88)-(96).

The metric g_{αβ}(X) lives on the coordinates X of a periodic box (a :class:`~nnworld_jax.grid.Grid`
with K axes, metric K × K). The paper writes the entropy production of the metric degrees of
freedom as the quadratic form (89)

    ℒ = L^{αβμγδν}(g) g_{αβ,μ} g_{γδ,ν},                                              (89)

with the tensor (91), and claims in (92) that ∫ℒ is the Einstein-Hilbert action ∫√-g R. In the
basis of ``docs/conventions.md`` §6 (each term multiplying g_{αβ,μ} g_{γδ,ν})

    I1 = g^{μν}g^{αγ}g^{βδ}, I2 = g^{μν}g^{αβ}g^{γδ}, I3 = g^{αγ}g^{βν}g^{μδ},
    I4 = g^{αν}g^{βμ}g^{γδ}, I5 = g^{αγ}g^{βμ}g^{δν},

the Landau-Lifshitz ΓΓ Lagrangian (first line of (92)) is

    L_ΓΓ = √|g| g^{μν}(Γ^α_{μβ}Γ^β_{να} - Γ^α_{μν}Γ^β_{αβ}) = √|g|(-¼I1 + ¼I2 + ½I3 - ½I4),

and √|g| R = L_ΓΓ + ∂_μ[√|g|(g^{αβ}Γ^μ_{αβ} - g^{μα}Γ^β_{αβ})]. The tensor (91) as printed gives
√|g|(-¼I1 - ¼I2 + ½I3): the I2 sign is flipped and -½I4 is missing, so the second equality of
(92) is false. ``tensor="paper"`` keeps (91) for comparison; ``tensor="corrected"`` is the tensor
¼√|g|(2I3 - I1 + I2 - 2I4), whose Euler-Lagrange equations are -√|g| G^{αβ}.

Conventions:

* Any dimension K and signature; √|g| = √|det g| (the paper's √-g for Lorentzian metrics).
* Curvature: Γ^λ_{μν} = ½g^{λσ}(g_{σμ,ν} + g_{σν,μ} - g_{μν,σ}),
  R_{μν} = ∂_αΓ^α_{μν} - ∂_νΓ^α_{μα} + Γ^α_{αβ}Γ^β_{μν} - Γ^α_{νβ}Γ^β_{μα} ((96) with the conventions'
  reading), R = g^{μν}R_{μν}, G_{μν} = R_{μν} - ½ g_{μν} R. Every curvature quantity (det, inverse,
  Γ, R_{μν}, R, G_{μν}) comes from the package's one curvature core (``nnworld_jax._curvature_core``,
  shared with :mod:`~nnworld_jax.curvature`), on arrays with the tensor indices first and any point
  axes trailing; the Onsager contractions I1-I5 of (89)-(91) and the ΓΓ Lagrangian are this module's.
* Pointwise arrays: ``g`` (K, K); ``dg[α, β, μ] = g_{αβ,μ}`` (K, K, K);
  ``ddg[α, β, μ, ν] = g_{αβ,μν}`` (K, K, K, K).
* Fields: ``metric`` of shape (K, K, *grid.shape), derivatives by :mod:`nnworld_jax.grid`
  (``"spectral"`` default, ``"fd2"``, ``"fd4"``); actions are Σ density · cell volume (trapezoid).
* Euler-Lagrange convention (conventions §6): E^{αβ} = ∂L/∂g_{αβ} - ∂_μ(∂L/∂g_{αβ,μ}), symmetrized. The
  discrete form is ``jax.grad`` of the action divided by the cell volume, where the action is
  evaluated at ½(g + gᵀ): the K² entries are independent arguments, so the gradient is symmetric
  and E^{αβ} = E^{βα} is *half* the derivative with respect to a single off-diagonal component
  (δS = Σ_{all α,β} E^{αβ} δg_{αβ}). With this convention the correct form gives E = -√|g| G^{αβ}.
* Action (88): S[g, Q] = ∫ √|g| [(R - 2Λ)/(16πG) + L_m(g, Q, ∂Q)], gravity part by the ΓΓ form
  (the corrected (89)-(91)) or by √|g|R with second derivatives; its variation is the Einstein
  equation (95) G_{μν} + Λ g_{μν} = 8πG T_{μν}, T^{μν} = (2/√|g|) δS_m/δg_{μν}.

Performance (issue #15; benchmarks/bench_gravity.py): the d = 4 Euler-Lagrange equations on a 16⁴
grid took 90-140 s per density (loaded machine), now 3.1-7.3 s CPU for the first call (trace,
compile and one run; 7-19 s wall, of which 1-8 s the run), per density and method, float32 or
float64, on a 2-core machine at load 8-9 (no idle figure yet; "einstein-hilbert" is the slowest).
What changed: the pointwise kernels contract by broadcast products (the curvature core's ``ein``)
instead of ``jnp.einsum``, whose batched 4 x 4 ``dot_general``s under vmap were slow to compile and
to run on XLA:CPU; g⁻¹ of a 4 x 4 metric by its twelve 2 x 2 minors; R_μν contracted from the jet
(K⁴ products per point: ∂Γ and the Riemann tensor are never formed); the action differentiates the
K(K+1)/2 independent metric components and ∂_μ∂_ν for μ ≤ ν only, spectral derivatives from one
real FFT and one batched inverse, without the per-component checks of
:func:`nnworld_jax.grid.derivative` (the entry points check the field once); the Euler-Lagrange
program compiles with XLA:CPU's elemental emitters. Results are those of the kernels before, to
round-off. The move to the one curvature core (issue #13) kept them: bench_gravity before and after
in one session (16⁴, load 1.9-4.8): first call 1.8-6.0 s wall, 1.8-3.6 s CPU, against 1.8-5.3 s and
1.9-5.3 s ("einstein-hilbert" float64 3.5 s against 5.3 s, run 1.2 s against 1.6 s).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp

from ._checks import as_float, check_scalar
from ._compile import _jit
from ._curvature_core import (
    christoffel_first_kind,
    christoffel_second_kind,
    det_inv,
    ein,
    einstein,
    ricci,
    scalar_curvature,
    sqrt_abs_det,
)
from ._geometry import (
    _component_derivative,
    _guard,
    _metric_derivatives,
    _points_last_to_first,
    _symmetry_tolerance,
)
from ._matter import scalar_lagrangian
from .grid import METHODS, Grid
from .types import Array, ArrayLike, Float, FloatScalar, MetricField, MetricTensor, Real, Scalar

__all__ = [
    "DENSITIES",
    "GRAVITY_FORMS",
    "TENSORS",
    "contractions",
    "density_field",
    "einstein_equations",
    "einstein_hilbert_density",
    "einstein_tensor_of",
    "einstein_tensor_point",
    "euler_lagrange",
    "gamma_gamma_density",
    "gravity_action",
    "gravity_euler_lagrange",
    "metric_derivatives",
    "onsager_density",
    "reference_metric",
    "sample_metric",
    "scalar_field_lagrangian",
    "stress_energy",
    "total_action",
]

TENSORS = ("paper", "corrected")
# Coefficients of (I1, …, I5) in ℒ/√|g|.
_COEFFS = {
    "paper": (-0.25, -0.25, 0.5, 0.0, 0.0),      # (91) as printed
    "corrected": (-0.25, 0.25, 0.5, -0.5, 0.0),  # = Landau-Lifshitz ΓΓ
}
GRAVITY_FORMS = ("gamma-gamma", "einstein-hilbert")
DENSITIES = (*TENSORS, *GRAVITY_FORMS)


# ----------------------------------------------------------------------------------------------
# Pointwise densities
# ----------------------------------------------------------------------------------------------

# Input policy (README "Errors and domains"): shapes are checked statically; integer inputs are
# promoted to the floating dtype; NaN/inf, asymmetric or degenerate metrics are errors. Value checks
# are flags raised by curvature._guard on the *result*, whose JVP also guards every tangent, so
# they fire eagerly (ValueError) and under jit, vmap, grad and jit(grad) (a runtime error).
_POINT_MESSAGES = (
    "g contains NaN or inf",
    "dg contains NaN or inf",
    "ddg contains NaN or inf",
    "g must be symmetric (g_αβ = g_βα)",
    "dg must be symmetric in its first two indices (dg[α, β, μ] = g_αβ,μ)",
    "ddg must be symmetric in (α, β) and in (μ, ν) (ddg[α, β, μ, ν] = g_αβ,μν)",
    "g is degenerate (det g = 0)",
)


def _asymmetric(t, axes=(0, 1), scale=None):
    scale = jnp.max(jnp.abs(t)) if scale is None else scale
    return jnp.max(jnp.abs(t - jnp.swapaxes(t, *axes))) > _symmetry_tolerance(t.dtype) * scale


def _check_point(g, dg, ddg=None):
    """(g, dg, ddg) promoted to one floating dtype, after the static shape checks."""
    g, dg = as_float(g, "g"), as_float(dg, "dg")
    ddg = None if ddg is None else as_float(ddg, "ddg")
    shape = jnp.shape(g)
    if len(shape) != 2 or shape[0] != shape[1] or shape[0] < 1:
        raise ValueError(f"g must have shape (n, n), got {shape}; kernels take one point, use jax.vmap to batch")
    n = shape[0]
    if jnp.shape(dg) != (n, n, n):
        raise ValueError(f"dg must have shape {(n, n, n)} (dg[α, β, μ] = g_αβ,μ), got {jnp.shape(dg)}; "
                         "use jax.vmap to batch")
    if ddg is not None and jnp.shape(ddg) != (n, n, n, n):
        raise ValueError(f"ddg must have shape {(n, n, n, n)} (ddg[α, β, μ, ν] = g_αβ,μν), got {jnp.shape(ddg)}; "
                         "use jax.vmap to batch")
    dtype = jnp.result_type(*(a for a in (g, dg, ddg) if a is not None))
    return g.astype(dtype), dg.astype(dtype), (None if ddg is None else ddg.astype(dtype))


def _point_flags(g, dg, ddg=None):
    """Booleans for ``_POINT_MESSAGES`` at one point."""
    no = jnp.zeros((), bool)
    ddg_bad = no if ddg is None else ~jnp.all(jnp.isfinite(ddg))
    ddg_asym = no if ddg is None else (_asymmetric(ddg) | _asymmetric(ddg, (2, 3)))
    det = det_inv(g)[0]
    return jnp.stack([~jnp.all(jnp.isfinite(g)), ~jnp.all(jnp.isfinite(dg)), ddg_bad,
                      _asymmetric(g), _asymmetric(dg), ddg_asym, ~jnp.isfinite(det) | (det == 0)])


# The kernels below take tensors with their indices first and any number of trailing point axes
# (none at a single point; a batch under vmap); every curvature quantity comes from the curvature
# core (nnworld_jax._curvature_core), the Onsager contractions of (89)-(91) are this module's own.

def _contraction_terms(ginv, dg):
    # U^{αβμ}: dg with all three indices raised (one index at a time); v_α = g^{βμ} g_{αβ,μ};
    # t_μ = g^{αβ} g_{αβ,μ}; w^μ = g^{μν} t_ν.
    up = ein("mn,abn->abm", ginv, ein("bd,adn->abn", ginv, ein("ag,gdn->adn", ginv, dg)))
    v = ein("abm,bm->a", dg, ginv)
    t = ein("abm,ab->m", dg, ginv)
    w = ein("mn,n->m", ginv, t)
    return (ein("abm,abm->", up, dg),            # I1: g^{μν}g^{αγ}g^{βδ}
            ein("m,m->", t, w),                  # I2: g^{μν}g^{αβ}g^{γδ}
            ein("amb,abm->", up, dg),            # I3: g^{αγ}g^{βν}g^{μδ}
            ein("m,m->", v, w),                  # I4: g^{αν}g^{βμ}g^{γδ}
            ein("m,m->", v, ein("mn,n->m", ginv, v)))  # I5: g^{αγ}g^{βμ}g^{δν}


def _contractions(ginv, dg):
    return jnp.stack(_contraction_terms(ginv, dg))


def contractions(g: MetricTensor, dg: Real[ArrayLike, "n n n"]) -> Float[Array, " 5"]:
    """The conventions §6 basis (I1, …, I5) of eq. (89)-(91) contracted with g_{αβ,μ} g_{γδ,ν} (no √|g|).

    Arguments:
        g: metric g_{αβ} at one point, shape (n, n), any signature.
        dg: first derivatives, ``dg[α, β, μ] = g_{αβ,μ}``, shape (n, n, n).

    Returns: the five scalars I_k g_{αβ,μ} g_{γδ,ν}, shape (5,).

    Example:
        >>> import jax.numpy as jnp
        >>> contractions(jnp.eye(2), jnp.zeros((2, 2, 2))).tolist()
        [0.0, 0.0, 0.0, 0.0, 0.0]
    """
    g, dg, _ = _check_point(g, dg)
    return _guard(_contractions(det_inv(g)[1], dg), _point_flags(g, dg), _POINT_MESSAGES)


def _onsager(g, dg, tensor):
    det, ginv = det_inv(g)
    terms = _contraction_terms(ginv, dg)
    return jnp.sqrt(jnp.abs(det)) * sum(c * i for c, i in zip(_COEFFS[tensor], terms) if c != 0)


def onsager_density(g: MetricTensor, dg: Real[ArrayLike, "n n n"], tensor: str = "corrected") -> FloatScalar:
    """Entropy production density ℒ = L^{αβμγδν} g_{αβ,μ} g_{γδ,ν}, eq. (89) with tensor (91).

    Arguments:
        g: metric at one point, shape (n, n), any signature (√|det g| is used).
        dg: ``dg[α, β, μ] = g_{αβ,μ}``, shape (n, n, n).
        tensor: ``"paper"``: (91) as printed, = √|g|(-¼I1 - ¼I2 + ½I3) (conventions §6: wrong);
            ``"corrected"``: ¼√|g|(2I3 - I1 + I2 - 2I4), the Landau-Lifshitz ΓΓ Lagrangian.

    Returns: the scalar density (a weight-1 density, like √|g| R).

    Example:
        >>> import jax.numpy as jnp
        >>> float(onsager_density(jnp.eye(3), jnp.zeros((3, 3, 3))))
        0.0
    """
    if tensor not in TENSORS:
        raise ValueError(f"tensor must be one of {TENSORS}, got {tensor!r}")
    g, dg, _ = _check_point(g, dg)
    return _guard(_onsager(g, dg, tensor), _point_flags(g, dg), _POINT_MESSAGES)


def _gamma_gamma(g, dg):
    det, ginv = det_inv(g)
    gam = christoffel_second_kind(ginv, christoffel_first_kind(dg))  # Γ^λ_{μν}, eq. (93)
    trace = sum(gam[b, :, b] for b in range(gam.shape[0]))  # Γ^β_{αβ}
    # g^{μν}Γ^α_{μβ}Γ^β_{να} - g^{μν}Γ^α_{μν}Γ^β_{αβ}, one index at a time (K⁴ products, not K⁵)
    q = (ein("amb,bma->", gam, ein("mn,bna->bma", ginv, gam))
         - ein("a,a->", trace, ein("mn,amn->a", ginv, gam)))
    return jnp.sqrt(jnp.abs(det)) * q


def gamma_gamma_density(g: MetricTensor, dg: Real[ArrayLike, "n n n"]) -> FloatScalar:
    """Landau-Lifshitz ΓΓ Lagrangian √|g| g^{μν}(Γ^α_{μβ}Γ^β_{να} - Γ^α_{μν}Γ^β_{αβ}), eq. (92) first line.

    Computed from the Christoffel symbols (independently of :func:`onsager_density`, to which it is
    equal with ``tensor="corrected"``). It differs from √|g| R by the total derivative
    ∂_μ[√|g|(g^{αβ}Γ^μ_{αβ} - g^{μα}Γ^β_{αβ})].

    Arguments:
        g: metric at one point, shape (n, n), any signature.
        dg: ``dg[α, β, μ] = g_{αβ,μ}``, shape (n, n, n).

    Returns: the scalar density.
    """
    g, dg, _ = _check_point(g, dg)
    return _guard(_gamma_gamma(g, dg), _point_flags(g, dg), _POINT_MESSAGES)


def _jet_curvature(g, dg, ddg):
    """(det g, R_μν, R) at the points of the trailing axes, by the curvature core: R_μν of (96)
    contracted from the jet without the Riemann tensor (K⁴ products per point)."""
    det, ginv = det_inv(g)
    first = christoffel_first_kind(dg)
    ric = ricci(ginv, first, christoffel_second_kind(ginv, first), ddg)
    return det, ric, scalar_curvature(ginv, ric)


def _einstein_hilbert(g, dg, ddg):
    det, _, scalar = _jet_curvature(g, dg, ddg)
    return jnp.sqrt(jnp.abs(det)) * scalar


def einstein_hilbert_density(g: MetricTensor, dg: Real[ArrayLike, "n n n"],
                             ddg: Real[ArrayLike, "n n n n"]) -> FloatScalar:
    """√|g| R from the metric and its first and second derivatives, eq. (92) (left side) with (96).

    R = g^{μν}R_{μν}, R_{μν} = ∂_αΓ^α_{μν} - ∂_νΓ^α_{μα} + Γ^α_{αβ}Γ^β_{μν} - Γ^α_{νβ}Γ^β_{μα}
    (sphere of radius a: R = 2/a² > 0).

    Arguments:
        g: metric at one point, shape (n, n), any signature.
        dg: ``dg[α, β, μ] = g_{αβ,μ}``, shape (n, n, n).
        ddg: ``ddg[α, β, μ, ν] = g_{αβ,μν}``, shape (n, n, n, n), symmetric in (μ, ν).

    Returns: the scalar density √|det g| R.
    """
    g, dg, ddg = _check_point(g, dg, ddg)
    return _guard(_einstein_hilbert(g, dg, ddg), _point_flags(g, dg, ddg), _POINT_MESSAGES)


def einstein_tensor_point(g: MetricTensor, dg: Real[ArrayLike, "n n n"],
                          ddg: Real[ArrayLike, "n n n n"]) -> Float[Array, "n n"]:
    """G_{μν} = R_{μν} - ½ g_{μν} R (lower indices) at one point, eqs. (93)-(96).

    The pointwise kernel behind :func:`einstein_hilbert_density`; the reference the discrete
    Euler-Lagrange equations are compared with (through the separate curvature module when present).

    Arguments: as :func:`einstein_hilbert_density`. Returns: G_{μν}, shape (n, n).
    """
    g, dg, ddg = _check_point(g, dg, ddg)
    _, ric, scalar = _jet_curvature(g, dg, ddg)
    return _guard(einstein(g, ric, scalar), _point_flags(g, dg, ddg), _POINT_MESSAGES)


# ----------------------------------------------------------------------------------------------
# Fields on a periodic grid
# ----------------------------------------------------------------------------------------------

def _check_metric_field(grid: Grid, metric, name: str = "metric"):
    """The field promoted to a floating dtype, after the static grid and shape checks."""
    if not isinstance(grid, Grid):
        raise TypeError(f"grid must be a nnworld_jax.grid.Grid, got {type(grid).__name__}")
    metric = as_float(metric, name)
    n = grid.ndim
    if jnp.shape(metric) != (n, n, *grid.shape):
        raise ValueError(f"{name} must have shape {(n, n, *grid.shape)} (one K x K metric per point of a "
                         f"{n}-axis grid), got {jnp.shape(metric)}; use jax.vmap to batch")
    return metric


def _check_method(method):
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")


def metric_derivatives(metric: MetricField, grid: Grid, *, second: bool = False,
                       method: str = "spectral"):
    """g_{αβ,μ} (and g_{αβ,μν}) of a metric field on the periodic grid, for eqs. (89)-(96).

    Arguments:
        metric: shape (K, K, *grid.shape).
        grid: the periodic box, K axes; the metric is K × K.
        second: also return second derivatives.
        method: ``"spectral"`` | ``"fd2"`` | ``"fd4"`` (see :mod:`nnworld_jax.grid`).

    Returns: ``dg`` of shape (K, K, K, *grid.shape), ``dg[α, β, μ] = g_{αβ,μ}``; with ``second``
    also ``ddg`` of shape (K, K, K, K, *grid.shape) (mixed derivatives as two first derivatives,
    pure ones with the second-derivative operator; the operators of :func:`nnworld_jax.grid.derivative`,
    spectral ones applied as one real FFT of all components and one batched inverse per order).
    """
    metric = _check_metric_field(grid, metric)
    _check_method(method)
    if not isinstance(second, bool):
        raise TypeError(f"second must be a bool, got {second!r}")
    metric = _guard(metric, jnp.stack([~jnp.all(jnp.isfinite(metric))]), ("metric contains NaN or inf",))
    return _metric_derivatives(grid, metric, second, method, symmetric=False)


def _density_field(grid: Grid, metric, density: str, method: str):
    # Unchecked: public entry points validate once, not inside every grad trace. The pointwise
    # kernels are vmapped over the points (points first: XLA:CPU compiled and ran the same kernels
    # on tensor-first, points-last fields 1.5-4x slower, in the reductions' transposes).
    metric = 0.5 * (metric + jnp.swapaxes(metric, 0, 1))
    gp = _points_last_to_first(metric, 2)
    if density == "einstein-hilbert":
        dg, ddg = _metric_derivatives(grid, metric, True, method)
        out = jax.vmap(_einstein_hilbert)(
            gp, _points_last_to_first(dg, 3), _points_last_to_first(ddg, 4))
    else:
        dg = _points_last_to_first(_metric_derivatives(grid, metric, False, method), 3)
        if density in TENSORS:
            out = jax.vmap(lambda a, b: _onsager(a, b, density))(gp, dg)
        else:
            out = jax.vmap(_gamma_gamma)(gp, dg)
    return out.reshape(grid.shape)


def _action(grid: Grid, metric, density: str, method: str):
    return jnp.sum(_density_field(grid, metric, density, method)) * grid.cell_volume


def _check_density_args(grid: Grid, metric, density: str, method: str):
    metric = _check_metric_field(grid, metric)
    if density not in DENSITIES:
        raise ValueError(f"density must be one of {DENSITIES}, got {density!r}")
    _check_method(method)
    return metric


_FIELD_MESSAGES = (
    "metric contains NaN or inf",
    "metric must be symmetric in its first two axes (g_αβ = g_βα) at every grid point",
    "metric is degenerate (det g = 0) somewhere on the grid",
    "matter contains NaN or inf",
    "newton_g must be finite and > 0",
    "cosmological_constant must be finite",
)


def _field_flags(grid: Grid, metric, matter=None, newton_g=1.0, lam=0.0):
    """Booleans for ``_FIELD_MESSAGES`` (inside the jitted bodies, so traced values are checked)."""
    det = det_inv(metric)[0]
    newton_g, lam = jnp.asarray(newton_g), jnp.asarray(lam)  # ~ of a Python bool is an int
    no = jnp.zeros((), bool)
    return jnp.stack([~jnp.all(jnp.isfinite(metric)), _asymmetric(metric), ~jnp.all(jnp.abs(det) > 0),
                      no if matter is None else ~jnp.all(jnp.isfinite(matter)),
                      ~(newton_g > 0) | ~jnp.isfinite(newton_g), ~jnp.isfinite(lam)])


_field_flags_jit = jax.jit(_field_flags)


def _guard_fields(grid, metric, matter=None, newton_g=1.0, lam=0.0):
    """The inputs, checked before any derivative sees them (so the error names the argument, and
    under grad the guard sits on the input's tangent path)."""
    return _guard((metric, matter, newton_g, lam), _field_flags_jit(grid, metric, matter, newton_g, lam),
                  _FIELD_MESSAGES)


@functools.partial(jax.jit, static_argnames=("density", "method"))
def _density_field_jit(grid, metric, density, method):
    return _density_field(grid, metric, density, method)


@functools.partial(jax.jit, static_argnames=("density", "method"))
def _action_jit(grid, metric, density, method):
    return _action(grid, metric, density, method)


def _el(grid, metric, density, method):
    return _euler_lagrange(lambda m: _action(grid, m, density, method), metric, grid)


# Compiled with XLA:CPU's legacy elemental emitters when run on the CPU at top level (curvature._jit;
# d = 4, 8⁴ grid, loaded machine: compile CPU time 2.4 -> 1.5 s "corrected", 5.2 -> 3.6 s "einstein-hilbert", same run
# time); inside a caller's jit it is the caller's program.
_el_jit = _jit(_el, static_argnames=("density", "method"))


def density_field(metric: MetricField, grid: Grid, density: str = "corrected", *,
                  method: str = "spectral") -> Float[Array, "*grid"]:
    """A gravitational Lagrangian density evaluated at every grid point, eqs. (89), (91), (92).

    Arguments:
        metric: shape (K, K, *grid.shape), symmetric and non-degenerate at every point (NaN/inf,
            an asymmetric or a degenerate field is an error: ValueError, or an equinox runtime
            error under jit/vmap/grad).
        grid: periodic box with K axes.
        density: ``"paper"`` ((89) with (91) as printed), ``"corrected"`` ((89) with the corrected
            tensor), ``"gamma-gamma"`` (Landau-Lifshitz ΓΓ from Christoffels), ``"einstein-hilbert"``
            (√|g| R with second derivatives).
        method: derivative method of :mod:`nnworld_jax.grid`.

    Returns: the density, shape ``grid.shape``.
    """
    metric = _guard_fields(grid, _check_density_args(grid, metric, density, method))[0]
    return _density_field_jit(grid, metric, density, method)


def gravity_action(metric: MetricField, grid: Grid, density: str = "corrected", *,
                   method: str = "spectral") -> FloatScalar:
    """Discretized ∫ℒ d^K X = Σ ℒ · cell volume (trapezoid) of a density of eqs. (89)-(92).

    Arguments: as :func:`density_field`. Returns: the scalar action.

    Example:
        >>> import jax.numpy as jnp
        >>> from nnworld_jax.grid import Grid
        >>> grid = Grid((8, 8))
        >>> flat = jnp.broadcast_to(jnp.eye(2).reshape(2, 2, 1, 1), (2, 2, 8, 8))
        >>> float(gravity_action(flat, grid, "paper"))
        0.0
    """
    metric = _guard_fields(grid, _check_density_args(grid, metric, density, method))[0]
    return _action_jit(grid, metric, density, method)


def euler_lagrange(action: Callable[[Array], Array], metric: MetricField,
                   grid: Grid) -> Float[Array, "K K *grid"]:
    """E^{αβ} = δS/δg_{αβ} of a discretized action, ``jax.grad`` / cell volume: eqs. (93)-(95).

    The multi-component form of :func:`nnworld_jax.grid.functional_derivative`. Convention (conventions §6):
    the action is evaluated at ½(g + gᵀ) and all K² entries are independent arguments, so the result
    is symmetric and E^{αβ} is half the derivative with respect to one off-diagonal component,
    δS = Σ_{α,β} E^{αβ} δg_{αβ}. For the corrected form, E^{αβ} = -√|g| G^{αβ}.

    Arguments:
        action: scalar function of the metric field, shape (K, K, *grid.shape).
        metric: the metric field.
        grid: the grid whose cell volume is the action's measure.

    Returns: E^{αβ} at every grid point, shape (K, K, *grid.shape).
    """
    if not callable(action):
        raise TypeError(f"action must be a callable metric -> scalar, got {type(action).__name__}")
    metric = _check_metric_field(grid, metric)
    flags = jnp.stack([~jnp.all(jnp.isfinite(metric)), _asymmetric(metric)])
    # guard the result: for an action linear in the field the gradient never reads its value
    return _guard(_euler_lagrange(action, metric, grid), flags, _FIELD_MESSAGES[:2])


def _euler_lagrange(action, metric, grid):
    def sym_action(m):
        return action(0.5 * (m + jnp.swapaxes(m, 0, 1)))

    return jax.grad(sym_action)(metric) / grid.cell_volume


def gravity_euler_lagrange(metric: MetricField, grid: Grid, density: str = "corrected", *,
                           method: str = "spectral") -> Float[Array, "K K *grid"]:
    """Euler-Lagrange equations E^{αβ} of ∫ℒ for a density of eqs. (89)-(92), from ``jax.grad``.

    ``"corrected"``, ``"gamma-gamma"`` and ``"einstein-hilbert"`` give -√|g| G^{αβ} (to discretization
    error); ``"paper"`` ((91) as printed) does not. Convention: E^{αβ} = δS/δg_{αβ} with S = Σ ℒ · cell
    volume and all K² entries independent (see :func:`euler_lagrange`); units those of ℒ. A d = 4,
    16⁴ grid takes a few seconds on a CPU, compile included (module docstring, "Performance").

    Arguments: as :func:`density_field`. Returns: E^{αβ}, shape (K, K, *grid.shape).
    """
    metric = _guard_fields(grid, _check_density_args(grid, metric, density, method))[0]
    return _el_jit(grid, metric, density, method)


# ----------------------------------------------------------------------------------------------
# Action (88) with Λ and matter; Einstein equations (95)
# ----------------------------------------------------------------------------------------------

def scalar_field_lagrangian(g: MetricTensor, q: Real[ArrayLike, " m"], dq: Real[ArrayLike, "m n"], *,
                            mass: Scalar = 0.0) -> FloatScalar:
    """Matter Lagrangian L_m = -½ g^{μν}∂_μφ∂_νφ - ½m²φ² summed over m scalar fields, for eq. (88).

    Mostly-plus sign convention, so T_{μν} = ∂_μφ∂_νφ - g_{μν}(½(∂φ)² + ½m²φ²). Pass as
    ``matter_lagrangian`` with ``functools.partial(scalar_field_lagrangian, mass=...)``.

    Arguments:
        g: metric at one point (n, n); q: field values (m,); dq: ``dq[i, μ] = ∂_μφ_i`` (m, n).

    Returns: L_m (a scalar, not yet multiplied by √|g|).
    """
    g = as_float(g, "g")
    g, _, _ = _check_point(g, jnp.zeros(jnp.shape(g)[:1] * 3, g.dtype))
    n = g.shape[0]
    q, dq = as_float(q, "q"), as_float(dq, "dq")
    if q.ndim != 1 or dq.shape != (q.shape[0], n):
        raise ValueError(f"q must have shape (m,) and dq shape (m, {n}), got {q.shape} and {dq.shape}; "
                         "use jax.vmap to batch")
    mass = check_scalar(as_float(mass, "mass"), "mass")
    flags = jnp.concatenate([_point_flags(g, jnp.zeros((n, n, n), g.dtype)),
                             jnp.stack([~jnp.all(jnp.isfinite(q)) | ~jnp.all(jnp.isfinite(dq)), ~jnp.isfinite(mass)])])
    ginv = det_inv(g)[1]
    out = scalar_lagrangian(ginv, q, dq, mass)
    return _guard(out, flags, (*_POINT_MESSAGES, "q or dq contains NaN or inf", "mass must be finite"))


def _check_total_args(grid, metric, matter, matter_lagrangian, newton_g, cosmological_constant, gravity, method):
    """Static checks and promotion: (metric, matter, newton_g, Λ) as floating arrays. The values
    (finite, G > 0, metric symmetric and non-degenerate) are checked by ``_field_flags``."""
    metric = _check_metric_field(grid, metric)
    if gravity not in GRAVITY_FORMS:
        raise ValueError(f"gravity must be one of {GRAVITY_FORMS}, got {gravity!r}")
    _check_method(method)
    if matter is not None:
        if matter_lagrangian is None:
            raise ValueError("matter given without a matter_lagrangian")
        if not callable(matter_lagrangian):
            raise TypeError(f"matter_lagrangian must be a callable (g, q, dq) -> L_m, got "
                            f"{type(matter_lagrangian).__name__}")
        matter = as_float(matter, "matter")
        if jnp.ndim(matter) < 1 or jnp.shape(matter)[1:] != grid.shape:
            raise ValueError(f"matter must have shape (m, *{grid.shape}), got {jnp.shape(matter)}; "
                             "use jax.vmap to batch")
    newton_g = check_scalar(as_float(newton_g, "newton_g", metric.dtype), "newton_g")
    lam = check_scalar(as_float(cosmological_constant, "cosmological_constant", metric.dtype), "cosmological_constant")
    return metric, matter, newton_g, lam


def _matter_density(grid: Grid, metric, matter, matter_lagrangian, method):
    n = grid.ndim
    dq = jnp.stack([_component_derivative(grid, matter, mu, 1, method) for mu in range(n)], axis=1)
    gp = _points_last_to_first(metric, 2)
    lm = jax.vmap(matter_lagrangian)(gp, _points_last_to_first(matter, 1), _points_last_to_first(dq, 2))
    return sqrt_abs_det(metric) * lm.reshape(grid.shape)


def _total_action(grid, metric, matter, matter_lagrangian, lam, newton_g, gravity, method):
    metric = 0.5 * (metric + jnp.swapaxes(metric, 0, 1))
    root = sqrt_abs_det(metric)
    dens = (_density_field(grid, metric, gravity, method) - 2 * lam * root) / (16 * jnp.pi * newton_g)
    if matter is not None:
        dens = dens + _matter_density(grid, metric, matter, matter_lagrangian, method)
    return jnp.sum(dens) * grid.cell_volume


_STATIC = ("matter_lagrangian", "gravity", "method")


@functools.partial(jax.jit, static_argnames=_STATIC)
def _total_action_jit(grid, metric, matter, matter_lagrangian, lam, newton_g, gravity, method):
    return _total_action(grid, metric, matter, matter_lagrangian, lam, newton_g, gravity, method)


def total_action(metric: MetricField, grid: Grid, *, matter: Real[ArrayLike, "m *grid"] | None = None,
                 matter_lagrangian: Callable | None = None, cosmological_constant: Scalar = 0.0,
                 newton_g: Scalar = 1.0, gravity: str = "gamma-gamma",
                 method: str = "spectral") -> FloatScalar:
    """The action S_x[g, Q] of eq. (88): ∫ √|g| [(R - 2Λ)/(16πG) + L_m(g, Q, ∂Q)] d^K X.

    Arguments:
        metric: g_{μν}, shape (K, K, *grid.shape), any signature, non-degenerate; symmetrized.
        grid: periodic box with K axes (coordinates X^μ); the metric is K × K.
        matter: matter fields Q, shape (m, *grid.shape), or None (vacuum); keyword-only, with
            ``matter_lagrangian``.
        matter_lagrangian: callable ``(g (K, K), q (m,), dq (m, K)) -> L_m`` (a scalar; √|g| is applied
            here), e.g. :func:`scalar_field_lagrangian`; hashable (it is a static jit argument).
        cosmological_constant: Λ. newton_g: G > 0.
        gravity: ``"gamma-gamma"`` (the corrected Onsager form (89)-(91), first order) or
            ``"einstein-hilbert"`` (√|g|R with second derivatives); same field equations.
        method: derivative method.

    Returns: the scalar action Σ density · cell volume.
    """
    metric, matter, newton_g, lam = _check_total_args(grid, metric, matter, matter_lagrangian, newton_g,
                                                      cosmological_constant, gravity, method)
    metric, matter, newton_g, lam = _guard_fields(grid, metric, matter, newton_g, lam)
    return _total_action_jit(grid, metric, matter, matter_lagrangian, lam, newton_g, gravity, method)


def _lower(metric, e):
    return jnp.einsum("ma...,ab...,bn...->mn...", metric, e, metric)


def _root_field(grid, metric):
    return sqrt_abs_det(metric)


@functools.partial(jax.jit, static_argnames=_STATIC)
def _einstein_jit(grid, metric, matter, matter_lagrangian, lam, newton_g, gravity, method):
    e = _euler_lagrange(lambda m: _total_action(grid, m, matter, matter_lagrangian, lam, newton_g, gravity, method),
                        metric, grid)
    root = _root_field(grid, metric).reshape((1, 1, *grid.shape))
    return -16 * jnp.pi * newton_g * _lower(metric, e) / root


def einstein_equations(metric: MetricField, grid: Grid, *, matter: Real[ArrayLike, "m *grid"] | None = None,
                       matter_lagrangian: Callable | None = None, cosmological_constant: Scalar = 0.0,
                       newton_g: Scalar = 1.0, gravity: str = "gamma-gamma",
                       method: str = "spectral") -> Float[Array, "K K *grid"]:
    """Residual of the Einstein equations (95), G_{μν} + Λg_{μν} - 8πG T_{μν}, from ``jax.grad`` of (88).

    With E^{αβ} = δS/δg_{αβ} (:func:`euler_lagrange`), δS = 0 reads -√|g|(G^{αβ} + Λg^{αβ})/(16πG)
    + ½√|g| T^{αβ} = 0, so the residual returned is -(16πG/√|g|) g_{μα} E^{αβ} g_{βν} (lower indices).

    Arguments: as :func:`total_action`. Returns: the residual, shape (K, K, *grid.shape); zero on a
    solution. In vacuum with Λ = 0 it is the Einstein tensor G_{μν} itself.
    """
    metric, matter, newton_g, lam = _check_total_args(grid, metric, matter, matter_lagrangian, newton_g,
                                                      cosmological_constant, gravity, method)
    metric, matter, newton_g, lam = _guard_fields(grid, metric, matter, newton_g, lam)
    return _einstein_jit(grid, metric, matter, matter_lagrangian, lam, newton_g, gravity, method)


@functools.partial(jax.jit, static_argnames=("matter_lagrangian", "method"))
def _stress_jit(grid, metric, matter, matter_lagrangian, method):
    def matter_action(m):
        return jnp.sum(_matter_density(grid, m, matter, matter_lagrangian, method)) * grid.cell_volume

    e = _euler_lagrange(matter_action, metric, grid)
    return 2 * _lower(metric, e) / _root_field(grid, metric).reshape((1, 1, *grid.shape))


def stress_energy(metric: MetricField, matter: Real[ArrayLike, "m *grid"], grid: Grid, *,
                  matter_lagrangian: Callable, method: str = "spectral") -> Float[Array, "K K *grid"]:
    """T_{μν} = g_{μα} g_{νβ} (2/√|g|) δS_m/δg_{αβ}, the source of eq. (95), from ``jax.grad``.

    Arguments: as :func:`total_action`, with ``matter`` (required) positional before ``grid``.
    Returns: T_{μν} (lower indices), shape (K, K, *grid.shape).
    """
    if matter is None:
        raise ValueError("matter must be an array of shape (m, *grid.shape), got None")
    metric, matter, _, _ = _check_total_args(grid, metric, matter, matter_lagrangian, 1.0, 0.0, "gamma-gamma", method)
    metric, matter, _, _ = _guard_fields(grid, metric, matter)
    return _stress_jit(grid, metric, matter, matter_lagrangian, method)


# ----------------------------------------------------------------------------------------------
# Reference problem (conventions §6)
# ----------------------------------------------------------------------------------------------

def reference_metric(X: Real[ArrayLike, " d"], *, eps: Scalar, signature: tuple[float, ...] | None = None) -> Float[Array, "d d"]:
    """The conventions §6 test metric for eqs. (89)-(96), at one point X (shape (d,)).

    g_ab = base_ab + ε[cos(X_a' + X_b' + 0.3(a'+b')) + 0.7 sin(X_{(a'+b'+1) mod d} - 0.5a')],
    a' = min(a, b), b' = max(a, b) (0-based); base = diag(signature) (default Euclidean).

    Example:
        >>> import jax.numpy as jnp
        >>> reference_metric(jnp.zeros(2), eps=0.0).tolist()
        [[1.0, 0.0], [0.0, 1.0]]
    """
    X = as_float(X, "X")
    if X.ndim != 1 or X.shape[0] < 1:
        raise ValueError(f"X must be one point of shape (d,), got {X.shape}; use jax.vmap to batch")
    d = X.shape[0]
    eps = check_scalar(as_float(eps, "eps", X.dtype), "eps")
    signature = as_float(signature if signature is not None else (1.0,) * d, "signature", X.dtype)
    if signature.shape != (d,):
        raise ValueError(f"signature must have one entry per coordinate, shape ({d},), got {signature.shape}")
    g, flags = _reference_metric_jit(X, eps, signature)
    return _guard(g, flags, ("X contains NaN or inf", "eps must be finite", "signature must be finite and non-zero"))


@jax.jit
def _reference_metric_jit(X, eps, signature):
    # One program per (d, dtype), also under the eager jax.vmap of sample_metric (which would
    # otherwise compile each of these ~30 operations on its own for every new grid shape).
    d = X.shape[0]
    base = jnp.diag(signature)
    a = jnp.arange(d).reshape(d, 1)
    b = jnp.arange(d).reshape(1, d)
    lo, hi = jnp.minimum(a, b), jnp.maximum(a, b)
    flo, fhi = lo.astype(X.dtype), hi.astype(X.dtype)  # integer indices as X's floats (strict dtype promotion)
    pert = jnp.cos(X[lo] + X[hi] + 0.3 * (flo + fhi)) + 0.7 * jnp.sin(X[(lo + hi + 1) % d] - 0.5 * flo)
    flags = jnp.stack([~jnp.all(jnp.isfinite(X)), ~jnp.isfinite(eps),
                       ~jnp.all(jnp.isfinite(signature) & (signature != 0))])
    return base + eps * pert, flags


def sample_metric(grid: Grid, metric_fn: Callable[[Array], Array]) -> Float[Array, "n n *grid"]:
    """A metric field (K, K, *grid.shape) sampled from a callable X -> g_{μν}(X), for eqs. (89)-(96)."""
    if not isinstance(grid, Grid):
        raise TypeError(f"grid must be a nnworld_jax.grid.Grid, got {type(grid).__name__}")
    if not callable(metric_fn):
        raise TypeError(f"metric_fn must be a callable X (K,) -> g (K, K), got {type(metric_fn).__name__}")
    pts = _points_last_to_first(grid.mesh(), 1)
    n = grid.ndim
    shape = jax.eval_shape(metric_fn, pts[0]).shape
    if shape != (n, n):
        raise ValueError(f"metric_fn(X) must have shape ({n}, {n}) on a {n}-axis grid, got {shape}")
    vals = jax.vmap(metric_fn)(pts)  # (P, K, K)
    out = jnp.moveaxis(vals, 0, -1).reshape((n, n, *grid.shape))
    return _guard(out, jnp.stack([~jnp.all(jnp.isfinite(vals))]), ("metric_fn(X) is NaN or inf at some grid point",))


def einstein_tensor_of(metric_fn: Callable[[Array], Array], X: Real[ArrayLike, " d"]) -> Float[Array, "d d"]:
    """G_{μν} (lower indices) of an analytic metric X -> g_{μν}(X) at one point, eqs. (93)-(96).

    Derivatives by forward-mode autodiff (exact), curvature by :func:`einstein_tensor_point`: the
    reference the grid Euler-Lagrange equations are compared with, free of discretization error.
    """
    if not callable(metric_fn):
        raise TypeError(f"metric_fn must be a callable X (d,) -> g (d, d), got {type(metric_fn).__name__}")
    X = as_float(X, "X")
    if X.ndim != 1 or X.shape[0] < 1:
        raise ValueError(f"X must be one point of shape (d,), got {X.shape}; use jax.vmap to batch")
    d = X.shape[0]
    if jax.eval_shape(metric_fn, X).shape != (d, d):
        raise ValueError(f"metric_fn(X) must have shape ({d}, {d}), got {jax.eval_shape(metric_fn, X).shape}")
    X = _guard(X, jnp.stack([~jnp.all(jnp.isfinite(X))]), ("X contains NaN or inf",))
    return einstein_tensor_point(metric_fn(X), jax.jacfwd(metric_fn)(X), jax.jacfwd(jax.jacfwd(metric_fn))(X))
