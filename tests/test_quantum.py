"""The Madelung / Schrödinger limit, eqs. (34)-(36) with μ kept (conventions §3).

References used here, each independent of the code under test: the Schrödinger equation written
out with spectral derivatives; the unboxed action (28) of nnworld_jax.entropic; an eigen-decomposition
propagator (exact in time); the analytic coherent state, free Gaussian packet and oscillator levels;
products of 1D solutions for separable 3D problems; Ehrenfest's theorem for gradients; for the oscillator
(Fock) basis, Rayleigh-Ritz bounds against the dense grid Ĥ.
"""

import functools
import math
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnworld_jax import entropic as en
from nnworld_jax import grid as gr
from nnworld_jax import quantum as qm
from nnworld_jax.stepping import solve

C = en.Coefficients(D=0.3, gamma=0.7, mu=1.6)  # conventions §3 test constants; ħ = 1.0351, m = 0.7143
HBAR = 2 * math.sqrt(0.3 / (0.7 * 1.6))
MASS = 1 / (2 * 0.7)


# ------------------------------------------------------------------------------------ helpers
def schrodinger_operator(psi, V, space):
    """ĤΨ = -(ħ²/2m)∇²Ψ + VΨ with the reference constants, written out (the reference form)."""
    return -(HBAR**2 / (2 * MASS)) * gr.laplacian(psi, space) + jnp.asarray(V).astype(psi.dtype) * psi


def coherent_state(x, t, *, x0, p0, omega, hbar, mass, center):
    """Analytic harmonic-oscillator coherent state on the line (Gaussian of width √(ħ/mω))."""
    xc = x0 * np.cos(omega * t) + p0 / (mass * omega) * np.sin(omega * t)
    pc = p0 * np.cos(omega * t) - mass * omega * x0 * np.sin(omega * t)
    theta = -omega * t / 2 + (pc * xc - p0 * x0) / (2 * hbar)
    y = x - center - xc
    return ((mass * omega / (np.pi * hbar)) ** 0.25
            * np.exp(-mass * omega * y**2 / (2 * hbar) + 1j * pc * y / hbar + 1j * theta))


def mesh(g):
    """Grid coordinates in NumPy (test inputs are built without compiling JAX ops)."""
    axes = [np.arange(n) * h for n, h in zip(g.shape, g.spacing)]
    return np.stack(np.meshgrid(*axes, indexing="ij"))


def madelung_data(n):
    g = gr.Grid((n,))
    q = mesh(g)[0]
    p = np.exp(0.4 * np.cos(q))
    return g, q, p / (p.sum() * g.cell_volume), 0.3 * np.sin(q), 0.5 * np.cos(q + 0.3)


# ------------------------------------------------------------------------- constants and map
def test_effective_constants_keep_mu():
    k = qm.effective_constants(C)
    np.testing.assert_allclose([float(k.hbar), float(k.mass)], [HBAR, MASS], rtol=1e-15)
    # ħ²/2m = 4D/μ: the coefficient of -∇² in -i√(4Dμ/γ)∂_tΨ = (4D∇² - μV)Ψ divided by μ.
    np.testing.assert_allclose(float(k.hbar**2 / (2 * k.mass)), 4 * C.D / C.mu, rtol=1e-15)
    # The paper's μ = 1 value ħ = √(4D/γ) differs from the μ-restored one by √μ.
    paper = qm.effective_constants(en.Coefficients(C.D, C.gamma, 1.0))
    np.testing.assert_allclose(float(paper.hbar / k.hbar), math.sqrt(C.mu), rtol=1e-15)


@pytest.mark.parametrize("bad", [(0.3, -0.7, 1.6), (0.0, 0.7, 1.6), (0.3, 0.7, 0.0), (0.3, 0.7, float("nan")),
                                 (0.3, -0.7, -1.6)])
def test_effective_constants_need_positive_D_gamma_mu(bad):
    # (0.3, -0.7, -1.6) has γμ/D > 0, so a ratio check passes it, but m_eff = 1/(2γ) < 0 (issue #11).
    with pytest.raises(ValueError, match=r"D > 0, gamma > 0 and mu > 0"):
        qm.effective_constants(en.Coefficients(*bad))
    with pytest.raises(Exception, match=r"D > 0, gamma > 0 and mu > 0"):  # under jit: eqx.error_if at run time
        jax.block_until_ready(jax.jit(qm.effective_constants)(en.Coefficients(*bad)))


def test_psi_map_round_trip_with_unwrapping_1d():
    g = gr.Grid((64,))
    q = mesh(g)[0]
    p = np.exp(np.sin(q))
    # F/ħ swings over ±4 rad (beyond ±π) and winds twice around the box: Ψ stays periodic.
    F = HBAR * (2 * q + 4 * np.sin(q))
    psi = qm.psi_from_madelung(p, F, C)
    np.testing.assert_allclose(np.abs(psi) ** 2, p, rtol=1e-14)
    p2, F2 = qm.madelung_from_psi(psi, C)
    np.testing.assert_allclose(p2, p, rtol=1e-14)
    # Exact recovery: F(0) = 0 lies in the principal branch and neighbour jumps (≤ 0.6 rad) < π.
    np.testing.assert_allclose(F2, F, atol=1e-12)
    _, F_principal = qm.madelung_from_psi(psi, C, unwrap=False)
    assert float(np.max(np.abs(F_principal))) <= math.pi * HBAR + 1e-12
    np.testing.assert_allclose(qm.wrap_phase_difference(F_principal, F, C), 0.0, atol=1e-12)


