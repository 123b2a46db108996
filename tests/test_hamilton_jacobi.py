"""§6, eqs. (38)-(48): the Hamilton-Jacobi limit of the action, its characteristics, Cole-Hopf,
the stationary solution (44) = eigenvalue free energy (45), and the chain rule of (47)-(48).

The analytic forms below (the quadratic solution, -γ|∇F|² - V - (γ/μ)∇²F, the backward heat
equation) are the references; the module computes everything from jax.grad of the action."""

import chex
import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnworld_jax import entropic, partition, thermo
from nnworld_jax import grid as gr
from nnworld_jax import hamilton_jacobi as hj
from nnworld_jax import reference as ref
from nnworld_jax.network import Network
from nnworld_jax.stepping import ode_stepper, solve

# conventions §4 test problem: V = ½ω²q², F = ½a(t)q² + c(t).
GAMMA, OMEGA2, MU, A0, Q0 = 0.7, 1.3, 2.0, 0.4, 1.0


def exact_quadratic(t):
    """Closed form of ȧ = -2γa² - ω², ċ = -(γ/μ)a, a(0) = A0, c(0) = 0, and of q̇ = 2γ a q.

    a = A tan θ, θ = θ0 - Ωt, A = ω/√(2γ), Ω = ω√(2γ); c = -(1/2μ) log(cos θ/cos θ0);
    q = q0 cos θ / cos θ0 (harmonic, frequency Ω = √(2γ ω²): Newton with m_eff = 1/(2γ))."""
    big_a, omega = np.sqrt(OMEGA2 / (2 * GAMMA)), np.sqrt(2 * GAMMA * OMEGA2)
    th0 = np.arctan(A0 / big_a)
    th = th0 - omega * np.asarray(t)
    return big_a * np.tan(th), -np.log(np.cos(th) / np.cos(th0)) / (2 * MU), Q0 * np.cos(th) / np.cos(th0)


def harmonic(q):
    return 0.5 * OMEGA2 * jnp.sum(q**2)


def test_exact_quadratic_reference_against_high_order_ode_solver():
    # The closed form the other tests rely on, checked against diffrax's adaptive Dopri8 at rtol 1e-13
    # (the reference integrator of the tests; a and c are O(1) on [0, 1.2]; the caustic is at t ≈ 1.456).
    def rhs(t, y, args):
        return jnp.stack([-2 * GAMMA * y[0] ** 2 - OMEGA2, -GAMMA / MU * y[0], 2 * GAMMA * y[0] * y[2]])

    ts = np.linspace(0, 1.2, 13)
    sol = diffrax.diffeqsolve(diffrax.ODETerm(rhs), diffrax.Dopri8(), 0.0, 1.2, 0.01, jnp.array([A0, 0.0, Q0]),
                              saveat=diffrax.SaveAt(ts=jnp.asarray(ts)),
                              stepsize_controller=diffrax.PIDController(rtol=1e-13, atol=1e-14), max_steps=4096)
    a, c, q = exact_quadratic(ts)
    np.testing.assert_allclose(np.asarray(sol.ys).T, np.stack([a, c, q]), atol=1e-10)


# --- the equation from the action ---------------------------------------------------------------


@pytest.mark.parametrize("learning", [True, False])
def test_density_is_the_entropic_density_at_zero_diffusion(learning):
    g = gr.Grid((16, 12), lengths=(2 * np.pi, 4 * np.pi))
    x, y = g.mesh()
    p = jnp.exp(0.3 * jnp.cos(x) + 0.2 * jnp.sin(0.5 * y))
    F = jnp.sin(x) * jnp.cos(0.5 * y)
    F_t, V = jnp.cos(x + y), jnp.sin(x) ** 2
    c = entropic.Coefficients(0.0, GAMMA, 1.6)

    @jax.jit
    def both(p, F, F_t, V):
        return (entropic.lagrangian_density(p, F, F_t, V, g, c, learning=learning),
                hj.classical_density(p, F_t, gr.gradient(F, g), gr.laplacian(F, g), V, GAMMA, 1.6, learning=learning))

    want, got = both(p, F, F_t, V)
    # Same terms, same spectral derivatives; only the -4D√p∇²√p term (zero at D = 0) differs.
    np.testing.assert_allclose(got, want, atol=1e-13)


