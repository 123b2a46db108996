"""§2: the network pytree, the dynamics (1)-(2), the bulk (3) and boundary (4) losses."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nnworld_jax as nw


def test_step_and_bulk_loss_match_their_definitions(key):
    net = nw.reference.random_network(5, key=key, m=0.3)
    x = jax.random.normal(jax.random.PRNGKey(1), (5,))
    y = np.asarray(net.w) @ np.asarray(x) + np.asarray(net.b)
    np.testing.assert_allclose(nw.step(net, x), np.tanh(y), rtol=1e-14)
    r = np.asarray(x) - np.tanh(y)
    expected = 0.5 * r @ r - 0.5 * 0.3 * np.asarray(x) @ np.asarray(x)
    np.testing.assert_allclose(nw.bulk_loss(net, x), expected, rtol=1e-14)


def test_bulk_loss_vanishes_on_a_fixed_point(key):
    # m = 0: H(x) = 0 exactly where x = f(w x + b); contractive w makes iteration converge.
    net = nw.reference.random_network(6, key=key, gain=0.4)
    x = jnp.zeros(6)
    for _ in range(200):
        x = nw.step(net, x)
    assert float(nw.bulk_loss(net, x)) < 1e-28


def test_activation_slope_is_the_derivative(key):
    y = jnp.linspace(-3, 3, 11)
    net = nw.Network(jnp.zeros((11, 11)), jnp.zeros(11))
    # The reference 1 - tanh² cancels digits where tanh → 1 (×1/(1 - t²) ≈ 100 at |y| = 3): 1e-13.
    np.testing.assert_allclose(nw.activation_slope(net, y), 1 - np.tanh(np.asarray(y)) ** 2, rtol=1e-13)
    lin = nw.Network(jnp.zeros((11, 11)), jnp.zeros(11), activation="linear")
    np.testing.assert_array_equal(nw.activation_slope(lin, y), np.ones(11))


def test_boundary_loss_counts_only_output_neurons():
    net = nw.Network(jnp.zeros((4, 4)), jnp.zeros(4), inputs=(0,), outputs=(2, 3))
    x = jnp.array([5.0, 7.0, 1.0, -1.0])
    assert float(nw.boundary_loss(net, x, jnp.array([0.0, 1.0]))) == pytest.approx(0.5 * (1 + 4))


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: nw.Network(jnp.zeros((3, 2)), jnp.zeros(3)), r"shape \(N, N\)"),
        (lambda: nw.Network(jnp.zeros((3, 3)), jnp.zeros(2)), r"b must have shape \(3,\)"),
        (lambda: nw.Network(jnp.zeros((2, 3, 3)), jnp.zeros(3)), "use jax.vmap"),
        (lambda: nw.Network(jnp.zeros((3, 3)), jnp.zeros(3), activation="relu6"), "unknown activation"),
        (lambda: nw.Network(jnp.zeros((3, 3)), jnp.zeros(3), outputs=(3,)), "outputs indices"),
        (lambda: nw.Network(jnp.zeros((3, 3)), jnp.zeros(3), m=jnp.ones(3)), "m must be a scalar"),
    ],
)
def test_bad_networks_are_rejected(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_boundary_loss_needs_outputs_and_matching_target():
    net = nw.Network(jnp.zeros((3, 3)), jnp.zeros(3))
    with pytest.raises(ValueError, match="output neurons"):
        nw.boundary_loss(net, jnp.zeros(3), jnp.zeros(1))
    net = nw.Network(jnp.zeros((3, 3)), jnp.zeros(3), outputs=(2,))
    with pytest.raises(ValueError, match="target"):
        nw.boundary_loss(net, jnp.zeros(3), jnp.zeros(2))


def test_network_is_a_pytree_that_vmaps(key):
    nets = jax.vmap(lambda k: nw.reference.random_network(4, key=k))(jax.random.split(key, 3))
    assert nets.w.shape == (3, 4, 4)
    losses = jax.vmap(nw.bulk_loss)(nets, jnp.ones((3, 4)))
    single = [nw.bulk_loss(nw.reference.random_network(4, key=k), jnp.ones(4)) for k in jax.random.split(key, 3)]
    np.testing.assert_allclose(losses, single, rtol=1e-14)


def test_integer_weights_are_promoted_and_nan_state_is_an_error():
    net_int = nw.Network(jnp.array([[0, 1], [2, 0]]), jnp.array([1, -1]), m=1)
    net = nw.Network(jnp.array([[0.0, 1.0], [2.0, 0.0]]), jnp.array([1.0, -1.0]), m=1.0)
    x = jnp.array([0.25, -0.5])
    assert net_int.m.dtype == net.w.dtype
    assert float(nw.bulk_loss(net_int, x)) == float(nw.bulk_loss(net, x))
    with pytest.raises(Exception, match="x contains NaN"):
        jax.block_until_ready(jax.jit(jax.grad(lambda x: nw.bulk_loss(net, x)))(x.at[0].set(jnp.nan)))
