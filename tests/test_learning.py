"""§3 in a training loop: an MLP as a §2 network, thermo_metrics, the regularizer, the laws."""

import chex
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import nnworld_jax as nw
from nnworld_jax.claims.thermodynamics import training_run


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


def test_network_from_mlp_refuses_a_kinked_activation(key):
    # relu's f' jumps at 0 and its autodiff f'' is 0 everywhere: the free energy's derivatives through
    # G = JᵀJ (8)-(9) would be silently wrong, so the conversion refuses it (an identity output is fine:
    # tests/test_training.py checks that mapping).
    mlp = eqx.nn.MLP(2, 1, 3, 1, activation=jax.nn.relu, key=key)
    with pytest.raises(ValueError, match="kink"):
        nw.network_from_mlp(mlp)
    with pytest.raises(TypeError, match="Network or an equinox model"):
        nw.thermo_metrics(object(), 1.0)


def test_thermo_metrics_is_jittable_and_consistent(mlp):
    th = eqx.filter_jit(nw.thermo_metrics)(mlp, 5.0)
    direct = nw.thermodynamics(nw.network_from_mlp(mlp), 5.0)
    chex.assert_trees_all_close(th, direct, rtol=1e-6)
    assert float(th.entropy) == pytest.approx(float(th.thermodynamic_entropy + th.complexity), rel=1e-6)


def test_regularizer_gradient_is_the_free_energy_gradient(mlp):
    reg = nw.free_energy_regularizer(4.0, strength=0.5)
    g_reg = eqx.filter_grad(reg)(mlp)
    g_f = eqx.filter_grad(lambda m: nw.free_energy(nw.network_from_mlp(m), 4.0))(mlp)
    chex.assert_trees_all_close(g_reg, jax.tree_util.tree_map(lambda b: 0.5 * b, g_f), rtol=1e-6, atol=1e-12)
    # And it drives an optax step that lowers F.
    params, static = eqx.partition(mlp, eqx.is_inexact_array)
    opt = optax.sgd(0.1)
    grads = eqx.filter_grad(lambda p: reg(eqx.combine(p, static)))(params)
    updates, _ = opt.update(grads, opt.init(params))
    stepped = eqx.combine(optax.apply_updates(params, updates), static)
    assert float(reg(stepped)) < float(reg(mlp))


@pytest.mark.slow
def test_training_learns_the_teacher_and_records_consistent_laws():
    # The run of the learning.fixed-beta-mse claim (full mode: 256 samples, β = 10, 400 Adam steps), cached
    # per process: where tests/test_claims.py has run that claim in this process, nothing is recomputed.
    _, hist = training_run(False, 0)  # positional, as the claim calls it: the lru_cache key is the same
    assert hist.loss.shape == (400,) and hist.thermo.entropy.shape == (400,)
    assert float(hist.loss[-1]) < 0.2 * float(hist.loss[0])  # Adam on a realizable task
    laws = nw.laws_of_learning(hist, 10.0)
    # Identity behind the first-law measurement: ΔU - TΔS_x = ΔF at fixed T.
    du, df = np.diff(hist.thermo.average_loss), np.diff(hist.thermo.free_energy)
    assert float(laws.first_law_residual) == pytest.approx(np.sum(np.abs(df)) / np.sum(np.abs(du)), rel=1e-6)
    s = np.asarray(hist.thermo.entropy)
    assert float(laws.entropy_decrease_fraction) == pytest.approx(np.mean(np.diff(s) <= 0))


def test_train_student_takes_any_optax_transformation(key):
    # The default is Adam(learning_rate); passing the same transformation reproduces it exactly, and a
    # different one (sgd) gives a different run: the optimizer argument is really used.
    task = nw.teacher_student_task(key=key, in_size=2, out_size=1, width=3, depth=1, n_data=16)
    _, default = nw.train_student(task, 10.0, key=jax.random.PRNGKey(1), steps=3)
    _, adam = nw.train_student(task, 10.0, key=jax.random.PRNGKey(1), steps=3, optimizer=optax.adam(1e-2))
    _, sgd = nw.train_student(task, 10.0, key=jax.random.PRNGKey(1), steps=3, optimizer=optax.sgd(1e-2))
    np.testing.assert_array_equal(default.loss, adam.loss)
    assert not np.allclose(default.loss[1:], sgd.loss[1:])


# --- The paper's learning: data clamp the boundary neurons, U (10) is lowered --------------------

@pytest.fixture
def small(key):
    """N = 5 (inputs 0, 1; bulk 2, 3; output 4), 8 samples of a teacher with the same architecture."""
    task = nw.teacher_student_task(key=key, in_size=2, out_size=1, width=2, depth=1, n_data=8)
    mlp = eqx.nn.MLP(2, 1, 2, 1, activation=jnp.tanh, final_activation=jnp.tanh, key=jax.random.PRNGKey(5))
    return nw.network_from_mlp(mlp), jnp.concatenate([task.x, task.y], axis=1)


def _linear(net):
    return nw.Network(net.w, net.b, activation="linear", inputs=net.inputs, outputs=net.outputs)


