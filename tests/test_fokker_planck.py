"""Fokker-Planck dynamics, eqs. (18)-(22): the conventions §2 entropy-production value in all three forms,
the Boltzmann stationary state, the Ornstein-Uhlenbeck solution (mean, variance, entropy, dS/dt),
the stepper's fourth-order convergence, mass and dtype, and agreement with two independent
routes (the free-energy gradient flow by jax.grad, and the §5 action's equations of motion)."""

import math

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnworld_jax import entropic
from nnworld_jax import fokker_planck as fp
from nnworld_jax.grid import Grid, divergence, functional_derivative, gradient, integral
from nnworld_jax.stepping import solve

SPEC_VALUE = 0.04477887606517  # conventions §2


def spec_problem():
    g = Grid((256,))
    q = g.axis(0)
    p = fp.normalize(jnp.exp(0.5 * jnp.cos(q) + 0.3 * jnp.sin(2 * q)), g)
    F = jnp.sin(q) + 0.5 * jnp.cos(3 * q)
    return g, p, F, 0.37, 1.9


def smooth_2d():
    # 48² points resolve exp(±1.5 F) (needed by the Boltzmann test) to round-off.
    g = Grid((48, 48), lengths=(2 * math.pi, 4 * math.pi))
    x, y = g.mesh()
    p = fp.normalize(jnp.exp(0.6 * jnp.cos(x - 0.4) + 0.4 * jnp.sin(0.5 * y) * jnp.cos(x)), g)
    F = jnp.cos(x) * jnp.sin(0.5 * y) + 0.3 * jnp.sin(2 * x + 0.5 * y)
    return g, p, F


def gaussian(grid, mean, var):
    """Product Gaussian density on the grid, centred at box centre + mean (the OU convention)."""
    q = grid.mesh()
    out = jnp.ones(grid.shape)
    for a in range(grid.ndim):
        c = grid.lengths[a] / 2 + mean[a]
        out = out * jnp.exp(-((q[a] - c) ** 2) / (2 * var)) / math.sqrt(2 * math.pi * var)
    return out


def ou_moments(t, k, D, x0, var0):
    """OU with drift −k q, kT = D, τ = 1/k: mean x0 e^{−t/τ}, var σ0² e^{−2t/τ} + (D/k)(1 − e^{−2t/τ})."""
    decay = math.exp(-k * t)
    return [m * decay for m in x0], var0 * decay**2 + D / k * (1 - decay**2)


def moments(grid, p):
    """Mean (relative to the box centre) and variance per axis, by the trapezoid integral."""
    q = grid.mesh()
    mass = integral(p, grid)
    means, variances = [], []
    for a in range(grid.ndim):
        x = q[a] - grid.lengths[a] / 2
        m = integral(x * p, grid) / mass
        means.append(float(m))
        variances.append(float(integral((x - m) ** 2 * p, grid) / mass))
    return means, variances


# ------------------------------------------------------------------------------------ (21)-(22)
@pytest.mark.parametrize("form", fp.FORMS)
def test_spec_entropy_production_in_all_three_forms(form):
    # conventions §2 test. Spectral derivatives of these analytic fields are exact to round-off at n = 256
    # and integration by parts holds exactly for them, so each form hits the value to 1e-12.
    g, p, F, D, gamma = spec_problem()
    assert abs(float(fp.entropy_production(p, g, D, F=F, gamma=gamma, form=form)) - SPEC_VALUE) < 1e-12


def test_split_into_stochastic_and_learning_parts():
    # The parts are independent integrals (4D∫|∇√p|² and γ∫p∇²F); their sum is (22). The learning
    # part also equals −γ∫∇p·∇F (integration by parts), checked as a third route.
    g, p, F, D, gamma = spec_problem()
    parts = fp.entropy_production_parts(p, g, D, F=F, gamma=gamma)
    assert float(parts.stochastic) > 0
    assert abs(float(parts.total) - SPEC_VALUE) < 1e-12
    by_parts = -gamma * integral(jnp.sum(gradient(p, g) * gradient(F, g), axis=0), g)
    assert abs(float(parts.learning - by_parts)) < 1e-13