@pytest.mark.parametrize("shape", [(32, 28), (20, 24, 22)])
def test_psi_map_round_trip_with_unwrapping_nd(shape):
    g = gr.Grid(shape)
    q = mesh(g)
    F = HBAR * 4.0 * sum(np.sin(q[k] + 0.3 * k) * np.cos(q[(k + 1) % len(shape)]) for k in range(len(shape)))
    F = F - F.reshape(-1)[0]  # index 0 in the principal branch: recovery is then exact, not modulo 2πħ
    p = np.exp(0.5 * np.cos(q[0]))
    assert np.max(np.abs(F)) / HBAR > 1.5 * math.pi  # a real unwrapping job
    # ... within the method's reach: neighbouring phases differ by less than π along every axis.
    assert max(np.max(np.abs(np.diff(F, axis=k))) for k in range(len(shape))) / HBAR < math.pi
    _, F2 = jax.jit(lambda p, F: qm.madelung_from_psi(qm.psi_from_madelung(p, F, C), C))(p, F)
    np.testing.assert_allclose(F2, F, atol=1e-12)


# -------------------------------------------------------------------------------- action (36)
def spacetime_fields():
    st = gr.Grid((48, 64))
    t, x = mesh(st)
    p = np.exp(0.4 * np.cos(x - t) + 0.3 * np.sin(2 * x + t))  # conventions §3 test fields
    F = np.sin(x) * np.cos(t) + 0.3 * np.cos(2 * x - t)
    return st, t, x, p, F, np.cos(x)


def test_action_36_euler_lagrange_is_the_schrodinger_equation():
    # An arbitrary (non-solution) Ψ(t, q): δS/δa + iδS/δb must equal -2μ[iħ∂_tΨ - ĤΨ] pointwise.
    st, t, x, p, F, V = spacetime_fields()
    psi = np.sqrt(p) * np.exp(1j * F / HBAR) + 0.2 * np.exp(1j * (x + 2 * t))

    @jax.jit
    def euler_lagrange(a, b):
        da = gr.functional_derivative(lambda u: qm.schrodinger_action(u, b, V, st, C), a, st)
        db = gr.functional_derivative(lambda u: qm.schrodinger_action(a, u, V, st, C), b, st)
        return jax.lax.complex(da, db)

    @jax.jit
    def schrodinger_residual(psi):
        h_psi = jax.vmap(lambda f, v: schrodinger_operator(f, v, gr.Grid((64,))))(psi, V)
        return -2 * C.mu * (1j * HBAR * gr.derivative(psi, st, 0) - h_psi)

    got, expected = euler_lagrange(psi.real, psi.imag), schrodinger_residual(psi)
    # Spectral derivatives of fields band-limited well inside 48 × 64 modes: round-off ~1e-13 of
    # the O(10) terms; 1e-10 relative leaves margin and would catch any O(h) or sign error.
    np.testing.assert_allclose(got, expected, atol=1e-10 * float(np.max(np.abs(expected))))


def test_action_36_equals_unboxed_28_up_to_a_total_derivative():
    st, _, _, p, F, V = spacetime_fields()

    @jax.jit
    def s36(p, F, c):  # μ_true/μ_c · S₃₆[Ψ(p, F)]: both built with the constants c
        psi = qm.psi_from_madelung(p, F, c)
        return C.mu / c.mu * qm.schrodinger_action(jnp.real(psi), jnp.imag(psi), V, st, c)

    s28 = jax.jit(lambda p, F: en.action(p, F, V, st, C, learning=False))
    grad36 = jax.jit(jax.grad(s36, argnums=(0, 1)))
    # Equal integrals: -4D∫√p∇²√p = 4D∫|∇√p|² on the periodic box (Parseval; only the Nyquist
    # mode of √p, ~1e-17 here, could differ).
    np.testing.assert_allclose(float(s36(p, F, C)), float(s28(p, F)), rtol=1e-13)
    # Equal Euler-Lagrange expressions (29)-(30) in (p, F): chain rule through Ψ(p, F).
    g36 = grad36(p, F, C)
    g28 = jax.jit(jax.grad(s28, argnums=(0, 1)))(p, F)
    for u, v in zip(g36, g28):
        np.testing.assert_allclose(u / st.cell_volume, v / st.cell_volume, atol=1e-10)
    # The paper's μ = 1 map (ħ = √(4D/γ)) with μ = 1.6 in the action is a different functional:
    # μ·S₃₆ then carries 4Dμ|∇√p|², not 4D|∇√p|²: δ/δp misses (30) by 4D(μ-1)∇²√p/√p = O(1).
    g_paper = grad36(p, F, en.Coefficients(C.D, C.gamma, 1.0))
    assert float(jnp.max(jnp.abs(g_paper[0] - g28[0]))) / st.cell_volume > 0.1


