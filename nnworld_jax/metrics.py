"""Built-in metrics for the curvature kernels of paper §9 (emergent gravity, eqs. (93)-(96)).

Each factory returns a callable ``X -> g`` mapping one point X of shape (n,) to the covariant
metric g_ab of shape (n, n) (one point per call; batch with ``jax.vmap``). Conventions:

* geometrized units G = c = 1 (and 4πε₀ = 1 for the charge of Reissner-Nordström);
* Lorentzian metrics have signature (− + + +) with time first;
* spherical coordinates are (t, r, θ, φ), θ the polar angle.

The factories take scalar parameters (a batch of them is an error: build one metric per value, or
``jax.vmap`` over a function that builds it); the returned closures are pure functions of X and
work under ``jax.jit``, ``jax.vmap`` and forward/reverse autodiff (the curvature kernels
differentiate them twice by ``jax.jacfwd``). Parameters are validated where they enter: eagerly
(``ValueError``) for numbers, by a runtime error for traced ones. The closures check only
the shape of X (value checks inside them would hide their structure from the curvature kernels'
dataflow pass); the curvature kernels check the point and the metric's value there (NaN/inf,
symmetry, det g ≠ 0: a horizon or a pole is an error there).
"""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp
import numpy as np
from ._checks import as_float, check, check_count, check_scalar, is_traced
from .types import Array, Metric, MetricTensor, Point, Scalar

__all__ = ["minkowski", "schwarzschild", "kerr", "reissner_nordstrom", "de_sitter", "flrw", "sphere",
           "periodic_test_metric"]


def _scalar(value, name: str):
    """A real scalar parameter: int/bool promoted to float (never the other way), shape ()."""
    value = check_scalar(as_float(value, name), name)
    if not jnp.issubdtype(value.dtype, jnp.floating):
        raise TypeError(f"{name} must be real, got dtype {value.dtype}")
    return value


def _checked(value, bad, message: str):
    """``value`` once ``bad`` is False; a concrete value comes back as a Python float, so it stays
    weakly typed (a float32 point gives a float32 metric, as with a literal)."""
    if is_traced(value):
        return check(value, bad, message)
    check(value, bad, f"{message}, got {float(value)}")
    return float(value)


def _positive(value, name: str):
    value = _scalar(value, name)
    return _checked(value, ~(value > 0) | ~jnp.isfinite(value), f"{name} must be finite and > 0")


def _finite(value, name: str):
    value = _scalar(value, name)
    return _checked(value, ~jnp.isfinite(value), f"{name} must be finite")


def _point(X, n: int):
    """X as one point of shape (n,) (a static check only: see the module docstring)."""
    if jnp.shape(X) != (n,):
        raise ValueError(f"X must be one point of shape ({n},), got {jnp.shape(X)}; use jax.vmap to batch")
    return X


def _diag(*entries) -> Array:
    return jnp.diag(jnp.stack(entries))


def minkowski(n: int = 4) -> Metric:
    """Flat metric η = diag(−1, 1, …, 1) in n dimensions (Cartesian, time first).

    Example:
        >>> import jax.numpy as jnp
        >>> minkowski(3)(jnp.zeros(3)).tolist()
        [[-1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    """
    n = check_count(n, "n", 2)

    def g(X: Point) -> MetricTensor:
        X = _point(X, n)
        # a constant diagonal (no scatter: the curvature kernels' structure analysis evaluates the
        # constant entries by NumPy, which knows no scatter)
        return jnp.diag(jnp.asarray(np.array([-1.0] + [1.0] * (n - 1)), jnp.result_type(X.dtype, float)))

    return g


def schwarzschild(M: Scalar) -> Metric:
    """Schwarzschild: ds² = −f dt² + dr²/f + r²(dθ² + sin²θ dφ²), f = 1 − 2M/r, X = (t, r, θ, φ).

    Vacuum solution of G_μν = 0 with Kretschmann scalar 48M²/r⁶ (outside r = 2M).
    """
    M = _positive(M, "M")

    def g(X):
        _, r, th, _ = _point(X, 4)
        f = 1 - 2 * M / r
        return _diag(-f, 1 / f, r**2, (r * jnp.sin(th)) ** 2)

    return g


def kerr(M: Scalar, a: Scalar) -> Metric:
    """Kerr in Boyer-Lindquist coordinates X = (t, r, θ, φ), spin a = J/M (|a| ≤ M).

    ds² = −(1 − 2Mr/Σ)dt² − (4Mar sin²θ/Σ) dt dφ + (Σ/Δ)dr² + Σdθ²
          + (r² + a² + 2Ma²r sin²θ/Σ) sin²θ dφ²,   Σ = r² + a²cos²θ, Δ = r² − 2Mr + a².
    """
    M = _positive(M, "M")
    a = _finite(a, "a")
    a = check(a, jnp.abs(a) > M, "|a| must be <= M for a black hole" +
              ("" if is_traced(a) or is_traced(M) else f", got a = {a}, M = {M}"))

    def g(X):
        _, r, th, _ = _point(X, 4)
        s2 = jnp.sin(th) ** 2
        sigma = r**2 + (a * jnp.cos(th)) ** 2
        delta = r**2 - 2 * M * r + a**2
        gtt = -(1 - 2 * M * r / sigma)
        gtp = -2 * M * a * r * s2 / sigma
        gpp = (r**2 + a**2 + 2 * M * a**2 * r * s2 / sigma) * s2
        z = jnp.zeros_like(r)
        return jnp.stack([jnp.stack([gtt, z, z, gtp]), jnp.stack([z, sigma / delta, z, z]),
                          jnp.stack([z, z, sigma, z]), jnp.stack([gtp, z, z, gpp])])

    return g


