"""Input validation that fails loudly: eagerly with ``ValueError`` when values are concrete, and
with a runtime error naming the problem when traced under jit/vmap/grad (:func:`raise_if`)."""

from __future__ import annotations

import contextlib
import functools
import operator
import threading

import jax
import jax.numpy as jnp
import numpy as np
from equinox.internal import unvmap_any

__all__ = ["as_float", "check", "check_count", "check_finite", "check_positive", "check_scalar", "check_square",
           "check_symmetric", "check_vector", "float_array", "float_dtype", "float_dtype_arg", "host_nonfinite",
           "host_nonpositive", "host_value", "is_traced", "all_concrete", "raise_if", "under_vmap",
           "scalar_param", "validated"]


def is_traced(x) -> bool:
    """Whether ``x`` is a tracer (inside jit/vmap/grad: no value yet) rather than a concrete value.
    The package's one test for it: a check takes its eager or its traced route by this."""
    return isinstance(x, jax.core.Tracer)


def all_concrete(*xs) -> bool:
    """Whether none of ``xs`` is a tracer (so Python can read their values)."""
    return not any(is_traced(x) for x in xs)


def under_vmap(*args) -> bool:
    """Whether any leaf of ``args`` is, or wraps (through jvp/linearize tracers), a ``jax.vmap``
    tracer. For code that must not meet ``vmap`` (``strings``' finite-difference maps use
    ``linear_call``, which has no batching rule). Reads JAX internals (the batching tracer class);
    a JAX without them answers True, the safe route."""
    try:
        from jax._src.interpreters.batching import BatchTracer
    except ImportError:  # pragma: no cover  (a JAX without it: always take the batchable path)
        return True
    stack = list(jax.tree_util.tree_leaves(args))
    while stack:
        x = stack.pop()
        if isinstance(x, BatchTracer):
            return True
        if is_traced(x):
            stack.extend(v for v in (getattr(x, "primal", None), getattr(x, "tangent", None), getattr(x, "val", None))
                         if is_traced(v))
    return False


def host_value(x) -> np.ndarray | None:
    """``x`` as a NumPy array when it is a concrete value already in host memory (a NumPy array or
    Python number, or a jax array on CPU devices), else ``None`` (a tracer, or an array on an
    accelerator, whose checks stay on the device: no transfer).

    Why: an eager check written with ``jnp`` compiles one small XLA program per op, shape and dtype
    (``isfinite``, ``invert``, ``any``, ...): about a thousand of them in ``nnworld reproduce``, each
    10-20 ms on a CPU. The same predicate in NumPy costs microseconds."""
    if is_traced(x):
        return None
    if isinstance(x, jax.Array):
        if not x.is_fully_addressable or any(d.platform != "cpu" for d in x.sharding.device_set):
            return None
        return np.asarray(x)
    try:
        return np.asarray(x)
    except (TypeError, ValueError):
        return None


_validated = threading.local()


@contextlib.contextmanager
def validated():
    """Within: checks of *traced* values are left out of the program being traced (concrete values
    are still checked). For the body of a package loop whose inputs its public entry has checked and
    which re-enters public kernels on the loop's own iterates (learning's objective U, evaluated at
    every optimizer and line-search step): each traced check compiles a reduction and a host
    callback into every evaluation (measured: ~15% of the learning claims' CPU), and what it would
    catch (an iterate gone NaN) the loop's caller checks once, on its result. Use it only around code
    traced into a program that only such a caller runs: a jitted function first traced here would
    cache its program without the checks."""
    before = getattr(_validated, "on", False)
    _validated.on = True
    try:
        yield
    finally:
        _validated.on = before


def raise_if(x, bad, message: str):
    """``x``, in a program that raises ``message`` when it runs with a True entry in ``bad``: the
    traced route of every check. Under ``vmap`` one bad member fails the whole batch. Transparent to
    differentiation: the tangent of ``x`` passes through unchanged.

    How: ``lax.cond`` on ``any(bad)`` between ``x`` and a host callback that raises, so a program
    that runs clean never calls the host. The flag is reduced over every ``vmap`` axis first
    (``equinox.internal.unvmap_any``): a batched predicate would turn the cond into a select that
    calls the host every time. This is what ``equinox.error_if`` does, minus the stack trace it
    records for ``equinox.filter_jit``'s message, which walks every frame of the caller's stack
    through JAX's traceback filter (~25 ms for each check traced, under cProfile): a serial
    ``reproduce --quick`` took ~7 s of its ~80 s less without it."""
    return _raise_if(x, unvmap_any(jnp.any(bad)), message)


