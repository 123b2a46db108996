"""Independent estimators of (5): quadrature and importance sampling agree with each other."""

import jax
import jax.numpy as jnp
import pytest

import nnworld_jax as nw
from nnworld_jax import reference as ref


@pytest.mark.parametrize("method", ["laplace", "paper"])
def test_monte_carlo_agrees_with_quadrature_for_tanh(key, method):
    # tanh, N = 2: quadrature is exact to ~1e-12; the MC estimate must lie within 4 standard errors
    # (a 4σ band fails by chance with probability 6e-5).
    net = ref.random_network(2, key=key, gain=0.8, bias=0.4)
    for beta in (1.0, 10.0):
        quad = float(nw.log_partition_quadrature(net, beta, method=method, n_points=161, half_width=16.0))
        mc = nw.log_partition_monte_carlo(net, beta, key=jax.random.PRNGKey(7), method=method, n_samples=50_000)
        assert abs(float(mc.log_z) - quad) < 4 * float(mc.stderr)
        assert float(mc.ess) > 10_000  # the defensive mixture keeps the weights well spread


def test_monte_carlo_is_unbiased_for_a_gaussian_integrand(key):
    # For f linear the integrand is exactly the proposal's first component, up to normalisation.
    net = ref.linear_network()
    mc = nw.log_partition_monte_carlo(net, 1.0, key=key, method="laplace", n_samples=20_000)
    assert abs(float(mc.log_z) - ref.LINEAR_LOG_Z[1.0]) < 4 * float(mc.stderr)


def test_tanh_gaussian_error_is_real_and_shrinks_with_beta(key):
    # The Gaussian forms are approximations for tanh: a visible error at β = 1 that falls with β.
    net = ref.random_network(2, key=key, gain=0.8, bias=0.4)
    err = [abs(float(nw.log_partition(net, b, method="laplace")
                     - nw.log_partition_quadrature(net, b, method="laplace", n_points=161, half_width=16.0)))
           for b in (1.0, 1000.0)]
    assert err[0] > 1e-4 and err[1] < err[0] / 30


def test_quadrature_refuses_large_n(key):
    with pytest.raises(ValueError, match="N <= 3"):
        nw.log_partition_quadrature(ref.random_network(4, key=key), 1.0)


def test_quadrature_dtype_follows_network():
    net = ref.linear_network(jnp.float32)
    assert nw.log_partition_quadrature(net, 1.0, n_points=41).dtype == jnp.float32


def test_indefinite_precision_raises_instead_of_nan():
    # Linear network with m = 3 > every eigenvalue of G = I: no Gaussian frame exists for the
    # Laplace form (λ - m < 0), nor for (7) at β = 1 (1 + β(λ - m) = -1 < 0).
    net = nw.Network(jnp.zeros((2, 2)), jnp.zeros(2), activation="linear", m=3.0)
    with pytest.raises(ValueError, match="not positive definite"):
        nw.log_partition_quadrature(net, 1.0, method="laplace")
    with pytest.raises(ValueError, match="not positive definite"):
        nw.log_partition_monte_carlo(net, 1.0, key=jax.random.PRNGKey(0), method="paper", n_samples=16)


def test_sample_and_point_counts_are_checked():
    # n_samples = 0 used to return log Z = NaN, and n_points = 1 log Z = -inf, without an error (issue #11).
    net = ref.linear_network()
    key = jax.random.PRNGKey(0)
    with pytest.raises(ValueError, match="n_samples must be an integer >= 2"):
        nw.log_partition_monte_carlo(net, 1.0, key=key, n_samples=0)
    with pytest.raises(ValueError, match="n_points must be an integer >= 2"):
        nw.log_partition_quadrature(net, 1.0, n_points=1)
    with pytest.raises(ValueError, match="beta must be a scalar"):
        nw.log_partition_quadrature(net, jnp.array([1.0, 2.0]), n_points=5)