@pytest.mark.parametrize("shape", [(48,), (24, 20), (24, 20, 18)])
def test_equations_of_motion_match_schrodinger_and_the_split_step_generator(shape):
    g = gr.Grid(shape, lengths=[2 * math.pi * (1 + 0.5 * k) for k in range(len(shape))])
    q = mesh(g)
    theta = [2 * math.pi * q[k] / g.lengths[k] for k in range(len(shape))]  # fundamental of each axis
    V = sum(np.cos(theta[k] + k) for k in range(len(shape)))
    # Fourier coefficients fall like 0.3ⁿ/n!: ≲ 1e-15 at the Nyquist mode of every axis here.
    smooth = np.exp(sum(0.3 * np.sin(theta[k]) for k in range(len(shape))) + 0.3j * np.cos(theta[0]))
    rng = np.random.default_rng(0)
    rough = rng.standard_normal(g.shape) + 1j * rng.standard_normal(g.shape)

    @jax.jit
    def compare(smooth, rough):
        eom = functools.partial(qm.schrodinger_equations_of_motion, V=V, grid=g, c=C)
        # On a rough field (all modes, Nyquist included) the jax.grad EOM and the split-step's
        # Fourier symbol must agree to round-off: they are the same discrete operator.
        eps = qm._kinetic_symbol(g, C, V.dtype).astype(rough.dtype)  # explicit: strict dtype promotion
        generator = -1j / HBAR * (jnp.fft.ifftn(eps * jnp.fft.fftn(rough)) + V.astype(rough.dtype) * rough)
        return eom(smooth), -1j / HBAR * schrodinger_operator(smooth, V, g), eom(rough), generator

    rhs, expected, got, generator = compare(smooth, rough)
    np.testing.assert_allclose(rhs, expected, atol=1e-11 * float(np.max(np.abs(expected))))
    np.testing.assert_allclose(got, generator, atol=1e-11 * float(np.max(np.abs(generator))))


def test_hamiltonian_matrix_is_the_jax_grad_operator():
    g = gr.Grid((32,))
    q = mesh(g)[0]
    V = np.cos(q)
    h = np.asarray(qm.hamiltonian_matrix(V, g, C))
    psi = np.exp(np.sin(q) + 0.5j * np.cos(2 * q))
    eom = jax.jit(lambda psi: qm.schrodinger_equations_of_motion(psi, V, g, C))
    np.testing.assert_allclose(h @ psi, 1j * HBAR * eom(psi), atol=1e-12)
    np.testing.assert_allclose(h, h.T, atol=1e-13)


# ----------------------------------------------------------------------------------- solvers
@pytest.fixture(scope="module")
def order_problem():
    g = gr.Grid((64,))
    q = mesh(g)[0]
    V = 1.5 * np.cos(q)
    psi0 = np.exp(0.5 * np.cos(q) + 0.7j * np.sin(q))
    return g, V, psi0, np.asarray(qm.eigen_propagator(V, g, C)(psi0, 1.0))


# Step counts per scheme: errors in the asymptotic range and well above round-off (1e-13).
STEPS = {"strang": (10, 20, 40), "yoshida4": (10, 20, 40), "yoshida6": (8, 16, 32),
         "blanes-moan4": (10, 20, 40), "blanes-moan6": (6, 8, 12)}


@pytest.mark.parametrize("scheme", list(qm.SCHEMES))
def test_splitting_time_order_and_unitarity(scheme, order_problem):
    g, V, psi0, exact = order_problem

    @jax.jit
    def run(dt, n):
        s = solve(qm.split_step(V, g, C, dt, scheme=scheme), psi0, n_steps=n)
        return s, qm.norm(s.y, g) / qm.norm(psi0, g) - 1

    errs, norms = [], []
    for n in STEPS[scheme]:
        s, dnorm = run(1.0 / n, n)
        np.testing.assert_allclose(float(s.t), 1.0, rtol=1e-14)
        errs.append(float(np.max(np.abs(np.asarray(s.y) - exact))))
        norms.append(float(dnorm))
    slope = np.polyfit(np.log(1.0 / np.array(STEPS[scheme])), np.log(errs), 1)[0]
    # The reference is exact in time on the same grid, so the error is the splitting's alone; its
    # fitted slope is the order within 0.25 (pre-asymptotic terms at the largest step).
    assert abs(slope - qm.ORDERS[scheme]) < 0.25, (slope, errs)
    assert max(abs(x) for x in norms) < 1e-13  # products of unit-modulus phases and unitary FFTs


def test_split_step_2d_against_eigen_propagator():
    g = gr.Grid((12, 10), lengths=(2 * math.pi, 2 * math.pi))
    x, y = mesh(g)
    V = np.cos(x) * np.cos(y) + 0.5 * np.sin(x + y)  # not separable
    psi0 = np.exp(0.4 * np.cos(x) + 0.3j * np.sin(y) + 0.2j * np.cos(x - y))

    @jax.jit
    def run(V, psi0):
        return (solve(qm.split_step(V, g, C, 0.05, scheme="blanes-moan6"), psi0, n_steps=20),
                qm.eigen_propagator(V, g, C)(psi0, 1.0))

    s, exact = run(V, psi0)
    # Same discrete Ĥ on both sides (any resolution): only the sixth-order splitting error is
    # left, ~1e-12 at Δt = 0.05 in the 1D problem above; 1e-9 leaves margin.
    assert float(jnp.max(jnp.abs(s.y - exact))) < 1e-9


