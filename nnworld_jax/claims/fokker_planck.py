"""Claims of paper §4 (eqs. (18)-(22)): Fokker-Planck dynamics of the trainable variables, the
Shannon entropy and its production. All computed in the current precision (float64 by default)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.figure import Figure

from .. import fokker_planck as fp
from ..grid import Grid, integral
from ..stepping import State, solve
from ._registry import Context, Result, claim, tol

__all__: list[str] = []  # the claims register themselves on import (claims._registry); nothing to import

SPEC_ENTROPY_PRODUCTION = 0.04477887606517  # conventions §2

# Ornstein-Uhlenbeck reference: drift −k q (well at the box centre), kT = D, τ = 1/k.
OU_K, OU_D, OU_X0, OU_VAR0, OU_BOX = 1.0, 1.0, 1.0, 0.3**2, 14.0


def ou_exact(grid: Grid, t: float, k: float = OU_K, D: float = OU_D, x0: float = OU_X0,
             var0: float = OU_VAR0) -> tuple[jnp.ndarray, float, float]:
    """Exact 1D OU density at time t from N(x0, var0) (coordinates relative to the box centre):
    mean x0 e^{−kt}, variance var0 e^{−2kt} + (D/k)(1 − e^{−2kt}). Returns (p, mean, var)."""
    decay = math.exp(-k * t)
    mean, var = x0 * decay, var0 * decay**2 + D / k * (1 - decay**2)
    x = grid.axis(0) - grid.lengths[0] / 2
    return jnp.exp(-((x - mean) ** 2) / (2 * var)) / math.sqrt(2 * math.pi * var), mean, var


def _spec_problem():
    g = Grid((256,))
    q = g.axis(0)
    p = fp.normalize(jnp.exp(0.5 * jnp.cos(q) + 0.3 * jnp.sin(2 * q)), g)
    return g, p, jnp.sin(q) + 0.5 * jnp.cos(3 * q)


@claim("fokker_planck.entropy-production-forms", section="4", equations=("(22)",),
       statement="The entropy production (22) has three equal forms, −∫log p ∂_t p = ∫∂_k p(D∂_k p/p − γ∂_kF) "
                 "= ∫√p(−4D∇² + γ∇²F)√p (conventions §2 value 0.04477887606517).",
       expected_verdict="holds")
def _forms(ctx: Context) -> Result:
    g, p, F = _spec_problem()
    values, parts = jax.jit(lambda p, F: ({form: fp.entropy_production(p, g, 0.37, F=F, gamma=1.9, form=form)
                                           for form in fp.FORMS},
                                          fp.entropy_production_parts(p, g, 0.37, F=F, gamma=1.9)))(p, F)
    values = {form: float(v) for form, v in values.items()}
    dev = max(abs(v - SPEC_ENTROPY_PRODUCTION) for v in values.values())
    # float32: three 256-point quadratures of a value 0.045 carry round-off ~2e-7 (ε₃₂ = 1.2e-7 times the sum)
    return Result(dev, 0.0, tol(float64=1e-12, float32=1e-5),
                  note="max |form − reference value| over the three forms; n = 256, D = 0.37, γ = 1.9",
                  details={**values, "stochastic_part": float(parts.stochastic),
                           "learning_part": float(parts.learning)})


@claim("fokker_planck.ornstein-uhlenbeck", section="4", equations=("(18)", "(19)", "(20)", "(21)"),
       statement="For the linear drift −kq (kT = D) the Fokker-Planck equation (18) carries a Gaussian to a "
                 "Gaussian with mean x0 e^{−kt} and variance σ0²e^{−2kt} + (D/k)(1 − e^{−2kt}); its entropy (21) "
                 "is ½ log(2πe σ²(t)).",
       expected_verdict="holds")
def _ornstein_uhlenbeck(ctx: Context) -> Result:
    n, dt = (128, 0.03) if ctx.quick else (256, 0.015)
    g = Grid((n,), OU_BOX)
    ou = fp.etdrk4(g, OU_D, dt, drift=fp.ornstein_uhlenbeck_drift(g, OU_K))
    n_saves, every = 10, round(0.3 / dt)
    p0 = ou_exact(g, 0.0)[0]
    saved = jax.jit(lambda p: solve(ou, p, n_steps=n_saves * every, save_every=every))(p0)
    saved = State(saved.t[1:], saved.y[1:])  # the saves after t = 0
    times = np.asarray(saved.t)
    l1, s_err, m_err, v_err, s_num, s_exact = [], [], [], [], [], []
    x = g.axis(0) - OU_BOX / 2
    for t, p in zip(times, saved.y):
        exact, mean, var = ou_exact(g, float(t))
        l1.append(float(jnp.sum(jnp.abs(p - exact)) * g.cell_volume))
        s = float(fp.shannon_entropy(p, g))
        s_num.append(s)
        s_exact.append(0.5 * math.log(2 * math.pi * math.e * var))
        s_err.append(abs(s - s_exact[-1]))
        m = float(integral(x * p, g))
        m_err.append(abs(m - mean))
        v_err.append(abs(float(integral((x - m) ** 2 * p, g)) - var))

    fig = Figure(figsize=(9, 3.8))
    ax, ax2 = fig.subplots(1, 2)
    xs = np.asarray(x)
    for i in (0, 1, 3, n_saves - 1):
        line, = ax.plot(xs, np.asarray(saved.y[i]), lw=2, alpha=0.6, label=f"t = {times[i]:.2f}")
        ax.plot(xs[::4], np.asarray(ou_exact(g, float(times[i]))[0])[::4], "k.", ms=3)
    ax.plot(xs, np.asarray(p0), "k--", lw=1, label="t = 0")
    ax.set_xlim(-4, 4), ax.set_xlabel("q − c"), ax.set_ylabel("p(t, q)")
    ax.set_title("OU: ETDRK4 (lines) vs exact Gaussian (dots)", fontsize=9)
    ax.legend(fontsize=7)
    t_fine = np.linspace(0, times[-1], 200)
    var_fine = OU_VAR0 * np.exp(-2 * OU_K * t_fine) + OU_D / OU_K * (1 - np.exp(-2 * OU_K * t_fine))
    ax2.plot(t_fine, 0.5 * np.log(2 * np.pi * np.e * var_fine), "k-", lw=1, label="½ log(2πe σ²(t))")
    ax2.plot(times, s_num, "o", label="S = −∫p log p, eq. (21)")
    ax2.set_xlabel("t"), ax2.set_ylabel("S"), ax2.legend(fontsize=7)
    ax2.set_title("Shannon entropy", fontsize=9)
    fig.tight_layout()
    return Result(max(l1), 0.0, 1e-5, figure=fig,
                  note=f"max L1 error ∫|p − p_exact| over t = 0.3…3, N = {n}, dt = {dt}, box 14 (faces at 7σ∞)",
                  details={"times": times.tolist(), "l1": l1, "max_entropy_error": max(s_err),
                           "max_mean_error": max(m_err), "max_variance_error": max(v_err)})


def _periodic_problem():
    g = Grid((32, 32))
    x, y = g.mesh()
    F = jnp.cos(x) + 0.5 * jnp.sin(y - x)
    p0 = fp.normalize(jnp.exp(jnp.sin(x + 0.3) * jnp.cos(y)), g)
    return g, F, p0, 0.3, 0.45  # D, γ: γ/D = 1.5 keeps exp(γF/D) resolved on 32²


@claim("fokker_planck.stationary-boltzmann", section="4", equations=("(18)", "(22)"),
       statement="p ∝ exp(γF/D) is the stationary state of (18) with zero entropy production (22) (its "
                 "stochastic and learning parts cancel), and the flow relaxes any density to it.",
       expected_verdict="holds")
def _boltzmann(ctx: Context) -> Result:
    g, F, p0, D, gamma = _periodic_problem()

    @jax.jit  # one program, not one per operation
    def stationarity():
        p_eq = fp.normalize(jnp.exp(gamma * F / D), g)
        rhs = jnp.max(jnp.abs(fp.fokker_planck_rhs(p_eq, g, D, F=F, gamma=gamma)))
        production = jnp.stack([fp.entropy_production(p_eq, g, D, F=F, gamma=gamma, form=f) for f in fp.FORMS])
        return p_eq, rhs, jnp.max(jnp.abs(production)), fp.entropy_production_parts(p_eq, g, D, F=F, gamma=gamma)

    p_eq, rhs, production, parts = stationarity()
    rhs, production = float(rhs), float(production)
    relax = fp.etdrk4(g, D, 0.25, F=F, gamma=gamma)
    n_saves = 18
    saved = jax.jit(lambda p: solve(relax, p, n_steps=n_saves * 20, save_every=20))(p0)
    saved = State(saved.t[1:], saved.y[1:])  # the saves after t = 0
    ys, y_eq = np.asarray(saved.y), np.asarray(p_eq)  # on the host: per-save sums, the grid's measure
    dist = (np.sum(np.abs(ys - y_eq), axis=(1, 2)) * g.cell_volume).tolist()
    kl = (np.sum(ys * np.log(ys / y_eq), axis=(1, 2)) * g.cell_volume).tolist()
    fig = Figure(figsize=(5, 3.6))
    ax = fig.subplots()
    ax.semilogy(np.asarray(saved.t), dist, "o-", label="L1 distance to exp(γF/D)")
    ax.semilogy(np.asarray(saved.t), np.maximum(kl, 1e-18), "s-", label="relative entropy ∫p log(p/p_eq)")
    ax.set_xlabel("t"), ax.set_title("Relaxation to the Boltzmann state, 2D, D = 0.3, γ = 0.45", fontsize=9)
    ax.legend(fontsize=7)
    measured = max(rhs, production, dist[-1])
    # float32: the stationary state is exact to round-off, measured ~2e-6 (spectral ∇² lifts ε₃₂ by ~10)
    return Result(measured, 0.0, tol(float64=1e-9, float32=5e-5), figure=fig,
                  note="max of |∂_t p|, |dS/dt| (three forms) at exp(γF/D), and the L1 distance "
                       "after relaxing to t = 90",
                  details={"max_abs_rhs": rhs, "max_abs_entropy_production": production,
                           "stochastic_part": float(parts.stochastic), "learning_part": float(parts.learning),
                           "final_l1_distance": dist[-1]})


@claim("fokker_planck.entropy-balance", section="4", equations=("(21)", "(22)"),
       statement="(22) is the time derivative of (21) along (18): S(t) − S(0) = ∫σ dt with σ = stochastic "
                 "(≥ 0) + learning part.",
       expected_verdict="holds")
def _balance(ctx: Context) -> Result:
    g, F, p0, D, gamma = _periodic_problem()
    dt, n_steps = 0.02, 100 if ctx.quick else 200
    stepper = fp.etdrk4(g, D, dt, F=F, gamma=gamma)

    def observe(p):
        parts = fp.entropy_production_parts(p, g, D, F=F, gamma=gamma)
        return fp.shannon_entropy(p, g), parts.stochastic, parts.learning

    @jax.jit
    def run(p):  # every state from t = 0 (the layer's saves include the initial one)
        return jax.vmap(observe)(solve(stepper, p, n_steps=n_steps, save_every=1).y)

    s, stoch, learn = (np.asarray(a) for a in run(p0))
    sigma = stoch + learn
    # Composite Simpson on the n_steps + 1 equally spaced samples (n_steps even): error O(dt⁴).
    integral_sigma = dt / 3 * (sigma[0] + sigma[-1] + 4 * sigma[1:-1:2].sum() + 2 * sigma[2:-1:2].sum())
    delta_s = s[-1] - s[0]
    t = dt * np.arange(n_steps + 1)
    fig = Figure(figsize=(5, 3.6))
    ax = fig.subplots()
    ax.plot(t, stoch, label="stochastic 4D∫|∇√p|²")
    ax.plot(t, learn, label="learning γ∫p∇²F")
    ax.plot(t, sigma, "k", label="dS/dt, eq. (22)")
    ax.plot(t[1:-1], np.gradient(s, dt)[1:-1], "r:", label="finite-difference dS/dt of (21)")
    ax.axhline(0, color="gray", lw=0.5)
    ax.set_xlabel("t"), ax.legend(fontsize=7), ax.set_title("Entropy production parts, 2D", fontsize=9)
    # float32: 100 Simpson steps of round-off-level σ accumulate ~3e-6
    return Result(abs(integral_sigma - delta_s), 0.0, tol(float64=1e-8, float32=1e-4), figure=fig,
                  note=f"|∫σ dt (Simpson) − ΔS| over t = 0…{t[-1]:g}, dt = {dt}",
                  details={"delta_S": delta_s, "integral_sigma": integral_sigma,
                           "min_stochastic_part": float(stoch.min()), "min_learning_part": float(learn.min()),
                           "max_learning_part": float(learn.max())})
