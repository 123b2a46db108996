"""§2 eqs. (5)-(9): mean state, Gauss-Newton operator, both Gaussian forms of log Z, loud errors."""

import chex
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import nnworld_jax as nw
from nnworld_jax import reference as ref


def test_linear_mean_state_and_loss_match_spec():
    net = ref.linear_network()
    x = nw.mean_state(net)
    np.testing.assert_allclose(x, ref.LINEAR_MEAN_STATE, atol=5e-9)  # reference prints 8 decimals
    assert float(nw.bulk_loss(net, x)) == pytest.approx(ref.LINEAR_H_STAR, abs=1e-12)


@pytest.mark.parametrize("beta", sorted(ref.LINEAR_LOG_Z))
def test_linear_log_z_matches_spec_and_quadrature(beta):
    # H is exactly quadratic for f linear, so both forms are exact integrals; reference prints 12 decimals,
    # and the trapezoid rule on a Gaussian converges to ~1e-14: 1e-9 is the bar with margin.
    net = ref.linear_network()
    laplace = float(nw.log_partition(net, beta, method="laplace"))
    paper = float(nw.log_partition(net, beta, method="paper"))
    assert laplace == pytest.approx(ref.LINEAR_LOG_Z[beta], abs=1e-9)
    assert paper == pytest.approx(ref.LINEAR_LOG_Z7[beta], abs=1e-9)
    assert laplace == pytest.approx(float(nw.log_partition_quadrature(net, beta, method="laplace")), abs=1e-9)
    assert paper == pytest.approx(float(nw.log_partition_quadrature(net, beta, method="paper")), abs=1e-9)


def test_three_neurons_closed_form_and_quadrature(key):
    # Closed form (2π)^{N/2} det(A)^{-1/2} with A built and factorized by NumPy, independently of
    # the Cholesky path; and a 3-D quadrature of the exact integrands.
    net = ref.random_network(3, key=key, gain=0.5, activation="linear", m=0.05)
    beta = 1.7
    w, b, m = (np.asarray(a) for a in (net.w, net.b, net.m))
    j = np.eye(3) - w
    g = j.T @ j
    a_paper = (1 - beta * m) * np.eye(3) + beta * g
    log_z7 = 1.5 * np.log(2 * np.pi) - 0.5 * np.log(np.linalg.det(a_paper))
    x_star = np.linalg.solve(g - m * np.eye(3), j.T @ b)
    h_star = 0.5 * np.sum((j @ x_star - b) ** 2) - 0.5 * m * x_star @ x_star
    log_z5 = -beta * h_star + 1.5 * np.log(2 * np.pi) - 0.5 * np.log(np.linalg.det(beta * (g - m * np.eye(3))))
    assert float(nw.log_partition(net, beta)) == pytest.approx(log_z7, abs=1e-12)
    assert float(nw.log_partition(net, beta, method="laplace")) == pytest.approx(log_z5, abs=1e-12)
    assert float(nw.log_partition_quadrature(net, beta)) == pytest.approx(log_z7, abs=1e-9)
    assert float(nw.log_partition_quadrature(net, beta, method="laplace")) == pytest.approx(log_z5, abs=1e-9)


def test_mean_state_is_stationary_and_is_the_fixed_point(key):
    net = ref.random_network(8, key=key, m=0.2)
    x = nw.mean_state(net)
    grad_h = jax.grad(nw.bulk_loss, argnums=1)(net, x)
    assert float(jnp.max(jnp.abs(grad_h))) < 1e-12
    net0 = ref.random_network(8, key=key, gain=0.4)  # m = 0, ‖w‖ < 1: the unique fixed point
    x0 = nw.mean_state(net0)
    np.testing.assert_allclose(x0, nw.step(net0, x0), atol=1e-13)


def test_gauss_newton_is_the_hessian_at_a_fixed_point(key):
    # m = 0: the residual vanishes at x*, so G (8) is the exact Hessian of H there.
    net = ref.random_network(6, key=key, gain=0.4)
    x = nw.mean_state(net)
    hess = jax.hessian(nw.bulk_loss, argnums=1)(net, x)
    np.testing.assert_allclose(nw.gauss_newton_operator(net, x), hess, atol=1e-12)