def test_split_step_3d_separable_is_the_product_of_1d_solutions():
    # V = V1(x) + V2(y) + V3(z) and T = T1 + T2 + T3: every sub-step factorizes over the axes, so a
    # 3D step of a product state is exactly the product of the three 1D steps (round-off only):
    # this checks the K-dimensional FFT and symbol wiring; the 2D test above checks the accuracy.
    n = 12
    g1, g3 = gr.Grid((n,)), gr.Grid((n, n, n))
    q = mesh(g1)[0]
    vs = [np.cos(q), 0.5 * np.sin(q), -np.cos(2 * q)]
    fs = [np.exp(0.3 * np.sin(q)) + 0j, np.exp(0.2j * np.cos(q)), 1 + 0.2 * np.cos(q) + 0j]

    def outer(a, b, c):
        return a.reshape(-1, 1, 1) * b.reshape(1, -1, 1) * c.reshape(1, 1, -1)

    def add(a, b, c):
        return a.reshape(-1, 1, 1) + b.reshape(1, -1, 1) + c.reshape(1, 1, -1)

    @functools.partial(jax.jit, static_argnums=0)
    def run(g, v, f):
        return solve(qm.split_step(v, g, C, 0.05, scheme="yoshida4"), f, n_steps=16).y

    parts = [run(g1, v, f) for v, f in zip(vs, fs)]
    np.testing.assert_allclose(run(g3, add(*vs), outer(*fs)), outer(*parts), atol=1e-13)


def ho_grid(n=256, length=None):
    length = length or math.sqrt(2 * math.pi * n * HBAR / (MASS * 1.3))  # balances x and k ranges
    return gr.Grid((n,), lengths=(length,))


def test_harmonic_exact_step_reproduces_the_coherent_state():
    omega, x0, p0 = 1.3, 1.5, -0.8
    g = ho_grid()
    x = mesh(g)[0]
    kw = dict(x0=x0, p0=p0, omega=omega, hbar=HBAR, mass=MASS, center=g.lengths[0] / 2)
    psi0, exact = coherent_state(x, 0.0, **kw), coherent_state(x, 10.0, **kw)

    @functools.partial(jax.jit, static_argnums=(1, 2))
    def exact_steps(psi0, dt, n):
        return solve(qm.harmonic_split_step(g, C, omega, dt), psi0, n_steps=n).y

    for dt, n in ((1.0, 10), (0.25, 40)):
        err = np.max(np.abs(np.asarray(exact_steps(psi0, dt, n)) - exact))
        # No time-step error (the same 1e-13 for 10 large and 40 small steps): only the grid's,
        # spectral for a Gaussian on a box of ±20 widths.
        assert err < 1e-12, (dt, err)

    @jax.jit
    def sixth_order(psi0):  # the generic sixth-order splitting on the same problem, Δt = 0.02
        return solve(qm.split_step(qm.harmonic_potential(g, C, omega), g, C, 0.02, scheme="blanes-moan6"), psi0,
                     n_steps=500).y

    err = np.max(np.abs(np.asarray(sixth_order(psi0)) - exact))
    assert err < 1e-8, err  # ~1e-10 measured


def test_gradient_through_the_solver_obeys_ehrenfest():
    # ⟨x⟩(t) = x0 cos ωt + p0 sin ωt/(mω) exactly for the oscillator: d⟨x⟩/dp0 = sin ωt/(mω).
    omega, t = 1.3, 2.0
    g = ho_grid(128)
    xs = mesh(g)[0] - g.lengths[0] / 2

    def mean_x(p0):
        psi0 = jnp.exp(jax.lax.complex(-MASS * omega * (xs - 0.7) ** 2 / (2 * HBAR), p0 * xs / HBAR))
        psi = solve(qm.harmonic_split_step(g, C, omega, 0.5), psi0, n_steps=4).y
        return gr.integral(xs * jnp.abs(psi) ** 2, g) / qm.norm(psi, g)

    got = float(jax.jit(jax.grad(mean_x))(0.3))
    np.testing.assert_allclose(got, math.sin(omega * t) / (MASS * omega), rtol=1e-10)  # round-off


def test_free_gaussian_width():
    sigma0 = 0.5
    g = gr.Grid((512,), lengths=(60.0,))
    xs = mesh(g)[0] - 30.0
    psi0 = (2 * math.pi * sigma0**2) ** -0.25 * np.exp(-(xs**2) / (4 * sigma0**2) + 0.4j * xs)

    @jax.jit
    def moments(psi0):
        free = qm.split_step(jnp.zeros(g.shape), g, C, 0.25, scheme="strang")  # V = 0: exact

        def one(psi):
            rho = jnp.abs(psi) ** 2
            mean = gr.integral(xs * rho, g)
            return mean, jnp.sqrt(gr.integral((xs - mean) ** 2 * rho, g))

        return jax.vmap(one)(solve(free, psi0, n_steps=8, save_every=1).y[1:])  # after steps 1..8

    mean, width = (np.asarray(m) for m in moments(psi0))
    t = 0.25 * np.arange(1, 9)
    expected = sigma0 * np.sqrt(1 + (HBAR * t / (2 * MASS * sigma0**2)) ** 2)
    # Spectral moments of a resolved Gaussian on a box of ±5σ(2): relative error ≲ 1e-12.
    np.testing.assert_allclose(width, expected, rtol=1e-10)
    np.testing.assert_allclose(mean, 0.4 * HBAR / MASS * t, atol=1e-10)  # group velocity ħk/m


