"""Precision switch and dtype-keyed tolerances.

JAX computes in float32 unless x64 is enabled process-wide. Accuracy work in this package
(partition functions, spectral derivatives, curvature) wants float64; throughput work (large batch
experiments) may want float32. Kernels never cast: they compute in the dtype of their inputs, so
the one switch below decides what "default" arrays are.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["set_precision", "default_dtype", "dtype_tol", "rtol", "solver_tol"]

_PRECISIONS = ("float32", "float64")


def set_precision(name: str) -> None:
    """Select the default floating dtype for the whole process: ``"float64"`` or ``"float32"``.

    ``"float64"`` enables ``jax_enable_x64``; call it before creating arrays. Kernels keep the
    dtype of the arrays they are given either way.
    """
    if not isinstance(name, str) or name not in _PRECISIONS:
        raise ValueError(f"precision must be one of {_PRECISIONS}, got {name!r}")
    jax.config.update("jax_enable_x64", name == "float64")


def default_dtype() -> np.dtype:
    """The floating dtype new arrays get under the current precision setting."""
    return jnp.zeros(()).dtype


# Relative tolerances for comparing two computations of the same quantity. float32 carries ~7
# digits; a log-det of an N = 100 matrix loses about log10(cond) more, hence 1e-4 rather than 1e-6.
_RTOL = {np.dtype("float32"): 1e-4, np.dtype("float64"): 1e-10}


def rtol(dtype) -> float:
    """Relative tolerance for agreement of two routes to one quantity in ``dtype`` (float32 or float64)."""
    return _RTOL[_known_dtype(dtype)]


def _known_dtype(dtype) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be a NumPy/JAX dtype, got {dtype!r}") from None
    if dt not in _RTOL:
        raise ValueError(f"dtype must be float32 or float64, got {dt}")
    return dt


def dtype_tol(dtype, *, float64: float, float32: float) -> float:
    """The package's one dtype-keyed tolerance policy: ``float64`` for float64/complex128 arrays,
    ``float32`` for float32/complex64 ones. Each caller states both values and why beside the call
    (a solver's stopping rule, a symmetry check); ``tests/test_layout.py`` allows no other switch."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be a NumPy/JAX dtype, got {dtype!r}") from None
    if not np.issubdtype(dt, np.inexact):
        raise ValueError(f"dtype must be a floating (or complex) dtype, got {dt}")
    return float64 if dt in (np.dtype("float64"), np.dtype("complex128")) else float32


def solver_tol(tol: float | None, dtype, float64_default: float) -> float:
    """A Newton tolerance: ``tol`` if given (a finite scalar >= 0), else ``float64_default`` in
    float64 (complex128) and 1e-5 in float32 (complex64).

    float32 carries ~7 digits; a residual relative 1e-10 is out of its reach, and Newton would
    run to ``max_steps`` or fail, so iterative solvers default to a tolerance the dtype can meet.
    """
    default = dtype_tol(dtype, float64=float64_default, float32=1e-5)
    if tol is not None:
        return _tolerance(tol, "tol")
    return _tolerance(default, "float64_default")


def _tolerance(x, name: str) -> float:
    # A tolerance is a finite scalar >= 0 (0 is legitimate for an absolute tolerance).
    if isinstance(x, (bool, str, bytes)) or np.ndim(x) != 0:
        raise ValueError(f"{name} must be a finite scalar >= 0, got {x!r}")
    value = float(x)
    if not (np.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite scalar >= 0, got {value}")
    return value