def _trig_problem():
    g = gr.Grid((32, 24), lengths=(2 * np.pi, 4 * np.pi))
    x, y = g.mesh()
    F = jnp.sin(x) * jnp.cos(0.5 * y) + 0.3 * jnp.cos(2 * x - y)
    F_x = jnp.cos(x) * jnp.cos(0.5 * y) - 0.6 * jnp.sin(2 * x - y)
    F_y = -0.5 * jnp.sin(x) * jnp.sin(0.5 * y) + 0.3 * jnp.sin(2 * x - y)
    lap = -1.25 * jnp.sin(x) * jnp.cos(0.5 * y) - 1.5 * jnp.cos(2 * x - y)
    V = jnp.cos(x) + 0.5 * jnp.sin(y)
    return g, F, F_x, F_y, lap, V


@pytest.mark.parametrize("learning", [True, False])
def test_rhs_from_the_action_is_eq38_and_eq43(learning):
    g, F, F_x, F_y, lap, V = _trig_problem()
    mu = 1.6
    want = -GAMMA * (F_x**2 + F_y**2) - V - (GAMMA / mu * lap if learning else 0.0)
    c = entropic.Coefficients(0.0, GAMMA, mu)

    @jax.jit
    def routes(F, V):
        # entropic's own F equation at D = 0 (any p > 0: H is linear in p there).
        p = jnp.exp(0.2 * jnp.sin(g.mesh()[0]))
        return (hj.hj_rhs(F, V, g, GAMMA, mu, learning=learning),
                entropic.equations_of_motion(p, F, V, g, c, learning=learning)[1])

    rhs, rhs_entropic = routes(F, V)
    # Trigonometric polynomials: spectral derivatives are exact to round-off (~1e-14 × |F|·k²).
    np.testing.assert_allclose(rhs, want, atol=1e-12)
    np.testing.assert_allclose(rhs, rhs_entropic, atol=1e-12)


def test_pointwise_residual_is_minus_the_grid_rhs():
    # Two routes: autodiff of a closed-form F at each point vs spectral derivatives on the grid.
    g, F, *_ , V = _trig_problem()
    mu = 1.6

    def F_fn(t, q):
        x, y = q[0], q[1]
        return jnp.sin(x) * jnp.cos(0.5 * y) + 0.3 * jnp.cos(2 * x - y) + 0.0 * t

    def potential(q):
        return jnp.cos(q[0]) + 0.5 * jnp.sin(q[1])

    pts = g.mesh().reshape(2, -1).T
    res = jax.jit(jax.vmap(lambda q: hj.hj_residual(F_fn, potential, 0.0, q, GAMMA, mu)))(pts)
    rhs = jax.jit(lambda f, v: hj.hj_rhs(f, v, g, GAMMA, mu))(F, V)
    np.testing.assert_allclose(-res.reshape(g.shape), rhs, atol=1e-12)


def _quadratic_F(with_c=True):
    def F_fn(t, q):
        a, c, _ = exact_quadratic_jnp(t)
        return 0.5 * a * jnp.sum(q**2) + (c if with_c else 0.0)

    return F_fn


def exact_quadratic_jnp(t):
    big_a, omega = jnp.sqrt(OMEGA2 / (2 * GAMMA)), jnp.sqrt(2 * GAMMA * OMEGA2)
    th0 = jnp.arctan(A0 / big_a)
    th = th0 - omega * t
    return big_a * jnp.tan(th), -jnp.log(jnp.cos(th) / jnp.cos(th0)) / (2 * MU), Q0 * jnp.cos(th) / jnp.cos(th0)