def test_harmonic_levels_by_eigen_solve():
    omega = 1.3
    g = ho_grid(96, 24.0)
    V = np.asarray(qm.harmonic_potential(g, C, omega))
    e, vecs = np.linalg.eigh(np.asarray(qm.hamiltonian_matrix(V, g, C)))
    expected = HBAR * omega * (np.arange(10) + 0.5)
    # The first 10 states fit the box (turning point 4.6, box ±12) and the k range (|k| < 12.6):
    # spectral accuracy, ~1e-12 here.
    np.testing.assert_allclose(e[:10], expected, atol=1e-9)
    np.testing.assert_allclose(jax.jit(qm.energy, static_argnums=2)(vecs[:, 3] + 0j, V, g, C), e[3], rtol=1e-12)
    np.testing.assert_allclose(qm.energy_levels(V, g, C, 4), e[:4], rtol=1e-12)


def test_harmonic_levels_2d_degeneracy():
    omega = 1.3
    length = math.sqrt(2 * math.pi * 20 * HBAR / (MASS * omega))  # x and k ranges both ±5.6 widths
    g = gr.Grid((20, 20), lengths=(length, length))
    levels = qm.energy_levels(qm.harmonic_potential(g, C, omega), g, C, 6)
    # E = ħω(n1 + n2 + 1): 1, 2, 2, 3, 3, 3 (times ħω). Tails at the box edge and at the Nyquist
    # wavenumber bound the error on this coarse 20 × 20 grid: 1e-8 measured, 1e-7 allowed.
    np.testing.assert_allclose(levels / (HBAR * omega), [1, 2, 2, 3, 3, 3], atol=1e-7)


# -------------------------------------------------------------------- Madelung <-> Schrödinger
def test_madelung_time_derivative_solves_schrodinger_with_mu_kept():
    g, q, p, F, V = madelung_data(64)

    @jax.jit
    def residual(c):
        # ∂_tΨ from the Madelung flow (entropic EOM at the true μ) vs -iĤΨ/ħ with constants c.
        dp, dF = en.equations_of_motion(p, F, V, g, C, learning=False)
        k = qm.effective_constants(c)
        psi = qm.psi_from_madelung(p, F, c)
        psi_t = psi * jax.lax.complex(dp / (2 * p), dF / k.hbar)
        rhs = qm.schrodinger_equations_of_motion(psi, V, g, c)
        return jnp.max(jnp.abs(psi_t - rhs)) / jnp.max(jnp.abs(rhs))

    assert float(residual(C)) < 1e-12  # identity up to round-off
    assert float(residual(en.Coefficients(C.D, C.gamma, 1.0))) > 0.05  # the paper's μ = 1 form


def test_madelung_and_schrodinger_evolutions_agree():
    # n = 64: Ψ is resolved by 32 modes but p = |Ψ|² needs twice the band; at n = 32 the two
    # discretizations differ by 1e-7 at t = 1 (spatial error, not dynamics), at 64 by round-off.
    g, q, p, F, V = madelung_data(64)
    schrodinger = jax.jit(lambda p, F: qm.madelung_from_psi(
        qm.eigen_propagator(V, g, C)(qm.psi_from_madelung(p, F, C), 1.0), C))
    p_s, F_s = schrodinger(p, F)
    assert float(jnp.min(p_s) / jnp.max(p_s)) > 0.3  # no node forms by t = 1

    @functools.partial(jax.jit, static_argnums=(0, 1))  # dt concrete: the stepper checks RK4's bound
    def madelung_error(dt, n):
        p_m, F_m = solve(qm.madelung_stepper(V, g, C, dt), (p, F), n_steps=n).y
        return jnp.maximum(jnp.max(jnp.abs(p_m - p_s)), jnp.max(jnp.abs(qm.wrap_phase_difference(F_m, F_s, C))))

    # RK4 stability needs (ħ/2m) k_max² Δt < 2.8: Δt < 3.8e-3.
    errs = [float(madelung_error(1.0 / n, n)) for n in (400, 800)]
    # The Schrödinger side is exact in time, so the difference is RK4's: it falls ~16x when Δt
    # halves, and at Δt = 1/800 it is < 1e-11 (F compared exactly modulo 2πħ, no free constant).
    assert errs[1] < 1e-11 and errs[0] / errs[1] > 10, errs