def reissner_nordstrom(M: Scalar, Q: Scalar) -> Metric:
    """Reissner-Nordström: Schwarzschild form with f = 1 − 2M/r + Q²/r², X = (t, r, θ, φ).

    Charged black hole in geometrized Gaussian units (G = c = 4πε₀ = 1); its Einstein tensor is
    8π times the (traceless) Maxwell stress of the radial field E = Q/r².
    """
    M = _positive(M, "M")
    Q = _finite(Q, "Q")

    def g(X):
        _, r, th, _ = _point(X, 4)
        f = 1 - 2 * M / r + (Q / r) ** 2
        return _diag(-f, 1 / f, r**2, (r * jnp.sin(th)) ** 2)

    return g


def de_sitter(H: Scalar) -> Metric:
    """de Sitter in flat slicing: ds² = −dt² + e^{2Ht}(dx² + dy² + dz²), X = (t, x, y, z).

    Maximally symmetric with R = 12H², K = 24H⁴ (Λ = 3H²).
    """
    H = _positive(H, "H")

    def g(X):
        a2 = jnp.exp(2 * H * _point(X, 4)[0])
        return _diag(-jnp.ones_like(a2), a2, a2, a2)

    return g


def flrw(a_fn: Callable[[Array], Array], k: Scalar = 0.0) -> Metric:
    """FLRW: ds² = −dt² + a(t)²[dr²/(1 − kr²) + r²(dθ² + sin²θ dφ²)], X = (t, r, θ, φ).

    Arguments:
        a_fn: scale factor, a JAX-differentiable function of t (differentiated twice).
        k: spatial curvature (any real; ±1, 0 are the usual normalizations).

    The Friedmann equations read off its Einstein tensor: G_tt = 3(ȧ² + k)/a²,
    G^i_j = −(2ä/a + (ȧ² + k)/a²)δ^i_j.
    """
    if not callable(a_fn):
        raise TypeError(f"a_fn must be a callable t -> a(t), got {type(a_fn).__name__}")
    k = _finite(k, "k")

    def g(X):
        t, r, th, _ = _point(X, 4)
        a2 = a_fn(t) ** 2
        return _diag(-jnp.ones_like(a2), a2 / (1 - k * r**2), a2 * r**2, a2 * (r * jnp.sin(th)) ** 2)

    return g


def sphere(a: Scalar = 1.0) -> Metric:
    """Round 2-sphere of radius a: ds² = a²(dθ² + sin²θ dφ²), X = (θ, φ); R = 2/a²."""
    a = _positive(a, "a")

    def g(X):
        th = _point(X, 2)[0]
        return _diag(a**2 * jnp.ones_like(th), (a * jnp.sin(th)) ** 2)

    return g


def periodic_test_metric(d: int, eps: Scalar, signature: str = "euclidean") -> Metric:
    """The smooth periodic test metric of ``docs/conventions.md`` §6 on [0, 2π)^d:

    g_ab = base_ab + ε[cos(X_a' + X_b' + 0.3(a' + b')) + 0.7 sin(X_{(a'+b'+1) mod d} − 0.5a')],
    a' = min(a, b), b' = max(a, b) (0-based); base = δ_ab (``"euclidean"``) or diag(−1, 1, …)
    (``"lorentzian"``). reference values: d = 3, ε = 0.1, n = 24 trapezoid: ∫√g R = −0.3069736138;
    d = 2, ε = 0.2: ∫√g R = 0 (Gauss-Bonnet).
    """
    d = check_count(d, "d", 1)
    eps = _finite(eps, "eps")
    if signature not in ("euclidean", "lorentzian"):
        raise ValueError(f"signature must be 'euclidean' or 'lorentzian', got {signature!r}")
    base = [1.0] * d
    if signature == "lorentzian":
        base[0] = -1.0

    def g(X):
        X = _point(X, d)
        rows = []
        for a in range(d):
            row = []
            for b in range(d):
                lo, hi = min(a, b), max(a, b)
                val = eps * (jnp.cos(X[lo] + X[hi] + 0.3 * (lo + hi)) + 0.7 * jnp.sin(X[(lo + hi + 1) % d] - 0.5 * lo))
                row.append(val + (base[a] if a == b else 0.0))
            rows.append(jnp.stack(row))
        return jnp.stack(rows)

    return g