def test_quadratic_solution_solves_the_equation_with_the_learning_term():
    # conventions §4: F = ½a q² + c with ċ = -(γ/μ)a solves ∂_tF + γ|∇F|² + V + (γ/μ)∇²F = 0 exactly,
    # i.e. the D → 0 F equation of the action with learning on (entropic.py's F equation).
    t, q = (x.ravel() for x in np.meshgrid([0.0, 0.37, 1.1], [-1.3, 0.2, 2.0], indexing="ij"))

    @jax.jit
    @jax.vmap
    def residuals(t, q):
        q = q.reshape(1)
        return (hj.hj_residual(_quadratic_F(), harmonic, t, q, GAMMA, MU),
                hj.hj_residual(_quadratic_F(with_c=False), harmonic, t, q, GAMMA, MU),
                hj.hj_residual(_quadratic_F(with_c=False), harmonic, t, q, GAMMA, MU, learning=False))

    r, r_no_c, r38 = (np.asarray(x) for x in residuals(jnp.asarray(t), jnp.asarray(q)))
    a = exact_quadratic(t)[0]
    assert np.max(np.abs(r)) < 1e-12, r  # only round-off in tan/log at O(1) values
    # Without c the residual is exactly -ċ = (γ/μ)a: the learning term is present …
    np.testing.assert_allclose(r_no_c, GAMMA / MU * a, atol=1e-12)
    # … and (38) proper (learning off) is solved by c = 0.
    assert np.max(np.abs(r38)) < 1e-12, r38


# --- characteristics ------------------------------------------------------------------------------


def _along_u_trajectory(n_steps=1000, t1=1.0):
    """q̇ = u(t, q) = ∂H/∂P at P = ∇F (jax.grad), with (a, c) on the reference ODE, by RK4."""

    def velocity(q, a, c):
        grad_f = jax.grad(lambda x: 0.5 * a * jnp.sum(x**2) + c)(q)
        return jax.grad(hj.classical_hamiltonian, argnums=1)(q, grad_f, harmonic, GAMMA)

    def field(t, y):
        q, a, c = y
        return velocity(q, a, c), -2 * GAMMA * a**2 - OMEGA2, -GAMMA / MU * a

    y0 = (jnp.array([Q0]), jnp.asarray(A0), jnp.asarray(0.0))
    traj = jax.jit(lambda y: solve(ode_stepper(field, t1 / n_steps), y, n_steps=n_steps, save_every=1))(y0)
    ts, (q, a, c) = traj.t, traj.y
    return field, ts, q[:, 0], a, c


def test_characteristic_along_u_accelerates_with_twice_gamma():
    # conventions §4: along u = 2γ∇F, q̈ = -2γV', so q̈/(-γV') = 2 (the paper's (40)/(42) give 1).
    field, ts, q, a, c = _along_u_trajectory()
    h, stride = 0.01, 10  # samples every 1e-3; 5-point second difference with step h = 0.01
    qs = np.asarray(q)[::stride]
    acc = (-qs[4:] + 16 * qs[3:-1] - 30 * qs[2:-2] + 16 * qs[1:-3] - qs[:-4]) / (12 * h**2)
    ratio = acc / (-GAMMA * OMEGA2 * qs[2:-2])
    # RK4 error ~1e-13 amplified by 1/h² ≈ 1e4, plus h⁴ q⁽⁶⁾/90 ≈ 1e-10: well inside 1e-7.
    assert np.max(np.abs(ratio - 2.0)) < 1e-7, ratio
    # The trajectory is the exact one, q = q0 cos(θ0 - Ωt)/cos θ0 (RK4 at dt = 1e-3: ~1e-13).
    np.testing.assert_allclose(q, exact_quadratic(np.asarray(ts))[2], atol=1e-11)
    # Exact chain rule instead of differences: q̈ = d/dt u(t, q(t)) by a JVP along the field.
    for k in (0, 500, 1000):
        y = (jnp.array([q[k]]), a[k], c[k])
        _, (q_ddot, _, _) = jax.jvp(lambda yy: field(0.0, yy), (y,), (field(0.0, y),))
        assert float(q_ddot[0] / (-GAMMA * OMEGA2 * q[k])) == pytest.approx(2.0, abs=1e-12)