def test_forms_agree_in_2d_and_equal_the_entropy_derivative_along_the_flow():
    # dS/dt by jax.jvp of the Shannon entropy (21) in the direction ∂_t p is a fourth route to
    # (22): -∫(log p + 1) ∂_t p, and ∫∂_t p = 0. Round-off of the 2D spectral sums: 1e-12.
    g, p, F = smooth_2d()
    D, gamma = 0.25, 0.8
    rhs = fp.fokker_planck_rhs(p, g, D, F=F, gamma=gamma)
    _, dS = jax.jvp(lambda r: fp.shannon_entropy(r, g), (p,), (rhs,))
    values = [float(fp.entropy_production(p, g, D, F=F, gamma=gamma, form=f)) for f in fp.FORMS]
    assert abs(float(integral(rhs, g))) < 1e-14
    np.testing.assert_allclose(values, float(dS), rtol=0, atol=1e-12)
    assert abs(float(fp.entropy_production_parts(p, g, D, F=F, gamma=gamma).total) - float(dS)) < 1e-12


def test_shannon_entropy_of_uniform_and_gaussian():
    # Uniform on [0, L): S = log L exactly. A Gaussian well inside the box: ½ log(2πe σ²) per axis
    # (trapezoid rule is spectrally accurate for it: 1e-12).
    g = Grid((16,), 3.0)
    assert abs(float(fp.shannon_entropy(jnp.full(g.shape, 1 / 3.0), g)) - math.log(3.0)) < 1e-14
    g2 = Grid((96, 80), 14.0)
    s = float(fp.shannon_entropy(gaussian(g2, [0.3, -0.2], 0.7), g2))
    assert abs(s - 2 * 0.5 * math.log(2 * math.pi * math.e * 0.7)) < 1e-12


# ---------------------------------------------------------------------------------- (18)-(20)
def test_rhs_is_the_gradient_flow_of_the_free_energy_functional():
    # Independent route by jax.grad: ∂_t p = ∇·(p ∇ δE/δp) with E[p] = ∫(D p log p − γ p F)
    # (the Wasserstein gradient flow whose minimiser is exp(γF/D)). Same spectral derivatives,
    # different algebra: agreement to round-off (1e-11 of |∂_t p| ~ 1).
    g, p, F = smooth_2d()
    D, gamma = 0.25, 0.8

    def free_energy(r):
        return integral(D * r * jnp.log(r) - gamma * r * F, g)

    mu = functional_derivative(free_energy, p, g)
    np.testing.assert_allclose(fp.fokker_planck_rhs(p, g, D, F=F, gamma=gamma),
                               divergence(p[None] * gradient(mu, g), g), atol=1e-11)


def test_rhs_is_the_continuity_equation_of_the_section5_action():
    # The action (28) gives μ∂_t p = δH/δF, i.e. ∂_t p = (γ/μ)∇²p − 2γ∇·(p∇F) (32): eq. (18) with
    # D → γ/μ and γ → 2γ. entropic.equations_of_motion obtains it by jax.grad (1e-10 like conventions §3).
    g, p, F = smooth_2d()
    c = entropic.Coefficients(D=0.3, gamma=0.7, mu=1.6)
    dp_dt, _ = entropic.equations_of_motion(p, F, jnp.cos(g.mesh()[0]), g, c)
    np.testing.assert_allclose(fp.fokker_planck_rhs(p, g, c.gamma / c.mu, F=F, gamma=2 * c.gamma), dp_dt, atol=1e-10)


