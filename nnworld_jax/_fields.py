"""Private helpers for fields on a periodic :class:`~nnworld_jax.grid.Grid`, shared by the field modules.

Holds the unchecked derivative, gradient, divergence, Laplacian and integral kernels behind the
public functions of :mod:`nnworld_jax.grid` (``_derivative``, ``_gradient``, ``_divergence``,
``_laplacian``, ``_integral``: kernels validate their inputs once at their entry and call these
inside every ``grad``/``jacfwd`` trace), the field input policy (``_checked_field``,
``_check_method``), and the guards that keep a check alive under ``jit(grad)`` (``_guard``,
``_guard_finite``, ``_guard_positive``, ``_positive_scalar``, ``_finite_scalar``, ``_is_integer``).

Used by :mod:`~nnworld_jax.grid`, ``nnworld_jax._eom``, :mod:`~nnworld_jax.fokker_planck`, :mod:`~nnworld_jax.entropic`,
:mod:`~nnworld_jax.quantum`, :mod:`~nnworld_jax.hamilton_jacobi`, :mod:`~nnworld_jax.strings` and
:mod:`~nnworld_jax.network_gravity`. Conventions (grid, measure, methods) are those of
:mod:`nnworld_jax.grid`.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp
import numpy as np

from ._checks import as_float, check, check_scalar, host_nonfinite, host_nonpositive, host_value, is_traced
from .types import Array, Inexact

if TYPE_CHECKING:
    from .grid import Grid

__all__ = ["METHODS", "fft_modes", "fft_wavenumbers", "_check_method", "_checked_field", "_derivative", "_divergence", "_finite_scalar",
           "_cis", "_complex_dtype", "_derivative_symbol", "_promote", "_gradient", "_guard", "_guard_finite", "_guard_positive", "_integral", "_is_integer",
           "_laplacian", "_positive_scalar"]

METHODS = ("spectral", "fd2", "fd4")


def _is_integer(n) -> bool:
    try:
        return bool(int(n) == n)  # a Python bool, also for NumPy scalars (whose == gives np.bool_)
    except (TypeError, ValueError, OverflowError):
        return False


def _guard(x, bad, message: str) -> Array:
    """``check(x, bad, message)`` that also survives differentiation.

    A check on x whose result only feeds the primal output vanishes from ``jit(grad(f))`` when f is
    linear in x (the gradient does not need x, so XLA drops the check with the unused primal).
    Here the check rides on a zero that multiplies x, so every derivative with respect to x carries
    it; eagerly it raises ``ValueError`` as :func:`check` does."""
    if not is_traced(x) and host_value(bad) is not None:
        # Concrete: checked on the host, and x returned as it is (no multiply to compile per shape).
        check(x, bad, message)
        return x if isinstance(x, jax.Array) else jnp.asarray(x)
    flag = check(jnp.zeros_like(jnp.real(x), shape=()), bad, message)  # keeps a Python float's weak type
    if jnp.iscomplexobj(x):  # a real flag times a complex x: cast explicitly (strict dtype promotion)
        flag = flag.astype(jnp.result_type(x))
    return x * (1 + flag)


def _guard_finite(x, name: str) -> Array:
    bad = host_nonfinite(x)
    return _guard(x, ~jnp.isfinite(x) if bad is None else np.asarray(bad), f"{name} contains NaN or inf")


def _guard_positive(x, name: str) -> Array:
    bad = host_nonpositive(x)
    return _guard(x, ~(x > 0) | ~jnp.isfinite(x) if bad is None else np.asarray(bad), f"{name} must be finite and > 0")


def _positive_scalar(x, name: str, dtype=None) -> Array:
    """A scalar parameter > 0: promoted (never truncated), a scalar (batch with ``jax.vmap``),
    finite and > 0 under every transformation."""
    return _guard_positive(check_scalar(as_float(x, name, dtype), name), name)


def _finite_scalar(x, name: str, dtype=None) -> Array:
    return _guard_finite(check_scalar(as_float(x, name, dtype), name), name)


def _checked_field(grid: Grid, f, name: str, dtype=None, *, components: int | None = None) -> Array:
    """The input policy for a field (docs/conventions.md, README "Errors and domains"): shape
    ``grid.shape`` (or ``(components, *grid.shape)``), integers promoted to ``dtype`` (default
    float) before anything else is cast, NaN/inf an error (also under jit(grad)). Returns the
    checked array: use it."""
    # Looked up at call time: grid imports this module's kernels for its own public functions.
    from .grid import check_field

    check_field(f, grid, name, components=components)
    return _guard_finite(as_float(f, name, dtype), name)


# The package's one wavenumber builder: every spectral operator (derivatives, Laplacians, ETDRK4 and
# split-step symbols, filters) takes its modes from these two. Host NumPy: they depend on the grid's
# shape and spacing only, so no XLA program is compiled for them (an eager jnp build compiled ~4
# small programs per grid shape) and under jit they are constants.
def fft_modes(n: int, *, half: bool = False) -> np.ndarray:
    """Signed mode numbers m of an ``n``-point FFT in its output order (0, 1, …, ⌈n/2⌉-1, -⌊n/2⌋, …, -1),
    exact integers; ``half``: the ``rfft`` layout 0, 1, …, ⌊n/2⌋."""
    n = int(n)
    return np.arange(n // 2 + 1) if half else np.concatenate([np.arange((n + 1) // 2), np.arange(-(n // 2), 0)])


def fft_wavenumbers(n: int, spacing: float = 1.0, *, half: bool = False) -> np.ndarray:
    """Angular wavenumbers k_m = 2π m / (n h) of an ``n``-point FFT with spacing ``h`` (so 2π m / L),
    in the order of :func:`fft_modes`, as float64 host values; ``half``: the ``rfft`` layout."""
    return 2 * np.pi * (np.fft.rfftfreq(n, d=spacing) if half else np.fft.fftfreq(n, d=spacing))


def _check_method(method: str, order: int = 1) -> None:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if isinstance(order, bool) or order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order!r}")


def _broadcast(v: Array, k: int, ndim: int) -> Array:
    # Explicit rank: callers may run with jax_numpy_rank_promotion="raise".
    return v.reshape((1,) * k + (-1,) + (1,) * (ndim - k - 1))


_COMPLEX = {np.dtype(np.float64): np.complex128, np.dtype(np.float32): np.complex64}


def _complex_dtype(real_dtype) -> np.dtype:
    """The complex dtype of a real dtype's precision: float64 -> complex128, else complex64.

    For explicit casts where a real array meets a complex one (the tests run with strict dtype
    promotion, which forbids the implicit real-complex promotion)."""
    return np.dtype(_COMPLEX.get(np.dtype(real_dtype), np.complex64))


def _promote(*xs: Array) -> tuple[Array, ...]:
    """The arrays ``xs`` cast to their common dtype (real with complex: complex of the wider
    precision, as standard promotion gives), for mixed products under strict dtype promotion."""
    dtype = np.result_type(*(np.dtype(x.dtype) for x in xs))
    return tuple(x.astype(dtype) for x in xs)


def _cis(theta) -> Array:
    """e^{iθ} = cos θ + i sin θ for real θ, in θ's precision (complex64 or complex128).

    Replaces ``jnp.exp(1j * theta)``, whose weak complex times a real array is an implicit
    real-complex promotion (an error under strict dtype promotion)."""
    theta = jnp.asarray(theta)
    if np.dtype(theta.dtype) not in _COMPLEX:  # integers, half precision: float32 as jnp.exp would
        theta = theta.astype(jnp.float32)
    return jax.lax.complex(jnp.cos(theta), jnp.sin(theta))


def _derivative_symbol(n: int, spacing: float, order: int, real_dtype, *, half: bool = False) -> Array:
    """The spectral symbol (i k)^order of d^order/dq^order on an ``n``-point axis, in the complex dtype
    of ``real_dtype``'s precision, built on the host (no implicit real-complex promotion: the tests
    run with strict dtype promotion); the Nyquist mode of an even grid is dropped from odd orders.
    ``half``: the ``rfft`` layout. Shared by the field and the metric derivatives."""
    mult = (1j * fft_wavenumbers(n, spacing, half=half)) ** order
    if order % 2 == 1 and n % 2 == 0:
        mult[n // 2] = 0.0
    return jnp.asarray(mult, _complex_dtype(real_dtype))


def _spectral_derivative(grid: Grid, f: Inexact[Array, "*grid"], k: int, order: int) -> Inexact[Array, "*grid"]:
    real = not jnp.iscomplexobj(f)
    mult = _derivative_symbol(grid.shape[k], grid.spacing[k], order, jnp.real(f).dtype)
    fh = jnp.fft.fft(f, axis=k)
    df = jnp.fft.ifft(fh * _broadcast(mult, k, f.ndim), axis=k)
    return df.real if real else df


_STENCILS = {  # central differences: (offset, weight) for d/dq and d²/dq², times h^-order
    ("fd2", 1): ((1, 0.5), (-1, -0.5)),
    ("fd2", 2): ((1, 1.0), (0, -2.0), (-1, 1.0)),
    ("fd4", 1): ((2, -1 / 12), (1, 2 / 3), (-1, -2 / 3), (-2, 1 / 12)),
    ("fd4", 2): ((2, -1 / 12), (1, 4 / 3), (0, -5 / 2), (-1, 4 / 3), (-2, -1 / 12)),
}


@functools.partial(jax.jit, static_argnames=("axis", "order", "method"))
def _derivative(grid: Grid, f: Array, axis: int, order: int, method: str) -> Array:
    # Unchecked: kernels validate once at their entry, not inside every grad/jacfwd trace.
    # Jitted: called eagerly (a claim's field), the FFT route was ~6 single-op programs per shape.
    if method == "spectral":
        return _spectral_derivative(grid, f, axis, order)
    h = grid.spacing[axis]
    # f(q + s h) is f rolled by -s along the axis.
    return sum(wt * jnp.roll(f, -s, axis=axis) for s, wt in _STENCILS[method, order]) / h**order


def _gradient(grid: Grid, f: Array, method: str) -> Array:
    return jnp.stack([_derivative(grid, f, k, 1, method) for k in range(grid.ndim)])


def _divergence(grid: Grid, v: Array, method: str) -> Array:
    return sum(_derivative(grid, v[k], k, 1, method) for k in range(grid.ndim))


def _laplacian(grid: Grid, f: Array, method: str) -> Array:
    return sum(_derivative(grid, f, k, 2, method) for k in range(grid.ndim))


def _integral(grid: Grid, f: Array) -> Array:
    return jnp.sum(f) * grid.cell_volume