def test_characteristics_follow_the_exact_quadratic_solution():
    def F0(q):
        return 0.5 * A0 * jnp.sum(q**2)

    run = jax.jit(lambda q0: hj.characteristics(F0, harmonic, q0, GAMMA, MU, t1=1.0, n_steps=1000))
    ts, s = run(jnp.array([Q0]))
    a, c, q = exact_quadratic(np.asarray(ts))
    # RK4 with dt = 1e-3 over t = 1 on O(1) smooth solutions: global error ~1e-13.
    np.testing.assert_allclose(s.q[:, 0], q, atol=1e-11)
    np.testing.assert_allclose(s.P[:, 0], a * q, atol=1e-11)
    np.testing.assert_allclose(s.S[:, 0, 0], a, atol=1e-11)
    np.testing.assert_allclose(s.F, 0.5 * a * q**2 + c, atol=1e-11)
    # q̇ = 2γP along the path (u = 2γ∇F, eq. (31)), not γP.
    field = jax.jit(hj.characteristic_field(harmonic, GAMMA, MU))
    at_300 = jax.tree_util.tree_map(lambda v: v[300], s)
    np.testing.assert_allclose(field(0.0, at_300).q, 2 * GAMMA * s.P[300], rtol=1e-14)


def test_rk4_characteristics_converge_at_fourth_order():
    # The layer's (init, step) pair directly: one jitted step per dt (dt is an argument, compiled once).
    def F0(q):
        return 0.5 * A0 * jnp.sum(q**2)

    field = hj.characteristic_field(harmonic, GAMMA, MU)
    # chex raises on a second trace: a dt baked in as a constant would retrace for every n.
    step = jax.jit(chex.assert_max_traces(lambda state, dt: ode_stepper(field, dt).step(state), n=1))
    init = ode_stepper(field, 1.0).init
    a, c, q = exact_quadratic(1.0)
    ns = np.array([10, 20, 40])
    errs = []
    for n in ns:
        state = init(hj.characteristic_init(F0, jnp.array([Q0])))
        for _ in range(n):
            state = step(state, 1.0 / n)
        errs.append(abs(float(state.y.F) - (0.5 * a * q**2 + c)))
    slope = np.polyfit(np.log(1.0 / ns), np.log(errs), 1)[0]
    # dt = 0.1 … 0.025 is already asymptotic for frequencies Ω ≈ 1.35 (Ω dt ≤ 0.14): slope 4 ± 0.3.
    assert abs(slope - 4.0) < 0.3, (slope, errs)


def test_characteristics_2d_anharmonic_conserve_the_hamiltonian():
    # Without learning, H(q, P) = γ|P|² + V is constant along a characteristic of (38) and
    # dF/dt = P·q̇ - H = γ|P|² - V (the Lagrangian): checked on an anharmonic 2D potential. Up to
    # t = 0.8: the Hessian S = ∇²F carried along diverges at a caustic near t ≈ 0.9 (measured), where
    # the stepping layer stops the run instead of returning S = NaN.
    def potential(q):
        return 0.25 * jnp.sum(q**4) + 0.3 * q[0] * q[1]

    def F0(q):
        return 0.2 * q[0] - 0.1 * q[1] ** 2

    @jax.jit
    def run(q0):
        ts, s = hj.characteristics(F0, potential, q0, GAMMA, t1=0.8, n_steps=320, learning=False)
        energy = jax.vmap(lambda q, p: hj.classical_hamiltonian(q, p, potential, GAMMA))(s.q, s.P)
        lagrangian = GAMMA * jnp.sum(s.P**2, axis=1) - jax.vmap(potential)(s.q)
        dt = ts[1] - ts[0]
        f_trap = s.F[0] + jnp.concatenate([jnp.zeros(1), jnp.cumsum(0.5 * dt * (lagrangian[1:] + lagrangian[:-1]))])
        return energy, f_trap, s

    energy, f_trap, s = run(jnp.array([0.8, -0.5]))
    assert float(jnp.max(jnp.abs(energy - energy[0]))) < 1e-12  # RK4, dt = 2.5e-3: measured 3e-14
    # Trapezoid quadrature of L: error ≤ dt² T max|L̈|/12 ≈ 5e-7·max|L̈| (measured 2.4e-7).
    assert float(jnp.max(jnp.abs(f_trap - s.F))) < 2e-6


# --- Cole-Hopf (43) and the stationary solution (44) ----------------------------------------------


def _heat_solution(t, g, kappa):
    # An exact solution of ∂_tφ = -κ∇²φ; φ > 4 for t ≤ 0.2 (κ ≈ 0.44).
    x, y = g.mesh()
    return 6.0 + jnp.cos(x) * jnp.exp(kappa * t) + 0.3 * jnp.sin(x + 2 * y) * jnp.exp(5 * kappa * t)