@pytest.mark.parametrize("method,order", [("fd2", 2), ("fd4", 4)])
def test_finite_difference_rhs_converges_to_the_spectral_one(method, order):
    # Central differences: error ∝ h^order; the fitted slope over n = 32..128 is within 0.25.
    errs, ns = [], [32, 64, 128]
    for n in ns:
        g = Grid((n,))

        @jax.jit
        def error(q):
            p = fp.normalize(jnp.exp(0.5 * jnp.cos(q) + 0.3 * jnp.sin(2 * q)), g)
            F = jnp.sin(q) + 0.5 * jnp.cos(3 * q)
            exact = fp.fokker_planck_rhs(p, g, 0.37, F=F, gamma=1.9)
            return jnp.max(jnp.abs(fp.fokker_planck_rhs(p, g, 0.37, F=F, gamma=1.9, method=method) - exact))

        errs.append(float(error(g.axis(0))))
    slope = np.polyfit(np.log(ns), np.log(errs), 1)[0]
    assert abs(slope + order) < 0.25, (slope, errs)


def test_boltzmann_state_is_stationary_and_its_mirror_is_not():
    # p ∝ exp(γF/D) makes the current D∇p − γp∇F vanish pointwise: ∂_t p = 0 and dS/dt = 0 to
    # round-off (1e-13), with the two parts cancelling. The sign matters: exp(−γF/D) is not
    # stationary (its |∂_t p| is O(1)), so a flipped drift sign would fail here.
    g, _, F = smooth_2d()
    D, gamma = 0.4, 0.6  # γ/D = 1.5
    p_eq = fp.normalize(jnp.exp(gamma * F / D), g)
    assert float(jnp.max(jnp.abs(fp.fokker_planck_rhs(p_eq, g, D, F=F, gamma=gamma)))) < 1e-12
    for form in fp.FORMS:
        assert abs(float(fp.entropy_production(p_eq, g, D, F=F, gamma=gamma, form=form))) < 1e-13
    parts = fp.entropy_production_parts(p_eq, g, D, F=F, gamma=gamma)
    assert float(parts.stochastic) > 0.1 and abs(float(parts.total)) < 1e-12
    mirror = fp.normalize(jnp.exp(-gamma * F / D), g)
    assert float(jnp.max(jnp.abs(fp.fokker_planck_rhs(mirror, g, D, F=F, gamma=gamma)))) > 0.1


# ------------------------------------------------------------------------------------ stepper
OU_K, OU_D = 1.0, 1.0


def test_ou_entropy_production_of_the_exact_gaussian():
    # For p = N(m, σ²) and drift −k q: dS/dt = d/dt ½ log(2πe σ²) = (D − kσ²)/σ² per axis. Box of
    # side 20: faces ≥ 8σ from the mean, truncation < 1e-14, so flow and operator forms hit it to
    # 1e-12. The flux form divides by p: where p/max p falls below the round-off of ∇p it is
    # unreliable (the conventions' form for p > 0 only), so it is checked where min p/max p ~ 1e-16 (σ² =
    # 1.4), to 1e-9 (measured 7e-12; at σ² = 0.5 it is off by 1e15, as its docstring warns).
    g = Grid((160, 144), 20.0)
    drift = fp.ornstein_uhlenbeck_drift(g, OU_K)
    for var in (0.5, 1.0, 1.4):
        p = gaussian(g, [0.4, -0.3], var)
        exact = 2 * (OU_D - OU_K * var) / var
        for form in ("flow", "operator"):
            got = fp.entropy_production(p, g, OU_D, drift=drift, drift_divergence=-2 * OU_K, form=form)
            assert abs(float(got) - exact) < 1e-12, (form, var, float(got), exact)
        parts = fp.entropy_production_parts(p, g, OU_D, drift=drift, drift_divergence=-2 * OU_K)
        assert abs(float(parts.stochastic) - 2 * OU_D / var) < 1e-12  # 4D∫|∇√p|² = D/σ² per axis
    flux = fp.entropy_production(p, g, OU_D, drift=drift, form="flux")
    assert abs(float(flux) - exact) < 1e-9


