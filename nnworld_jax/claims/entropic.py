"""Claims of paper §5 (eqs. (26)-(33)): the Euler-Lagrange equations of the entropic action, the
Fokker-Planck and Navier-Stokes forms, the (ill-)posedness of forward evolution with the learning
terms, and the action principle as a boundary-value problem.

References here are the analytic forms of ``docs/conventions.md`` §3, evaluated by pointwise autodiff
of closed-form fields (independent of the grid's spectral derivatives); the equations of motion
come from ``jax.grad`` of the discretized action (:mod:`nnworld_jax.entropic`)."""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.figure import Figure

from .. import entropic as en
from ..grid import Grid, functional_derivative, gradient
from ..stepping import solve
from ._registry import Context, Result, claim

__all__: list[str] = []  # the claims register themselves on import (claims._registry); nothing to import

COEFFS = en.Coefficients(0.3, 0.7, 1.6)  # conventions §3: D, γ, μ
PURE_LEARNING = en.Coefficients(0.0, 0.7, 1.6)  # D = 0: no quantum potential


def _p(t, q):  # conventions §3 test fields, q a 1-vector
    return jnp.exp(0.4 * jnp.cos(q[0] - t) + 0.3 * jnp.sin(2 * q[0] + t))


def _F(t, q):
    return jnp.sin(q[0]) * jnp.cos(t) + 0.3 * jnp.cos(2 * q[0] - t)


def _V(q):
    return jnp.cos(q[0])


def _lap(f):
    return lambda t, q: jnp.trace(jax.hessian(f, 1)(t, q))


def _sqrt_p(t, q):
    return jnp.sqrt(_p(t, q))


def _on(grid: Grid, fn, t=None):
    """fn(t, q) at every grid point; a space-time grid (axis 0 = t) when t is None."""
    flat = grid.mesh().reshape((grid.ndim, -1)).T
    vals = jax.jit(jax.vmap((lambda x: fn(x[0], x[1:])) if t is None else (lambda x: fn(t, x))))(flat)
    return jax.tree.map(lambda v: v.reshape(grid.shape) if v.ndim == 1 else v.T.reshape((v.shape[1], *grid.shape)),
                        vals)


# --------------------------------------------------------------------------------------- (29)-(30)

@claim("entropic.euler-lagrange", section="5", equations=("(28)", "(29)", "(30)"),
       statement="The variations of the action (26) with density (28) are δS/δF = γ∇²p - μ∂_tp - 2μγ∇·(p∇F) "
                 "(29) and δS/δp = -4D∇²√p/√p + γ∇²F + μ∂_tF + μγ|∇F|² + μV (30); the boxed terms both "
                 "come from γp∇²F.",
       expected_verdict="holds",
       needs_float64="jax.grad of the discrete action is divided by the cell area h_t·h_q ≈ 0.01, which lifts float32 round-off to ~5e-4")
def _euler_lagrange(ctx: Context) -> Result:
    st = Grid((48, 64))  # conventions §3 grid, [0, 2π)²
    p, F = _on(st, _p), _on(st, _F)
    V = _on(st, lambda t, q: _V(q))[0]
    c = COEFFS

    def reference(t, q):
        grad_p, grad_F = jax.grad(_p, 1)(t, q), jax.grad(_F, 1)(t, q)
        d_f = (c.gamma * _lap(_p)(t, q) - c.mu * jax.grad(_p, 0)(t, q)
               - 2 * c.mu * c.gamma * (jnp.dot(grad_p, grad_F) + _p(t, q) * _lap(_F)(t, q)))
        d_p = (-4 * c.D * _lap(_sqrt_p)(t, q) / _sqrt_p(t, q) + c.gamma * _lap(_F)(t, q)
               + c.mu * jax.grad(_F, 0)(t, q) + c.mu * c.gamma * jnp.dot(grad_F, grad_F) + c.mu * _V(q))
        return d_p, d_f, c.gamma * _lap(_F)(t, q), c.gamma * _lap(_p)(t, q)

    ref_p, ref_f, box_p, box_f = _on(st, reference)

    @jax.jit
    def by_grad(p, F, V):
        out = []
        for learning in (True, False):
            out.append(functional_derivative(lambda x: en.action(x, F, V, st, c, learning=learning), p, st))
            out.append(functional_derivative(lambda x: en.action(p, x, V, st, c, learning=learning), F, st))
        return out

    dp, df, dp0, df0 = by_grad(p, F, V)
    errs = {"dS/dp (30)": float(jnp.max(jnp.abs(dp - ref_p))), "dS/dF (29)": float(jnp.max(jnp.abs(df - ref_f))),
            "dS/dp without boxed": float(jnp.max(jnp.abs(dp0 - (ref_p - box_p)))),
            "dS/dF without boxed": float(jnp.max(jnp.abs(df0 - (ref_f - box_f))))}
    return Result(max(errs.values()), 0.0, 1e-10,
                  note="max |jax.grad of the discrete action / (h_t h_q) - analytic (29), (30)|, conventions §3 fields, "
                       "48 × 64, with and without the boxed terms",
                  details={**errs, "max |boxed γ∇²F|": float(jnp.max(jnp.abs(box_p))),
                           "max |boxed γ∇²p|": float(jnp.max(jnp.abs(box_f)))})