HEAT_GRID = gr.Grid((32, 48))  # the y-direction carries twice the wavenumber of x


def test_cole_hopf_turns_eq43_into_the_backward_heat_equation():
    g = HEAT_GRID
    mu = 1.6

    @jax.jit
    def both_sides():
        phi = _heat_solution(0.2, g, GAMMA / mu)
        return phi, hj.cole_hopf_rhs(phi, g, GAMMA, mu), -GAMMA / mu * gr.laplacian(phi, g)

    phi, rhs, heat = both_sides()
    # μφ ∂_tF through the action vs -(γ/μ)∇²φ: an identity for any φ > 0. φ is a trigonometric
    # polynomial (∇²φ exact); F = log φ/μ is analytic with a spectrum falling ~e^{-2|k|} (φ ≥ 4.3),
    # below 1e-12 at the grid's Nyquist modes (measured 8e-13; 5e-7 on a coarse 32 × 32 grid).
    np.testing.assert_allclose(rhs, heat, atol=1e-11)
    np.testing.assert_allclose(hj.inverse_cole_hopf(hj.cole_hopf(jnp.log(phi), 1.0), mu), jnp.log(phi) / mu,
                               atol=1e-15)


def test_nonlinear_evolution_of_F_matches_the_linear_heat_solution():
    # F evolves by (43) (rhs from the action); φ = e^{μF} must follow the exact solution of the
    # backward heat equation. Integrated backwards (t: 0 → -0.5), the well-posed direction.
    g = HEAT_GRID
    mu = 1.6
    kappa = GAMMA / mu
    n, dt = 100, -0.005  # |dt| κ |k|²_max = 0.005·0.44·(16² + 24²) = 1.8 < 2.78 (RK4 on the real axis)

    @jax.jit
    def evolved_and_exact():
        F0 = jnp.log(_heat_solution(0.0, g, kappa)) / mu
        V = jnp.zeros(g.shape)
        F_end = solve(ode_stepper(lambda t, y: hj.hj_rhs(y, V, g, GAMMA, mu), dt), F0, n_steps=n).y
        return F_end, jnp.log(_heat_solution(n * dt, g, kappa)) / mu

    got, want = evolved_and_exact()
    # RK4 error (κ k² dt)⁴/120 per step on the low modes that carry F: ~1e-11 in total.
    np.testing.assert_allclose(got, want, atol=1e-10)


def test_stationary_solution_eq44():
    mu, C, C0 = 1.7, jnp.array([1.0, 0.5, 2.0]), -0.3

    def F_fn(t, q):
        return hj.stationary_free_energy(q, C, C0, mu)

    def zero(q):
        return 0.0  # V = 0 in (43)

    @jax.jit
    @jax.vmap
    def checks(q):
        r43 = hj.hj_residual(F_fn, zero, 0.0, q, GAMMA, mu)
        phi = hj.cole_hopf(F_fn(0.0, q), mu)
        lap_phi = jnp.trace(jax.hessian(lambda x: hj.cole_hopf(F_fn(0.0, x), mu))(q))
        r38 = hj.hj_residual(F_fn, zero, 0.0, q, GAMMA, mu, learning=False)
        grad = jax.grad(F_fn, argnums=1)(0.0, q)
        return r43, lap_phi / phi, r38, GAMMA * jnp.sum(grad**2)

    pts = jax.random.uniform(jax.random.PRNGKey(3), (6, 3), minval=-0.2, maxval=2.0)
    r43, rel_lap, r38, kinetic = (np.asarray(x) for x in checks(pts))
    # ∂_tF = 0 solves (43): the residual vanishes to round-off of O(1) terms; φ = e^{μF} is harmonic.
    assert np.max(np.abs(r43)) < 1e-13, r43
    assert np.max(np.abs(rel_lap)) < 1e-12, rel_lap
    # Not stationary for (38) alone: there the residual is γ|∇F|² > 0.
    np.testing.assert_allclose(r38, kinetic, rtol=1e-12)
    assert np.all(r38 > 0)
    with pytest.raises(ValueError, match="C_k"):
        hj.stationary_free_energy(jnp.array([1.0, -0.4, 1.0]), C, C0, mu)  # 0.5 + 1.7(-0.4) < 0


