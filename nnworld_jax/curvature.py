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

Derivatives are shared and taken once per point by nested forward mode (``jax.jvp``), only
along the coordinates the metric depends on and only for e ≤ c in ∂_e∂_c g. A dataflow pass over
the metric's jaxpr (:func:`_structure`, conservative for any primitive it does not know) finds
which coordinates each g_ab depends on and which g_ab vanish identically (Kerr: r and θ, and 10
of 16 entries zero; Schwarzschild: diagonal); those zeros are never multiplied. For n ≤ 4 the
pointwise kernels then work component by component (one array per independent component, which
under ``vmap`` is a contiguous vector over the points): g^{ab} by cofactors (closed form, no
LAPACK call inside vmapped code: see conventions "Numerical hazards"), Γ_{d,bc} and Γ^a_{bc} for b ≤ c,
the 21 independent
R_abcd = ½(∂_b∂_c g_ad + ∂_a∂_d g_bc − ∂_a∂_c g_bd − ∂_b∂_d g_ac) + Γ^e_bc Γ_{e,ad} − Γ^e_bd Γ_{e,ac}
(the lowered form of R^a_bcd above, so ∂Γ is never formed), then R^a_bcd = g^{ae}R_{ebcd},
R_bd = g^{ac}R_{cbad} and K over bivector pairs. Above n = 4 the same quantities come from tensor
contractions, ∂Γ included (∂_e g^{ad} = −g^{af} ∂_e g_{fh} g^{hd}), with ``jnp.linalg.inv``.

