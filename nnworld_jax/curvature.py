"""Curvature of a metric by forward-mode autodiff (paper §9, eqs. (93)-(96)), pointwise or on a grid.

A metric is a callable ``metric(X) -> g`` from one point X of shape (n,) to the covariant metric
g_ab of shape (n, n): any dimension n, any signature (see :mod:`nnworld_jax.metrics`). Kernels take
one point; batch with ``jax.vmap``, or with :func:`on_points` for many points (chunked ``jit(vmap)``).

Conventions (MTW / Wald; ``docs/conventions.md`` §6):

* Christoffel symbols (93): Γ^a_{bc} = ½ g^{ad}(∂_b g_{dc} + ∂_c g_{db} − ∂_d g_{bc}), stored
  ``Γ[a, b, c]``.
* Riemann: R^a_{bcd} = ∂_cΓ^a_{db} − ∂_dΓ^a_{cb} + Γ^a_{ce}Γ^e_{db} − Γ^a_{de}Γ^e_{cb},
  stored ``R[a, b, c, d]``; the 2-sphere has R^θ_{φθφ} = sin²θ > 0.
* Ricci (96 as conventions §6 reads it): R_{bd} = R^a_{bad}
  = ∂_αΓ^α_{bd} − ∂_dΓ^α_{bα} + Γ^α_{αβ}Γ^β_{bd} − Γ^α_{dβ}Γ^β_{bα}; R = g^{bd}R_{bd}.
* Einstein tensor G_{ab} = R_{ab} − ½ g_{ab} R (lower indices); Kretschmann K = R_{abcd}R^{abcd}.

Every formula (det and inverse, Γ, Riemann, Ricci, R, G_ab, K) is the one curvature core's,
:mod:`nnworld_jax._curvature_core`, which the gravity modules use too: R_abcd lowered from the jet,
R_abcd = ½(∂_b∂_c g_ad + ∂_a∂_d g_bc − ∂_a∂_c g_bd − ∂_b∂_d g_ac) + Γ^e_bc Γ_{e,ad} − Γ^e_bd Γ_{e,ac}
(so ∂Γ is never formed), R^a_bcd = g^{ae}R_ebcd, R_bd = g^{ac}R_abcd, R = g^{bd}R_bd,
K = R_abcd R^abcd over bivector pairs. Derivatives are shared and taken once per point by nested forward mode
(``jax.jvp``), only along the coordinates the metric depends on and only for e ≤ c in ∂_e∂_c g. A
dataflow pass over the metric's jaxpr (:mod:`nnworld_jax._jaxpr_structure`, which depends on JAX
internals and is conservative for any primitive it does not know) finds which coordinates each g_ab
depends on and which g_ab vanish identically (Kerr: r and θ, and 10 of 16 entries zero;
Schwarzschild: diagonal). For n ≤ 4 metrics with such zeros the core then works component by
component (one array per independent component, which under ``vmap`` is a contiguous vector over the
points, structural zeros never multiplied; g^{ab} by cofactors: closed form, no LAPACK call inside
vmapped code, see conventions "Numerical hazards"); dense metrics and n > 4 (``jnp.linalg.inv``) use
the core on dense arrays (the plain route: broadcast products, smaller programs).

On a periodic grid (:func:`curvature_on_grid`) ∂g and ∂∂g are grid derivatives (spectral by default:
the operators of :func:`nnworld_jax.grid.derivative`), then the same core on dense arrays with the
grid axes trailing.

Performance (float64, CPU, 2 cores shared with other jobs; benchmarks/bench_curvature.py):
R, G_ab and K at 1e5 points in 0.06-0.11 s (0.9-1.7e6 points/s, chunks of 2048-16384 in
:func:`on_points`, 4096 by default); the tensor-contraction version before this one reached
1.4-1.9e5 points/s in the same runs. Cold start (the first call of :func:`on_points` less one
evaluation: trace + compile; CPU time, load 4-5 on 2 cores): 0.75-0.8 s Schwarzschild (EinsteinPy's
symbolic step + lambdify: 2.9 s wall in the same runs), 1.3 s Kerr, from 2.5-2.6 s and 2.6-2.9 s
before three changes (issue #15):
(1) the programs this module compiles on the CPU use XLA's legacy elemental emitters
(``xla_cpu_use_fusion_emitters=False``, :func:`_jit`): half the compile time, the same run time
(other backends unchanged); (2) the structure analysis evaluates the metric's constants by NumPy
on its jaxpr (evaluating them with JAX compiled one XLA program per primitive, ~0.8 s for Kerr)
and :func:`on_points` checks and assembles with NumPy on the CPU (no small eager programs);
(3) the jet takes g and ∂g from the nested jvps of ∂∂g (a quarter fewer traced operations).
The move to the one curvature core (issue #13: R_bd from the lowered Riemann tensor, K over bivector
pairs, as before) kept these figures: this module and the one before it, interleaved one process each
(2e4 points, CPU time, load 3 on 2 cores): cold start 0.75-0.83 s against 0.76-0.78 s (Schwarzschild)
and 1.40-1.43 s against 1.36-1.38 s (Kerr), evaluation 8.0-8.1 ms against 7.5-8.6 ms and 14.0 ms
against 13.2-13.9 ms; bench_curvature in one session (1e5 points, compile CPU time, load 1.4-2.5):
0.72 s against 0.77 s (Schwarzschild), 1.28 s against 1.23 s (Kerr). Measured and not kept: the jet's derivatives left unstacked (Schwarzschild
evaluation −35%, Kerr +30%: XLA re-evaluated Kerr's cosines inside the consumer fusions, 29 instead
of 13), Kretschmann from the raised Riemann tensor (Kerr +20%), Ricci contracted from the jet when
the Riemann tensor is at hand (Kerr +10% compile). Also measured and not kept: LLVM level 0 (``xla_backend_optimization_level=0``: compile −35%, run
time ×3-6), ``xla_llvm_disable_expensive_passes`` (no gain), more fusion barriers, tracing the
point kernels in place under vmap (no gain). What remains (Kerr): ~0.4 s Python tracing and
batching of a ~1900-operation program, ~0.1 s lowering, ~0.9 s XLA, of which ~0.2 s the checks.
The per-point checks (NaN, symmetry, det g ≠ 0, finite R and K: one equinox check per chunk) cost
little: two runs interleaving this module with the one before the checks in one process (best CPU
time for R, G_ab, K at 1e5 points, loaded 2-core machine) gave −8% and +6% (Kerr), −11% and +17%
(Schwarzschild): within the noise of a shared machine.
Remaining time per point (perf, before the structural zeros): ~45% the compiled loops, ~18% libm
sin/cos (XLA re-evaluates the metric's transcendentals inside several derivative fusions), ~30%
dispatch, allocation and the chunk loop.
Limitations: the metric must be twice differentiable by ``jax.jvp``; points where g is singular
(horizons, coordinate poles) are errors, as are non-symmetric metrics and NaN/inf points, checked
per point under jit, vmap and grad too (README "Errors and domains"); n > 4 uses ``jnp.linalg.inv`` (batched LAPACK under
vmap: the reference hazard), so prefer single points or small batches there. Results of the component
route and of the plain route agree to round-off (~1e-15 relative), not bit for bit.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import grid as gr
from ._checks import as_float, check_finite, is_traced
from ._compile import _CPU_COMPILER_OPTIONS, _cpu_options_ok, _jit  # noqa: F401  (tests patch them here)
from ._curvature_core import (
    Components,
    apply,
    christoffel_first_kind,
    christoffel_second_kind,
    dense,
    det_inv,
    einstein,
    kretschmann_scalar,
    ricci,
    riemann_lower,
    riemann_up,
    scalar_curvature,
    symmetric,
)
from ._geometry import _guard, _metric_derivatives, _symmetry_tolerance
from ._jaxpr_structure import _directions, _structure
from .types import Array, ArrayLike, Bool, Float, FloatScalar, Metric, MetricField, Point, Real


_COMPONENTS_MAX_N = 4  # pointwise kernels work component by component up to this dimension


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


# ------------------------------------------------------------------------------ the curvature core
# Every formula comes from nnworld_jax._curvature_core: dense arrays here for dense metrics,
# n > 4 and the grid (tensor indices first, grid axes trailing), Components for the pointwise
# route of metrics with structural zeros.

def _curvature_of(g, dg, ddg, g_arr: Array, one: Array | None = None) -> Curvature:
    """:class:`Curvature` from the jet (g, ∂g, ∂∂g), dense arrays or ``Components``; ``g_arr``
    the dense metric. ``one`` (exactly 1.0, built at run time so it is not folded away) divides
    the independent components of R_abcd: XLA then computes them once (it copies cheap elementwise
    producers into every consumer fusion, which multiplied the compiled code several times over;
    ``lax.optimization_barrier`` is dropped before fusion on CPU, a division counts as expensive)."""
    det, ginv = det_inv(g)
    first = christoffel_first_kind(dg)
    gamma = christoffel_second_kind(ginv, first)
    low = riemann_lower(first, gamma, ddg)
    if one is not None:
        low = apply(low, lambda v: v / one)
    up = riemann_up(ginv, low)
    ric = ricci(ginv, first, gamma, ddg, low)
    scalar = scalar_curvature(ginv, ric)
    return Curvature(metric=g_arr, inverse_metric=dense(ginv), det=det, christoffel=dense(gamma),
                     riemann=dense(up), ricci_tensor=dense(ric), ricci_scalar=scalar,
                     einstein_tensor=dense(einstein(g, ric, scalar)), kretschmann=kretschmann_scalar(ginv, low))


# ------------------------------------------------------------------------------ checks
# The kernels return (result, flags) from their jitted body; ``flags[i]`` says that condition i of
# ``_MESSAGES`` failed. :func:`_guard` raises the first one: a ``ValueError`` naming the point when
# the flags are concrete (an eager call), an equinox runtime error under jit/vmap/grad.
_MESSAGES = (
    "X contains NaN or inf",
    "metric(X) must be symmetric (g_ab = g_ba); its upper triangle is not mirrored for you",
    "metric is degenerate or not finite at X (det g = 0, NaN or inf: a horizon or a coordinate "
    "singularity such as r = 2M or θ = 0?)",
    "the curvature is not finite at X: the metric's derivatives are singular there",
    "T_upper_fn(X) contains NaN or inf",
)
Flags = Bool[Array, " 5"]  # one per message of _MESSAGES (and of _GRID_MESSAGES)


def _metric_flags(X: Array, g: Array, det: Array, *results) -> Array:
    """Booleans for ``_MESSAGES`` 0-3 at one point (g: (n, n, *pts), det: (*pts)); a result's sum is
    finite only if all its entries are (inf − inf = NaN), so one reduction checks each result."""
    scale = jnp.max(jnp.abs(g))
    asym = jnp.max(jnp.abs(g - jnp.swapaxes(g, 0, 1))) > _symmetry_tolerance(g.dtype) * scale
    degenerate = ~jnp.isfinite(scale) | jnp.any(~jnp.isfinite(det) | (det == 0))
    singular = jnp.zeros((), bool)
    for r in results:
        singular = singular | ~jnp.isfinite(jnp.sum(r))
    return jnp.stack([~jnp.all(jnp.isfinite(X)), asym, degenerate, singular, jnp.zeros((), bool)])


def _where(X) -> str:
    if is_traced(X):  # e.g. under an eager jax.grad: no value to show
        return ""
    return f" (at X = {np.asarray(X).tolist()})"


# ------------------------------------------------------------------------------- pointwise
def _check_metric_callable(metric, name: str = "metric"):
    if not callable(metric):
        raise TypeError(f"{name} must be a callable X (n,) -> (n, n), got {type(metric).__name__}")


def _check_point(metric: Metric, X) -> Array:
    X = as_float(X, "X")
    if X.ndim != 1 or X.shape[0] < 1:
        raise ValueError(f"X must be one point of shape (n,), got {X.shape}; use jax.vmap or on_points to batch")
    if not jnp.issubdtype(X.dtype, jnp.floating):
        raise TypeError(f"X must be real, got dtype {X.dtype}")
    shape = jax.eval_shape(metric, X).shape
    if shape != (X.shape[0], X.shape[0]):
        raise ValueError(f"metric(X) must have shape ({X.shape[0]}, {X.shape[0]}) for X of shape {X.shape}, "
                         f"got {shape}")
    return X


def _point_kernel(static_argnums):
    """jit a body ``fn(*callables, X) -> (result, flags)`` (annotated ``-> tuple[R, Flags]``) with the
    callables static; the wrapper (annotated ``-> R``) raises the first failed condition of
    ``_MESSAGES`` (:func:`_guard`): eagerly a ``ValueError`` naming the point, under the caller's
    jit/vmap/grad an equinox runtime error."""
    def decorate(fn):
        jitted = _jit(fn, static_argnums=static_argnums)

        @functools.wraps(fn)
        def wrapper(*args):
            *callables, X = args
            for name, f in zip(("metric", "T_upper_fn"), callables):
                _check_metric_callable(f, name)
            out, flags = jitted(*callables, as_float(X, "X"))
            return _guard(out, flags, _MESSAGES, where=_where(X))

        # The body is annotated with what it returns, ``tuple[R, Flags]`` (the suite's runtime type
        # check holds it to that); the wrapper returns R, and its signature says so.
        ret = fn.__annotations__.get("return")
        if isinstance(ret, str) and ret.startswith("tuple[") and ret.endswith(", Flags]"):
            public = ret[len("tuple["):-len(", Flags]")]
            wrapper.__annotations__ = {**fn.__annotations__, "return": public}
            wrapper.__signature__ = inspect.signature(fn).replace(return_annotation=public)
        return wrapper

    return decorate


def _plain_jet(metric: Metric, X: Array) -> tuple[Array, Array, Array, Array]:
    """(g, ∂g, ∂∂g, g) at X by nested forward mode along every coordinate, without the structure
    analysis (the plain route): dg[a,b,c] = ∂_c g_ab, d2g[a,b,c,e] = ∂_e∂_c g_ab."""
    def with_value(x):
        g = metric(x)
        return g, g

    def first(x):
        dg, g = jax.jacfwd(with_value, has_aux=True)(x)
        return dg, (g, dg)

    d2g, (g, dg) = jax.jacfwd(first, has_aux=True)(X)
    return g, dg, d2g, g


@functools.partial(_jit, static_argnums=0)
def _curvature_plain(metric: Metric, X: Array) -> Curvature:
    """:class:`Curvature` at one point by the plain route (dense jet, no structure analysis): the
    reference the structure-analysis route is tested against."""
    return _curvature_of(*_plain_jet(metric, X))


# ------------------------------------------------------------- pointwise, component by component
# For n ≤ 4 metrics with structural zeros or unused coordinates the pointwise kernels give the core
# Components (one array per independent component, None where structurally zero): under vmap
# every component is a contiguous vector over the points and XLA fuses the computation into a few
# elementwise loops. The structure comes from the metric's jaxpr (nnworld_jax._jaxpr_structure).

def _sparse_structure(n: int, structure) -> bool:
    """Whether the component route pays: n ≤ 4 and the metric has structurally zero elements or
    coordinates it does not depend on (Kerr, Schwarzschild, FLRW, …). For a dense metric the
    dense route computes the same numbers with a smaller program (faster compile, and much faster
    when differentiated again, e.g. the Bianchi identity's ∂G)."""
    deps, zero = structure
    return n <= _COMPONENTS_MAX_N and (bool(zero.any()) or not bool(deps.all()))


def _jet_along(metric: Metric, X: Array, dirs: tuple[int, ...], order: int):
    """g, ∂_c g (c in dirs) and ∂_e∂_c g (c, e in dirs) at X by nested forward mode.

    Returns g (n, n), ``first[c]`` = ∂_c g and ``second[(c, e)]`` = ∂_e∂_c g (order 2; both orders
    of the pair). Order 2: one nested jvp per pair e ≤ c (second derivatives commute), each giving
    (g, ∂_c g, ∂_e g, ∂_e∂_c g), so g and the first derivatives come with the second ones (the
    pairs c = e give every ∂_c g) rather than from traces of their own (a quarter of the traced
    program for Kerr). Order 1: one jvp per direction, g its primal. Each on its own rather than
    vmapped over directions: under vmap over directions XLA re-evaluated the metric's
    transcendentals once per direction (and pair) inside the derivative fusions."""
    if not dirs:
        return metric(X), {}, {}
    E = jnp.eye(X.shape[0], dtype=X.dtype)

    def d1(u):
        return lambda x: jax.jvp(metric, (x,), (u,))

    # The derivatives are stacked into one array per order: the stack is materialized once, so the
    # metric's transcendentals are evaluated once per point (unstacked, XLA recomputed them inside
    # the consumer fusions: twice as many cosines in the Kerr program, ~30% more run time).
    if order == 1:
        jets = [d1(E[c])(X) for c in dirs]
        dg = jnp.stack([t for _, t in jets])
        return jets[0][0], {c: dg[i] for i, c in enumerate(dirs)}, {}
    g, first, pairs = None, {}, {}
    for i, c in enumerate(dirs):
        for j, e in enumerate(dirs[:i + 1]):
            (g_, dc), (_, dce) = jax.jvp(d1(E[c]), (X,), (E[e],))
            g = g_ if g is None else g
            first.setdefault(i, dc)
            pairs[(i, j)] = pairs[(j, i)] = dce
    k = len(dirs)
    dg = jnp.stack([first[i] for i in range(k)])
    d2g = jnp.stack([jnp.stack([pairs[(i, j)] for j in range(k)]) for i in range(k)])
    return (g, {c: dg[i] for i, c in enumerate(dirs)},
            {(c, e): d2g[i, j] for i, c in enumerate(dirs) for j, e in enumerate(dirs)})


def _components(g_arr: Array, first: dict, second: dict, structure):
    """``Components`` of g, ∂g (dg[a, b, c] = ∂_c g_ab) and ∂∂g (ddg[a, b, c, e] = ∂_e∂_c g_ab)
    from the jet of :func:`_jet_along`: None where structurally zero (g_ab ≡ 0, or g_ab does not
    depend on X^c)."""
    n = g_arr.shape[0]
    deps, zero = structure
    z = jnp.zeros_like(g_arr[0, 0])

    def g_fn(key):
        a, b = key
        return None if zero[a, b] else g_arr[a, b]

    def dg_fn(key):
        a, b, c = key
        return first[c][a, b] if c in first and deps[a, b, c] else None

    def ddg_fn(key):
        a, b, c, e = key
        return second[(c, e)][a, b] if (c, e) in second and deps[a, b, c] and deps[a, b, e] else None

    g = Components((n, n), g_fn, z, symmetric((0, 1)))
    dg = Components((n, n, n), dg_fn, z, symmetric((0, 1)))
    ddg = Components((n, n, n, n), ddg_fn, z, symmetric((0, 1), (2, 3)))
    return g, dg, ddg


@_point_kernel(0)
def christoffel(metric: Metric, X: Point) -> tuple[Float[Array, "n n n"], Flags]:
    """Christoffel symbols Γ^a_{bc} = ½ g^{ad}(∂_b g_{dc} + ∂_c g_{db} − ∂_d g_{bc}), eq. (93).

    Arguments:
        metric: callable X (n,) -> g_ab (n, n), any dimension and signature.
        X: one point, shape (n,).

    Returns: Γ[a, b, c] = Γ^a_{bc}, shape (n, n, n), symmetric in (b, c).

    Raises: ``ValueError`` naming the point (an equinox runtime error under jit/vmap/grad) when X
    has NaN/inf, metric(X) is not symmetric, is degenerate or not finite (det g = 0: horizons,
    coordinate poles), or Γ is not finite there.

    Example:
        >>> import jax.numpy as jnp
        >>> from nnworld_jax.metrics import sphere
        >>> G = christoffel(sphere(1.0), jnp.array([1.0, 0.0]))
        >>> round(float(G[0, 1, 1]), 6)  # Γ^θ_φφ = -sinθ cosθ
        -0.454649
    """
    return _christoffel(metric, X)


def _christoffel(metric: Metric, X: Array) -> tuple[Array, Flags]:
    """(Γ^a_bc, flags of ``_MESSAGES``) at one point; the body of :func:`christoffel`."""
    X = _check_point(metric, X)
    structure = _structure(metric, X) if X.shape[0] <= _COMPONENTS_MAX_N else None
    if structure is not None and _sparse_structure(X.shape[0], structure):
        g_arr, first, _ = _jet_along(metric, X, _directions(structure), 1)
        g, dg, _ = _components(g_arr, first, {}, structure)
    else:
        dg, g_arr = jax.jacfwd(lambda x: (metric(x),) * 2, has_aux=True)(X)
        g = g_arr
    det, ginv = det_inv(g)
    gamma = dense(christoffel_second_kind(ginv, christoffel_first_kind(dg)))
    return gamma, _metric_flags(X, g_arr, det, gamma)


@_point_kernel(0)
def curvature(metric: Metric, X: Point) -> tuple[Curvature, Flags]:
    """All curvature quantities of paper §9 at one point, sharing derivatives, eqs. (93)-(96).

    Forward-mode autodiff gives g, ∂g and ∂∂g; Γ (93), Riemann, Ricci (96, conventions §6 form), R, G_ab
    and K follow algebraically (conventions in the module docstring). For n ≤ 4 metrics with
    structural zeros or unused coordinates (Kerr, Schwarzschild, FLRW) the algebra runs on the
    non-zero components only (the fast route of :func:`on_points`); dense metrics use tensor
    contractions (smaller programs). Both agree to round-off.

    Arguments:
        metric: callable X (n,) -> g_ab (n, n), any dimension and signature.
        X: one point, shape (n,).

    Returns: :class:`Curvature` (metric, inverse_metric, det, christoffel, riemann, ricci_tensor,
    ricci_scalar, einstein_tensor, kretschmann), tensors with the shapes of the point kernels.

    Raises: ``ValueError`` naming the point (an equinox runtime error under jit/vmap/grad, which
    also guards the derivatives) when X has NaN/inf, metric(X) is not symmetric, is degenerate or
    not finite (det g = 0: Schwarzschild at r = 2M, the sphere at θ = 0), or the curvature is not
    finite there.

    Example:
        >>> from nnworld_jax import set_precision
        >>> set_precision("float64")  # the figure below is a float64 one
        >>> import jax.numpy as jnp
        >>> from nnworld_jax.metrics import schwarzschild
        >>> c = curvature(schwarzschild(1.0), jnp.array([0.0, 3.0, 1.0, 0.0]))
        >>> round(float(c.kretschmann * 3.0**6 / 48), 12)
        1.0
    """
    X = _check_point(metric, X)
    structure = _structure(metric, X) if X.shape[0] <= _COMPONENTS_MAX_N else None
    if structure is not None and _sparse_structure(X.shape[0], structure):
        g_arr, first, second = _jet_along(metric, X, _directions(structure), 2)
        one = (g_arr[0, 0] - g_arr[0, 0]) + 1.0  # exactly 1 (NaN only where g already is)
        c = _curvature_of(*_components(g_arr, first, second, structure), g_arr, one)
    else:
        c = _curvature_of(*_plain_jet(metric, X))
    # R and K contract every component of Γ and Riemann: finite only if all of them are.
    return c, _metric_flags(X, c.metric, c.det, c.ricci_scalar, c.kretschmann)


def riemann(metric: Metric, X: Point) -> Float[Array, "n n n n"]:
    """Riemann tensor R^a_{bcd} = ∂_cΓ^a_{db} − ∂_dΓ^a_{cb} + Γ^a_{ce}Γ^e_{db} − Γ^a_{de}Γ^e_{cb}
    from the Christoffels (93); stored R[a, b, c, d], antisymmetric in (c, d)."""
    return curvature(metric, X).riemann


def ricci_tensor(metric: Metric, X: Point) -> Float[Array, "n n"]:
    """Ricci tensor R_{bd} = R^a_{bad}, eq. (96) as conventions §6 reads it:
    R_μν = ∂_αΓ^α_μν − ∂_νΓ^α_μα + Γ^α_αβΓ^β_μν − Γ^α_νβΓ^β_μα. Shape (n, n), symmetric."""
    return curvature(metric, X).ricci_tensor


def ricci_scalar(metric: Metric, X: Point) -> FloatScalar:
    """Ricci scalar R = g^{μν}R_μν with R_μν of eq. (96) (2-sphere of radius a: R = 2/a²)."""
    return curvature(metric, X).ricci_scalar


def einstein_tensor(metric: Metric, X: Point) -> Float[Array, "n n"]:
    """Einstein tensor G_μν = R_μν − ½ g_μν R (lower indices), R_μν of eq. (96).

    conventions §6: the Euler-Lagrange expression of √|g| R is −√|g| G^{μν}; Einstein's equations read
    G_μν = 8π T_μν in units G = c = 1."""
    return curvature(metric, X).einstein_tensor


def kretschmann(metric: Metric, X: Point) -> FloatScalar:
    """Kretschmann scalar K = R_{abcd}R^{abcd} of the Riemann tensor built from (93)
    (Schwarzschild: 48M²/r⁶)."""
    return curvature(metric, X).kretschmann


@_point_kernel((0, 1))
def covariant_divergence(metric: Metric, T_upper_fn: Callable[[Array], Array],
                         X: Point) -> tuple[Float[Array, " n"], Flags]:
    """∇_μ T^{μν} = ∂_μT^{μν} + Γ^μ_{μλ}T^{λν} + Γ^ν_{μλ}T^{μλ}, with Γ of eq. (93).

    Arguments:
        metric: callable X (n,) -> g_ab (n, n).
        T_upper_fn: callable X (n,) -> T^{μν} (n, n), a contravariant rank-2 field (the last
            term assumes nothing; for symmetric T either index order gives the same result).
        X: one point, shape (n,).

    Returns: the vector ∇_μ T^{μν}, shape (n,). With T^{μν} = G^{μν} this is the contracted
    Bianchi identity, zero for every metric.

    Raises: as :func:`christoffel`, and when T or ∂T has NaN/inf at X.
    """
    X = _check_point(metric, X)
    n = X.shape[0]
    if jax.eval_shape(T_upper_fn, X).shape != (n, n):
        raise ValueError(f"T_upper_fn(X) must have shape ({n}, {n}), got {jax.eval_shape(T_upper_fn, X).shape}")
    dT, T = jax.jacfwd(lambda x: (T_upper_fn(x),) * 2, has_aux=True)(X)  # dT[m, n, e] = ∂_e T^mn
    gamma, flags = _christoffel(metric, X)
    div = (jnp.einsum("mvm->v", dT) + jnp.einsum("mml,lv->v", gamma, T)
           + jnp.einsum("vml,ml->v", gamma, T))
    flags = flags.at[4].set(~jnp.isfinite(jnp.sum(T) + jnp.sum(dT)))
    return div, flags.at[3].set(flags[3] | (~flags[4] & ~jnp.isfinite(jnp.sum(div))))


# ------------------------------------------------------------------------------ many points
@functools.partial(_jit, static_argnums=(0, 1))
def _vmapped(fn, metric, X):
    return jax.vmap(lambda x: fn(metric, x))(X)


@functools.partial(_jit, static_argnums=(0, 1, 2))
def _vmapped_chunk(fn, metric, size, points, start):
    chunk = jax.lax.dynamic_slice_in_dim(points, start, size)
    return jax.vmap(lambda x: fn(metric, x))(chunk)


def _on_cpu(x) -> bool:
    """Whether the concrete array x lives on the host CPU (NumPy can then read it without a copy)."""
    try:
        return all(d.platform == "cpu" for d in x.devices())
    except Exception:  # noqa: BLE001 -- not a committed jax Array: not known to be on the CPU
        return False


def on_points(fn: Callable, metric: Metric, points: Real[ArrayLike, "N n"], *, chunk_size: int = 4096):
    """Evaluate ``fn(metric, X)`` at many points: ``jit(vmap)`` over chunks of ``chunk_size``.

    Helper for the kernels of this module (``fn`` = :func:`curvature`, :func:`ricci_scalar`, …;
    any ``fn(metric, X)`` works). Every chunk has ``chunk_size`` points (the last one is the last
    ``chunk_size`` points, overlapping the one before it; the overlap is dropped), so one compilation
    serves every chunk; ``fn`` and ``metric`` are static (reuse the same objects to hit the compile
    cache). On the CPU the program is compiled with this module's CPU options (``_jit``) and the
    input check and the output assembly are NumPy, so a first call compiles one XLA program. Chunking keeps memory flat and
    avoids the very large single programs that hung ``jax.lax.map`` on CPU (conventions "Numerical
    hazards"). Chunks of 4096-8192 points were fastest for the curvature kernels on CPU.

    Returns: ``fn``'s output pytree with a leading axis of length N.

    Raises: ``ValueError`` for NaN/inf points; the kernels' own checks (singular or non-symmetric
    metric at a point) fire per point inside the compiled chunks, as equinox runtime errors.
    """
    if not callable(fn):
        raise TypeError(f"fn must be a callable fn(metric, X), got {type(fn).__name__}")
    _check_metric_callable(metric)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise ValueError(f"chunk_size must be an integer >= 1, got {chunk_size!r}")
    points = as_float(points, "points")
    if points.ndim != 2 or points.shape[1] < 1:
        raise ValueError(f"points must have shape (N, n), got {points.shape}")
    N = points.shape[0]
    if N == 0:
        raise ValueError("points is empty (N = 0): nothing to evaluate")
    host = not is_traced(points) and _on_cpu(points)
    # On the CPU the input check and the output assembly are NumPy on the arrays' own memory: as
    # eager JAX operations each would compile a small XLA program of its own on a cold start
    # (~10 of them, 0.1-0.4 s of the first call).
    if host:
        if not np.isfinite(np.asarray(points)).all():
            raise ValueError("points contains NaN or inf")
    elif not is_traced(points):
        points = check_finite(points, "points")
    size = min(int(chunk_size), N)
    n_chunks = -(-N // size)
    if n_chunks == 1:
        return _vmapped(fn, metric, points)
    # The last chunk is the last `size` points (it overlaps the one before; no padding needed); its
    # first `overlap` rows are dropped below.
    starts = [i * size for i in range(n_chunks - 1)] + [N - size]
    overlap = n_chunks * size - N
    outs = [_vmapped_chunk(fn, metric, size, points, start) for start in starts]

    def join(*chunks):
        if host:
            chunks = [np.asarray(c) for c in chunks]
        if overlap:
            chunks = (*chunks[:-1], chunks[-1][overlap:])
        return jnp.asarray(np.concatenate(chunks)) if host else jnp.concatenate(chunks)

    return jax.tree_util.tree_map(join, *outs)


# ------------------------------------------------------------------------------------- grid
def curvature_on_grid(g_field: MetricField, grid: gr.Grid, *,
                      method: str = "spectral") -> Curvature:
    """Curvature of a metric sampled on a periodic grid, eqs. (93)-(96), by grid derivatives.

    ∂_c g_ab and ∂_e∂_c g_ab are the grid derivatives of :func:`nnworld_jax.grid.derivative`
    (spectral by default: exact for a band-limited metric, exponentially accurate for smooth
    periodic ones; ``"fd2"``/``"fd4"`` available, mixed second derivatives as two first ones);
    the algebra (the curvature core) and conventions are those of :func:`curvature`. The
    coordinates X^a are the grid axes (grid.ndim = n).

    Arguments:
        g_field: g_ab at every grid point, shape (n, n, *grid.shape), symmetric in (a, b).
        grid: the periodic :class:`nnworld_jax.grid.Grid`, with n axes.
        method: derivative method, one of ``nnworld_jax.grid.METHODS``.

    Returns: :class:`Curvature` with the grid axes trailing every field (e.g. ricci_scalar has
    shape grid.shape, riemann (n, n, n, n, *grid.shape)). ∫√|g| R dⁿX is
    ``nnworld_jax.grid.integral(jnp.sqrt(jnp.abs(c.det)) * c.ricci_scalar, grid)``.

    Raises: ``ValueError`` (an equinox runtime error under jit/vmap/grad) when g_field has NaN/inf,
    is not symmetric in (a, b), or is degenerate (det g = 0) at some grid point.
    """
    if not isinstance(grid, gr.Grid):
        raise TypeError(f"grid must be a nnworld_jax.grid.Grid, got {type(grid).__name__}")
    if method not in gr.METHODS:
        raise ValueError(f"method must be one of {gr.METHODS}, got {method!r}")
    n = grid.ndim
    g_field = as_float(g_field, "g_field")
    if jnp.shape(g_field) != (n, n, *grid.shape):
        raise ValueError(f"g_field must have shape {(n, n, *grid.shape)} on this grid, got {jnp.shape(g_field)}; "
                         "kernels take one field, use jax.vmap to batch")
    # the field is checked before any derivative sees it, so the error names g_field
    g_field = _guard(g_field, _grid_field_flags(g_field), _GRID_MESSAGES)
    out, flags = _curvature_on_grid(g_field, grid, method)
    return _guard(out, flags, _GRID_MESSAGES)


_GRID_MESSAGES = (
    "g_field contains NaN or inf",
    "g_field must be symmetric in its first two axes (g_ab = g_ba) at every grid point",
    "g_field is degenerate (det g = 0) at some grid point",
    "the curvature of g_field is not finite at some grid point",
    "",
)


@jax.jit
def _grid_field_flags(g_field):
    no = jnp.zeros((), bool)
    return _metric_flags(no, g_field, det_inv(g_field)[0]).at[0].set(~jnp.all(jnp.isfinite(g_field)))


@functools.partial(jax.jit, static_argnames="method")
def _curvature_on_grid(g_field, grid, method):
    dg, ddg = _metric_derivatives(grid, g_field, True, method)
    c = _curvature_of(g_field, dg, ddg, g_field)
    no = jnp.zeros((), bool)
    return c, jnp.stack([no, no, no, ~jnp.isfinite(jnp.sum(c.ricci_scalar) + jnp.sum(c.kretschmann)), no])


__all__ = [
    "Curvature",
    "christoffel",
    "covariant_divergence",
    "curvature",
    "curvature_on_grid",
    "einstein_tensor",
    "kretschmann",
    "on_points",
    "ricci_scalar",
    "ricci_tensor",
    "riemann",
]