@functools.partial(jax.custom_jvp, nondiff_argnums=(2,))
def _raise_if(x, pred, message: str):
    def fail(x):
        def raises():
            raise ValueError(message)

        # the host raises before returning; the result types only satisfy the cond
        return jax.pure_callback(raises, jax.tree_util.tree_map(lambda v: jax.ShapeDtypeStruct(v.shape, v.dtype), x))

    return jax.lax.cond(pred, fail, lambda x: x, x)


@_raise_if.defjvp
def _raise_if_jvp(message, primals, tangents):
    # The check stays on the primal path; the cond itself is never differentiated.
    x, pred = primals
    return _raise_if(x, pred, message), tangents[0]


def check(x, bad, message: str):
    """Return ``x``, raising ``message`` where the boolean array ``bad`` has a True entry."""
    host = host_value(bad)
    if host is not None:
        if np.any(host):
            raise ValueError(message)
        return x
    bad = jnp.any(bad)
    if not is_traced(bad):
        if bool(bad):
            raise ValueError(message)
        return x
    if getattr(_validated, "on", False):
        return x
    return raise_if(x, bad, message)


def host_nonfinite(x) -> bool | None:
    """Whether concrete host ``x`` has a NaN/inf (``None``: not on the host, decide on the device)."""
    host = host_value(x)
    return None if host is None else not bool(np.all(np.isfinite(host)))


def host_nonpositive(x) -> bool | None:
    """Whether concrete real host ``x`` has an entry that is not finite and > 0 (``None``: traced,
    on an accelerator, or complex, where ``>`` is not NumPy's to decide)."""
    host = host_value(x)
    if host is None or np.iscomplexobj(host):
        return None
    # A subnormal counts as > 0 here; XLA:CPU's answer for it depends on how the comparison was
    # compiled (flushed to zero by some emitters, not by others), so no route is more right.
    return not bool(np.all(np.isfinite(host) & (host > 0)))


def check_positive(x, name: str):
    """``x > 0`` everywhere, and finite."""
    x = jnp.asarray(x)
    message = f"{name} must be finite and > 0"
    bad = host_nonpositive(x)
    if bad is not None:
        return check(x, np.asarray(bad), message)
    return check(x, ~(x > 0) | ~jnp.isfinite(x), message)


def check_finite(x, name: str):
    x = jnp.asarray(x)
    message = f"{name} contains NaN or inf"
    bad = host_nonfinite(x)
    if bad is not None:
        return check(x, np.asarray(bad), message)
    return check(x, ~jnp.isfinite(x), message)


def check_square(a, name: str, n: int | None = None):
    """Static shape check: ``a`` is (n, n); batches go through ``jax.vmap``."""
    shape = jnp.shape(a)
    if len(shape) != 2 or shape[0] != shape[1] or (n is not None and shape[0] != n):
        want = f"({n}, {n})" if n is not None else "(N, N)"
        raise ValueError(
            f"{name} must have shape {want}, got {shape}; kernels take one unbatched network, "
            "use jax.vmap to batch"
        )
    return a


def check_vector(v, name: str, n: int):
    shape = jnp.shape(v)
    if shape != (n,):
        raise ValueError(
            f"{name} must have shape ({n},), got {shape}; kernels take one unbatched network, "
            "use jax.vmap to batch"
        )
    return v


# --- The input policy (README "Errors and domains") -------------------------------------------
# 1. Integer and bool inputs are promoted to a floating dtype *before* anything is cast to the
#    dtype of another argument, never the other way (an int array must not truncate β = 2.5).
# 2. Scalar physical parameters are scalars: a batch of them is an error that says to use vmap.
# 3. NaN/inf in any input is an error; each physical domain is checked where the value enters.
# 4. Every check returns the checked value and the caller must use it: under jit a check whose
#    result is discarded is dead code and disappears.


def as_float(x, name: str, dtype=None):
    """``x`` as a floating (or complex) array; integers and bools are promoted to ``dtype`` (or the
    default floating dtype), never truncated. Strings, objects and ``None`` are rejected by name."""
    if x is None or isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be a number or an array of numbers, got {type(x).__name__}")
    try:
        arr = jnp.asarray(x)
    except TypeError as e:
        raise TypeError(f"{name} must be a number or an array of numbers, got {type(x).__name__}") from e
    if jnp.issubdtype(arr.dtype, jnp.inexact):
        return arr if dtype is None else arr.astype(jnp.result_type(dtype, arr.dtype) if jnp.issubdtype(arr.dtype, jnp.complexfloating) else dtype)
    if jnp.issubdtype(arr.dtype, jnp.integer) or arr.dtype == jnp.bool_:
        return arr.astype(dtype if dtype is not None else jnp.zeros(()).dtype)
    raise TypeError(f"{name} must have a numeric dtype, got {arr.dtype}")


