"""Structure of a metric callable read from its jaxpr: which coordinates each g_ab depends on and
which g_ab vanish identically (paper §9: the pointwise curvature (93)-(96) of
:mod:`~nnworld_jax.curvature` skips those derivatives and zeros).

**Depends on JAX internals**: it walks ``jax.make_jaxpr`` output (``jax.extend.core`` equations, primitive
names and their ``params``: ``broadcast_in_dim``'s ``broadcast_dimensions``, ``slice``'s
``start_indices``, the ``jaxpr`` of nested ``pjit`` calls, ...) and evaluates constant equations by
NumPy. These names and parameters are not a public, stable API; a JAX release that changes them
makes the analysis conservative, not wrong: any primitive or parameter it does not understand, and any
exception, falls back to "every element depends on every coordinate, none is known to vanish"
(:func:`_structure`), so the curvature is still right, only computed without the shortcuts.
``tests/test_curvature.py`` checks the structure-analysis route against the plain route (no
analysis) on Schwarzschild, Kerr and FLRW points.

Serves :mod:`~nnworld_jax.curvature` only.
"""

from __future__ import annotations

import jax
import jax.extend.core
import jax.numpy as jnp
import numpy as np

from .types import Array, Metric

__all__ = ["_dependent_coordinates", "_directions", "_jaxpr_deps", "_np_eval_eqn", "_np_eval_jaxpr", "_structure"]

_ELEMENTWISE = frozenset(["abs", "acos", "acosh", "add", "add_any", "and", "asin", "asinh", "atan", "atan2", "atanh", "cbrt", "ceil", "clamp", "conj", "convert_element_type", "copy", "copy_p", "cos", "cosh", "digamma", "div", "eq", "erf", "erf_inv", "erfc", "exp", "exp2", "expm1", "floor", "ge", "gt", "imag", "integer_pow", "is_finite", "le", "lgamma", "log", "log1p", "logistic", "lt", "max", "min", "mul", "ne", "neg", "nextafter", "not", "or", "pow", "real", "reduce_precision", "rem", "round", "rsqrt", "select_n", "sign", "sin", "sinh", "sqrt", "square", "sub", "tan", "tanh", "xor"])
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


def _directions(structure) -> tuple[int, ...]:
    deps, _ = structure
    return tuple(int(c) for c in np.flatnonzero(deps.reshape((-1, deps.shape[-1])).any(axis=0)))


def _dependent_coordinates(metric: Metric, X: Array) -> tuple[int, ...]:
    """Coordinates X^c that metric(X) depends on structurally: ∂_c g ≡ 0 for every other c."""
    return _directions(_structure(metric, X))
