"""Paper §7 (eqs. (49)-(65)): moving means of subsystems, permutation networks, waves, light cone."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnworld_jax import hidden as H
from nnworld_jax.network import Network, step
from nnworld_jax.stepping import solve


def gaussian(s):
    return jnp.exp(-0.5 * s**2)


@pytest.mark.unchecked  # asserts the package's own message for input the annotations exclude
def test_overall_state_is_the_sum_eq51():
    # (51): x̄^(0) = Σ_d x̄^(d), exactly (a sum of three rows; round-off free for these integers).
    xs = jnp.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(H.overall_state(xs), jnp.array([12.0, 15.0, 18.0, 21.0]))
    with pytest.raises(ValueError, match="xs"):
        H.overall_state(jnp.ones(4))


def test_mean_step_is_eq50_at_the_current_mean(key):
    # (50), (52): x̄(t+1) = diag(f'(w x̄ + b)) w x̄, f' at the current mean and the one shared b, checked
    # against a hand-written diag(sech²(y)) w x̄ (1e-14: same operations up to order).
    k1, k2, k3 = jax.random.split(key, 3)
    w = 0.5 * jax.random.normal(k1, (6, 6)) / jnp.sqrt(6.0)
    b = 0.3 * jax.random.normal(k2, (6,))
    x = jax.random.normal(k3, (6,))
    net = Network(w, b)
    y = w @ x + b
    np.testing.assert_allclose(H.mean_step(net, x), (1 - jnp.tanh(y) ** 2) * (w @ x), atol=1e-14)
    # (53): the rate keeps α.
    np.testing.assert_allclose(H.mean_rhs(net, x, 2.5), 2.5 * (H.mean_step(net, x) - x), atol=1e-14)
    # The trajectory iterates the map for each subsystem; D = 2 subsystems share net.
    traj = H.mean_trajectory(net, jnp.stack([x, -0.5 * x]), 3)
    assert traj.shape == (4, 2, 6)
    np.testing.assert_allclose(traj[2, 1], H.mean_step(net, H.mean_step(net, -0.5 * x)), atol=1e-14)


def test_mean_step_is_leading_order_of_the_network_step(key):
    # For b = 0 and tanh, f(y) - f'(y) y = (2/3) y³ + O(y⁵): the error of (50) against the network
    # step (1) divided by (2/3)|y|³ tends to 1 (amplitude 1e-3: corrections ~ y² ~ 1e-6; 1e-4 margin).
    k1, k2 = jax.random.split(key)
    w = 0.8 * jax.random.normal(k1, (5, 5)) / jnp.sqrt(5.0)
    x = 1e-3 * jax.random.normal(k2, (5,))
    net = Network(w, jnp.zeros(5))
    y = w @ x
    np.testing.assert_allclose((step(net, x) - H.mean_step(net, x)) / ((2 / 3) * y**3), 1.0, atol=1e-4)
    # With a shared bias b the leading-order map misses f(b) (it is O(1) in the amplitude).
    netb = Network(w, 0.2 * jnp.ones(5))
    np.testing.assert_allclose(step(netb, 0 * x) - H.mean_step(netb, 0 * x), jnp.tanh(0.2), atol=1e-15)


def test_linear_limit_eq57_58_has_no_bias_and_keeps_alpha(key):
    # (57)-(58): ∂_τx̄ = α(w - I)x̄; with w = π it is (61) exactly (same floating-point operations), and one
    # Euler step of length 1/α of (58) is the step (57) (1e-15: one rounding of x + (wx - x)).
    x = jnp.sin(jnp.arange(10.0))
    np.testing.assert_array_equal(H.linear_rhs(H.shift, x, 2.5), H.permutation_rhs(x, 2.5))
    w = jax.random.normal(key, (10, 10)) / 4.0
    np.testing.assert_allclose(H.linear_rhs(w.__matmul__, x, 3.0), 3.0 * (w @ x - x), atol=1e-14)
    np.testing.assert_allclose(x + H.linear_rhs(w.__matmul__, x, 4.0) / 4.0, H.linear_step(w.__matmul__, x),
                               atol=1e-15)
    # The linear network step (1) with b = 0 is (57) exactly.
    np.testing.assert_array_equal(step(Network(w, jnp.zeros(10), "linear"), x), H.linear_step(w.__matmul__, x))
    with pytest.raises(ValueError, match="alpha"):
        H.linear_rhs(H.shift, x, -1.0)


@pytest.mark.unchecked  # asserts the package's own message for input the annotations exclude
def test_permutations_index_maps():
    # (59)-(60): (πx)_i = x_{i-1}; πᵀ = π⁻¹; the gather, the roll and a dense matrix agree exactly.
    n = 7
    x = jnp.arange(n, dtype=jnp.float64) ** 2
    perm = H.cycle_permutation(n)
    dense = np.zeros((n, n))
    dense[np.arange(n), (np.arange(n) - 1) % n] = 1.0
    np.testing.assert_array_equal(H.apply_permutation(perm, x), dense @ np.asarray(x))
    np.testing.assert_array_equal(H.shift(x), dense @ np.asarray(x))
    np.testing.assert_array_equal(H.shift_transpose(x), dense.T @ np.asarray(x))
    pt = H.transpose_permutation(perm)
    np.testing.assert_array_equal(H.apply_permutation(pt, H.apply_permutation(perm, x)), x)
    # Multi-cycle (60): cycles of lengths 3 and 4 act as independent rings.
    mp = H.multi_cycle_permutation([3, 4])
    np.testing.assert_array_equal(np.asarray(mp), [2, 0, 1, 6, 3, 4, 5])
    y = H.apply_permutation(mp, x)
    np.testing.assert_array_equal(y[:3], jnp.roll(x[:3], 1))
    np.testing.assert_array_equal(y[3:], jnp.roll(x[3:], 1))
    with pytest.raises(ValueError, match="perm"):
        H.apply_permutation(perm, jnp.zeros(5))


def test_poisson_shift_exact_vs_rk4_and_moments():
    # conventions §5: the FFT solution is exact; RK4 with α dt = 0.25 has a global error ~1e-9 at α = 16,
    # τ = 5 (measured 6e-9; bound 1e-8). Mass, centroid and variance shifts are exact for the Poisson
    # kernel: Σx conserved (1e-12), Δcentroid = Δvariance = ατ sites (1e-9 relative, limited by the
    # 1e-300 tails being clipped at the ends of the 640-site ring).
    alpha, tau = 16.0, 5.0
    sigma = jnp.arange(640, dtype=float) / alpha - 15.0
    x0 = gaussian(sigma)
    exact = H.poisson_shift_exact(x0, alpha, tau)
    flow = H.permutation_flow(alpha, 0.25 / alpha)
    sim = jax.jit(lambda x: solve(flow, x, n_steps=320))(x0)
    assert float(sim.t) == pytest.approx(tau, rel=1e-12)
    assert float(jnp.max(jnp.abs(sim.y - exact))) < 1e-8
    m0, c0, v0 = H.profile_moments(x0)
    m, c, v = H.profile_moments(exact)
    assert float(m - m0) == pytest.approx(0.0, abs=1e-12)
    assert float(c - c0) == pytest.approx(alpha * tau, rel=1e-9)
    assert float(v - v0) == pytest.approx(alpha * tau, rel=1e-9)


def test_rk4_converges_at_fourth_order():
    # The stepper's global error falls like dt⁴ (fitted slope 4 ± 0.3).
    alpha, tau = 8.0, 1.0
    x0 = gaussian(jnp.arange(256, dtype=float) / alpha - 16.0)
    exact = H.poisson_shift_exact(x0, alpha, tau)
    errs = []
    for nst in (16, 32, 64):
        s = solve(H.permutation_flow(alpha, tau / nst), x0, n_steps=nst)
        errs.append(float(jnp.max(jnp.abs(s.y - exact))))
    slope = np.polyfit(np.log([16, 32, 64]), np.log(errs), 1)[0]
    assert slope == pytest.approx(-4.0, abs=0.3)


def test_wave_speed_and_continuum_correction():
    # (62)-(63): the profile moves right at unit speed in σ = i/α (centroid, exact); its distance to
    # the rigid translation f(σ - τ) is the reference correction (τ/2α) f'' + O(α⁻²): the uncorrected
    # error falls like 1/α (slope -1 ± 0.1), the corrected one like 1/α² (slope -2 ± 0.15).
    tau = 4.0
    raw, cor = [], []
    alphas = (16.0, 32.0, 64.0)
    for alpha in alphas:
        sigma = jnp.arange(int(30 * alpha), dtype=float) / alpha - 10.0
        x = H.poisson_shift_exact(gaussian(sigma), alpha, tau)
        _, c0, _ = H.profile_moments(gaussian(sigma))
        _, c, _ = H.profile_moments(x)
        assert float(c - c0) / alpha / tau == pytest.approx(1.0, abs=1e-10)
        rigid = H.translated_profile(gaussian, sigma, tau)
        fdd = ((sigma - tau) ** 2 - 1) * gaussian(sigma - tau)
        raw.append(float(jnp.max(jnp.abs(x - rigid))))
        cor.append(float(jnp.max(jnp.abs(x - rigid - tau / (2 * alpha) * fdd))))
    la = np.log(alphas)
    assert np.polyfit(la, np.log(raw), 1)[0] == pytest.approx(-1.0, abs=0.1)
    assert np.polyfit(la, np.log(cor), 1)[0] == pytest.approx(-2.0, abs=0.15)


def test_light_cone_exact_when_one_subsystem_moves_per_site():
    # (55): with disjoint supports and the discrete step x → πx (α → ∞), at most one subsystem moves
    # at each neuron and -(∂x⁰)² + Σ(∂x^d)² = 0 exactly (round-off only).
    n, d = 60, 3
    xs = jnp.zeros((d, n))
    for mu in range(d):
        xs = xs.at[mu, 5 + 20 * mu: 12 + 20 * mu].set(jnp.arange(1.0, 8.0))
    res = H.light_cone_residual(xs, jax.vmap(H.shift)(xs), 3.0)
    assert float(jnp.max(jnp.abs(res))) < 1e-14
    # Overlapping subsystems: the residual is -2 α² Σ_{c<d} Δx^c Δx^d, non-zero.
    ys = xs.at[1].set(jnp.roll(xs[0], 2))
    d_ = 3.0 * (jax.vmap(H.shift)(ys) - ys)
    res = H.light_cone_residual(ys, jax.vmap(H.shift)(ys), 3.0)
    cross = -2 * (d_[0] * d_[1] + d_[0] * d_[2] + d_[1] * d_[2])
    np.testing.assert_allclose(res, cross, atol=1e-11)
    assert float(jnp.max(jnp.abs(res))) > 1.0


def test_light_cone_continuous_flow_leaks_through_poisson_tails():
    # (61) at finite α spreads every profile (Poisson), so supports overlap and (55) holds only
    # approximately: for close subsystems the relative residual is > 1e-3; separated by 6 widths it
    # falls below 1e-6 of that (Gaussian tails).
    alpha, tau = 4.0, 1.0
    n = 400
    sigma = jnp.arange(n, dtype=float) / alpha

    def residual(sep):
        xs = jnp.stack([gaussian(4 * (sigma - 20 - mu * sep)) for mu in range(3)])
        after = jax.vmap(lambda x: H.poisson_shift_exact(x, alpha, tau))(xs)
        res = H.light_cone_residual(xs, after)
        return float(jnp.max(jnp.abs(res)) / jnp.max(jnp.sum((after - xs) ** 2, axis=0)))

    near, far = residual(1.5), residual(6.0)
    assert near > 1e-3
    assert far < 1e-6 * near


@pytest.mark.unchecked  # asserts the package's own message for input the annotations exclude
def test_metric_per_neuron_eq56():
    # (56): one metric g^i per neuron. The interval at neuron i uses g^i only (checked against a loop,
    # 1e-14); η at every neuron reproduces (55); a single (D+1)×(D+1) metric is refused, as is an
    # asymmetric one.
    dx0 = jnp.array([1.0, 2.0])
    dxs = jnp.array([[0.5, 1.0], [0.2, -1.0]])
    g0 = jnp.array([[-2.0, 0.1, 0.0], [0.1, 1.0, 0.3], [0.0, 0.3, 1.5]])
    g = jnp.stack([g0, jnp.diag(jnp.array([-1.0, 1.0, 1.0]))])
    dx = np.vstack([np.asarray(dx0)[None], np.asarray(dxs)])
    want = [dx[:, i] @ np.asarray(g[i]) @ dx[:, i] for i in range(2)]
    np.testing.assert_allclose(H.light_cone_interval(dx0, dxs, g), want, atol=1e-14)
    eta = jnp.broadcast_to(jnp.diag(jnp.array([-1.0, 1.0, 1.0])), (2, 3, 3))
    np.testing.assert_allclose(H.light_cone_interval(dx0, dxs, eta), H.light_cone_interval(dx0, dxs), atol=1e-15)
    np.testing.assert_allclose(H.light_cone_interval(dx0, dxs), -dx[0] ** 2 + dx[1] ** 2 + dx[2] ** 2, atol=1e-14)
    with pytest.raises(ValueError, match="symmetric"):
        H.light_cone_interval(dx0, dxs, g.at[0, 0, 1].set(0.5))
    with pytest.raises(ValueError, match="per neuron"):
        H.light_cone_interval(dx0, dxs, g0)


def test_multi_cycle_flow_acts_blockwise():
    # (60)-(61) with a multi-cycle π: the gather-based stepper equals the roll-based stepper run on
    # each cycle separately (same floating-point taps; 1e-15).
    x = jnp.sin(jnp.arange(12.0)) ** 2
    perm = H.multi_cycle_permutation([5, 7])
    init, stepper = H.permutation_flow(3.0, 0.1, perm=perm)
    init1, stepper1 = H.permutation_flow(3.0, 0.1)
    s = stepper(stepper(init(x)))
    a = stepper1(stepper1(init1(x[:5])))
    b = stepper1(stepper1(init1(x[5:])))
    np.testing.assert_allclose(s.y, jnp.concatenate([a.y, b.y]), atol=1e-15)
    with pytest.raises(ValueError, match="alpha"):
        H.permutation_flow(0.0, 0.1)