@pytest.mark.parametrize("shape,x0,dt", [((128,), [1.0], 0.05), ((64, 64), [1.0, -0.6], 0.04)])
def test_ornstein_uhlenbeck_mean_variance_entropy(shape, x0, dt):
    # Start N(x0, σ0² = 0.3²) (per axis) on a box of side 12 centred on the well; the exact law is
    # Gaussian with the moments of ou_moments. ETDRK4 at dt ≤ 0.05 (inside the stability limit
    # 6.5 D/max|v|²) gives moments and entropy to ~1e-7 and an L1 error ~4e-6 at t = 0.4 (from
    # the fast modes of the narrow start; it falls like dt⁴); box truncation (faces ≥ 5σ) and
    # spectral error are below 1e-8. Bounds 1e-6 and 1e-5 (L1) fail for any wrong drift, D or sign.
    var0 = 0.3**2 if len(shape) == 1 else 0.5**2  # 2D: h = 0.19 resolves σ0 = 0.5 spectrally
    g = Grid(shape, 12.0)
    ou = fp.etdrk4(g, OU_D, dt, drift=fp.ornstein_uhlenbeck_drift(g, OU_K))
    steps_per_save = round(0.4 / dt)
    saved = jax.jit(lambda p: solve(ou, p, n_steps=3 * steps_per_save, save_every=steps_per_save))(
        gaussian(g, x0, var0))
    for i in range(1, 4):  # saves[0] is the initial state
        t = float(saved.t[i])
        assert abs(t - 0.4 * i) < 1e-12
        mean, var = ou_moments(t, OU_K, OU_D, x0, var0)
        got_mean, got_var = moments(g, saved.y[i])
        np.testing.assert_allclose(got_mean, mean, atol=1e-6)
        np.testing.assert_allclose(got_var, var, atol=1e-6)
        s_exact = g.ndim * 0.5 * math.log(2 * math.pi * math.e * var)
        assert abs(float(fp.shannon_entropy(saved.y[i], g)) - s_exact) < 1e-6
        assert float(jnp.sum(jnp.abs(saved.y[i] - gaussian(g, mean, var))) * g.cell_volume) < 1e-5


@jax.jit
def ou_error_1d(n_steps, t=1.0):
    # n_steps traced: one compilation serves every dt.
    g = Grid((256,), 14.0)
    ou = fp.etdrk4(g, OU_D, t / n_steps, drift=fp.ornstein_uhlenbeck_drift(g, OU_K))
    p = solve(ou, gaussian(g, [1.0], 0.25**2), n_steps=n_steps).y
    decay = jnp.exp(-OU_K * t)
    mean, var = decay, 0.25**2 * decay**2 + OU_D / OU_K * (1 - decay**2)
    exact = jnp.exp(-((g.axis(0) - 7.0 - mean) ** 2) / (2 * var)) / jnp.sqrt(2 * jnp.pi * var)
    return jnp.max(jnp.abs(p - exact))


PD, PGAMMA = 0.3, 0.45  # γ/D = 1.5: exp(γF/D) resolved to round-off on 32²


def periodic_problem_2d():
    g = Grid((32, 32))
    x, y = g.mesh()
    F = jnp.cos(x) + 0.5 * jnp.sin(y - x)
    p0 = fp.normalize(jnp.exp(jnp.sin(x + 0.3) * jnp.cos(y)), g)
    return g, F, p0


@jax.jit
def periodic_2d(p0, n_steps, t=1.0):
    # n_steps traced (one compilation per dtype of p0).
    g, F, _ = periodic_problem_2d()
    return solve(fp.etdrk4(g, PD, t / n_steps, F=F, gamma=PGAMMA), p0, n_steps=n_steps)