def test_free_energy_gradients_match_finite_differences(key):
    # Through the implicit mean-state solve and the Cholesky log-det, in w, b and β.
    net = ref.random_network(5, key=key, m=0.1)

    def f(w, b, beta):
        return nw.free_energy(nw.Network(w, b, m=0.1), beta)

    # jitted: check_grads evaluates f, its jvp and its vjp several times, and eagerly each evaluation
    # dispatches the solve and the log-det op by op (11 s -> 3.6 s of CPU measured; same derivatives).
    check_grads(jax.jit(f), (net.w, net.b, 1.3), order=1, modes=["rev", "fwd"], atol=1e-6, rtol=1e-6)

    def f_laplace(w, b, beta):
        return nw.free_energy(nw.Network(w, b, m=0.1), beta, method="laplace")

    check_grads(jax.jit(f_laplace), (net.w, net.b, 1.3), order=1, modes=["rev"], atol=1e-6, rtol=1e-6)


def test_float32_agrees_with_float64_and_keeps_its_dtype(key):
    net64 = ref.random_network(16, key=key)
    net32 = nw.Network(net64.w.astype(jnp.float32), net64.b.astype(jnp.float32))
    f64 = nw.free_energy(net64, 2.0)
    f32 = nw.free_energy(net32, 2.0)
    assert f32.dtype == jnp.float32 and f64.dtype == jnp.float64
    # float32 carries ~7 digits; the log-det of a 16×16 operator loses ~1-2 to conditioning.
    assert float(f32) == pytest.approx(float(f64), rel=nw.rtol(jnp.float32))


def test_vmap_over_networks_and_beta_equals_loop(key):
    keys = jax.random.split(key, 4)
    betas = jnp.array([0.5, 1.0, 2.0, 4.0])
    nets = jax.vmap(lambda k: ref.random_network(6, key=k))(keys)
    batched = jax.jit(jax.vmap(nw.free_energy))(nets, betas)
    single = jax.jit(nw.free_energy)  # one unbatched program for the loop (eager: op by op, 4.9 s -> 1.9 s)
    loop = [single(ref.random_network(6, key=k), b) for k, b in zip(keys, betas)]
    np.testing.assert_allclose(batched, loop, rtol=1e-12)


class TestBadBeta(chex.TestCase):
    """β ≤ 0 or NaN is refused eagerly (ValueError) and under jit (equinox's runtime error)."""

    @chex.variants(with_jit=True, without_jit=True)
    def test_bad_beta_raises(self):
        net = ref.random_network(4, key=jax.random.PRNGKey(20200804))
        expected = ValueError if self.variant.type == chex.ChexVariantType.WITHOUT_JIT else Exception
        free_energy = self.variant(nw.free_energy)
        for beta in (0.0, -1.0, jnp.nan):
            with pytest.raises(expected, match="beta must be finite and > 0"):
                jax.block_until_ready(free_energy(net, beta))
        batched = self.variant(jax.vmap(nw.free_energy, in_axes=(None, 0)))
        with pytest.raises(Exception, match="beta must be finite and > 0"):
            jax.block_until_ready(batched(net, jnp.array([1.0, -2.0])))


def test_not_positive_definite_raises_instead_of_nan():
    # G = diag(0.3, 1.7, 4, 0.05) at x = 0; m = 2 makes 1 + β(λ - m) < 0 for λ = 0.05 at β = 1.
    net = ref.diagonal_network(ref.SPECTRUM, m=2.0)
    x = jnp.zeros(4)
    with pytest.raises(ValueError, match="not positive definite"):
        nw.free_energy(net, 1.0, x=x)
    with pytest.raises(Exception, match="not positive definite"):
        jax.jit(lambda n: nw.free_energy(n, 1.0, x=x))(net).block_until_ready()
    # Laplace needs λ_i > m: m = 0.1 > 0.05 fails although (7) is fine at small β.
    net = ref.diagonal_network(ref.SPECTRUM, m=0.1)
    assert np.isfinite(float(nw.free_energy(net, 0.5, x=x)))
    with pytest.raises(ValueError, match="G - m I"):
        nw.free_energy(net, 0.5, x=x, method="laplace")


@pytest.mark.unchecked  # asserts the package's own message for input the annotations exclude
def test_non_finite_weights_and_bad_method_raise(key):
    net = ref.random_network(3, key=key)
    with pytest.raises(ValueError, match="w contains NaN"):
        nw.Network(net.w.at[0, 1].set(jnp.nan), net.b)
    # NaN weights that bypass the constructor (an optimizer step does) are caught by the kernels.
    bad = eqx.tree_at(lambda n: n.w, net, net.w.at[0, 1].set(jnp.nan))
    with pytest.raises(ValueError, match="w contains NaN"):
        nw.free_energy(bad, 1.0)
    with pytest.raises(ValueError, match="method must be one of"):
        nw.log_partition(net, 1.0, method="saddle")


