"""§3 and §6: U, S_x, S_0, C, heat capacity by autodiff in β vs reference closed forms; eqs. (45)-(46)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnworld_jax as nw
from nnworld_jax import reference as ref

LAM = np.array(ref.SPECTRUM)
BETA = ref.SPECTRUM_BETA


def _closed_form(m):
    nu = LAM - m
    u = 0.5 * np.sum(nu / (1 + BETA * nu))
    f = np.sum(np.log1p(BETA * nu)) / (2 * BETA) - len(LAM) * np.log(2 * np.pi) / (2 * BETA)
    c_heat = 0.5 * BETA**2 * np.sum(nu**2 / (1 + BETA * nu) ** 2)
    return f, u, BETA * (u - f), c_heat


@pytest.mark.parametrize("m", [0.0, 0.2])
def test_autodiff_thermodynamics_match_closed_forms(m):
    th = nw.thermodynamics(ref.diagonal_network(LAM, m=m), BETA, x=jnp.zeros(4))
    f, u, s, c_heat = _closed_form(m)
    # conventions §1 values, printed to 15 and 12 digits; autodiff of a 4×4 Cholesky is exact to ~1e-15.
    assert float(th.average_loss) == pytest.approx(ref.SPECTRUM_U[m], abs=1e-13)
    assert float(th.entropy) == pytest.approx(ref.SPECTRUM_S[m], abs=1e-11)
    assert float(th.free_energy) == pytest.approx(f, abs=1e-13)
    assert float(th.average_loss) == pytest.approx(u, abs=1e-13)
    assert float(th.entropy) == pytest.approx(s, abs=1e-12)
    assert float(th.heat_capacity) == pytest.approx(c_heat, abs=1e-12)


def test_decomposition_is_exact_and_laplace_factorizes(key):
    net = ref.random_network(10, key=key, m=0.05)
    x = nw.mean_state(net)
    for method in ("paper", "laplace"):
        th = nw.thermodynamics(net, 3.0, method=method, x=x)
        assert float(th.entropy) == pytest.approx(float(th.thermodynamic_entropy + th.complexity), abs=1e-12)
        assert float(th.thermodynamic_entropy) == pytest.approx(5 * (1 + np.log(2 * np.pi / 3.0)), abs=1e-12)
    # Laplace: U = H* + N/(2β) (equipartition) and C = -½ log det(G - mI) at every β.
    g = nw.gauss_newton_operator(net, x)
    th = nw.thermodynamics(net, 3.0, method="laplace", x=x)
    assert float(th.average_loss) == pytest.approx(float(nw.bulk_loss(net, x)) + 10 / 6, abs=1e-12)
    c_inf = -0.5 * np.linalg.slogdet(np.asarray(g) - 0.05 * np.eye(10))[1]
    assert float(th.complexity) == pytest.approx(c_inf, abs=1e-11)


def test_eigen_form_45_equals_cholesky_path(key):
    net = ref.random_network(24, key=key, m=0.05)
    x = nw.mean_state(net)
    lam = nw.operator_spectrum(net, x)
    for beta in (0.2, 1.0, 30.0):
        f_chol = float(nw.free_energy(net, beta, x=x))
        assert float(nw.free_energy_eigen(lam, beta, 0.05)) == pytest.approx(f_chol, rel=1e-12)


def test_virial_46_equals_beta_derivative(key):
    net = ref.random_network(24, key=key)
    x = nw.mean_state(net)
    lam = nw.operator_spectrum(net, x)
    u = float(nw.average_loss(net, 0.7, x=x))
    assert float(nw.virial_average_loss(lam, 0.7)) == pytest.approx(u, rel=1e-12)
    # The printed virial identity is special to m = 0: with m ≠ 0 U = Σ λ ∂F/∂λ fails (conventions §1),
    # and the shifted form U = Σ (λ - m) ∂F/∂λ that virial_average_loss(…, m) computes holds.
    net_m = ref.random_network(24, key=key, m=0.3)
    lam_m = nw.operator_spectrum(net_m)
    u_m = float(nw.average_loss(net_m, 0.7))
    assert abs(float(jnp.vdot(lam_m, jax.grad(nw.free_energy_eigen)(lam_m, 0.7, 0.3))) - u_m) > 1e-3
    assert float(nw.virial_average_loss(lam_m, 0.7, 0.3)) == pytest.approx(u_m, rel=1e-12)
    # and the conventions §1 closed-form values with m = 0.2
    lam_s = jnp.asarray(ref.SPECTRUM)
    assert float(nw.virial_average_loss(lam_s, ref.SPECTRUM_BETA, 0.2)) == pytest.approx(ref.SPECTRUM_U[0.2], abs=1e-13)


def test_heat_capacity_and_entropy_by_finite_differences(key):
    # Independent route: central differences of F(β) and U(β) (step 1e-4 -> error ~1e-8).
    net = ref.random_network(8, key=key)
    x = nw.mean_state(net)
    th = nw.thermodynamics(net, 2.0, x=x)
    h = 1e-4
    f = lambda b: float(nw.free_energy(net, b, x=x))
    u = lambda b: float(nw.average_loss(net, b, x=x))
    assert float(th.entropy) == pytest.approx(4.0 * (f(2 + h) - f(2 - h)) / (2 * h), abs=1e-7)
    assert float(th.heat_capacity) == pytest.approx(-4.0 * (u(2 + h) - u(2 - h)) / (2 * h), abs=1e-7)


@pytest.mark.unchecked  # asserts the package's own message for input the annotations exclude
def test_eigen_form_domain_and_shape_errors():
    with pytest.raises(ValueError, match="1 \\+ beta"):
        nw.free_energy_eigen(jnp.array([0.1, 1.0]), 2.0, m=1.0)
    with pytest.raises(ValueError, match="use jax.vmap"):
        nw.free_energy_eigen(jnp.ones((2, 3)), 1.0)
    with pytest.raises(ValueError, match="beta"):
        nw.free_energy_eigen(jnp.ones(3), 0.0)


def test_thermodynamics_vmaps_over_beta(key):
    net = ref.random_network(6, key=key)
    x = nw.mean_state(net)
    betas = jnp.array([0.5, 2.0, 8.0])
    batched = jax.vmap(lambda b: nw.thermodynamics(net, b, x=x))(betas)
    for i, b in enumerate(betas):
        single = nw.thermodynamics(net, b, x=x)
        np.testing.assert_allclose([v[i] for v in batched], list(single), rtol=1e-13)


# ------------------------------------------------------------------ issue #11: no silent wrong answers


def test_beta_batch_is_an_error_and_vmap_gives_each_beta():
    # A (2,) β used to broadcast inside the sum over λ: F(1) = -1.43202 expected, -1.30728 returned.
    lam = jnp.asarray(LAM)
    betas = jnp.array([1.0, 2.0])
    with pytest.raises(ValueError, match="beta must be a scalar.*use jax.vmap"):
        nw.free_energy_eigen(lam, betas)
    batched = jax.vmap(lambda b: nw.free_energy_eigen(lam, b))(betas)
    # F(β) of eq. (45) from NumPy, independently: the vmapped values are the scalar ones.
    expected = [np.sum(np.log1p(b * LAM)) / (2 * b) - len(LAM) * np.log(2 * np.pi) / (2 * b) for b in (1.0, 2.0)]
    np.testing.assert_allclose(batched, expected, rtol=1e-13)  # float64 round-off of a 4-term sum


def test_integer_eigenvalues_do_not_truncate_beta():
    # free_energy_eigen(int λ, 2.5) used to be F at β = 2 (β cast to λ's integer dtype).
    lam_int = jnp.array([1, 2, 4])
    assert float(nw.free_energy_eigen(lam_int, 2.5)) == float(nw.free_energy_eigen(lam_int.astype(float), 2.5))
    assert float(nw.virial_average_loss(lam_int, 2.5, 1)) == float(nw.virial_average_loss(lam_int.astype(float), 2.5, 1.0))
    assert float(nw.free_energy_eigen(lam_int, 2.5)) != pytest.approx(float(nw.free_energy_eigen(lam_int.astype(float), 2.0)))


def test_m_shape_and_nan_are_errors():
    with pytest.raises(ValueError, match="m must be a scalar"):
        nw.free_energy_eigen(jnp.asarray(LAM), BETA, jnp.zeros(4))
    with pytest.raises(ValueError, match="m contains NaN"):
        nw.free_energy_eigen(jnp.asarray(LAM), BETA, jnp.nan)


def test_gradient_outside_the_domain_raises_under_jit_instead_of_nan():
    # 1 + β(λ_i - m) < 0 for every i: jit(grad) in β and in λ used to return NaN/finite garbage.
    lam = jnp.asarray(LAM)
    with pytest.raises(Exception, match=r"1 \+ beta \(lambda_i - m\) > 0"):
        jax.block_until_ready(jax.jit(jax.grad(lambda b: nw.free_energy_eigen(lam, b, 6.0)))(BETA))
    net = ref.diagonal_network(ref.SPECTRUM, m=6.0)
    for name in ("average_loss", "heat_capacity"):  # first and second β-derivatives of βF
        with pytest.raises(Exception, match="not positive definite"):
            jax.block_until_ready(jax.jit(jax.grad(lambda b, name=name: getattr(nw, name)(net, b)))(BETA))


@settings(max_examples=40, deadline=None, derandomize=True)
@given(lam=st.lists(st.floats(-2.0, 5.0), min_size=3, max_size=3), beta=st.floats(-1.0, 4.0), m=st.floats(-1.0, 3.0))
def test_free_energy_eigen_is_right_or_raises_on_its_domain(lam, beta, m):
    """Over a continuous box of (λ, β, m): eq. (45) from NumPy where β > 0 and every 1 + β(λ_i - m) > 0,
    an error naming the violated condition everywhere else; never a NaN or a value off the domain."""
    lam = np.asarray(lam)
    arg = 1.0 + beta * (lam - m)
    if beta > 0 and np.all(arg > 0):
        expected = (np.sum(np.log(arg)) - 3 * np.log(2 * np.pi)) / (2 * beta)
        # float64 log-sum; arg can be as small as ~1e-300, hence a relative tolerance and a tiny absolute floor.
        assert float(nw.free_energy_eigen(jnp.asarray(lam), beta, m)) == pytest.approx(expected, rel=1e-12, abs=1e-300)
    else:
        with pytest.raises(ValueError, match="beta must be finite and > 0" if beta <= 0 else r"1 \+ beta \(lambda_i - m\) > 0"):
            nw.free_energy_eigen(jnp.asarray(lam), beta, m)