def test_clamped_mean_state_of_a_linear_network_is_the_least_squares_solution(small):
    # f linear: H = ½|(I - w)x - b|², so the bulk stationarity condition is the normal equation of a
    # linear least-squares problem in x_bulk; numpy's lstsq is an independent solver (1e-10: both are
    # backward stable on a 5×2 problem with condition number O(10)).
    net, data = small
    lin = _linear(net)
    bnd, bulk = nw.boundary_neurons(lin)
    assert bnd == (0, 1, 4) and bulk == (2, 3)
    a = np.eye(5) - np.asarray(lin.w)
    v = np.asarray(data[0])
    xb, *_ = np.linalg.lstsq(a[:, bulk], np.asarray(lin.b) - a[:, bnd] @ v, rcond=None)
    x = nw.clamped_mean_state(lin, data[0])
    np.testing.assert_allclose(x[np.array(bulk)], xb, atol=1e-10)
    np.testing.assert_allclose(x[np.array(bnd)], v, atol=0)


def test_clamped_thermodynamics_of_a_linear_network_is_the_exact_integral(small):
    # f linear: H is exactly quadratic in x_bulk, so the Laplace form is the exact integral (5):
    # compare log Z = -βF and U = ⟨H⟩ with a 2-D trapezoid quadrature over the bulk neurons (the
    # Gaussian has width 1/√(βλ_min) ≈ 1; ±12 widths on 401² points: error below 1e-9).
    net, data = small
    lin = _linear(net)
    beta = 2.0
    th = nw.clamped_thermodynamics(lin, beta, data[0], method="laplace")
    x_star = nw.clamped_mean_state(lin, data[0])
    g = np.linspace(-12.0, 12.0, 401)
    xx, yy = np.meshgrid(g + float(x_star[2]), g + float(x_star[3]), indexing="ij")
    pts = jnp.asarray(np.stack([xx.ravel(), yy.ravel()], axis=1))
    h = np.asarray(jax.vmap(lambda xb: nw.bulk_loss(lin, x_star.at[2:4].set(xb)))(pts)).reshape(xx.shape)
    weight = np.exp(-beta * h)
    dx = g[1] - g[0]
    z = np.trapezoid(np.trapezoid(weight, dx=dx, axis=1), dx=dx)
    u = np.trapezoid(np.trapezoid(weight * h, dx=dx, axis=1), dx=dx) / z
    assert float(-beta * th.free_energy) == pytest.approx(np.log(z), abs=1e-9)
    assert float(th.average_loss) == pytest.approx(u, abs=1e-9)
    assert float(th.entropy) == pytest.approx(float(beta * (th.average_loss - th.free_energy)), abs=1e-12)


def test_clamped_thermodynamics_paper_form_closed_form(small):
    # "paper": U = H* + ½ Σ ν_i/(1 + βν_i) (eq. (7) times exp(-βH*)), ν = eig(G_bulk); G_bulk built
    # here from J = I - diag(f') w directly (an independent route to the autodiff in β; 1e-12).
    net, data = small
    beta = 3.0
    th = nw.clamped_thermodynamics(net, beta, data[1])
    x = nw.clamped_mean_state(net, data[1])
    slope = 1.0 - jnp.tanh(net.w @ x + net.b) ** 2
    jb = (jnp.eye(5) - slope[:, None] * net.w)[:, 2:4]
    lam = np.linalg.eigvalsh(np.asarray(jb.T @ jb))
    h_star = float(nw.bulk_loss(net, x))
    assert h_star > 1e-3  # the clamped data leave a residual: (7) alone (H* = 0) would miss it
    assert float(th.average_loss) == pytest.approx(h_star + 0.5 * np.sum(lam / (1 + beta * lam)), abs=1e-12)
    assert float(th.thermodynamic_entropy) == pytest.approx(1.0 + np.log(2 * np.pi / beta), abs=1e-12)  # n = 2


@pytest.mark.slow
def test_learning_lowers_u_and_its_gradient_is_exact(small):
    # (a) ∂U/∂w through the implicit mean state equals a central finite difference (h = 1e-5: error
    # O(h²) ~ 1e-10 against U = O(1), tolerance 1e-7). (b) Gradient descent with a small step lowers
    # U at every step (U is smooth, step ≪ 1/curvature) — the paper's learning lowers U (10).
    net, data = small
    # U and ∂U/∂w from one compiled program (eager autodiff through the implicit solve dispatches op by
    # op: most of this test's time), evaluated at w and at the two shifted weights.
    u_and_grad = jax.jit(jax.value_and_grad(lambda w: nw.data_thermodynamics(eqx.tree_at(lambda n: n.w, net, w),
                                                                            10.0, data).average_loss))
    _, grad_w = u_and_grad(net.w)
    h = 1e-5
    fd = (float(u_and_grad(net.w.at[4, 2].add(h))[0]) - float(u_and_grad(net.w.at[4, 2].add(-h))[0])) / (2 * h)
    assert float(grad_w[4, 2]) == pytest.approx(fd, abs=1e-7)
    _, hist = jax.jit(lambda n: nw.learn(n, data, 10.0, steps=60))(net)
    du = np.diff(np.asarray(hist.thermo.average_loss))
    assert np.all(du < 0) and float(hist.grad_norm[-1]) < float(hist.grad_norm[0])


