"""§3 in a training loop: an MLP as a §2 network, thermo_metrics, the regularizer, the laws."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import nnworld_jax as nw


@pytest.fixture
def mlp(key):
    return eqx.nn.MLP(3, 2, 5, 2, activation=jnp.tanh, final_activation=jnp.tanh, key=key)


def test_network_from_mlp_runs_the_same_forward_pass(mlp):
    # Clamp the input neurons and run the dynamics (1)-(2) for depth + 1 steps: the output neurons
    # then hold exactly the MLP's output (the block structure of w is the layer structure).
    net = nw.network_from_mlp(mlp)
    assert net.n == 3 + 5 + 5 + 2 and net.inputs == (0, 1, 2) and net.outputs == (13, 14)
    inp = jnp.array([0.3, -1.2, 0.8])
    x = jnp.zeros(net.n).at[:3].set(inp)
    for _ in range(3):
        x = nw.step(net, x).at[:3].set(inp)
    np.testing.assert_allclose(x[13:], mlp(inp), rtol=1e-6)


def test_network_from_mlp_requires_one_activation(key):
    mlp = eqx.nn.MLP(2, 1, 3, 1, activation=jnp.tanh, key=key)  # final activation is the identity
    with pytest.raises(ValueError, match="one activation"):
        nw.network_from_mlp(mlp)
    with pytest.raises(TypeError, match="Network or an equinox.nn.MLP"):
        nw.thermo_metrics(object(), 1.0)


def test_thermo_metrics_is_jittable_and_consistent(mlp):
    th = eqx.filter_jit(nw.thermo_metrics)(mlp, 5.0)
    direct = nw.thermodynamics(nw.network_from_mlp(mlp), 5.0)
    np.testing.assert_allclose(list(th), list(direct), rtol=1e-6)
    assert float(th.entropy) == pytest.approx(float(th.thermodynamic_entropy + th.complexity), rel=1e-6)


def test_regularizer_gradient_is_the_free_energy_gradient(mlp):
    reg = nw.free_energy_regularizer(4.0, strength=0.5)
    g_reg = eqx.filter_grad(reg)(mlp)
    g_f = eqx.filter_grad(lambda m: nw.free_energy(nw.network_from_mlp(m), 4.0))(mlp)
    for a, b in zip(jax.tree_util.tree_leaves(g_reg), jax.tree_util.tree_leaves(g_f)):
        np.testing.assert_allclose(a, 0.5 * b, rtol=1e-6, atol=1e-12)
    # And it drives an optax step that lowers F.
    params, static = eqx.partition(mlp, eqx.is_inexact_array)
    opt = optax.sgd(0.1)
    grads = eqx.filter_grad(lambda p: reg(eqx.combine(p, static)))(params)
    updates, _ = opt.update(grads, opt.init(params))
    stepped = eqx.combine(optax.apply_updates(params, updates), static)
    assert float(reg(stepped)) < float(reg(mlp))


@pytest.mark.slow
def test_training_learns_the_teacher_and_records_consistent_laws(key):
    task = nw.teacher_student_task(key, n_data=128)
    _, hist = nw.train_student(jax.random.PRNGKey(3), task, 10.0, steps=120)
    assert hist.loss.shape == (120,) and hist.thermo.entropy.shape == (120,)
    assert float(hist.loss[-1]) < 0.2 * float(hist.loss[0])  # Adam on a realizable task
    laws = nw.laws_of_learning(hist, 10.0)
    # Identity behind the first-law measurement: ΔU - TΔS_x = ΔF at fixed T.
    du, df = np.diff(hist.thermo.average_loss), np.diff(hist.thermo.free_energy)
    assert float(laws.first_law_residual) == pytest.approx(np.sum(np.abs(df)) / np.sum(np.abs(du)), rel=1e-6)
    s = np.asarray(hist.thermo.entropy)
    assert float(laws.entropy_decrease_fraction) == pytest.approx(np.mean(np.diff(s) <= 0))