# --------------------------------------------------------------------------------------- (31)-(33)

@functools.lru_cache(maxsize=2)
def _rates_and_forms(learning: bool, t0: float = 0.4):
    g = Grid((64,))
    c = COEFFS
    p, F = _on(g, _p, t0), _on(g, _F, t0)
    V = _on(g, lambda t, q: _V(q), t0)
    p_t, F_t = jax.jit(lambda a, b, v: en.equations_of_motion(a, b, v, g, c, learning=learning))(p, F, V)
    u_t = 2 * c.gamma * gradient(F_t, g)
    gam, mu, D = c.gamma, c.mu, c.D

    def forms(t, q):
        div_pu = 2 * gam * (jnp.dot(jax.grad(_p, 1)(t, q), jax.grad(_F, 1)(t, q)) + _p(t, q) * _lap(_F)(t, q))
        u = 2 * gam * jax.grad(_F, 1)(t, q)
        grad_u = 2 * gam * jax.hessian(_F, 1)(t, q)
        quantum = jax.grad(lambda x: _lap(_sqrt_p)(t, x) / _sqrt_p(t, x))(q)
        lap_u = 2 * gam * jax.grad(lambda x: _lap(_F)(t, x))(q)
        fp = -div_pu + (gam / mu * _lap(_p)(t, q) if learning else 0.0)                    # (32)
        ns = -grad_u @ u - 2 * gam * jax.grad(_V)(q) + 8 * D * gam / mu * quantum            # (33)
        return fp, ns, -gam / mu * lap_u

    fp, ns, viscous = _on(g, forms, t0)
    return g, p_t, u_t, fp, ns, viscous


@claim("entropic.fokker-planck-form", section="5", equations=("(31)", "(32)"),
       statement="With u = 2γ∇F (31), δS/δF = 0 is the Fokker-Planck equation ∂_tp = (γ/μ)∇²p - ∇·(pu) (32).",
       expected_verdict="holds",
       needs_float64="its flow shares entropic.navier-stokes-form's cached fields, and spectral third derivatives lift float32 round-off to ~3e-4")
def _fokker_planck(ctx: Context) -> Result:
    errs = []
    for learning in (True, False):
        _, p_t, _, fp, _, _ = _rates_and_forms(learning)
        errs.append(float(jnp.max(jnp.abs(p_t - fp))))
    return Result(max(errs), 0.0, 1e-9,
                  note="max |∂_tp from jax.grad - (32)| (without (γ/μ)∇²p when learning=False), reference fields at "
                       "t = 0.4, 64 points",
                  details={"learning": errs[0], "no learning (continuity equation)": errs[1]})


@claim("entropic.navier-stokes-form", section="5", equations=("(31)", "(33)"),
       statement="u = 2γ∇F obeys ∂_tu + (u·∇)u = -2γ∇V + (8Dγ/μ)∇(∇²√p/√p) - (γ/μ)∇²u (33): a "
                 "Navier-Stokes equation with quantum pressure and negative viscosity -γ/μ.",
       expected_verdict="holds",
       needs_float64="spectral third derivatives (∇ of the quantum potential) lift float32 round-off to ~3e-3")