def test_eq45_is_the_stationary_solution_with_mu_two_beta(key):
    # (44) with q = λ, μ = 2β, C_k = 2(1 - βm), C_0 = -(N/2β) log 4π vs the Cholesky log-det free
    # energy of the foundation: two routes to one log-det, agreeing to ~cond · 1e-16.
    @jax.jit
    def three_routes(k, beta, m):
        net = ref.random_network(6, key=k, m=m)
        x = partition.mean_state(net)
        lam = thermo.operator_spectrum(net, x)
        mu, C, C0 = hj.eigenvalue_constants(6, beta, m)
        return (hj.stationary_free_energy(lam, C, C0, mu), partition.free_energy(net, beta, x=x),
                thermo.free_energy_eigen(lam, beta, m))

    for i, (beta, m) in enumerate([(0.5, 0.0), (2.0, 0.05), (7.0, 0.0)]):
        f44, f_chol, f45 = (float(v) for v in three_routes(jax.random.fold_in(key, i), beta, m))
        assert f44 == pytest.approx(f_chol, rel=1e-12, abs=1e-13)
        assert f44 == pytest.approx(f45, rel=1e-13, abs=1e-14)


# --- (47)-(48) ------------------------------------------------------------------------------------

BETA47 = 1.5
W0 = jnp.array([[0.1, -0.4], [0.3, 0.2]])


def affine_family(q):
    # Linear network, b = 0 (x* = 0): G = (I - w)ᵀ(I - w) = diag(λ0 + A q), so λ(q) is affine.
    lam = jnp.array([0.4, 1.7]) + jnp.array([[0.3, -0.1], [0.2, 0.4]]) @ q
    return Network(jnp.eye(2) - jnp.diag(jnp.sqrt(lam)), jnp.zeros(2), activation="linear")


def tanh_family(q):
    # tanh network, b = 0 so x* = 0 exactly; w(q) is affine in q, λ(q) = eig((I - w)ᵀ(I - w)) is not.
    return Network(W0 + jnp.array([[q[0], 0.0], [q[1], 0.5 * q[0]]]), jnp.zeros(2), activation="tanh")


def _eq47_routes(family, q):
    """∇²F by autodiff of the Cholesky free energy, by (47) as printed, by (47) corrected, and
    (48)'s extra term; K = N = 2 so that q ↔ λ is invertible."""
    x = jnp.zeros(2)

    def F_of_q(qq):
        return partition.free_energy(family(qq), BETA47, x=x)

    def lam_of_q(qq):
        return thermo.operator_spectrum(family(qq), x)

    def F_of_lam(lam):
        return thermo.free_energy_eigen(lam, BETA47)

    @jax.jit
    def routes(q):
        return (jnp.trace(jax.hessian(F_of_q)(q)),
                hj.laplacian_in_eigenvalues(F_of_lam, lam_of_q, q, curvature=False),
                hj.laplacian_in_eigenvalues(F_of_lam, lam_of_q, q),
                hj.eigenvalue_curvature_term(F_of_q, lam_of_q, q, GAMMA, 2 * BETA47))

    return [float(v) for v in routes(q)]


def test_eq47_holds_when_lambda_is_affine():
    direct, printed, corrected, term48 = _eq47_routes(affine_family, jnp.array([0.2, -0.3]))
    # Autodiff of Cholesky vs chain rule through eigvalsh: round-off only.
    assert printed == pytest.approx(direct, rel=1e-11)
    assert corrected == pytest.approx(direct, rel=1e-11)
    assert abs(term48) < 1e-12  # ∇²λ = 0: (48) gains nothing


def test_eq47_fails_when_lambda_is_not_affine_and_the_extra_term_fixes_it():
    direct, printed, corrected, term48 = _eq47_routes(tanh_family, jnp.array([0.15, -0.2]))
    assert corrected == pytest.approx(direct, rel=1e-10)
    assert abs(printed - direct) > 1e-2 * abs(direct), (printed, direct)  # an O(1) omission
    # (48)'s extra term (γ/μ) Σ_i ∇²λ_i (∂q_m/∂λ_i) ∂_mF is (γ/μ) × what (47) omits.
    assert abs(term48) > 1e-3
    assert term48 == pytest.approx(GAMMA / (2 * BETA47) * (direct - printed), rel=1e-9)