def test_stepper_is_fourth_order_in_time():
    # Fitted slope of log max-error vs log dt. 1D: OU against the exact Gaussian (faces at 7σ,
    # truncation < 1e-11, far below the smallest error ~1e-8). 2D: a periodic F against a run
    # with dt/8. ETDRK4 is order 4; slopes within 0.3 of 4 (order reduction would show as ≤ 3).
    ns = np.array([8, 16, 32])
    errs = [float(ou_error_1d(int(n))) for n in ns]
    slope = -np.polyfit(np.log(ns), np.log(errs), 1)[0]
    assert abs(slope - 4) < 0.3, (slope, errs)
    p0 = periodic_problem_2d()[2]
    ref = periodic_2d(p0, 256).y
    errs2 = [float(jnp.max(jnp.abs(periodic_2d(p0, n).y - ref))) for n in (4, 8, 16)]
    slope2 = -np.polyfit(np.log([4, 8, 16]), np.log(errs2), 1)[0]
    assert abs(slope2 - 4) < 0.3, (slope2, errs2)


def test_stepper_agrees_with_diffrax_on_the_rhs():
    # Second method, independent of the layer: diffrax's Dopri5 (order 5) on fokker_planck_rhs with
    # a fixed step inside the explicit diffusion limit (D |k|²_max dt = 0.3·512·0.005 ≈ 0.8 < 3.3).
    # ETDRK4 at dt = 0.01 is O(dt⁴)-accurate (~1e-11 at t = 0.5, from the order test's constants),
    # Dopri5 O(dt⁵): they agree to 1e-10.
    g, F, p0 = periodic_problem_2d()
    term = diffrax.ODETerm(lambda t, p, args: fp.fokker_planck_rhs(p, g, PD, F=F, gamma=PGAMMA))
    explicit = diffrax.diffeqsolve(term, diffrax.Dopri5(), 0.0, 0.5, 0.005, p0,
                                   stepsize_controller=diffrax.ConstantStepSize(), max_steps=200).ys[-1]
    np.testing.assert_allclose(periodic_2d(p0, 50, t=0.5).y, explicit, atol=1e-10)


def test_relaxation_to_boltzmann_with_decreasing_relative_entropy():
    # From a non-equilibrium p the flow converges to exp(γF/D): the slowest mode decays at rate
    # ≈ 0.27 (measured), so after t = 90 the max error is ~3e-12 (bound 1e-10). The relative
    # entropy ∫p log(p/p_eq) decreases monotonically (the H-theorem of eq. (18)) until it reaches
    # round-off; mass is conserved to round-off throughout.
    g, F, p0 = periodic_problem_2d()
    p_eq = fp.normalize(jnp.exp(PGAMMA * F / PD), g)
    saved = jax.jit(lambda p: solve(fp.etdrk4(g, PD, 0.25, F=F, gamma=PGAMMA), p, n_steps=360, save_every=20))(p0)
    final = saved.y[-1]
    kl = np.array([float(integral(p * jnp.log(p / p_eq), g)) for p in saved.y[1:]])
    above_roundoff = kl[:-1] > 1e-13  # KL ~ |p − p_eq|², at round-off by t ≈ 50
    assert above_roundoff.sum() >= 6 and np.all(np.diff(kl)[above_roundoff] < 0), kl
    assert float(jnp.max(jnp.abs(final - p_eq))) < 1e-10
    assert abs(float(fp.entropy_production(final, g, PD, F=F, gamma=PGAMMA))) < 1e-10
    masses = np.array([float(integral(p, g)) for p in saved.y])
    assert np.max(np.abs(masses - 1.0)) < 1e-13


def test_dtype_is_kept_and_float32_agrees_with_float64():
    # float32: FFT round-off ~1e-7 relative per transform, ~13 transforms per step, 40 steps and
    # error growth bounded by the (contractive) dynamics: 2e-5 of max p is a safe bound that a
    # broken cast (float64 coefficients truncated to float16, a wrong dtype path) would exceed.
    g, F, p0 = periodic_problem_2d()
    s32 = periodic_2d(p0.astype(jnp.float32), 40)
    s64 = periodic_2d(p0, 40)
    assert s32.y.dtype == jnp.float32 and s32.t.dtype == jnp.float32 and s64.y.dtype == jnp.float64
    assert float(jnp.max(jnp.abs(s32.y.astype(s64.y.dtype) - s64.y))) < 2e-5 * float(jnp.max(s64.y))
    assert fp.fokker_planck_rhs(p0.astype(jnp.float32), g, PD, F=F, gamma=PGAMMA).dtype == jnp.float32
    assert fp.shannon_entropy(p0.astype(jnp.float32), g).dtype == jnp.float32