@pytest.mark.slow
def test_learning_equilibrium_second_law_at_rest_and_first_law_identity(small):
    # At the learning equilibrium (11) (‖∂U/∂(w,b)‖ ≤ 1e-6) one learning step (sgd, lr = 0.05) moves
    # (w, b) by ≤ lr·‖∂U‖, so |ΔS_x| ≤ lr·‖∂S_x‖·‖∂U‖ (Cauchy-Schwarz; the second order is ~1e-14):
    # (15)'s "constant in a learning equilibrium". It is far below the change per step at the start.
    # Between two equilibria at one T, dU - T dS_x = dF and T dS_0 = 0 (identities of (13)-(14);
    # S_x recomputed below from F alone by its own route, tolerance 1e-12).
    net, data = small
    two_steps = jax.jit(chex.assert_max_traces(lambda n: nw.learn(n, data, 10.0, steps=2), n=1))  # used twice
    equilibrium = jax.jit(lambda n: nw.learning_equilibrium(n, data, 10.0))
    _, start = two_steps(net)
    eq_net, eq = equilibrium(net)
    assert bool(eq.converged) and float(eq.grad_norm) <= 1e-6
    _, after = two_steps(eq_net)
    ds_eq = abs(float(after.thermo.entropy[1] - after.thermo.entropy[0]))
    ds_start = abs(float(start.thermo.entropy[1] - start.thermo.entropy[0]))
    grad_s = jax.jit(jax.grad(lambda q: nw.data_thermodynamics(eqx.tree_at(lambda n: (n.w, n.b), eq_net, q), 10.0,
                                                               data).entropy))((eq_net.w, eq_net.b))
    norm_s = float(jnp.sqrt(sum(jnp.sum(g**2) for g in grad_s)))
    assert ds_eq <= 0.05 * norm_s * float(after.grad_norm[0]) + 1e-13
    assert ds_eq < 1e-3 * ds_start

    other = nw.network_from_mlp(eqx.nn.MLP(2, 1, 2, 1, activation=jnp.tanh, final_activation=jnp.tanh,
                                           key=jax.random.PRNGKey(11)))
    eq2_net, eq2 = equilibrium(other)
    law = nw.first_law(eq.thermo, eq2.thermo, 10.0)
    assert float(law.t_ds0) == 0.0

    @jax.jit  # one program for both equilibria
    def s_x(n):  # S_x = β² ∂F/∂β by jax.grad of F alone: an independent route to the entropy
        return 100.0 * jax.grad(lambda b: nw.data_thermodynamics(n, b, data).free_energy)(10.0)

    t_ds = 0.1 * (float(s_x(eq2_net)) - float(s_x(eq_net)))
    assert float(law.du) - t_ds == pytest.approx(float(law.df), abs=1e-12)
    assert float(law.t_dc) == pytest.approx(float(law.t_ds), abs=1e-12)  # dS_0 = 0 at one T


def test_laws_of_learning_rejects_a_nan_history():
    th = nw.Thermodynamics(*(jnp.linspace(1.0, 2.0, 6) for _ in nw.Thermodynamics._fields))
    bad = nw.LearningHistory(th._replace(average_loss=th.average_loss.at[3].set(jnp.nan)), jnp.zeros(6))
    with pytest.raises(ValueError, match="average loss U contains NaN"):
        nw.laws_of_learning(bad, 1.0)
    laws = nw.laws_of_learning(nw.LearningHistory(th, jnp.zeros(6)), 1.0)
    # S_x rises every step here: (15) is violated on every step, and ΔU - TΔS_x = 0.2 - 0.2 = 0.
    assert float(laws.entropy_decrease_fraction) == 0.0 and float(laws.first_law_residual) == pytest.approx(0.0)


def test_the_learning_loop_evaluates_u_without_per_step_checks():
    """learn's objective U runs inside ``_checks.validated`` (its inputs are checked at entry, the
    iterate once per evaluation and the result once): its whole program, two steps of U and ∂U,
    holds fewer error checks than one checked evaluation of the data thermodynamics does. Without
    it every evaluation re-ran every kernel's checks (~60 each)."""
    import equinox as eqx

    mlp = eqx.nn.MLP(2, 1, 2, 1, activation=jnp.tanh, final_activation=jnp.tanh, key=jax.random.PRNGKey(0))
    net = nw.learning.network_from_mlp(mlp)
    data = jnp.array([[0.5, -0.3, 0.2], [-0.1, 0.4, -0.6]])

    def n_checks(fn):
        jax.clear_caches()  # U is jitted: count its checks in this trace, not a cached one
        return str(jax.make_jaxpr(fn)(net)).count("pure_callback")

    one_evaluation = n_checks(lambda n: nw.learning.data_thermodynamics(n, 1.0, data))
    learning = n_checks(lambda n: nw.learning.learn(n, data, 1.0, steps=2))
    assert 0 < learning < one_evaluation