# --- input checks and dtypes ----------------------------------------------------------------------


@pytest.mark.unchecked  # asserts the package's own message for input the annotations exclude
def test_bad_inputs_fail_loudly():
    g = gr.Grid((8,))
    F = jnp.sin(g.axis(0))
    with pytest.raises(ValueError, match="gamma"):
        hj.hj_rhs(F, jnp.zeros(8), g, -0.1, 1.0)
    with pytest.raises(ValueError, match="mu"):
        hj.hj_rhs(F, jnp.zeros(8), g, 0.1, 0.0)
    with pytest.raises(ValueError, match="shape"):
        hj.hj_rhs(jnp.zeros((2, 8)), jnp.zeros(8), g, 0.1, 1.0)
    with pytest.raises(ValueError, match="NaN"):
        hj.hj_rhs(F.at[3].set(jnp.nan), jnp.zeros(8), g, 0.1, 1.0)
    with pytest.raises(ValueError, match="vmap"):
        hj.hj_residual(lambda t, q: q[0], lambda q: 0.0, 0.0, jnp.zeros((2, 2)), 0.1, 1.0)
    with pytest.raises(ValueError, match="phi"):
        hj.inverse_cole_hopf(jnp.array([1.0, -1.0]), 1.0)
    with pytest.raises(ValueError, match="square"):
        hj.eigenvalue_curvature_term(lambda q: jnp.sum(q), lambda q: jnp.stack([q[0], q[1], q[0] * q[1]]),
                                     jnp.array([0.1, 0.2]), 0.1, 1.0)
    with pytest.raises(ValueError, match="n_steps"):
        hj.characteristics(lambda q: jnp.sum(q**2), harmonic, jnp.ones(1), GAMMA, t1=1.0, n_steps=0)
    with pytest.raises(ValueError, match="gamma"):
        hj.characteristic_field(harmonic, 0.0)
    # Under jit the checks become runtime errors naming the problem.
    with pytest.raises(Exception, match="gamma"):
        jax.jit(lambda gm: hj.hj_rhs(F, jnp.zeros(8), g, gm, 1.0))(-1.0).block_until_ready()


def test_kernels_keep_float32():
    g = gr.Grid((16,))
    F = jnp.sin(g.axis(0, jnp.float32))
    assert jax.jit(lambda f: hj.hj_rhs(f, jnp.zeros_like(f), g, 0.5, 2.0))(F).dtype == jnp.float32
    assert hj.inverse_cole_hopf(hj.cole_hopf(F, 2.0), 2.0).dtype == jnp.float32
    q = jnp.array([0.3, 1.0], jnp.float32)
    assert hj.stationary_free_energy(q, 1.0, 0.0, 2.0).dtype == jnp.float32


# --------------------------------------------------------------------------- input policy (issue #11)
def test_integer_free_energy_does_not_truncate_gamma_mu():
    # γ and μ were cast to F's dtype: an int F ran with γ = int(0.5) = 0 (a misleading "gamma must
    # be > 0") or γ = int(2.5) = 2 (silently). Promotion comes first.
    g = gr.Grid((16,))
    F = jnp.arange(16) % 3
    V = jnp.zeros(16)
    np.testing.assert_array_equal(hj.hj_rhs(F, V, g, 2.5, 1.5), hj.hj_rhs(F.astype(float), V, g, 2.5, 1.5))
    np.testing.assert_array_equal(hj.cole_hopf(F, 0.5), hj.cole_hopf(F.astype(float), 0.5))
    phi = jnp.arange(1, 5)
    np.testing.assert_array_equal(hj.inverse_cole_hopf(phi, 0.5), hj.inverse_cole_hopf(phi.astype(float), 0.5))


def test_eigenvalue_constants_check_m():
    with pytest.raises(ValueError, match="m contains NaN"):
        hj.eigenvalue_constants(2, 1.0, jnp.nan)
    with pytest.raises(ValueError, match=r"beta must be a scalar.*jax\.vmap"):
        hj.eigenvalue_constants(2, jnp.array([1.0, 2.0]))
