"""Claims of paper §9 (emergent gravity, eqs. (93)-(96)): the curvature built from the Christoffel
symbols (93) and the Ricci tensor (96, conventions §6 reading) gives the textbook solutions of general
relativity — Schwarzschild vacuum, the Friedmann equations — and obeys the contracted Bianchi
identity on a generic metric, the property that makes G_μν = 8πT_μν consistent with ∇_μT^μν = 0."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.figure import Figure

from .. import curvature as cv
from .. import metrics as mt
from ._registry import Context, Result, claim, tol

__all__: list[str] = []  # the claims register themselves on import (claims._registry); nothing to import

_SCHW = mt.schwarzschild(1.0)


def _schw_fields(metric, X):
    c = cv.curvature(metric, X)
    # Mixed components R^μ_ν: coordinate-scale free, comparable with √K (∝ M/r³).
    return jnp.max(jnp.abs(c.inverse_metric @ c.ricci_tensor)), c.kretschmann


@claim("curvature.schwarzschild-vacuum", section="9", equations=("(93)", "(96)"),
       statement="The Ricci tensor (96) of the Schwarzschild metric vanishes (vacuum) and its "
                 "Kretschmann scalar is 48M²/r⁶.",
       expected_verdict="holds",
       needs_float64="R_μν = 0 is a cancellation of terms ~1/r³ relative to K ~ 48M²/r⁶; float32 leaves ~1e-4")
def _schwarzschild_vacuum(ctx: Context) -> Result:
    n = 2_000 if ctx.quick else 100_000
    rng = np.random.default_rng(ctx.seed)
    r = rng.uniform(2.2, 30.0, n)
    P = jnp.asarray(np.stack([rng.uniform(-5, 5, n), r, rng.uniform(0.2, math.pi - 0.2, n),
                              rng.uniform(0, 2 * math.pi, n)], axis=1))
    ricci_max, K = cv.on_points(_schw_fields, _SCHW, P)
    K_exact = 48.0 / r**6
    rel_K = np.abs(np.asarray(K) - K_exact) / K_exact
    # Scale the R^μ_ν residual by √K (the size of the Riemann components it is built from).
    ricci_rel = float(np.max(np.asarray(ricci_max) / np.sqrt(K_exact)))
    measured = max(float(rel_K.max()), ricci_rel)

    fig = Figure(figsize=(5.5, 4))
    ax = fig.subplots()
    order = np.argsort(r)
    ax.loglog(r[order], np.asarray(K)[order], ".", ms=2, label="K by autodiff")
    ax.loglog(r[order], K_exact[order], "k-", lw=0.8, label="48M²/r⁶")
    ax.loglog(r[order], np.maximum(np.asarray(ricci_max)[order], 1e-18), ".", ms=2, label="max |R^μ_ν|")
    ax.set_xlabel("r / M"), ax.set_ylabel("curvature"), ax.set_title("Schwarzschild, M = 1")
    ax.legend(fontsize=7)
    return Result(measured, 0.0, 1e-10, figure=fig,
                  note=f"max over {n} random points (r ∈ [2.2, 30]M) of |K/(48M²/r⁶) − 1| and |R^μ_ν|/√K",
                  details={"max_rel_kretschmann_error": float(rel_K.max()), "max_ricci_over_sqrtK": ricci_rel,
                           "points": n})


def _scale_factors():
    return {"matter a=t^(2/3)": (lambda t: t ** (2.0 / 3.0),
                                 lambda t: (t ** (2 / 3), (2 / 3) * t ** (-1 / 3), -(2 / 9) * t ** (-4 / 3))),
            "a=cosh t": (jnp.cosh, lambda t: (np.cosh(t), np.sinh(t), np.cosh(t)))}


@claim("curvature.flrw-friedmann", section="9", equations=("(93)", "(96)"),
       statement="For FLRW metrics (k = 0, ±1) the Einstein tensor built from (96) gives the Friedmann "
                 "equations G_tt = 3(ȧ² + k)/a², G^i_j = −(2ä/a + (ȧ² + k)/a²)δ^i_j, with "
                 "R = 6(ä/a + (ȧ² + k)/a²) and K = 12[a²ä² + (k + ȧ²)²]/a⁴.",
       expected_verdict="holds")
def _flrw_friedmann(ctx: Context) -> Result:
    ts = np.linspace(0.5, 2.5, 5 if ctx.quick else 21)
    cases = ([("matter a=t^(2/3)", 0.0), ("a=cosh t", 1.0)] if ctx.quick
             else [(name, k) for name in _scale_factors() for k in (0.0, 1.0, -1.0)])
    errs, rows = [], []
    for name, k in cases:
        a_fn, derivs = _scale_factors()[name]
        metric = mt.flrw(a_fn, k)
        P = jnp.asarray(np.stack([ts, np.full_like(ts, 0.4), np.full_like(ts, 1.1), np.full_like(ts, 0.7)], 1))
        c = cv.on_points(cv.curvature, metric, P)
        a, ad, add = derivs(ts)
        G_mixed = np.einsum("pij,pjk->pik", np.asarray(c.inverse_metric), np.asarray(c.einstein_tensor))
        exact = {"G_tt": 3 * (ad**2 + k) / a**2, "G^i_i": -(2 * add / a + (ad**2 + k) / a**2),
                 "R": 6 * (add / a + (ad**2 + k) / a**2),
                 "K": 12 * (a**2 * add**2 + (k + ad**2) ** 2) / a**4}
        got = {"G_tt": np.asarray(c.einstein_tensor[:, 0, 0]), "G^i_i": G_mixed[:, 1, 1],
               "R": np.asarray(c.ricci_scalar), "K": np.asarray(c.kretschmann)}
        scale = max(np.max(np.abs(v)) for v in exact.values())
        err = max(np.max(np.abs(got[q] - exact[q])) for q in exact) / scale
        errs.append(err)
        rows.append((name, k, got, exact))

    fig = Figure(figsize=(8, 3.2))
    axes = fig.subplots(1, 2)
    for ax, q in zip(axes, ("G_tt", "G^i_i")):
        for name, k, got, exact in rows:
            line, = ax.plot(ts, exact[q], "-", lw=0.8)
            ax.plot(ts, got[q], "o", ms=3, color=line.get_color(), label=f"{name}, k={k:g}")
        ax.set_xlabel("t"), ax.set_title(f"{q}: autodiff (o) vs Friedmann (—)")
    axes[0].legend(fontsize=6)
    fig.tight_layout()
    # float32: second derivatives of a(t) by autodiff, relative to the largest exact value: ~1e-6
    return Result(float(max(errs)), 0.0, tol(float64=1e-11, float32=1e-4), figure=fig,
                  note="max error of G_tt, G^i_i, R, K relative to the largest exact value, over t ∈ [0.5, 2.5], "
                       "cases " + ", ".join(f"{nm} k={k:g}" for nm, k in cases),
                  details={"per_case_error": [float(e) for e in errs]})


@claim("curvature.bianchi", section="9", equations=("(93)", "(96)"),
       statement="The Einstein tensor from (96) obeys the contracted Bianchi identity ∇_μG^μν = 0 for a "
                 "generic (random, non-symmetric) metric.",
       expected_verdict="holds")
def _bianchi(ctx: Context) -> Result:
    key = jax.random.PRNGKey(ctx.seed + 9)
    ka, kw, kp, kx = jax.random.split(key, 4)
    d = 3 if ctx.quick else 4  # the identity holds in any dimension; d = 3 compiles ~3x faster
    A = jax.random.normal(ka, (3, d, d))
    A = 0.5 * (A + jnp.swapaxes(A, 1, 2))
    w, phase = jax.random.normal(kw, (3, d)), jax.random.uniform(kp, (3,), maxval=2 * math.pi)
    eta = jnp.diag(jnp.ones(d).at[0].set(-1.0))

    def metric(X):
        return eta + 0.15 * jnp.einsum("k,kab->ab", jnp.sin(w @ X + phase), A)

    def einstein_upper(X):
        c = cv.curvature(metric, X)
        return c.inverse_metric @ c.einstein_tensor @ c.inverse_metric

    def residual_and_scale(metric_, X):
        div = cv.covariant_divergence(metric_, einstein_upper, X)
        partial = jnp.einsum("mvm->v", jax.jacfwd(einstein_upper)(X))
        return jnp.max(jnp.abs(div)), jnp.max(jnp.abs(partial))

    n = 8 if ctx.quick else 64
    P = jax.random.uniform(kx, (n, d), minval=-2.0, maxval=2.0)
    res, scale = cv.on_points(residual_and_scale, metric, P)
    rel = np.asarray(res) / np.asarray(scale)
    fig = Figure(figsize=(5.5, 4))
    ax = fig.add_subplot()
    ax.loglog(np.asarray(scale), np.asarray(res), "o", ms=4,
              label=r"$\max_\nu|\nabla_\mu G^{\mu\nu}|$ (covariant)")
    ax.loglog(np.asarray(scale), np.asarray(scale), "-", lw=0.8, color="gray",
              label=r"$\max_\nu|\partial_\mu G^{\mu\nu}|$ (y = x)")
    ax.axhline(1e-11 * float(np.max(scale)), ls="--", color="C3", lw=0.8, label="tolerance × max scale")
    ax.set_xlabel(r"$\max_\nu|\partial_\mu G^{\mu\nu}|$  (the terms that cancel)")
    ax.set_ylabel("divergence")
    ax.set_title(f"Contracted Bianchi identity, random metric, d = {d}, {n} points", fontsize=9)
    ax.legend(fontsize=7)
    # float32: the covariant divergence cancels terms of size 1 to ~3e-6
    return Result(float(rel.max()), 0.0, tol(float64=1e-11, float32=1e-4), figure=fig,
                  note=f"max over {n} points of max_ν|∇_μG^μν| / max_ν|∂_μG^μν| (the terms that cancel), "
                       f"random Lorentzian metric η + 0.15 Σ sym(A_k) sin(w_k·X + φ_k) in d = {d}",
                  details={"max_abs_divergence": float(np.max(res)), "typical_partial_divergence": float(np.median(scale))})