def float_dtype(*arrays):
    """The floating dtype shared by ``arrays`` after integer promotion (the widest inexact one,
    else the default floating dtype): the dtype every parameter is then cast to. Python floats
    are weak (a float32 array with β = 2.5 stays float32), as in jax's own promotion."""
    def is_inexact(a):  # anything non-numeric is left for as_float to reject by name
        try:
            return jnp.issubdtype(jnp.result_type(a), jnp.inexact)
        except (TypeError, ValueError):
            return False

    inexact = [a for a in arrays if is_inexact(a)]
    if not inexact:
        return jnp.zeros(()).dtype
    # A dtype query, no arithmetic: the standard lattice (float with complex, float32 with float64)
    # also under strict dtype promotion; the callers cast explicitly to the result.
    with jax.numpy_dtype_promotion("standard"):
        return jnp.result_type(*inexact)


def check_scalar(x, name: str):
    """Static check: ``x`` has shape (); a batch of parameters goes through ``jax.vmap``."""
    shape = jnp.shape(x)
    if shape != ():
        raise ValueError(f"{name} must be a scalar, got shape {shape}; use jax.vmap to batch over {name}")
    return x


def check_count(n, name: str, minimum: int = 1) -> int:
    """Static check: ``n`` is an integer (not a bool, not a float) and ``n >= minimum``; returns ``int(n)``.

    Counts (samples, probes, steps, grid points) fix array shapes and loop lengths, so they are
    Python integers known at trace time; a float such as 8.7 is an error, never truncated."""
    if isinstance(n, (bool, jax.core.Tracer)):
        raise TypeError(f"{name} must be an integer >= {minimum} known at trace time, got {n!r}")
    try:
        k = operator.index(n)
    except TypeError:
        raise TypeError(f"{name} must be an integer >= {minimum}, got {n!r}") from None
    if k < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {k}")
    return k


def scalar_param(x, name: str, dtype=None, *, positive: bool = False):
    """A scalar physical parameter: promoted to float (:func:`as_float`), shape () (else "use
    jax.vmap"), finite, and ``> 0`` when ``positive``. Returns the checked value: use it."""
    x = check_scalar(as_float(x, name, dtype), name)
    return check_positive(x, name) if positive else check_finite(x, name)


def float_array(x, name: str, dtype=None, *, shape: tuple[int, ...] | None = None, ndim: int | None = None):
    """An array input: promoted to float, of the given ``shape``/``ndim`` (static check, "use
    jax.vmap" for extra axes), with no NaN/inf. Returns the checked value: use it."""
    x = as_float(x, name, dtype)
    if (shape is not None and x.shape != tuple(shape)) or (ndim is not None and x.ndim != ndim):
        want = f"shape {tuple(shape)}" if shape is not None else f"{ndim} axes (ndim {ndim})"
        raise ValueError(f"{name} must have {want}, got shape {x.shape}; kernels take one unbatched "
                         "input, use jax.vmap to batch")
    return check_finite(x, name)


def check_symmetric(a, name: str):
    """``a`` (N, N) equals its transpose up to rounding (a non-symmetric matrix is an error, not
    silently mirrored). Returns the checked value.

    Tolerance 4 N ε max|a|: a product JᵀJ computed in floating point can differ from its transpose
    by at most ~2 N ε max|JᵀJ| (two length-N sums accumulated in different orders; Cauchy-Schwarz
    bounds Σ_k |J_ki J_kj| by max|JᵀJ|), so no symmetric-by-construction matrix is refused."""
    a = jnp.asarray(a)
    host = host_value(a)
    if host is not None:
        scale = np.max(np.abs(host))
        tol = 4 * host.shape[-1] * jnp.finfo(host.dtype).eps * (scale if np.isfinite(scale) else 0)
        return check(a, np.abs(host - host.T) > tol, f"{name} must be symmetric")
    scale = jnp.max(jnp.abs(a))
    tol = 4 * a.shape[-1] * jnp.finfo(a.dtype).eps * jnp.where(jnp.isfinite(scale), scale, 0)
    return check(a, jnp.abs(a - a.T) > tol, f"{name} must be symmetric")


def float_dtype_arg(dtype, name: str = "dtype"):
    """A ``dtype=`` argument: ``None`` (the default floating dtype) or a floating dtype, canonicalized
    for the current precision; anything else is an error naming the argument."""
    try:
        dtype = jnp.zeros(()).dtype if dtype is None else jax.dtypes.canonicalize_dtype(dtype)
    except TypeError:
        raise TypeError(f"{name} must be a floating dtype, got {dtype!r}") from None
    if not jnp.issubdtype(dtype, jnp.floating):
        raise ValueError(f"{name} must be a floating dtype, got {dtype}")
    return dtype