On a periodic grid (:func:`curvature_on_grid`) the derivatives are spectral
(:func:`nnworld_jax.grid.derivative`): ∂g of the sampled metric, then ∂Γ of the sampled Γ.

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
Measured and not kept: LLVM level 0 (``xla_backend_optimization_level=0``: compile −35%, run
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
route and of the tensor route agree to round-off (~1e-15 relative), not bit for bit.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.extend.core
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from . import grid as gr
from ._checks import as_float, check_finite, is_traced
from ._compile import _CPU_COMPILER_OPTIONS, _cpu_options_ok, _jit  # noqa: F401  (tests patch them here)
from ._geometry import (_christoffel_first, _ein, _grid_christoffel, _grid_gradient, _guard, _inverse,
                        _symmetry_tolerance)

Metric = Callable[[Float[Array, " n"]], Float[Array, "n n"]]

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


# ------------------------------------------------------------------------------ small algebra
# All helpers act on arrays whose tensor indices come first and whose trailing axes (if any) are
# grid points, so the pointwise and grid kernels share them. Those other modules use too (det and
# inverse, _ein, the Christoffel symbols, the flag checks) live in _geometry.

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
    """jit a body ``fn(*callables, X) -> (result, flags)`` with the callables static; the wrapper
    raises the first failed condition of ``_MESSAGES`` (:func:`_guard`): eagerly a ``ValueError``
    naming the point, under the caller's jit/vmap/grad an equinox runtime error."""
    def decorate(fn):
        jitted = _jit(fn, static_argnums=static_argnums)

        @functools.wraps(fn)
        def wrapper(*args):
            *callables, X = args
            for name, f in zip(("metric", "T_upper_fn"), callables):
                _check_metric_callable(f, name)
            out, flags = jitted(*callables, as_float(X, "X"))
            return _guard(out, flags, _MESSAGES, where=_where(X))

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


# ------------------------------------------------------------- pointwise, component by component
# For n ≤ 4 the pointwise kernels work on scalar components (one array per independent component):
# under vmap every component is a contiguous vector over the points and XLA fuses the whole
# computation into a few elementwise loops. Symmetries cut the work: g, ∂g, ∂∂g and Γ are taken
# for index pairs b ≤ c only, the Riemann tensor for its 21 (n = 4) independent pairs of
# antisymmetric pairs, and derivatives only along the coordinates each g_ab depends on (found by
# a dataflow pass over the metric's jaxpr, :func:`_structure`, which also finds the g_ab that
# vanish identically). ``None`` stands for a component that is structurally zero, so its products
# are never formed.

_ELEMENTWISE = frozenset("""
    abs acos acosh add add_any and asin asinh atan atan2 atanh cbrt ceil clamp conj convert_element_type
    copy copy_p cos cosh digamma div eq erf erf_inv erfc exp exp2 expm1 floor ge gt imag integer_pow
    is_finite le lgamma log log1p logistic lt max min mul ne neg nextafter not or pow real
    reduce_precision rem round rsqrt select_n sign sin sinh sqrt square sub tan tanh xor
""".split())
_CALLS = frozenset({"pjit", "jit", "closed_call", "core_call", "remat", "checkpoint"})
_CONST_EVAL = frozenset({"iota", "eq", "ne", "lt", "le", "gt", "ge", "add", "sub", "and", "or", "not",
                         "broadcast_in_dim", "convert_element_type", "reshape", "squeeze", "slice",
                         "concatenate", "transpose"})

# NumPy forms of the primitives a metric is usually made of, for the structure analysis's constant
# evaluations (:func:`_np_eval_eqn`). Evaluating them with JAX instead would run each primitive
# eagerly, and on a cold start every eager primitive is an XLA compilation of its own (~10-70 ms
# each; Kerr's metric at one point took 18 of them, ~0.8 s of its first call).
_NP_UNARY = {"sin": np.sin, "cos": np.cos, "tan": np.tan, "exp": np.exp, "log": np.log, "sqrt": np.sqrt,
             "neg": np.negative, "abs": np.abs, "sign": np.sign, "floor": np.floor, "ceil": np.ceil,
             "tanh": np.tanh, "sinh": np.sinh, "cosh": np.cosh, "asin": np.arcsin, "acos": np.arccos,
             "atan": np.arctan, "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh,
             "log1p": np.log1p, "expm1": np.expm1, "not": np.logical_not, "is_finite": np.isfinite,
             "square": np.square, "rsqrt": lambda x: 1 / np.sqrt(x), "logistic": lambda x: 1 / (1 + np.exp(-x)),
             "copy": np.copy, "copy_p": np.copy, "exp2": np.exp2, "cbrt": np.cbrt}
_NP_BINARY = {"add": np.add, "add_any": np.add, "sub": np.subtract, "mul": np.multiply, "pow": np.power,
              "max": np.maximum, "min": np.minimum, "atan2": np.arctan2, "eq": np.equal, "ne": np.not_equal,
              "lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal, "rem": np.fmod}


def _np_eval_eqn(eqn, vals: list) -> list:
    """One jaxpr equation evaluated by NumPy on concrete inputs (float64/int64 precision); raises
    ``NotImplementedError`` for a primitive it does not know. Results are cast to the equation's
    output dtypes."""
    name, p = eqn.primitive.name, eqn.params
    a = vals[0] if vals else None
    if name in _NP_UNARY:
        out = _NP_UNARY[name](a)
    elif name in _NP_BINARY:
        out = _NP_BINARY[name](a, vals[1])
    elif name in ("and", "or", "xor"):
        fn = {"and": np.bitwise_and, "or": np.bitwise_or, "xor": np.bitwise_xor}[name]
        out = fn(a, vals[1])
    elif name == "div":
        out = np.true_divide(a, vals[1])
        if np.issubdtype(np.result_type(a, vals[1]), np.integer):
            out = np.trunc(out)
    elif name == "integer_pow":
        out = np.power(a, float(p["y"])) if p["y"] < 0 else np.power(a, p["y"])
    elif name == "select_n":
        out = np.choose(np.asarray(a).astype(int), [np.broadcast_to(c, np.shape(vals[1])) for c in vals[1:]])
    elif name == "convert_element_type":
        out = np.asarray(a).astype(p["new_dtype"])
    elif name == "iota":
        shape, dim = p["shape"], p["dimension"]
        out = np.broadcast_to(np.arange(shape[dim]).reshape([-1 if k == dim else 1 for k in range(len(shape))]),
                              shape)
    elif name == "broadcast_in_dim":
        shape = list(p["shape"])
        tmp = [1] * len(shape)
        for k, dim in enumerate(p["broadcast_dimensions"]):
            tmp[dim] = np.shape(a)[k]
        out = np.broadcast_to(np.reshape(a, tmp), shape)
    elif name == "reshape" and p.get("dimensions") is None:
        out = np.reshape(a, p["new_sizes"])
    elif name == "squeeze":
        out = np.squeeze(a, axis=tuple(p["dimensions"]))
    elif name == "slice":
        strides = p["strides"] or (1,) * len(p["start_indices"])
        out = np.asarray(a)[tuple(slice(s, e, k) for s, e, k in zip(p["start_indices"], p["limit_indices"], strides))]
    elif name == "concatenate":
        out = np.concatenate([np.atleast_1d(v) for v in vals], axis=p["dimension"])
    elif name == "transpose":
        out = np.transpose(a, p["permutation"])
    elif name == "pad" and all(lo == 0 and hi == 0 and mid == 0 for lo, hi, mid in p["padding_config"]):
        out = np.asarray(a)
    elif name in _CALLS or name == "custom_jvp_call":
        sub = p.get("jaxpr", p.get("call_jaxpr"))
        consts = getattr(sub, "consts", ())
        return _np_eval_jaxpr(getattr(sub, "jaxpr", sub), consts, vals)
    else:
        raise NotImplementedError(name)
    outs = [out]
    return [np.asarray(o).astype(v.aval.dtype) for o, v in zip(outs, eqn.outvars)]


def _np_eval_jaxpr(jaxpr, consts, args) -> list:
    """A jaxpr evaluated by NumPy (:func:`_np_eval_eqn`) on concrete arguments."""
    env = dict(zip(jaxpr.constvars, (np.asarray(c) for c in consts)))
    env.update(zip(jaxpr.invars, (np.asarray(a) for a in args)))

    def read(v):
        return np.asarray(v.val) if isinstance(v, jax.extend.core.Literal) else env[v]

    with np.errstate(all="ignore"):
        for eqn in jaxpr.eqns:
            for v, o in zip(eqn.outvars, _np_eval_eqn(eqn, [read(v) for v in eqn.invars])):
                env[v] = o
    return [read(v) for v in jaxpr.outvars]


def _jaxpr_deps(jaxpr, in_deps: list, n: int, in_known: list | None = None) -> list:
    """Which coordinates each element of each output may depend on (boolean arrays (*shape, n)).

    Exact through elementwise, slicing, stacking and reshaping primitives and nested jit calls;
    every other primitive is treated conservatively (each output element depends on everything
    its inputs depend on), so a coordinate reported independent truly is.
    """
    env, known = {}, {}  # known: values of variables computed from constants only (e.g. iota masks)

    def read(v):
        if isinstance(v, jax.extend.core.Literal):  # constants depend on no coordinate
            return np.zeros((*np.shape(v.val), n), bool)
        return env.get(v, np.zeros((*v.aval.shape, n), bool)) if hasattr(v.aval, "shape") else np.zeros((n,), bool)

    def value(v):
        return np.asarray(v.val) if isinstance(v, jax.extend.core.Literal) else known.get(v)

    for v, d in zip(jaxpr.invars, in_deps):
        env[v] = d
    for v, k in zip(jaxpr.invars, in_known or ()):
        if k is not None:
            known[v] = k
    for eqn in jaxpr.eqns:
        ins = [read(v) for v in eqn.invars]
        name, p = eqn.primitive.name, eqn.params
        shapes = [tuple(getattr(o.aval, "shape", ())) for o in eqn.outvars]
        outs = None
        vals = [value(v) for v in eqn.invars]
        if name in _CONST_EVAL and all(x is not None for x in vals) and all(o.size <= 1024 for o in vals):
            try:  # fold small constant computations (the masks jnp.diag/eye build from iota), by NumPy
                with np.errstate(all="ignore"):
                    res = _np_eval_eqn(eqn, vals)
                for v, r in zip(eqn.outvars, res):
                    known[v] = r
            except Exception:  # noqa: BLE001 -- not foldable here: simply not known
                pass
        try:
            pred = vals[0] if name == "select_n" else None
            if pred is not None and pred.shape in (shapes[0], ()):
                # select_n with a constant predicate: each element comes from the case it picks
                cases = [np.broadcast_to(a, (*shapes[0], n)) for a in ins[1:]]
                pick = np.broadcast_to(pred.astype(int), shapes[0])
                outs = [np.choose(pick[..., None], cases)]
            elif name in _ELEMENTWISE and all(a.shape[:-1] in (shapes[0], ()) for a in ins):
                acc = np.zeros((*shapes[0], n), bool)
                for a in ins:
                    acc = acc | a
                outs = [acc]
            elif name == "slice":
                strides = p["strides"] or (1,) * len(p["start_indices"])
                window = zip(p["start_indices"], p["limit_indices"], strides)
                outs = [ins[0][tuple(slice(s, e, k) for s, e, k in window)]]
            elif name == "squeeze":
                outs = [np.squeeze(ins[0], axis=tuple(p["dimensions"]))]
            elif name == "reshape" and p.get("dimensions") is None:
                outs = [ins[0].reshape((*shapes[0], n))]
            elif name == "broadcast_in_dim":
                tmp = [1] * len(shapes[0])
                for k, dim in enumerate(p["broadcast_dimensions"]):
                    tmp[dim] = ins[0].shape[k]
                outs = [np.broadcast_to(ins[0].reshape((*tmp, n)), (*shapes[0], n))]
            elif name == "concatenate":
                outs = [np.concatenate(ins, axis=p["dimension"])]
            elif name == "transpose":
                outs = [np.transpose(ins[0], (*p["permutation"], len(p["permutation"])))]
            elif name == "split":
                outs = np.split(ins[0], np.cumsum(p["sizes"])[:-1], axis=p["axis"])
            elif name in ("iota",):
                outs = [np.zeros((*s, n), bool) for s in shapes]
            elif name in _CALLS:
                sub = p.get("jaxpr", p.get("call_jaxpr"))
                sub = getattr(sub, "jaxpr", sub)
                if sub is not None and len(sub.invars) == len(ins):
                    outs = _jaxpr_deps(sub, ins, n, vals)
        except Exception:  # noqa: BLE001 -- any surprise: fall back to the conservative rule
            outs = None
        if outs is None or [o.shape[:-1] for o in outs] != shapes:
            every = np.zeros((n,), bool)
            for a in ins:
                every = every | a.reshape((-1, n)).any(axis=0)
            outs = [np.broadcast_to(every, (*s, n)) for s in shapes]
        for v, o in zip(eqn.outvars, outs):
            env[v] = o
    return [read(v) for v in jaxpr.outvars]


def _structure(metric: Metric, X: Array):
    """What metric(X) depends on, structurally: ``deps[a, b, c]`` is False where ∂_c g_ab ≡ 0, and
    ``zero[a, b]`` is True where g_ab ≡ 0 (an element that depends on no coordinate is a constant:
    its value at any point, checked once, is its value everywhere). On any failure of the
    analysis: every element depends on every coordinate and none is known to vanish."""
    n = X.shape[0]
    full = np.ones((n, n, n), bool), np.zeros((n, n), bool)
    try:
        closed = jax.make_jaxpr(metric)(jax.ShapeDtypeStruct(X.shape, X.dtype))
        (deps,) = _jaxpr_deps(closed.jaxpr, [np.eye(n, dtype=bool)], n)
        deps = np.array(np.broadcast_to(deps, (n, n, n)))
    except Exception:  # noqa: BLE001 -- analysis failed: differentiate along every coordinate
        return full
    zero = np.zeros((n, n), bool)
    if not deps.any(axis=-1).all():
        try:  # the constant elements' values (a metric closing over traced parameters: skip)
            try:  # by NumPy on the jaxpr above: no XLA compilation (see _NP_UNARY)
                (g0,) = _np_eval_jaxpr(closed.jaxpr, closed.consts, [np.ones(X.shape, X.dtype)])
            except NotImplementedError:  # a primitive _np_eval_eqn does not know: JAX, eagerly
                with jax.ensure_compile_time_eval():
                    g0 = np.asarray(metric(jnp.ones(X.shape, X.dtype)))
            zero = ~deps.any(axis=-1) & (np.asarray(g0) == 0)
        except Exception:  # noqa: BLE001
            pass
    return deps, zero


def _sparse_structure(n: int, structure) -> bool:
    """Whether the component route pays: n ≤ 4 and the metric has structurally zero elements or
    coordinates it does not depend on (Kerr, Schwarzschild, FLRW, …). For a dense metric the
    tensor route computes the same numbers with a smaller program (faster compile, and much faster
    when differentiated again, e.g. the Bianchi identity's ∂G)."""
    deps, zero = structure
    return n <= _COMPONENTS_MAX_N and (bool(zero.any()) or not bool(deps.all()))


def _directions(structure) -> tuple[int, ...]:
    deps, zero = structure
    return tuple(int(c) for c in np.flatnonzero(deps.reshape((-1, deps.shape[-1])).any(axis=0)))


def _dependent_coordinates(metric: Metric, X: Array) -> tuple[int, ...]:
    """Coordinates X^c that metric(X) depends on structurally: ∂_c g ≡ 0 for every other c."""
    return _directions(_structure(metric, X))


def _jet_along(metric: Metric, X: Array, dirs: tuple[int, ...], order: int):
    """g, ∂_c g (c in dirs) and ∂_e∂_c g (c, e in dirs) at X by nested forward mode.

    Returns g (n, n), dg (k, n, n) with dg[i] = ∂_{dirs[i]} g, and d2g (k, k, n, n) (order 2).
    Order 2: one nested jvp per pair e ≤ c (second derivatives commute), each giving
    (g, ∂_c g, ∂_e g, ∂_e∂_c g), so g and the first derivatives come with the second ones (the
    pairs c = e give every ∂_c g) rather than from traces of their own (a quarter of the traced
    program for Kerr). Order 1: one jvp per direction, g its primal. Each on its own rather than
    vmapped over directions: under vmap over directions XLA re-evaluated the metric's
    transcendentals once per direction (and pair) inside the derivative fusions."""
    k = len(dirs)
    if k == 0:
        return metric(X), None, None
    E = jnp.eye(X.shape[0], dtype=X.dtype)

    def d1(u):
        return lambda x: jax.jvp(metric, (x,), (u,))

    if order == 1:
        jets = [d1(E[c])(X) for c in dirs]
        return jets[0][0], jnp.stack([t for _, t in jets]), None
    g, first, d2 = None, {}, {}
    for i, c in enumerate(dirs):
        for j, e in enumerate(dirs[:i + 1]):
            (g_, dc), (_, dce) = jax.jvp(d1(E[c]), (X,), (E[e],))
            g = g_ if g is None else g
            first.setdefault(i, dc)
            d2[(i, j)] = d2[(j, i)] = dce
    dg = jnp.stack([first[i] for i in range(k)])
    return g, dg, jnp.stack([jnp.stack([d2[(i, j)] for j in range(k)]) for i in range(k)])


_BARRIERS = frozenset({"riemann"})


def _barrier(tag: str, comps: dict, one: Array) -> dict:
    """Make XLA compute the components once: divided by ``one`` (exactly 1.0, built at run time
    so it is not folded away). XLA otherwise copies cheap elementwise producers into every
    consumer fusion, which multiplied the compiled code several times over (``lax.optimization_barrier``
    is dropped before fusion on CPU); a division counts as expensive and is not duplicated."""
    if tag not in _BARRIERS:
        return comps
    return {k: (None if v is None else v / one) for k, v in comps.items()}


def _key(i: int, j: int) -> tuple[int, int]:
    return (i, j) if i <= j else (j, i)


def _lin(*terms):
    """Σ coef·value over the terms that are not None (None: structurally zero)."""
    out = None
    for coef, v in terms:
        if v is None:
            continue
        if coef == 1:
            out = v if out is None else out + v
        elif coef == -1:
            out = -v if out is None else out - v
        else:
            out = coef * v if out is None else out + coef * v
    return out


def _dot(pairs):
    """Σ x·y over the pairs with neither factor None."""
    out = None
    for x, y in pairs:
        if x is None or y is None:
            continue
        out = x * y if out is None else out + x * y
    return out


def _inverse_components(g: dict, n: int, zero: Array):
    """det and g^{ab} (a ≤ b) of a symmetric matrix given by its components (None: zero), by
    cofactors; products with a zero factor are never formed."""
    G = [[g[_key(i, j)] for j in range(n)] for i in range(n)]

    def det(rows, cols):
        if len(rows) == 1:
            return G[rows[0]][cols[0]]
        return _lin(*((1 if j % 2 == 0 else -1, _dot([(G[rows[0]][c], det(rows[1:], cols[:j] + cols[j + 1:]))]))
                      for j, c in enumerate(cols)))

    idx = tuple(range(n))
    if n == 1:
        cof = {(0, 0): jnp.ones_like(zero)}
    else:
        cof = {(i, j): _lin(((-1) ** (i + j), det(idx[:i] + idx[i + 1:], idx[:j] + idx[j + 1:])))
               for i in idx for j in idx[i:]}
    d = _dot((G[0][j], cof[_key(0, j)]) for j in idx)
    d = zero if d is None else d  # structurally singular: inf/NaN below, as for any singular g
    return d, {key: (None if v is None else v / d) for key, v in cof.items()}


def _christoffel_components(ginv: dict, dg: dict, n: int):
    """Γ_{d,bc} (first kind) and Γ^a_{bc}, b ≤ c, from dg[(a, b), c] = ∂_c g_ab (None: zero)."""
    pairs = [(b, c) for b in range(n) for c in range(b, n)]
    first = {(d, (b, c)): _lin((0.5, dg[_key(d, c), b]), (0.5, dg[_key(d, b), c]), (-0.5, dg[(b, c), d]))
             for d in range(n) for (b, c) in pairs}
    second = {(a, p): _dot((ginv[_key(a, d)], first[(d, p)]) for d in range(n)) for a in range(n) for p in pairs}
    return first, second


def _components(g_arr: Array, dg_arr, d2g_arr, dirs: tuple[int, ...], structure):
    """Dicts of the independent components of the jet: g[(a, b)], dg[((a, b), c)] = ∂_c g_ab and
    d2[((a, b), (c, e))] = ∂_e∂_c g_ab for a ≤ b, c ≤ e; None where structurally zero."""
    n = g_arr.shape[0]
    deps, zero = structure
    at = {c: i for i, c in enumerate(dirs)}
    g = {(a, b): (None if zero[a, b] else g_arr[a, b]) for a in range(n) for b in range(a, n)}
    dg = {((a, b), c): (dg_arr[at[c], a, b] if c in at and deps[a, b, c] else None) for (a, b) in g for c in range(n)}
    d2 = {((a, b), (c, e)): (d2g_arr[at[e], at[c], a, b]
                             if d2g_arr is not None and c in at and e in at and deps[a, b, c] and deps[a, b, e]
                             else None)
          for (a, b) in g for c in range(n) for e in range(c, n)}
    return g, dg, d2


_STACK_MAX = 16


def _assemble(get, shape, zero):
    """Array of the given shape from components get(*index) -> value | (sign, value) | None (zero).

    Up to ``_STACK_MAX`` entries the entries are stacked (fastest at run time); larger tensors
    stack their distinct components once and spread them by one constant gather (and one sign
    multiply where needed): far fewer operations to compile than stacking every entry."""
    values, slot, idx, sgn = [zero], {}, [], []
    for index in itertools.product(*(range(k) for k in shape)):
        v = get(*index)
        s, v = v if isinstance(v, tuple) else (1, v)
        if v is None:
            idx.append(0)
            sgn.append(1)
            continue
        if id(v) not in slot:
            slot[id(v)] = len(values)
            values.append(v)
        idx.append(slot[id(v)])
        sgn.append(s)
    if len(idx) <= _STACK_MAX:  # small outputs: a plain stack was faster at run time than a gather
        signed = [values[i] if sg > 0 else -values[i] for i, sg in zip(idx, sgn)]
        return jnp.stack(signed).reshape(shape)
    vec = jnp.stack(values)
    out = vec[np.asarray(idx)]
    if any(s < 0 for s in sgn):
        out = out * jnp.asarray(np.asarray(sgn), dtype=vec.dtype)
    return out.reshape(shape)


def _curvature_components(g_arr: Array, dg_arr, d2g_arr, dirs: tuple[int, ...], structure) -> Curvature:
    """:class:`Curvature` from the jet (:func:`_jet_along`), component by component (n ≤ 4).

    R_abcd = ½(∂_b∂_c g_ad + ∂_a∂_d g_bc − ∂_a∂_c g_bd − ∂_b∂_d g_ac) + Γ^e_bc Γ_{e,ad} − Γ^e_bd Γ_{e,ac}
    (the lowered form of the module's R^a_bcd), for a < b, c < d, (a, b) ≤ (c, d); then
    R^a_bcd = g^ae R_ebcd, R_bd = g^ac R_cbad, and K = 4 Σ S_AB W^BC S_CD W^DA over bivectors
    A = (a < b), with S_AB = R_abcd and W^AB = g^ac g^bd − g^ad g^bc.
    """
    n = g_arr.shape[0]
    g, dg, d2 = _components(g_arr, dg_arr, d2g_arr, dirs, structure)
    zero = jnp.zeros_like(g_arr[0, 0])
    det, ginv = _inverse_components(g, n, zero)
    one = (g_arr[0, 0] - g_arr[0, 0]) + 1.0  # exactly 1 (NaN only where g already is)
    ginv = _barrier("inverse", ginv, one)
    first, second = _christoffel_components(ginv, dg, n)
    first, second = _barrier("christoffel", first, one), _barrier("christoffel", second, one)

    def gi(a, b):
        return ginv[_key(a, b)]

    def gam(a, b, c):
        return second[(a, _key(b, c))]

    def D2(a, b, c, e):
        return d2[(_key(a, b), _key(c, e))]

    biv = [(a, b) for a in range(n) for b in range(a + 1, n)]
    order = {P: i for i, P in enumerate(biv)}
    low = {}
    for i, (a, b) in enumerate(biv):
        for (c, d) in biv[i:]:
            low[((a, b), (c, d))] = _lin(
                (0.5, D2(a, d, b, c)), (0.5, D2(b, c, a, d)), (-0.5, D2(b, d, a, c)), (-0.5, D2(a, c, b, d)),
                (1, _dot((gam(e, b, c), first[(e, _key(a, d))]) for e in range(n))),
                (-1, _dot((gam(e, b, d), first[(e, _key(a, c))]) for e in range(n))))

    low = _barrier("riemann", low, one)

    def R(a, b, c, d):  # R_abcd as (sign, independent component), or None where zero
        if a == b or c == d:
            return None
        s = 1
        if a > b:
            a, b, s = b, a, -s
        if c > d:
            c, d, s = d, c, -s
        P, Q = (a, b), (c, d)
        if order[P] > order[Q]:
            P, Q = Q, P
        v = low[(P, Q)]
        return None if v is None else (s, v)

    ricci = {}
    for b in range(n):
        for d in range(b, n):
            terms = [(gi(a, c), R(c, b, a, d)) for a in range(n) for c in range(n)]
            ricci[(b, d)] = _lin(*((r[0], _dot([(x, r[1])])) for x, r in terms if r is not None))
    scalar = _lin(*((1 if b == d else 2, _dot([(gi(b, d), ricci[(b, d)])])) for (b, d) in ricci))
    scalar = zero if scalar is None else scalar
    einstein = {p: _lin((1, ricci[p]), (-0.5, _dot([(g[p], scalar)]))) for p in ricci}

    # Tensor outputs from the independent components (_assemble); R^a_bcd = g^ae R_ebcd as an
    # unrolled broadcast product on the arrays; K from the bivector form, component by component.
    ginv_arr = _assemble(gi, (n, n), zero)
    low_arr = _assemble(R, (n, n, n, n), zero)
    riemann = _ein("ae...,ebcd...->abcd...", ginv_arr, low_arr)
    if biv:
        m = len(biv)
        W = {}
        for A, (a, b) in enumerate(biv):
            for B, (c, d) in enumerate(biv[A:], A):
                W[(A, B)] = W[(B, A)] = _lin((1, _dot([(gi(a, c), gi(b, d))])), (-1, _dot([(gi(a, d), gi(b, c))])))
        S = {(A, B): R(*biv[A], *biv[B]) for A in range(m) for B in range(m)}
        T = {}
        for A in range(m):
            for B in range(m):
                terms = [(S[(A, C)][0], _dot([(S[(A, C)][1], W[(C, B)])])) for C in range(m) if S[(A, C)] is not None]
                T[(A, B)] = _lin(*terms)
        kretsch = _dot((T[(A, B)], T[(B, A)]) for A in range(m) for B in range(m))
        kretsch = zero if kretsch is None else 4.0 * kretsch
    else:
        kretsch = zero
    return Curvature(
        metric=g_arr,
        inverse_metric=ginv_arr,
        det=det,
        christoffel=_assemble(gam, (n, n, n), zero),
        riemann=riemann,
        ricci_tensor=_assemble(lambda a, b: ricci[_key(a, b)], (n, n), zero),
        ricci_scalar=scalar,
        einstein_tensor=_assemble(lambda a, b: einstein[_key(a, b)], (n, n), zero),
        kretschmann=kretsch)


@_point_kernel(0)
def christoffel(metric: Metric, X: Float[Array, " n"]) -> Float[Array, "n n n"]:
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


def _christoffel(metric: Metric, X: Array) -> tuple[Array, Array]:
    """(Γ^a_bc, flags of ``_MESSAGES``) at one point; the body of :func:`christoffel`."""
    X = _check_point(metric, X)
    n = X.shape[0]
    structure = _structure(metric, X) if n <= _COMPONENTS_MAX_N else None
    if structure is not None and _sparse_structure(n, structure):
        dirs = _directions(structure)
        g_arr, dg_arr, _ = _jet_along(metric, X, dirs, 1)
        g, dg, _ = _components(g_arr, dg_arr, None, dirs, structure)
        det, ginv = _inverse_components(g, n, jnp.zeros_like(g_arr[0, 0]))
        _, second = _christoffel_components(ginv, dg, n)
        gamma = _assemble(lambda a, b, c: second[(a, _key(b, c))], (n, n, n), jnp.zeros_like(g_arr[0, 0]))
        return gamma, _metric_flags(X, g_arr, det, gamma)
    dg, g = jax.jacfwd(lambda x: (metric(x),) * 2, has_aux=True)(X)
    det, ginv = _inverse(g)
    gamma = _ein("ad,dbc->abc", ginv, _christoffel_first(dg))
    return gamma, _metric_flags(X, g, det, gamma)


@_point_kernel(0)
def curvature(metric: Metric, X: Float[Array, " n"]) -> Curvature:
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
        dirs = _directions(structure)
        c = _curvature_components(*_jet_along(metric, X, dirs, 2), dirs, structure)
    else:
        g, dg, d2g = _jet(metric, X)
        det, ginv, gamma, dgamma = _gamma_and_derivative(g, dg, d2g)
        c = _contractions(g, ginv, det, gamma, _riemann_from(gamma, dgamma))
    # R and K contract every component of Γ and Riemann: finite only if all of them are.
    return c, _metric_flags(X, c.metric, c.det, c.ricci_scalar, c.kretschmann)


def riemann(metric: Metric, X: Float[Array, " n"]) -> Float[Array, "n n n n"]:
    """Riemann tensor R^a_{bcd} = ∂_cΓ^a_{db} − ∂_dΓ^a_{cb} + Γ^a_{ce}Γ^e_{db} − Γ^a_{de}Γ^e_{cb}
    from the Christoffels (93); stored R[a, b, c, d], antisymmetric in (c, d)."""
    return curvature(metric, X).riemann


def ricci_tensor(metric: Metric, X: Float[Array, " n"]) -> Float[Array, "n n"]:
    """Ricci tensor R_{bd} = R^a_{bad}, eq. (96) as conventions §6 reads it:
    R_μν = ∂_αΓ^α_μν − ∂_νΓ^α_μα + Γ^α_αβΓ^β_μν − Γ^α_νβΓ^β_μα. Shape (n, n), symmetric."""
    return curvature(metric, X).ricci_tensor


def ricci_scalar(metric: Metric, X: Float[Array, " n"]) -> Float[Array, ""]:
    """Ricci scalar R = g^{μν}R_μν with R_μν of eq. (96) (2-sphere of radius a: R = 2/a²)."""
    return curvature(metric, X).ricci_scalar


def einstein_tensor(metric: Metric, X: Float[Array, " n"]) -> Float[Array, "n n"]:
    """Einstein tensor G_μν = R_μν − ½ g_μν R (lower indices), R_μν of eq. (96).

    conventions §6: the Euler-Lagrange expression of √|g| R is −√|g| G^{μν}; Einstein's equations read
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


def on_points(fn: Callable, metric: Metric, points: Float[Array, "N n"], *, chunk_size: int = 4096):
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
    return _metric_flags(no, g_field, _inverse(g_field)[0]).at[0].set(~jnp.all(jnp.isfinite(g_field)))


@functools.partial(jax.jit, static_argnames="method")
def _curvature_on_grid(g_field, grid, method):
    det, ginv, gamma = _grid_christoffel(g_field, grid, method)
    dgamma = _grid_gradient(gamma, grid, method)
    c = _contractions(g_field, ginv, det, gamma, _riemann_from(gamma, dgamma))
    no = jnp.zeros((), bool)
    return c, jnp.stack([no, no, no, ~jnp.isfinite(jnp.sum(c.ricci_scalar) + jnp.sum(c.kretschmann)), no])


__all__ = ["Curvature", "christoffel", "riemann", "ricci_tensor", "ricci_scalar", "einstein_tensor",
           "kretschmann", "covariant_divergence", "curvature", "curvature_on_grid", "on_points"]

