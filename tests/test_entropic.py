"""The entropic action of §5: Euler-Lagrange equations (29)-(30) from jax.grad against their analytic
forms, the Fokker-Planck (32) and Navier-Stokes (33) forms, the RK4 stepper (exact solutions, order,
filters, ill-posedness) and the action principle as a boundary-value problem.

The analytic forms of the paper live here only: every reference below is computed by pointwise
autodiff of closed-form fields, independent of the grid's spectral derivatives."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnworld_jax import entropic as en
from nnworld_jax.grid import Grid, functional_derivative, gradient
from nnworld_jax.stepping import State, solve

C = en.Coefficients(0.3, 0.7, 1.6)  # conventions §3
NU = C.gamma / C.mu


# ---------------------------------------------------------------- closed-form fields (q a K-vector)

def p_1d(t, q):  # conventions §3 test fields
    return jnp.exp(0.4 * jnp.cos(q[0] - t) + 0.3 * jnp.sin(2 * q[0] + t))


def F_1d(t, q):
    return jnp.sin(q[0]) * jnp.cos(t) + 0.3 * jnp.cos(2 * q[0] - t)


def V_1d(q):
    return jnp.cos(q[0])


def p_2d(t, q):
    return jnp.exp(0.4 * jnp.cos(q[0] - t) + 0.3 * jnp.sin(2 * q[1] + t) + 0.2 * jnp.cos(q[0] + q[1]))


def F_2d(t, q):
    return jnp.sin(q[0]) * jnp.cos(t) + 0.3 * jnp.cos(2 * q[1] - t) + 0.2 * jnp.sin(q[0] - q[1])


def V_2d(q):
    return jnp.cos(q[0]) + 0.5 * jnp.sin(q[1])


def lap(f):
    """∇² in q of f(t, q), pointwise."""
    return lambda t, q: jnp.trace(jax.hessian(f, 1)(t, q))


def sqrt_of(f):
    return lambda t, q: jnp.sqrt(f(t, q))


def reference_29_30(p_fn, F_fn, V_fn, c):
    """Eqs. (30) and (29) of conventions §3 at one point (t, q), split as
    (δS/δp without, δS/δF without, boxed γ∇²F of (30), boxed γ∇²p of (29))."""
    def at(t, q):
        p, grad_p, grad_F = p_fn(t, q), jax.grad(p_fn, 1)(t, q), jax.grad(F_fn, 1)(t, q)
        sq = sqrt_of(p_fn)
        d_s_d_f = (-c.mu * jax.grad(p_fn, 0)(t, q)
                   - 2 * c.mu * c.gamma * (jnp.dot(grad_p, grad_F) + p * lap(F_fn)(t, q)))            # (29)
        d_s_d_p = (-4 * c.D * lap(sq)(t, q) / sq(t, q) + c.mu * jax.grad(F_fn, 0)(t, q)
                   + c.mu * c.gamma * jnp.dot(grad_F, grad_F) + c.mu * V_fn(q))                          # (30)
        return d_s_d_p, d_s_d_f, c.gamma * lap(F_fn)(t, q), c.gamma * lap(p_fn)(t, q)
    return at


def on_grid(fn, grid, t=None):
    """Evaluate fn(t, q) at every point of a space grid (time t) or of a space-time grid (t = axis 0).

    Scalar outputs come back with shape ``grid.shape``, vector outputs as ``(K, *grid.shape)``."""
    flat = grid.mesh().reshape((grid.ndim, -1)).T
    vals = jax.jit(jax.vmap((lambda x: fn(x[0], x[1:])) if t is None else (lambda x: fn(t, x))))(flat)

    def shaped(v):
        return v.reshape(grid.shape) if v.ndim == 1 else v.T.reshape((v.shape[1], *grid.shape))

    return jax.tree.map(shaped, vals)


run = jax.jit(solve, static_argnums=0, static_argnames=("n_steps", "save_every"))  # one compile per stepper


# ---------------------------------------------------------------- (29)-(30) from jax.grad

@jax.jit(static_argnums=(3, 4))
def euler_lagrange(p, F, V, st, learning):
    """(δS/δp, δS/δF): jax.grad of the discretized action (26) over the space-time grid / (h_t h_q)."""
    return (functional_derivative(lambda x: en.action(x, F, V, st, C, learning=learning), p, st),
            functional_derivative(lambda x: en.action(p, x, V, st, C, learning=learning), F, st))


def test_euler_lagrange_from_grad_matches_29_30():
    # conventions §3 test: 48 (t) × 64 (q) on [0, 2π)². The fields are entire with Fourier coefficients
    # falling like 0.35^n/n!, so the spectral derivatives are exact to round-off (measured 1e-12 on
    # |δS| ≈ 10); 1e-10 is the conventions' tolerance. learning=False drops both boxed terms, so both come
    # from γ p ∇²F; they are O(1) here, so dropping only one of them would fail.
    st = Grid((48, 64))
    p = on_grid(p_1d, st)
    F = on_grid(F_1d, st)
    V = on_grid(lambda t, q: V_1d(q), st)[0]
    ref_p, ref_f, box_p, box_f = on_grid(reference_29_30(p_1d, F_1d, V_1d, C), st)
    assert float(jnp.min(jnp.array([jnp.max(jnp.abs(box_p)), jnp.max(jnp.abs(box_f))]))) > 0.5
    for learning in (True, False):
        d_s_d_p, d_s_d_f = euler_lagrange(p, F, V, st, learning)
        np.testing.assert_allclose(d_s_d_p, ref_p + float(learning) * box_p, atol=1e-10)
        np.testing.assert_allclose(d_s_d_f, ref_f + float(learning) * box_f, atol=1e-10)


def test_euler_lagrange_in_2d_space():
    # 40 (t) × 32 × 48 (q): the entire fields carry frequency 2 in q_2, so that axis needs 48 points
    # (32 leave 2e-8 in δS/δF); at these sizes the spectra fall to round-off (measured 1e-12) and
    # the tolerance is the conventions' 1e-10.
    st = Grid((40, 32, 48))
    p, F = on_grid(p_2d, st), on_grid(F_2d, st)
    V = on_grid(lambda t, q: V_2d(q), st)
    d_s_d_p, d_s_d_f = euler_lagrange(p, F, V, st, True)
    ref_p, ref_f, box_p, box_f = on_grid(reference_29_30(p_2d, F_2d, V_2d, C), st)
    np.testing.assert_allclose(d_s_d_p, ref_p + box_p, atol=1e-10)
    np.testing.assert_allclose(d_s_d_f, ref_f + box_f, atol=1e-10)


# ---------------------------------------------------------------- (31)-(33)

CASES = {1: (Grid((64,)), p_1d, F_1d, V_1d), 2: (Grid((40, 36)), p_2d, F_2d, V_2d)}


def forms_32_33(dim, t0=0.4):
    """Right-hand sides of (32) and (33) at time t0 on CASES[dim], each split into the part without
    and the boxed learning part: (32) ∂_t p = (γ/μ)∇²p - ∇·(p u), and
    (33) ∂_t u + (u·∇)u = -2γ∇V + (8Dγ/μ)∇(∇²√p/√p) - (γ/μ)∇²u, with u = 2γ∇F (31)."""
    g, p_fn, F_fn, V_fn = CASES[dim]
    gam, mu, D = C.gamma, C.mu, C.D

    def at(t, q):
        div_pu = 2 * gam * (jnp.dot(jax.grad(p_fn, 1)(t, q), jax.grad(F_fn, 1)(t, q)) + p_fn(t, q) * lap(F_fn)(t, q))
        u = 2 * gam * jax.grad(F_fn, 1)(t, q)
        grad_u = 2 * gam * jax.hessian(F_fn, 1)(t, q)  # ∂_j u_i, symmetric
        sq = sqrt_of(p_fn)
        quantum = jax.grad(lambda x: lap(sq)(t, x) / sq(t, x))(q)
        ns = -grad_u @ u - 2 * gam * jax.grad(V_fn)(q) + 8 * D * gam / mu * quantum
        lap_u = 2 * gam * jax.grad(lambda x: lap(F_fn)(t, x))(q)
        return -div_pu, gam / mu * lap(p_fn)(t, q), ns, -gam / mu * lap_u

    return on_grid(at, g, t0)


@pytest.mark.parametrize("dim", [1, 2])
def test_fokker_planck_and_navier_stokes_forms(dim):
    # ∂_t p from jax.grad equals (32) and ∂_t u = 2γ∇∂_tF equals (33) as printed (conventions §3 ✓), with
    # the learning terms (γ/μ)∇²p and -(γ/μ)∇²u present exactly when learning. Spectral derivatives
    # of entire fields: round-off ~1e-12 on values ~10; tolerance 1e-9. Flipping the sign of the
    # viscosity term (+(γ/μ)∇²u, ordinary viscosity) must fail by O(1).
    g, p_fn, F_fn, V_fn = CASES[dim]
    t0 = 0.4
    p, F = on_grid(p_fn, g, t0), on_grid(F_fn, g, t0)
    V = on_grid(lambda t, q: V_fn(q), g, t0)
    fp, fp_box, ns, ns_box = forms_32_33(dim, t0)
    for learning in (True, False):
        p_t, F_t = jax.jit(lambda a, b, v, lr=learning: en.equations_of_motion(a, b, v, g, C, learning=lr))(p, F, V)
        u_t = 2 * C.gamma * gradient(F_t, g)  # ∂_t u = 2γ ∇∂_tF
        np.testing.assert_allclose(p_t, fp + float(learning) * fp_box, atol=1e-9)
        np.testing.assert_allclose(u_t, ns + float(learning) * ns_box, atol=1e-9)
        if learning:
            assert float(jnp.max(jnp.abs(u_t - (ns - ns_box)))) > 1.0
    np.testing.assert_allclose(en.velocity(F, g, C), 2 * C.gamma * gradient(F, g), atol=0)


# ---------------------------------------------------------------- stepper: exact solutions, order

def free_schrodinger_case(n=64):
    g = Grid((n,))
    q = g.axis(0)
    p0 = jnp.exp(0.4 * jnp.cos(q) + 0.3 * jnp.sin(2 * q))
    return g, q, p0 / (jnp.sum(p0) * g.spacing[0]), 0.5 * jnp.sin(q) + 0.2 * jnp.cos(2 * q)


def test_madelung_stepper_matches_free_schrodinger_at_fourth_order():
    # learning=False, V = 0: Ψ = √p exp(iF/ħ), ħ = 2√(D/(γμ)) (conventions §3), evolves exactly as
    # Ψ̂_k(t) = Ψ̂_k(0) exp(-iħγk²t). The RK4 error of the Madelung fields must fall at order 4 in
    # dt (fitted slope within 0.3; the two dt's are in the asymptotic range), mass is conserved to
    # round-off and H (conserved by the canonical equations) to the RK4 error.
    g, q, p0, F0 = free_schrodinger_case()
    hbar = 2 * math.sqrt(C.D / (C.gamma * C.mu))
    T = 0.3
    k = g.wavenumbers(0)
    # Complex built explicitly (the suite runs with strict dtype promotion).
    psi0 = jnp.sqrt(p0).astype(complex) * jnp.exp(1j * F0.astype(complex) / hbar)
    exact = jnp.fft.ifft(jnp.fft.fft(psi0) * jnp.exp(-1j * hbar * C.gamma * (k**2 * T).astype(complex)))
    V = jnp.zeros_like(q)
    errs, h_drift = [], []
    for steps in (100, 200):  # dt = 3e-3 is inside RK4's stability bound 3.7e-3 on 64 points
        p, F = run(en.entropic_stepper(V, g, C, T / steps, learning=False), (p0, F0), n_steps=steps).y
        psi = jnp.sqrt(p).astype(complex) * jnp.exp(1j * F.astype(complex) / hbar)
        errs.append(float(jnp.max(jnp.abs(psi - exact))))
        h_drift.append(abs(float(en.hamiltonian(p, F, V, g, C, learning=False)
                                 - en.hamiltonian(p0, F0, V, g, C, learning=False))))
        assert abs(float(jnp.sum(p) * g.spacing[0]) - 1.0) < 1e-13
    order = math.log2(errs[0] / errs[1])
    assert errs[1] < 1e-7 and abs(order - 4) < 0.3, (errs, order)
    assert h_drift[1] < h_drift[0] / 8, h_drift


def cole_hopf_pair(T, q):
    """Exact solution of the learning system at D = 0, V = 0 (conventions §4 Cole-Hopf, both directions):
    φ = e^{μF} obeys ∂_tφ = -(γ/μ)∇²φ, χ obeys ∂_tχ = (γ/μ)∇²χ, and p = φχ. φ and χ are
    trigonometric polynomials, so p and F are smooth on [0, T] although forward evolution is
    ill-posed."""
    def phi(t):
        return 2 + 0.5 * jnp.exp(-NU * (T - t)) * jnp.cos(q) + 0.2 * jnp.exp(-4 * NU * (T - t)) * jnp.sin(2 * q)

    def chi(t):
        return 1 + 0.3 * jnp.exp(-4 * NU * t) * jnp.cos(2 * q) + 0.1 * jnp.exp(-NU * t) * jnp.sin(q)

    return (lambda t: phi(t) * chi(t)), (lambda t: jnp.log(phi(t)) / C.mu)


C0 = en.Coefficients(0.0, C.gamma, C.mu)


def test_filtered_learning_stepper_is_a_resolution_dependent_regularization():
    # D = 0, learning: the exact Cole-Hopf solution. F = log φ/μ is not band-limited; the 2/3 filter
    # drops its modes above n/3 (~1e-9 on 32 points) and that error then grows like
    # exp((γ/μ)k_c²t) in the highest kept mode k_c. So over T = 0.1 the filtered stepper follows the
    # exact solution (measured 4e-7 in p; tolerance 2e-6), but by T = 0.2 refining the grid from 32
    # to 48 points makes the error larger (measured 1.3e-5 → 2.1e-4), the mark of an ill-posed
    # problem: a convergent scheme would improve. With filter 'none' the Nyquist mode grows at
    # (γ/μ)·16² ≈ 112 per unit time; round-off reaches O(1) within T = 0.5 and the step raises.
    dt, errors = 1e-3, {}
    for n in (32, 48):
        g = Grid((n,))
        q = g.axis(0)
        p_ex, F_ex = cole_hopf_pair(0.2, q)
        stepper = en.entropic_stepper(jnp.zeros_like(q), g, C0, dt, learning=True,
                                      filter=en.spectral_filter(g, "two-thirds"))
        traj = run(stepper, (p_ex(0.0), F_ex(0.0)), n_steps=200, save_every=100)  # t = 0, 0.1, 0.2
        errors[n] = [float(jnp.max(jnp.abs(traj.y[0][i] - p_ex(t)))) for i, t in ((1, 0.1), (2, 0.2))]
    assert errors[32][0] < 2e-6, errors
    assert errors[48][1] > 5 * errors[32][1], errors
    g = Grid((32,))
    q = g.axis(0)
    p_ex, F_ex = cole_hopf_pair(0.2, q)
    stepper = en.entropic_stepper(jnp.zeros_like(q), g, C0, dt, learning=True, filter=en.spectral_filter(g, "none"))
    with pytest.raises(RuntimeError, match=r"entropic_stepper: a step left the domain of the state \(finite, p > 0\)"):
        jax.block_until_ready(run(stepper, (p_ex(0.0), F_ex(0.0)), n_steps=500))


def test_learning_without_filter_is_refused_with_the_reason():
    g = Grid((32,))
    V = jnp.cos(g.axis(0))
    with pytest.raises(ValueError, match="ill-posed") as info:
        en.entropic_stepper(V, g, C0, 1e-3, learning=True)
    assert "grows at 112" in str(info.value)  # (γ/μ)·16² at D = 0 on 32 points
    with pytest.raises(ValueError, match="Nyquist"):  # γ < 4Dμ: the message names the Nyquist growth
        en.entropic_stepper(V, g, C, 1e-3, learning=True)
    en.entropic_stepper(V, g, C, 1e-3, learning=False)  # the Madelung system needs no filter


# ---------------------------------------------------------------- growth rates and filters

def rk4_factor(z):
    return 1 + z + z**2 / 2 + z**3 / 6 + z**4 / 24


@pytest.mark.parametrize("kind", ["none", "two-thirds", "exponential"])
def test_growth_of_high_modes_with_and_without_filter(kind):
    # D = 0, uniform p, V = 0: F's modes are linear and decoupled, F̂_k ∝ exp((γ/μ)k²t) (backward
    # heat). Per RK4 step the factor is R(z)σ_k, R(z) = 1+z+z²/2+z³/6+z⁴/24, z = (γ/μ)k²dt, exactly
    # up to the quadratic term γ|∇F|² (relative 1e-9 at amplitude 1e-10). Seed modes 10 (the highest
    # 2/3-rule mode), 15 and 16 (Nyquist).
    n, steps = 32, 3  # 3 steps keep the most damped seed (mode 15, exponential filter) far above round-off
    g = Grid((n,))
    q = g.axis(0)
    dt = 0.5 / (NU * 16**2)
    sigma = en.spectral_filter(g, kind)
    stepper = en.entropic_stepper(jnp.zeros_like(q), g, C0, dt, learning=True, filter=sigma)
    F0 = 1e-10 * (jnp.cos(10 * q) + jnp.cos(15 * q) + jnp.cos(16 * q))
    y0 = (jnp.full_like(q, 1 / (2 * math.pi)), F0)
    s0, s1 = stepper.init(y0), run(stepper, y0, n_steps=steps)
    a0, a1 = np.abs(np.fft.fft(np.asarray(s0.y[1]))), np.abs(np.fft.fft(np.asarray(s1.y[1])))
    for k in (10, 15, 16):
        if float(sigma[k]) < 1e-10:  # removed by the filter (two-thirds: 15, 16; exponential: 16)
            assert a1[k] < 1e-12 * a0.max()  # round-off only, where unfiltered it would have grown
            continue
        predicted = rk4_factor(NU * k**2 * dt) * float(sigma[k])
        measured = (a1[k] / a0[k]) ** (1 / steps)
        assert abs(measured / predicted - 1) < 1e-6, (k, measured, predicted)
    rate_top = {"none": 16, "two-thirds": 10, "exponential": 10}[kind]  # fastest-growing mode
    rates = {k: math.log(a1[k] / a0[k]) / (steps * dt) for k in (10, 15, 16) if float(sigma[k]) >= 1e-10}
    assert max(rates, key=rates.get) == rate_top
    # The continuum rate (γ/μ)k² is met to the RK4 error z⁴/120 (z ≤ 0.5: < 1e-3 relative).
    assert abs(rates[10] / (NU * 100) - 1) < 1e-3


def frozen_jacobian_max_growth(n, c, learning=True):
    """Largest real part of the eigenvalues of d(∂_t p, ∂_t F)/d(p, F) at the reference state (t = 0)."""
    g = Grid((n,))
    q = g.axis(0)
    p = p_1d(0.0, q.reshape((1, n)))
    p = p / (jnp.sum(p) * g.spacing[0])
    F, V = F_1d(0.0, q.reshape((1, n))), jnp.cos(q)

    def rhs(y):
        return jnp.concatenate(en.equations_of_motion(y[:n], y[n:], V, g, c, learning=learning))

    return float(np.linalg.eigvals(np.asarray(jax.jit(jax.jacfwd(rhs))(jnp.concatenate([p, F])))).real.max())


def test_quantum_potential_regularizes_the_learning_system():
    # Linearized, modes evolve as exp(±k²√((γ/μ)² - 4γD/μ)t): at the reference values γ = 0.7 < 4Dμ = 1.92
    # the learning system is not ill-posed. Frozen-coefficient Jacobian at the (non-uniform) reference
    # state: on odd grids its largest growth rate stays O(1) as the cutoff doubles (measured 0.62 at
    # n = 31 and 63), while at D = 0 it is (γ/μ)k_max² (backward heat). On an even grid the Nyquist
    # mode, whose p-F coupling the spectral gradient drops, grows at exactly (γ/μ)(n/2)².
    r31, r63 = frozen_jacobian_max_growth(31, C), frozen_jacobian_max_growth(63, C)
    assert r31 < 1.0 and abs(r63 - r31) < 0.05, (r31, r63)
    r0 = frozen_jacobian_max_growth(63, C0)
    assert abs(r0 / (NU * 31**2) - 1) < 0.05, r0
    assert abs(frozen_jacobian_max_growth(64, C) / (NU * 32**2) - 1) < 1e-8


# ---------------------------------------------------------------- boundary-value action principle

def test_stationary_action_recovers_the_exact_learning_solution():
    # D = 0 learning, T = 0.5: the forward problem is ill-posed, but with p(0) and F(T) given the
    # stationary point of the discretized action is the Cole-Hopf solution. The staggered scheme is
    # second order: at M = 16 the error is O(dt²) (measured 6.3e-5; 2.4e-4 at M = 8), on 16 points
    # (spatial error ~1e-7), and Newton reaches a residual at round-off.
    n, T, M = 16, 0.5, 16
    g = Grid((n,))
    q = g.axis(0)
    p_ex, F_ex = cole_hopf_pair(T, q)
    V = jnp.zeros_like(q)
    sol = en.solve_boundary_value(p_ex(0.0), F_ex(T), V, g, C0, T, M)
    err = max(float(jnp.max(jnp.abs(sol.p - jax.vmap(p_ex)(sol.t)))),
              float(jnp.max(jnp.abs(sol.F - jax.vmap(F_ex)(sol.t_half)))))
    assert 2e-5 < err < 1e-4, err
    assert float(sol.residual) < 1e-9


@pytest.mark.slow
def test_stationary_action_converges_at_second_order_and_is_a_saddle():
    # Same problem at M = 8, 16, 32 on 32 points: fitted order within 0.1 of 2 (measured 2.00).
    # The Hessian of the discrete action at the solution has eigenvalues of both signs (the action
    # is linear in ∂_tF): a stationary point, not a minimum.
    n, T = 32, 0.5
    g = Grid((n,))
    q = g.axis(0)
    p_ex, F_ex = cole_hopf_pair(T, q)
    V = jnp.zeros_like(q)
    errs, sols = [], {}
    for M in (8, 16, 32):
        sols[M] = sol = en.solve_boundary_value(p_ex(0.0), F_ex(T), V, g, C0, T, M)
        errs.append(max(float(jnp.max(jnp.abs(sol.p - jax.vmap(p_ex)(sol.t)))),
                        float(jnp.max(jnp.abs(sol.F - jax.vmap(F_ex)(sol.t_half))))))
    slope = np.polyfit(np.log([8, 16, 32]), np.log(errs), 1)[0]
    assert abs(slope + 2) < 0.1, (errs, slope)
    M, sol = 8, sols[8]  # Hessian of 2·8·32 = 512 unknowns
    size = M * n

    def s_of(y):
        return en.boundary_value_action(y[:size].reshape((M, n)), y[size:].reshape((M, n)), p_ex(0.0),
                                        F_ex(T), V, g, C0, T)

    flat = jnp.concatenate([sol.p[1:].ravel(), sol.F.ravel()])
    eig = np.linalg.eigvalsh(np.asarray(jax.jit(jax.hessian(s_of))(flat)))
    assert eig.min() < -0.1 and eig.max() > 0.1, (eig.min(), eig.max())


def test_stationary_action_agrees_with_the_madelung_stepper():
    # learning=False, reference D, γ, μ, V = cos q, T = 0.25, 16 points: run the RK4 stepper from
    # (p0, F0) to get F(T); the stationary point with data p0, F(T) must reproduce the stepper's
    # trajectory to the scheme's O(dt²) (measured 7e-4 in p and 2.3e-3 in F at M = 16 on 32 points;
    # tolerances 2× that). Its p-equation residual, δS'/δF_{j+½} from jax.grad of the discrete action,
    # equals -μ(p_{j+1} - p_j)/dt + μ·equations_of_motion(...)[0], a second route to (29).
    n = 16
    g = Grid((n,))
    q = g.axis(0)
    V = jnp.cos(q)
    p0 = p_1d(0.0, q.reshape((1, n)))
    p0 = p0 / (jnp.sum(p0) * g.spacing[0])
    F0 = F_1d(0.0, q.reshape((1, n)))
    T, M, fine = 0.25, 16, 32 * 16
    traj_p, traj_F = run(en.entropic_stepper(V, g, C, T / fine, learning=False), (p0, F0), n_steps=fine,
                         save_every=16).y  # states at t = 0, T/32, 2T/32, …, T
    sol = en.solve_boundary_value(p0, traj_F[-1], V, g, C, T, M, learning=False)
    p_err = float(jnp.max(jnp.abs(sol.p[1:] - traj_p[2::2])))  # t_j = j T/16
    F_err = float(jnp.max(jnp.abs(sol.F - traj_F[1::2])))  # t_{j+½} = (2j+1) T/32
    assert p_err < 1.5e-3 and F_err < 5e-3, (p_err, F_err)
    assert float(sol.residual) < 1e-9
    p_t, _ = jax.jit(jax.vmap(lambda pp, ff: en.equations_of_motion(pp, ff, V, g, C, learning=False)))(
        0.5 * (sol.p[1:] + sol.p[:-1]), sol.F)
    np.testing.assert_allclose((sol.p[1:] - sol.p[:-1]) / (T / M), p_t, atol=1e-9)


# ---------------------------------------------------------------- input validation, dtypes

@pytest.mark.unchecked  # asserts the package's own message for input the annotations exclude
def test_bad_inputs_fail_loudly():
    g = Grid((16,))
    q = g.axis(0)
    p, F, V = jnp.exp(jnp.cos(q)), jnp.sin(q), jnp.cos(q)
    with pytest.raises(ValueError, match="shape"):
        en.equations_of_motion(p[:8], F, V, g, C)
    with pytest.raises(ValueError, match="p must be finite and > 0"):
        en.equations_of_motion(p.at[3].set(-1.0), F, V, g, C)
    with pytest.raises(ValueError, match="F contains NaN"):
        en.hamiltonian(p, F.at[0].set(jnp.nan), V, g, C)
    for bad in (en.Coefficients(-0.1, 0.7, 1.6), en.Coefficients(0.3, 0.0, 1.6), en.Coefficients(0.3, 0.7, -1.0)):
        with pytest.raises(ValueError, match="coefficients"):
            en.hamiltonian(p, F, V, g, bad)
        with pytest.raises(ValueError, match="coefficients"):
            en.entropic_stepper(V, g, bad, 1e-3, learning=False)
    with pytest.raises(ValueError, match="stability bound"):
        en.entropic_stepper(V, g, C, 0.1, learning=False)
    with pytest.raises(ValueError, match="filter kind"):
        en.spectral_filter(g, "gaussian")
    init, step = en.entropic_stepper(V, g, C, 1e-3, learning=False)
    with pytest.raises(RuntimeError, match="p must be finite and > 0"):  # under jit: eqx.error_if
        jax.block_until_ready(jax.jit(step)(State(jnp.zeros(()), (p.at[2].set(0.0), F))))


def test_float32_is_kept():
    g = Grid((16,))
    q = g.axis(0).astype(jnp.float32)
    eom = jax.jit(lambda a, b, v: en.equations_of_motion(a, b, v, g, C))
    p_t, F_t = eom(jnp.exp(jnp.cos(q)), jnp.sin(q), jnp.cos(q))
    assert p_t.dtype == F_t.dtype == jnp.float32


# --------------------------------------------------------------------------- input policy (issue #11)
def test_integer_filter_input_is_promoted_not_truncated():
    # apply_filter cast its result back to f's dtype: an int field came back truncated.
    g = Grid((16,))
    sigma = en.spectral_filter(g, "two-thirds")
    f = jnp.arange(16) % 5
    np.testing.assert_array_equal(en.apply_filter(f, sigma), en.apply_filter(f.astype(float), sigma))


def test_coefficient_batches_are_an_error():
    g = Grid((8,))
    q = g.axis(0)
    with pytest.raises(ValueError, match=r"gamma must be a scalar.*jax\.vmap"):
        en.hamiltonian(jnp.exp(jnp.cos(q)), jnp.sin(q), jnp.cos(q), g, en.Coefficients(0.3, jnp.ones(2), 1.6))


def test_stepper_potential_check_is_not_discarded_under_jit():
    # init validated V and threw the checked value away (``p, F, _ = ...``): under jit that check
    # was dead code and a NaN potential stepped silently into NaN fields.
    g = Grid((8,))
    q = g.axis(0)
    c = en.Coefficients(0.3, 0.7, 1.6)
    state = State(jnp.zeros(()), (jnp.exp(0.2 * jnp.cos(q)), jnp.sin(q)))

    def one_step(V):
        return en.entropic_stepper(V, g, c, 1e-3, learning=False).step(state).y[0]

    with pytest.raises(Exception, match="V contains NaN"):
        jax.block_until_ready(jax.jit(one_step)(jnp.cos(q).at[0].set(jnp.nan)))