def test_jit_and_vmap_over_densities_and_over_diffusion():
    # vmap over a batch of initial densities equals one run each (1e-13: same program); the
    # stepper built inside vmap over D (traced coefficients) equals eager construction.
    g, F, p0 = periodic_problem_2d()
    batch = jnp.stack([p0, jnp.roll(p0, 3, axis=0), jnp.full(g.shape, float(1 / integral(jnp.ones(g.shape), g)))])
    stepper = fp.etdrk4(g, PD, 0.05, F=F, gamma=PGAMMA)
    single = jax.jit(lambda p: solve(stepper, p, n_steps=10).y)
    batched = jax.jit(jax.vmap(single))(batch)
    for i in range(3):
        np.testing.assert_allclose(batched[i], single(batch[i]), atol=1e-13)

    def run(D):
        return solve(fp.etdrk4(g, D, 0.05, F=F, gamma=PGAMMA), p0, n_steps=10).y

    by_d = jax.jit(jax.vmap(run))(jnp.array([PD, 0.4]))
    np.testing.assert_allclose(by_d[0], batched[0], atol=1e-13)
    np.testing.assert_allclose(by_d[1], jax.jit(run)(0.4), atol=1e-13)
    assert float(jnp.max(jnp.abs(by_d[1] - by_d[0]))) > 1e-3  # D matters


# ----------------------------------------------------------------------------------- failures
def test_unstable_dt_raises_instead_of_blowing_up():
    # OU on a box of side 16: max|v| = 8, stability limit dt ≲ 6.5/64 ≈ 0.1. At dt = 0.25 the step
    # map has spectral radius 4.3: the run must stop with an error, not return garbage.
    g = Grid((128,), 16.0)
    unstable = fp.etdrk4(g, OU_D, 0.25, drift=fp.ornstein_uhlenbeck_drift(g, OU_K))
    run = jax.jit(lambda p: solve(unstable, p, n_steps=80).y)
    with pytest.raises(Exception, match=r"fokker_planck\.etdrk4: a step left the domain of the state \(finite, p >= "):
        jax.block_until_ready(run(gaussian(g, [1.0], 0.1)))
    stable = fp.etdrk4(g, OU_D, 0.05, drift=fp.ornstein_uhlenbeck_drift(g, OU_K))
    p = jax.jit(lambda p: solve(stable, p, n_steps=400).y)(gaussian(g, [1.0], 0.1))
    assert float(jnp.max(jnp.abs(p - gaussian(g, [0.0], 1.0)))) < 1e-8  # stable dt: stationary N(0, D/k)