# ---------------------------------------------------------------------------- inputs, dtypes
def test_bad_inputs_fail_loudly():
    g = gr.Grid((16,))
    V = jnp.zeros(16)
    with pytest.raises(ValueError, match="scheme"):
        qm.split_step(V, g, C, 0.1, scheme="euler")
    with pytest.raises(ValueError, match="shape"):
        qm.split_step(jnp.zeros(8), g, C, 0.1)
    init, _ = qm.split_step(V, g, C, 0.1)
    with pytest.raises(ValueError, match="use jax.vmap"):
        init(jnp.ones((2, 16), complex))
    with pytest.raises(ValueError, match="NaN"):
        init(jnp.full(16, jnp.nan, complex))
    with pytest.raises(ValueError, match=">= 0"):
        qm.psi_from_madelung(-jnp.ones(16), jnp.zeros(16), C)
    with pytest.raises(ValueError, match="pi"):
        qm.harmonic_split_step(g, C, 1.0, 4.0)
    init, _ = qm.madelung_stepper(V, g, C, 0.01)
    with pytest.raises(ValueError, match="> 0"):
        init((jnp.zeros(16), jnp.zeros(16)))


def test_vmap_batches_and_float32_keeps_its_dtype():
    g = gr.Grid((32,))
    q = mesh(g)[0]
    V = np.cos(q)
    batch = np.stack([np.exp(1j * k * q) * (1 + 0.1 * np.cos(q)) for k in range(3)])

    @jax.jit
    def run(v, f):
        return solve(qm.split_step(v, g, C, 0.05, scheme="yoshida4"), f, n_steps=10).y

    out = jax.vmap(run, in_axes=(None, 0))(V, batch)
    np.testing.assert_allclose(out[1], run(V, batch[1]), atol=1e-14)
    out32 = run(V.astype(jnp.float32), batch[1].astype(jnp.complex64))
    assert out32.dtype == jnp.complex64
    np.testing.assert_allclose(out32, out[1], atol=1e-5)  # float32 round-off over 10 steps
    assert qm.psi_from_madelung(jnp.ones(4, jnp.float32), jnp.ones(4, jnp.float32), C).dtype == jnp.complex64


# --------------------------------------------------------------------------- input policy (issue #11)
def test_madelung_map_rejects_negative_mass():
    # γ = -0.7, μ = -1.6 gives γμ/D > 0 and used to pass the map (35) with m_eff = 1/(2γ) < 0.
    g = gr.Grid((8,))
    q = g.axis(0)
    with pytest.raises(ValueError, match=r"gamma > 0 and mu > 0"):
        qm.psi_from_madelung(jnp.exp(jnp.cos(q)), jnp.sin(q), en.Coefficients(0.3, -0.7, -1.6))


def test_psi_from_madelung_promotes_integer_fields_before_casting_hbar():
    # ħ_eff = 2√(D/(γμ)) = 2√(0.3/0.7) ≈ 1.309 was cast to F's int dtype (ħ = 1): the phase F/ħ
    # was wrong by 30%. Integer p, F must give exactly the float answer.
    c = en.Coefficients(0.3, 0.7, 1.0)
    p, F = jnp.arange(1, 5), jnp.arange(4)
    expected = qm.psi_from_madelung(p.astype(float), F.astype(float), c)
    np.testing.assert_array_equal(qm.psi_from_madelung(p, F, c), expected)


@pytest.mark.unchecked  # asserts the package's own message for input the annotations exclude
def test_energy_levels_k_must_count_levels():
    g = gr.Grid((8,))
    c = en.Coefficients(0.125, 0.5, 1.0)
    V = jnp.cos(g.axis(0))
    for k in (-2, 0, 9, 2.5):  # e[:-2] silently dropped the top two levels instead of failing
        with pytest.raises(ValueError, match=r"k must be None or an integer in \[1, 8\]"):
            qm.energy_levels(V, g, c, k)
    assert qm.energy_levels(V, g, c, 3).shape == (3,)


def test_schrodinger_checks_survive_jit_grad_when_linear():
    # H[Ψ] is linear in V: jit(grad) needs no primal, so a plain check on V was dead code and a NaN V
    # returned a finite gradient. The guard rides on the derivative.
    g = gr.Grid((8,))
    c = en.Coefficients(0.125, 0.5, 1.0)
    a = jnp.sin(g.axis(0))
    bad = jnp.zeros(8).at[0].set(jnp.nan)
    with pytest.raises(Exception, match="V contains NaN"):
        jax.block_until_ready(jax.jit(jax.grad(lambda v: qm.schrodinger_hamiltonian(a, a, v, g, c)))(bad))


from hypothesis import given, settings, strategies as st  # noqa: E402

_any_float = st.floats(allow_nan=True, allow_infinity=True, width=64)


