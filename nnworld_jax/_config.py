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

_PRECISIONS = ("float32", "float64")


def set_precision(name: str) -> None:
    """Select the default floating dtype for the whole process: ``"float64"`` or ``"float32"``.

    ``"float64"`` enables ``jax_enable_x64``; call it before creating arrays. Kernels keep the
    dtype of the arrays they are given either way.
    """
    if name not in _PRECISIONS:
        raise ValueError(f"precision must be one of {_PRECISIONS}, got {name!r}")
    jax.config.update("jax_enable_x64", name == "float64")


def default_dtype() -> np.dtype:
    """The floating dtype new arrays get under the current precision setting."""
    return jnp.zeros(()).dtype


# Relative tolerances for comparing two computations of the same quantity. float32 carries ~7
# digits; a log-det of an N = 100 matrix loses about log10(cond) more, hence 1e-4 rather than 1e-6.
_RTOL = {np.dtype("float32"): 1e-4, np.dtype("float64"): 1e-10}


def rtol(dtype) -> float:
    """Relative tolerance for agreement of two routes to one quantity in ``dtype``."""
    return _RTOL[np.dtype(dtype)]


def solver_tol(tol: float | None, dtype, float64_default: float) -> float:
    """A Newton tolerance: ``tol`` if given, else ``float64_default`` in float64 and 1e-5 in float32.

    float32 carries ~7 digits; a residual relative 1e-10 is out of its reach, and Newton would
    run to ``max_steps`` or fail, so iterative solvers default to a tolerance the dtype can meet.
    """
    if tol is not None:
        return float(tol)
    return float64_default if np.dtype(dtype) == np.dtype("float64") else 1e-5
