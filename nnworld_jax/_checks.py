"""Input validation that fails loudly: eagerly with ``ValueError`` when values are concrete, and
through ``equinox.error_if`` (a runtime error naming the problem) when traced under jit/vmap."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp


def _is_traced(x) -> bool:
    return isinstance(x, jax.core.Tracer)


def check(x, bad, message: str):
    """Return ``x``, raising ``message`` where the boolean array ``bad`` has a True entry."""
    bad = jnp.any(bad)
    if not _is_traced(bad):
        if bool(bad):
            raise ValueError(message)
        return x
    return eqx.error_if(x, bad, message)


def check_positive(x, name: str):
    """``x > 0`` everywhere, and finite."""
    x = jnp.asarray(x)
    return check(x, ~(x > 0) | ~jnp.isfinite(x), f"{name} must be finite and > 0")


def check_finite(x, name: str):
    x = jnp.asarray(x)
    return check(x, ~jnp.isfinite(x), f"{name} contains NaN or inf")


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