@settings(max_examples=60, deadline=None)
@given(_any_float, _any_float, _any_float)
def test_schrodinger_domain_is_exactly_D_gamma_mu_positive(D, gamma, mu):
    # effective_constants accepts (D, γ, μ) iff each is finite and > 0 (eq. (34): ħ_eff real and
    # m_eff > 0), over every float hypothesis draws (NaN, ±inf, ±0, subnormals): none outside slips
    # through. Inside, ħ²/(2m) = 4D/μ, the identity of (34), to a few ulps (overflow aside).
    # A subnormal (0 < |x| < 2.2e-308) is 0 to XLA on the CPU (it flushes subnormals to zero), so
    # there both outcomes are right; refusing it must still say why.
    ok = all(math.isfinite(x) and x > 0 for x in (D, gamma, mu))
    subnormal = any(0 < abs(x) < sys.float_info.min for x in (D, gamma, mu))
    try:
        k = qm.effective_constants(en.Coefficients(D, gamma, mu))
    except ValueError as e:
        assert not ok or subnormal, e
        assert "D > 0, gamma > 0 and mu > 0" in str(e)
    else:
        assert ok
        hbar, mass = float(k.hbar), float(k.mass)
        # Under- and overflow aside (γ = 2.2e307 gives m_eff below the normal range, flushed to 0):
        # the identity is checked where every factor is a normal float.
        if all(math.isfinite(v) and v > 1e-300 for v in (hbar, mass)):
            lhs, rhs = hbar**2 / (2 * mass), 4 * D / mu
            if all(math.isfinite(v) and v > 1e-300 for v in (lhs, rhs)):
                assert math.isclose(lhs, rhs, rel_tol=1e-12), (lhs, rhs)


# ------------------------------------------------------------------- the oscillator (Fock) basis
# One 128-point grid in units of the basis oscillator's length ℓ = √(ħ/(mω)) (ω = 1, the module's
# constants C): box ±ℓ√(64π) ≈ ±14.2ℓ and wavenumbers up to ≈ 14.2/ℓ, which hold ~60 Hermite
# functions (turning point ℓ√(2n+1) ≈ 11ℓ) with their Gaussian tails below round-off at the box edge.
FOCK_OMEGA = 1.0
FOCK_ELL = math.sqrt(HBAR / (MASS * FOCK_OMEGA))


@functools.lru_cache
def fock_problem():
    """Grid, q - q₀, and the anharmonic well V = ħω(½ξ² + 0.1ξ⁴), ξ = (q - q₀)/ℓ."""
    n = 128
    g = gr.Grid((n,), lengths=(FOCK_ELL * math.sqrt(2 * math.pi * n),))
    x = np.asarray(g.axis(0)) - g.lengths[0] / 2
    xi = x / FOCK_ELL
    V = jnp.asarray(HBAR * FOCK_OMEGA * (0.5 * xi**2 + 0.1 * xi**4))
    return g, x, V


@functools.lru_cache
def fock_grid_eigen():
    """The independent method: eigh of the dense grid Ĥ from jax.grad (hamiltonian_matrix)."""
    g, _, V = fock_problem()
    return np.linalg.eigh(np.asarray(qm.hamiltonian_matrix(V, g, C)))


def test_fock_propagator_harmonic_levels_and_coherent_state():
    g, x, _ = fock_problem()
    V = qm.harmonic_potential(g, C, FOCK_OMEGA)
    fp = qm.fock_propagator(V, g, C, FOCK_OMEGA, 40)
    # V - V_HO is zero (the same formula), so Ĥ is diagonal: ħω(n + ½) up to eigh's round-off
    # (a few ε × the largest level ≈ 41).
    np.testing.assert_allclose(np.asarray(fp.energies), HBAR * FOCK_OMEGA * (np.arange(40) + 0.5),
                               rtol=0, atol=1e-12)
    kw = dict(x0=3 * FOCK_ELL, p0=HBAR / FOCK_ELL, omega=FOCK_OMEGA, hbar=HBAR, mass=MASS, center=0.0)
    psi0, t = coherent_state(x, 0.0, **kw), 2.7
    assert abs(float(fp.lost_norm(psi0))) < 1e-13  # |α|² = 5: Poisson weight beyond level 40 is ~1e-20
    out = np.asarray(fp.propagate(psi0, t))
    # Analytic state: the basis truncation (≲1e-10 in amplitude) and the grid's spectral error
    # (Gaussian tails e^{-(14-4)²/2} at the box edge and in k) are far below 1e-10; the 40-term
    # synthesis adds round-off ~1e-13 × 40 terms (measured 5e-12).
    np.testing.assert_allclose(out, coherent_state(x, t, **kw), rtol=0, atol=1e-10)
    mehler = np.asarray(solve(qm.harmonic_split_step(g, C, FOCK_OMEGA, t / 3), psi0, n_steps=3).y)  # exact Mehler
    np.testing.assert_allclose(out, mehler, rtol=0, atol=1e-10)


def test_fock_energies_converge_from_above_to_the_grid_levels():
    g, _, V = fock_problem()
    exact = fock_grid_eigen()[0][:8]
    errors = []
    for levels in (20, 40, 60):
        e = np.asarray(qm.fock_propagator(V, g, C, FOCK_OMEGA, levels).energies[:8])
        errors.append(e - exact)
    errors = np.array(errors)
    # Rayleigh-Ritz: nested bases give upper bounds decreasing with levels. The slack 1e-11 × E is the
    # two eigh's round-off (each ~1e-13 relative to the largest matrix entry, ~50 ħω at 60 levels).
    slack = 1e-11 * np.abs(exact)
    assert np.all(errors >= -slack)
    assert np.all(errors[0] >= errors[1] - slack) and np.all(errors[1] >= errors[2] - slack)
    assert errors[0, 7] > 1e-4  # 20 levels: the 8th level of the quartic well is not yet converged
    # 60 levels: the lowest 8 agree with the grid's dense Ĥ (spectrally exact on this grid) to
    # round-off; 1e-10 relative is ~1000 ε, measured 3e-13 absolute.
    np.testing.assert_allclose(errors[2], 0.0, atol=1e-10 * float(exact[-1]))