@pytest.mark.unchecked  # asserts the package's own message for input the annotations exclude
def test_logdet_spd_agrees_with_slogdet_and_rejects_indefinite(key):
    a = jax.random.normal(key, (6, 6))
    spd = a @ a.T + 0.1 * jnp.eye(6)
    assert float(nw.logdet_spd(spd)) == pytest.approx(float(jnp.linalg.slogdet(spd)[1]), rel=1e-12)
    with pytest.raises(ValueError, match="not positive definite"):
        nw.logdet_spd(spd - 100 * jnp.eye(6))
    with pytest.raises(ValueError, match="shape"):
        nw.logdet_spd(jnp.ones((2, 3)))


def test_logdet_spd_derivatives_to_second_order(key):
    # logdet_spd carries its own JVP rule (tr(A⁻¹ dA) from the Cholesky factor); check it and its
    # derivative (the thermodynamics differentiate twice in β) against finite differences, in both
    # modes. A symmetric perturbation direction keeps A on the SPD manifold the rule assumes.
    a = jax.random.normal(key, (5, 5))
    spd = a @ a.T + jnp.eye(5)

    def f(s):
        return nw.logdet_spd(spd + s + s.T)

    check_grads(f, (0.1 * jnp.eye(5),), order=2, modes=["fwd", "rev"], atol=1e-6, rtol=1e-6)
    # and the first derivative is A⁻¹ exactly (the classical identity ∂ log det A / ∂A = A⁻ᵀ)
    grad = jax.grad(nw.logdet_spd)(spd)
    np.testing.assert_allclose(grad, jnp.linalg.inv(spd), rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------ issue #11: no silent wrong answers


def test_beta_batch_is_an_error_and_vmap_gives_each_beta():
    net = ref.diagonal_network(ref.SPECTRUM)
    with pytest.raises(ValueError, match="beta must be a scalar.*use jax.vmap"):
        nw.free_energy(net, jnp.array([1.0, 2.0]))
    batched = jax.vmap(lambda b: nw.free_energy(net, b))(jnp.array([1.0, 2.0]))
    lam = np.asarray(ref.SPECTRUM)  # G = diag(λ): eq. (45) in closed form, from NumPy
    expected = [np.sum(np.log1p(b * lam)) / (2 * b) - len(lam) * np.log(2 * np.pi) / (2 * b) for b in (1.0, 2.0)]
    np.testing.assert_allclose(batched, expected, rtol=1e-12)  # Cholesky vs log1p in float64


def test_integer_inputs_are_promoted_not_truncated():
    g = jnp.array([[2, 1], [1, 3]])
    assert float(nw.log_partition_from_operator(g, 2.5)) == float(nw.log_partition_from_operator(g.astype(float), 2.5))
    net_int = nw.Network(jnp.array([[0, 1], [0, 0]]), jnp.array([1, 0]), activation="linear", m=0)
    net = nw.Network(jnp.array([[0.0, 1.0], [0.0, 0.0]]), jnp.array([1.0, 0.0]), activation="linear")
    assert net_int.w.dtype == net.w.dtype and float(nw.free_energy(net_int, 2.5)) == float(nw.free_energy(net, 2.5))


def test_gradient_outside_the_domain_raises_under_jit_instead_of_nan():
    heavy = ref.diagonal_network(ref.SPECTRUM, m=6.0)  # 1 + β(λ_i - m) < 0 for every i at β = 1.3

    def f_of_w(w):
        return nw.free_energy(eqx.tree_at(lambda n: n.w, heavy, w), ref.SPECTRUM_BETA)

    with pytest.raises(ValueError, match="not positive definite"):
        jax.grad(f_of_w)(heavy.w)
    with pytest.raises(Exception, match="not positive definite"):  # used to be a matrix of NaN
        jax.block_until_ready(jax.jit(jax.grad(f_of_w))(heavy.w))
    with pytest.raises(Exception, match="not positive definite"):
        jax.block_until_ready(jax.jit(jax.vmap(jax.grad(lambda b: nw.free_energy(heavy, b))))(jnp.array([0.5, 1.3])))


def test_nan_weights_in_mean_state_name_w_under_jit():
    # check_finite's result used to be discarded: under jit NaN weights reached the Newton solve and
    # surfaced as lineax's "bug upstream of Lineax".
    net = ref.linear_network()
    bad = eqx.tree_at(lambda n: n.w, net, net.w.at[0, 1].set(jnp.nan))
    with pytest.raises(Exception, match="w contains NaN") as err:
        jax.block_until_ready(jax.jit(nw.mean_state)(bad))
    assert "upstream of Lineax" not in str(err.value)
    nan_m = eqx.tree_at(lambda n: n.m, net, jnp.asarray(jnp.nan))
    with pytest.raises(Exception, match="m contains NaN"):  # m used not to be checked at all
        jax.block_until_ready(jax.jit(nw.mean_state)(nan_m))
    with pytest.raises(ValueError, match="m must be a scalar"):
        nw.Network(net.w, net.b, m=jnp.array([0.1, 0.2]))


@pytest.mark.unchecked  # asserts the package's own message for input the annotations exclude
def test_step_counts_are_positive_integers():
    net = ref.linear_network()
    for bad in (0, -5):
        with pytest.raises(ValueError, match="max_steps must be an integer >= 1"):
            nw.mean_state(net, max_steps=bad)
    with pytest.raises(TypeError, match="max_steps must be an integer"):
        nw.mean_state(net, max_steps=2.5)


def test_logdet_spd_rejects_a_non_symmetric_matrix():
    # Cholesky reads one triangle: [[2, 1], [0, 2]] used to be taken as [[2, 0], [0, 2]], log det = log 4.
    with pytest.raises(ValueError, match="must be symmetric"):
        nw.logdet_spd(jnp.array([[2.0, 1.0], [0.0, 2.0]]))


# ------------------------------------------------------------------------------------------------
# The two mean-state solvers and the two log-det derivative rules (issue #15): the fast routes
# (Newton on the fixed point r = 0 for m = 0, the J-level rule for log det(cI + sJᵀJ)) against the
# general ones (optimistix Newton on ∇H with its own implicit adjoint, logdet_spd's A⁻¹ rule).
def _free_energy_general_route(net, beta):
    """F (6)/(7) by the general routes only: x* = root of ∇H (optimistix), G formed, logdet_spd."""
    from nnworld_jax import partition as pt

    x = pt._grad_h_newton(64, net, jnp.zeros_like(net.b))
    a = (1.0 - beta * net.m) * jnp.eye(net.n) + beta * nw.gauss_newton_operator(net, x)
    return -(0.5 * net.n * jnp.log(2 * jnp.pi) - 0.5 * nw.logdet_spd(a)) / beta


@pytest.mark.parametrize("m", [0.0, 0.05])
def test_fast_and_general_routes_agree_in_value_and_gradient(key, m):
    # m = 0 takes the fixed-point Newton and the J⁻¹J⁻ᵀ implicit solve; m = 0.05 the ∇H Newton and the
    # Hessian solve of the same custom rule. The reference differentiates through optimistix's
    # implicit adjoint and the explicit-inverse log-det rule: independent code for every piece.
    # Both are exact to rounding: F ~ 1 and its derivatives ~ 0.1 in float64 with condition numbers
    # of J and A below 10, so 1e-11 allows two orders of magnitude of accumulated rounding.
    net = ref.random_network(8, key=key, m=m)
    beta = 1.3

    def fast(w, b, m):
        return nw.free_energy(nw.Network(w, b, m=m), beta)

    def general(w, b, m):
        return _free_energy_general_route(nw.Network(w, b, m=m), beta)

    args = (net.w, net.b, net.m)
    # Every evaluation jitted (eager ones dispatch the solves op by op); the route is chosen by lax.cond on
    # the value of m in both modes, so jit takes the same branch. fast_j serves the value and the differences.
    fast_j = jax.jit(fast)
    assert float(fast_j(*args)) == pytest.approx(float(jax.jit(general)(*args)), abs=1e-11)
    g_fast = jax.jit(jax.grad(fast, argnums=(0, 1, 2)))(*args)
    g_general = jax.jit(jax.grad(general, argnums=(0, 1, 2)))(*args)
    chex.assert_trees_all_close(g_fast, g_general, atol=1e-11, rtol=0)
    # m = 0 is a branch point of the solver but not of F: dF/dm at m = 0 comes from the Hessian route too.
    h = 1e-6  # central difference: truncation h² F''' ~ 1e-12, rounding ε/h ~ 1e-10
    fd_m = (fast_j(net.w, net.b, net.m + h) - fast_j(net.w, net.b, net.m - h)) / (2 * h)
    assert float(g_fast[2]) == pytest.approx(float(fd_m), abs=1e-8)


def test_fixed_point_mean_state_matches_the_stationary_point_of_h(key):
    # The m = 0 solver runs on r = x - f(wx + b), not on ∇H: its answer must still be a stationary point
    # of (3) by jax.grad, to the solver's float64 tolerance (|r| ≤ 1e-14 + 1e-12|x|, times ‖J‖ ≤ 3).
    net = ref.random_network(16, key=key, gain=0.4)
    x = nw.mean_state(net)
    assert float(jnp.max(jnp.abs(jax.grad(nw.bulk_loss, argnums=1)(net, x)))) < 3e-12


def test_batched_mass_mixing_both_solvers_equals_the_loop(key):
    # vmap over m ∈ {0, 0.1}: lax.cond turns into a select that runs both solvers; each network must
    # get its own branch's answer, value and gradient (same programs: agreement to rounding, 1e-12).
    nets = [ref.random_network(6, key=key, m=m) for m in (0.0, 0.1)]

    def f(w, b, m):
        return nw.free_energy(nw.Network(w, b, m=m), 0.7)

    stacked = [jnp.stack(a) for a in zip(*[(n.w, n.b, n.m) for n in nets])]
    values, grads = jax.jit(jax.vmap(jax.value_and_grad(f, argnums=(0, 1, 2))))(*stacked)
    for i, net in enumerate(nets):
        v, g = jax.value_and_grad(f, argnums=(0, 1, 2))(net.w, net.b, net.m)
        assert float(values[i]) == pytest.approx(float(v), abs=1e-12)
        chex.assert_trees_all_close(jax.tree_util.tree_map(lambda a: a[i], grads), g, atol=1e-12, rtol=0)


def test_free_energy_second_derivative_in_beta_matches_the_eigen_form(key):
    # The J-level log-det rule must stay differentiable: d²F/dβ² through it (both the c = 1 - βm and
    # the s = β tangents enter) against jax.hessian of eq. (45) on the eigenvalues of G at x* (eigh:
    # another route). Rounding of eigvalsh ~ 1e-15 ‖G‖, amplified by the sums over 8 modes: 1e-11.
    net = ref.random_network(8, key=key, m=0.05)
    x = nw.mean_state(net)
    lam = jnp.linalg.eigvalsh(nw.gauss_newton_operator(net, x))
    d2_fast = jax.hessian(lambda beta: nw.free_energy(net, beta, x=x))(1.1)
    d2_eigen = jax.hessian(lambda beta: nw.free_energy_eigen(lam, beta, net.m))(1.1)
    assert float(d2_fast) == pytest.approx(float(d2_eigen), abs=1e-11)


def test_blocked_cholesky_and_inverse_match_lapack(key):
    # The log-det rule's (L, L⁻¹) by 2 × 2 blocking (products above 32 × 32 blocks) against LAPACK's
    # Cholesky (NumPy) and the identity L⁻¹L = I, at an odd size that splits unevenly (70 -> 35 -> 17/18).
    # A = I + MᵀM/N has condition number below 10: float64 rounding of the O(N) products stays below
    # 1e-13, so 1e-12 leaves an order of magnitude. Not positive definite: NaN on L's diagonal.
    from nnworld_jax._gaussian import _cholesky_and_inverse

    n = 70
    m = jax.random.normal(key, (n, n), dtype=jnp.float64)
    a = jnp.eye(n) + m.T @ m / n
    factor = jax.jit(_cholesky_and_inverse)  # compiled once for both matrices
    chol, chol_inv = factor(a)
    np.testing.assert_allclose(chol, np.linalg.cholesky(np.asarray(a)), atol=1e-12, rtol=0)
    np.testing.assert_allclose(chol_inv @ chol, np.eye(n), atol=1e-12, rtol=0)
    assert np.all(np.triu(np.asarray(chol_inv), 1) == 0)
    indefinite = a.at[60, 60].set(-1.0)  # a negative diagonal entry: no Cholesky factor exists
    assert np.isnan(np.asarray(jnp.diagonal(factor(indefinite)[0]))).any()