@pytest.mark.unchecked  # asserts the package's own message for input the annotations exclude
def test_bad_input_is_rejected():
    g, p, F, D, gamma = spec_problem()
    dented = p - 0.5 * jnp.max(p)  # negative by ~1/4 of the peak: not round-off
    with pytest.raises(ValueError, match="negative"):
        fp.shannon_entropy(dented, g)
    with pytest.raises(ValueError, match="NaN"):
        fp.shannon_entropy(p.at[3].set(jnp.nan), g)
    with pytest.raises(Exception, match="negative"):
        jax.jit(lambda r: fp.shannon_entropy(r, g))(dented)
    with pytest.raises(ValueError, match="> 0 everywhere"):
        fp.entropy_production(p.at[0].set(0.0), g, D, F=F, gamma=gamma, form="flux")
    assert jnp.isfinite(fp.entropy_production(p.at[0].set(0.0), g, D, F=F, gamma=gamma, form="operator"))
    with pytest.raises(ValueError, match="D must be"):
        fp.fokker_planck_rhs(p, g, 0.0, F=F, gamma=gamma)
    with pytest.raises(ValueError, match="gamma must be"):
        fp.fokker_planck_rhs(p, g, D, F=F, gamma=-1.0)
    with pytest.raises(ValueError, match="exactly one"):
        fp.fokker_planck_rhs(p, g, D, F=F, gamma=gamma, drift=gradient(F, g))
    with pytest.raises(ValueError, match="needs the learning rate"):
        fp.fokker_planck_rhs(p, g, D, F=F)
    with pytest.raises(ValueError, match="use jax.vmap"):
        fp.fokker_planck_rhs(jnp.stack([p, p]), g, D, F=F, gamma=gamma)
    with pytest.raises(ValueError, match="form"):
        fp.entropy_production(p, g, D, F=F, gamma=gamma, form="paper")
    with pytest.raises(ValueError, match="dt must be"):
        fp.etdrk4(g, D, 0.0, F=F, gamma=gamma)
    init, _ = fp.etdrk4(g, D, 0.1, F=F, gamma=gamma)
    with pytest.raises(ValueError, match="p0 has negative"):
        init(dented)


# --------------------------------------------------------------------------- input policy (issue #11)
def test_integer_density_does_not_truncate_D():
    # D was cast to p's dtype: an int p ran with D = int(0.5) = 0 (pure drift). Promotion first.
    g = Grid((16,))
    q = g.axis(0)
    p_int = jnp.round(10 * jnp.exp(jnp.cos(q))).astype(int)
    F = jnp.sin(q)
    got = fp.fokker_planck_rhs(p_int, g, 0.5, F=F, gamma=1.0)
    np.testing.assert_array_equal(got, fp.fokker_planck_rhs(p_int.astype(float), g, 0.5, F=F, gamma=1.0))
    no_diffusion = -divergence(p_int[None].astype(F.dtype) * gradient(F, g), g)
    assert float(jnp.max(jnp.abs(got - no_diffusion))) > 1.0  # D∇²p of this p is O(10), not 0


def test_batched_parameters_are_an_error_not_a_broadcast():
    g = Grid((16,))
    p = fp.normalize(jnp.exp(jnp.cos(g.axis(0))), g)
    with pytest.raises(ValueError, match=r"D must be a scalar.*jax\.vmap"):
        fp.fokker_planck_rhs(p, g, jnp.array([0.5, 1.0]), F=jnp.sin(g.axis(0)), gamma=1.0)


def test_D_check_survives_jit_grad_with_respect_to_D():
    # ∂_t p is linear in D, so d/dD needs no primal: a primal-only check on D vanished under
    # jit(grad) and D = -1 returned ∫∇²p·w as if it were fine.
    g = Grid((16,))
    q = g.axis(0)
    p = fp.normalize(jnp.exp(jnp.cos(q)), g)

    def weighted(D):
        return jnp.sum(fp.fokker_planck_rhs(p, g, D, F=jnp.sin(q), gamma=1.0) * q)

    with pytest.raises(Exception, match="D must be finite and > 0"):
        jax.block_until_ready(jax.jit(jax.grad(weighted))(-1.0))


def test_counts_are_not_truncated():
    g = Grid((16,))
    stepper = fp.etdrk4(g, 0.5, 0.1, F=jnp.sin(g.axis(0)), gamma=1.0)
    p0 = jnp.full(16, 1 / (2 * math.pi))
    with pytest.raises(TypeError, match="n_steps must be an integer"):
        solve(stepper, p0, n_steps=2.5)  # int(2.5) = 2 steps, silently
    with pytest.raises(ValueError, match="n_steps must be an integer >= 0"):
        solve(stepper, p0, n_steps=-5)  # fori_loop(0, -5) ran no step and returned the input
    with pytest.raises(ValueError, match="save_every = 3 must divide n_steps = 4"):
        solve(stepper, p0, n_steps=4, save_every=3)