def test_fock_propagator_anharmonic_dynamics_agrees_with_the_grid():
    g, x, V = fock_problem()
    _, vecs = fock_grid_eigen()
    ep = qm.eigen_propagator(V, g, C)
    h = g.spacing[0]
    # (a) A superposition of the 6 lowest levels (complex weights): both methods hold it exactly,
    # so they agree to the Ritz eigenvectors' error ≈ eigh round-off / level gap (gap ≥ 1.2 ħω).
    weights = np.array([0.6, 0.5j, -0.4, 0.3 + 0.2j, 0.2, -0.1j])
    psi0 = (vecs[:, :6] @ weights) / math.sqrt(h)
    fp = qm.fock_propagator(V, g, C, FOCK_OMEGA, 60)
    t = 3.0
    np.testing.assert_allclose(np.asarray(fp.propagate(psi0, t)), np.asarray(ep(psi0, t)), rtol=0, atol=1e-9)
    # (b) A displaced, moving packet with quartic tails (not a finite sum of levels): the Fock result
    # converges to the grid's exact-in-time one as levels grow (measured 6e-3, 7e-4, 7e-5 at 20, 30, 40).
    psi0 = np.exp(-((x - FOCK_ELL) / FOCK_ELL) ** 2 / 2 - 0.1 * ((x - FOCK_ELL) / FOCK_ELL) ** 4
                  + 0.5j * x / FOCK_ELL)
    psi0 = psi0 / math.sqrt(float(qm.norm(psi0, g)))
    ref = np.asarray(ep(psi0, t))
    errs = [float(np.max(np.abs(np.asarray(qm.fock_propagator(V, g, C, FOCK_OMEGA, L).propagate(psi0, t)) - ref)))
            for L in (20, 30, 40)]
    assert errs[0] > 3 * errs[1] > 9 * errs[2]  # geometric convergence (each 10 levels gain ≥ 3×)
    assert errs[2] < 3e-4  # and 40 levels reach the packet's amplitude ~0.75 to < 1e-3 relative


def test_fock_propagator_truncation_and_basis_checks_fire():
    g, x, V = fock_problem()
    fp = qm.fock_propagator(V, g, C, FOCK_OMEGA, 10)
    far = coherent_state(x, 0.0, x0=8 * FOCK_ELL, p0=0.0, omega=FOCK_OMEGA, hbar=HBAR, mass=MASS, center=0.0)
    # |α|² = 32: the first 10 levels hold Σ_{n<10} e^{-32} 32ⁿ/n! ≈ 2e-6 of the norm (the
    # projection onto the basis is basis-independent of V).
    lost = float(fp.lost_norm(far))
    assert 0.999 < lost <= 1.0
    with pytest.raises(ValueError, match=r"levels=10"):
        fp.propagate(far, 1.0)
    with pytest.raises(Exception, match=r"not held by the oscillator basis"):
        jax.block_until_ready(jax.jit(fp.propagate)(far, 1.0))
    near = coherent_state(x, 0.0, x0=0.0, p0=0.0, omega=FOCK_OMEGA, hbar=HBAR, mass=MASS, center=0.0)
    assert abs(float(fp.lost_norm(near))) < 1e-13  # the oscillator ground state is φ_0 itself
    # 80 levels reach ℓ√161 ≈ 12.7ℓ and wavenumbers 12.7/ℓ: their tails hit the box edge (14.2ℓ) and
    # the grid's k range, so the grid Gram matrix is not the identity.
    with pytest.raises(ValueError, match=r"levels=80.*\(grid: "):
        qm.fock_propagator(V, g, C, FOCK_OMEGA, 80)


def test_fock_propagator_differentiates_and_batches():
    g, x, V = fock_problem()
    h = g.spacing[0]
    fp = qm.fock_propagator(V, g, C, FOCK_OMEGA, 30)
    # Hellmann-Feynman: ∂E_0/∂V(q_j) = |φ_0(q_j)|² h for the Ritz ground state (eigh's derivative
    # against the function's own eigenvector; both round-off, 1e-10 ≫ ε × the largest level).
    dE0 = jax.grad(lambda v: qm.fock_propagator(v, g, C, FOCK_OMEGA, 30).energies[0])(V)
    np.testing.assert_allclose(np.asarray(dE0), np.asarray(fp.states[0]) ** 2 * h, rtol=0, atol=1e-10)
    # vmap over states equals the loop (the same arithmetic: round-off only).
    psis = np.stack([coherent_state(x, 0.0, x0=s * FOCK_ELL, p0=0.0, omega=FOCK_OMEGA, hbar=HBAR, mass=MASS,
                                    center=0.0) for s in (0.0, 0.5, 1.0)])
    batched = np.asarray(jax.vmap(fp.propagate, in_axes=(0, None))(psis, 1.3))
    looped = np.stack([np.asarray(fp.propagate(p, 1.3)) for p in psis])
    np.testing.assert_allclose(batched, looped, rtol=0, atol=1e-13)