def _navier_stokes(ctx: Context) -> Result:
    g, _, u_t, _, ns, viscous = _rates_and_forms(True)
    err = float(jnp.max(jnp.abs(u_t - (ns + viscous))))
    flipped = float(jnp.max(jnp.abs(u_t - (ns - viscous))))
    _, _, u_t0, _, ns0, _ = _rates_and_forms(False)
    err0 = float(jnp.max(jnp.abs(u_t0 - ns0)))
    return Result(max(err, err0), 0.0, 1e-9,
                  note="max |∂_tu (= 2γ∇∂_tF from jax.grad) - (33)|, reference fields at t = 0.4, 64 points. Compared "
                       "with (33) as conventions §3 records it (checked there against the printed paper); the paper's "
                       "text itself was not re-read here.",
                  details={"learning": err, "no learning (Madelung/Euler form)": err0,
                           "with viscosity +γ/μ instead (wrong sign)": flipped})


# --------------------------------------------------------------------------------------- ill-posedness

N_SEED, SEED_STEPS = 32, 3


@functools.lru_cache(maxsize=1)
def _seeded_run():
    """One compiled run (filter σ traced) of 3 RK4 steps at D = 0 from a uniform state, every mode
    k = 1..16 of F seeded at 1e-10 (linear and decoupled at D = 0), z = (γ/μ)·16²·dt = 0.5."""
    g = Grid((N_SEED,))
    q = g.axis(0)
    nu = PURE_LEARNING.gamma / PURE_LEARNING.mu
    dt = 0.5 / (nu * (N_SEED // 2) ** 2)
    ks = np.arange(1, N_SEED // 2 + 1)
    F0 = 1e-10 * sum(jnp.cos(int(k) * q) for k in ks)
    p0 = jnp.full_like(q, 1 / (2 * math.pi))

    @jax.jit
    def run(sigma):
        stepper = en.entropic_stepper(jnp.zeros_like(q), g, PURE_LEARNING, dt, learning=True, filter=sigma)
        s0 = stepper.init((p0, F0))
        return s0.y[1], solve(stepper, (p0, F0), n_steps=SEED_STEPS).y[1]

    return g, ks, nu, dt, run


def _seeded_growth(kind: str):
    """Measured growth rate of F̂_k, k = 1..16, under filter ``kind`` (NaN where the filter removes k)."""
    g, ks, nu, dt, run = _seeded_run()
    sigma = en.spectral_filter(g, kind)
    F0, F1 = run(sigma)
    a0, a1 = np.abs(np.fft.fft(np.asarray(F0)))[ks], np.abs(np.fft.fft(np.asarray(F1)))[ks]
    kept = np.asarray(sigma)[ks] > 1e-10
    rates = np.where(kept, np.log(np.where(kept, a1, 1.0) / np.where(kept, a0, 1.0)) / (SEED_STEPS * dt), np.nan)
    return ks, rates, nu


@claim("entropic.ill-posed", section="5", equations=("(30)", "(33)"),
       statement="With the learning terms, the F equation carries the anti-diffusion -(γ/μ)∇²F (negative "
                 "viscosity in (33)): without the quantum potential (D = 0) a mode e^{ikq} grows at (γ/μ)k², "
                 "so forward evolution is ill-posed (growth set by the grid cutoff); a spectral filter caps it "
                 "at the highest kept mode.",
       expected_verdict="holds")
def _ill_posed(ctx: Context) -> Result:
    ks, none, nu = _seeded_growth("none")
    _, two_thirds, _ = _seeded_growth("two-thirds")
    _, expo, _ = _seeded_growth("exponential")
    top = float(none[-1] / (nu * ks[-1] ** 2))
    kept = ks[~np.isnan(two_thirds)]
    fig = Figure(figsize=(5.5, 4))
    ax = fig.subplots()
    kk = np.linspace(0, ks[-1], 200)
    ax.plot(kk, nu * kk**2, "k-", label="(γ/μ)k², D = 0")
    ax.plot(ks, none, "o", label="measured, no filter")
    ax.plot(ks, two_thirds, "s", mfc="none", label="2/3 filter (modes > n/3 removed)")
    ax.plot(ks, expo, "^", mfc="none", label="exponential filter (net rate per step)")
    ax.axhline(0, color="0.6", lw=0.8)
    ax.set_ylim(-40, 1.15 * float(np.nanmax(none)))  # exponential filter at k = 15: strongly damped, off scale
    ax.set_xlabel("wavenumber k"), ax.set_ylabel("growth rate of F̂_k")
    ax.set_title("learning system, D = 0, 32 points: backward-heat growth")
    ax.legend(fontsize=7)
    return Result(top, 1.0, 0.01, figure=fig,
                  note="measured growth rate of the Nyquist mode k = 16 (no filter) / (γ/μ)k², D = 0, uniform p; "
                       "RK4 with z = 0.5 (its error z⁴/120 ≈ 5e-4 is inside the tolerance)",
                  details={"k": ks.tolist(), "rate_no_filter": none.tolist(),
                           "rate_two_thirds": two_thirds.tolist(), "rate_exponential": expo.tolist(),
                           "two_thirds_highest_kept_k": int(kept.max()),
                           "two_thirds_top_rate_over_prediction":
                               float(two_thirds[kept.max() - 1] / (nu * kept.max() ** 2)),
                           "exponential_max_net_rate": float(np.nanmax(expo))})


@functools.lru_cache(maxsize=8)
def _frozen_jacobian(n: int):
    """jit-compiled Jacobian of the learning (29)-(30) at the reference state (t = 0) on n points, as a
    function of the coefficients (one compilation per n)."""
    g = Grid((n,))

    @jax.jit  # one program for the reference state, not one per elementwise op
    def reference_state(q):
        p = _p(0.0, q)
        return p / (jnp.sum(p) * g.spacing[0]), _F(0.0, q), _V(q)

    p, F, V = reference_state(g.axis(0).reshape((1, n)))

    def jac(c):
        def rhs(y):
            return jnp.concatenate(en.equations_of_motion(y[:n], y[n:], V, g, c, learning=True))
        return jax.jacfwd(rhs)(jnp.concatenate([p, F]))

    return jax.jit(jac)


def _frozen_growth(n: int, c: en.Coefficients) -> float:
    """Largest real part of the spectrum of the linearized (29)-(30) at the reference state (t = 0)."""
    return float(np.linalg.eigvals(np.asarray(_frozen_jacobian(n)(c))).real.max())


@claim("entropic.quantum-regularization", section="5", equations=("(29)", "(30)", "(33)"),
       statement="The quantum potential (4D/μ)∇²√p/√p couples the anti-diffusion of F to the diffusion of p: "
                 "linearized modes evolve as exp(±k²√((γ/μ)² - 4γD/μ)t), so the learning system is ill-posed only "
                 "for γ > 4Dμ and, at the reference values (γ = 0.7 < 4Dμ = 1.92), its growth rates stay bounded as "
                 "the grid is refined (toolkit finding, not in the paper).",
       expected_verdict="holds")
def _quantum_regularization(ctx: Context) -> Result:
    ns = (15, 31) if ctx.quick else (15, 31, 63, 127)  # odd: no Nyquist mode
    kmax = np.array([(n - 1) // 2 for n in ns], float)
    spec = np.array([_frozen_growth(n, COEFFS) for n in ns])
    pure = np.array([_frozen_growth(n, PURE_LEARNING) for n in ns])
    slope_spec = float(np.polyfit(np.log(kmax), np.log(np.maximum(spec, 1e-300)), 1)[0])
    slope_pure = float(np.polyfit(np.log(kmax), np.log(pure), 1)[0])
    nyquist = _frozen_growth(64, COEFFS)
    nu = COEFFS.gamma / COEFFS.mu
    fig = Figure(figsize=(5.5, 4))
    ax = fig.subplots()
    ax.loglog(kmax, pure, "o-", label="D = 0: max Re λ")
    ax.loglog(kmax, nu * kmax**2, "k:", label="(γ/μ)k_max²")
    ax.loglog(kmax, spec, "s-", label="D = 0.3 (reference): max Re λ")
    ax.set_xlabel("grid cutoff k_max (odd n)"), ax.set_ylabel("largest growth rate")
    ax.set_title("linearized learning system at the reference state")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return Result(slope_spec, 0.0, 0.2, figure=fig,
                  note="slope of log(max Re λ) vs log k_max of the Jacobian of (29)-(30) at the reference state, odd grids, "
                       "D = 0.3 (bounded: 0; ill-posed: 2)",
                  details={"n": list(ns), "max_re_lambda_spec": spec.tolist(), "max_re_lambda_D0": pure.tolist(),
                           "slope_D0": slope_pure,
                           "even_grid_n64_nyquist_rate": nyquist, "(γ/μ)·32²": nu * 32**2,
                           "remark": "on even spectral grids the Nyquist mode (no discrete p-F coupling) grows at "
                                     "(γ/μ)(n/2)²: filter it (spectral_filter(space, 'nyquist'))"})


# --------------------------------------------------------------------------------------- action principle

def _cole_hopf(T: float, q, c: en.Coefficients):
    """Exact D = 0, V = 0 learning solution: e^{μF} solves the backward, p e^{-μF} the forward heat equation."""
    nu = c.gamma / c.mu

    def phi(t):
        return 2 + 0.5 * jnp.exp(-nu * (T - t)) * jnp.cos(q) + 0.2 * jnp.exp(-4 * nu * (T - t)) * jnp.sin(2 * q)

    def chi(t):
        return 1 + 0.3 * jnp.exp(-4 * nu * t) * jnp.cos(2 * q) + 0.1 * jnp.exp(-nu * t) * jnp.sin(q)

    return (lambda t: phi(t) * chi(t)), (lambda t: jnp.log(phi(t)) / c.mu)


@claim("entropic.action-minimization", section="5", equations=("(26)", "(29)", "(30)"),
       statement="The dynamics are a stationary point of the action (26): with end data p(0), F(T) the "
                 "stationary point of the discretized action reproduces the solution of (29)-(30) (here the "
                 "exact D = 0 learning solution, whose forward problem is ill-posed), converging at second order.",
       expected_verdict="holds",
       needs_float64="the Newton solve of the discrete action stalls at float32 round-off and never meets its tolerance")
def _action_principle(ctx: Context) -> Result:
    n, T = 32, 0.5  # 32 points: spatial error ~1e-9, far below the O(dt²) error measured
    g = Grid((n,))
    q = g.axis(0)
    c = PURE_LEARNING
    p_ex, F_ex = (jax.jit(f) for f in _cole_hopf(T, q, c))  # evaluated at many t: one program each
    V = jnp.zeros_like(q)
    Ms = (8, 16) if ctx.quick else (8, 16, 32)
    errs, residuals, newton = [], [], []

    @jax.jit  # one program per M, not one per operation
    def error(sol):
        return jnp.maximum(jnp.max(jnp.abs(sol.p - jax.vmap(p_ex)(sol.t))),
                           jnp.max(jnp.abs(sol.F - jax.vmap(F_ex)(sol.t_half))))

    for M in Ms:
        sol = en.solve_boundary_value(p_ex(0.0), F_ex(T), V, g, c, T, M)
        errs.append(float(error(sol)))
        residuals.append(float(sol.residual))
        newton.append(int(sol.newton_steps))
    order = -float(np.polyfit(np.log(Ms), np.log(errs), 1)[0])
    fig = Figure(figsize=(8, 3.2))
    ax1, ax2 = fig.subplots(1, 2)
    qq = np.asarray(q)
    for j in range(0, Ms[-1] + 1, Ms[-1] // 4):
        ax1.plot(qq, np.asarray(p_ex(float(sol.t[j]))), "k-", lw=0.8)
        ax1.plot(qq, np.asarray(sol.p[j]), "o", ms=3, label=f"t = {float(sol.t[j]):.3g}")
    ax1.set_xlabel("q"), ax1.set_ylabel("p"), ax1.set_title("stationary path (dots) vs exact (lines)")
    ax1.legend(fontsize=6)
    ax2.loglog(Ms, errs, "o-", label="max error")
    ax2.loglog(Ms, errs[0] * (Ms[0] / np.asarray(Ms, float)) ** 2, "k:", label="∝ M⁻²")
    ax2.set_xlabel("time steps M"), ax2.set_title("convergence"), ax2.legend(fontsize=7)
    fig.tight_layout()
    return Result(order, 2.0, 0.1, figure=fig,
                  note="fitted order of max |stationary point - exact| in the number of time steps M; D = 0 learning, "
                       "V = 0, T = 0.5, 32 points, p(0) and F(T) given; Newton (optimistix) on δS = 0 from jax.grad",
                  details={"M": list(Ms), "max_error": errs, "residual": residuals, "newton_steps": newton})
