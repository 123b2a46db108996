"""Inside a training loop (issue #14): any equinox model as the network (2), data-conditioned
thermodynamics (inputs clamped), the feed-forward fast path, and the optax interface."""

import chex
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from nnworld_jax import learning as ln
from nnworld_jax import training as tr
from nnworld_jax.network import step
from nnworld_jax.thermo import thermodynamics


class Custom(eqx.Module):
    """A user's own module: a `layers` list of Linear and activations, its own __call__."""

    layers: list

    def __init__(self, key, dtype=None):
        k1, k2, k3 = jax.random.split(key, 3)
        self.layers = [eqx.nn.Linear(4, 6, key=k1, dtype=dtype), jax.nn.softplus,
                       eqx.nn.Linear(6, 5, key=k2, dtype=dtype), jnp.tanh,
                       eqx.nn.Linear(5, 2, key=k3, dtype=dtype)]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


def _models(key, dtype=None):
    k1, k2, k3 = jax.random.split(key, 3)
    return {
        "mlp_identity_out": eqx.nn.MLP(3, 2, 5, 2, activation=jnp.tanh, key=k1, dtype=dtype),
        "sequential": eqx.nn.Sequential([eqx.nn.Linear(3, 4, key=k2, dtype=dtype), eqx.nn.Lambda(jax.nn.gelu),
                                         eqx.nn.Linear(4, 4, key=k3, dtype=dtype), eqx.nn.Lambda(jax.nn.sigmoid),
                                         eqx.nn.Linear(4, 2, key=k1, dtype=dtype)]),
        "custom": Custom(k3, dtype),
    }


def _free_run(net, inp, depth):
    # Clamp the inputs and run the dynamics (1)-(2) depth times: the outputs then hold the model's output.
    n_in = len(net.inputs)
    x = jnp.zeros(net.n, net.w.dtype).at[:n_in].set(inp)
    for _ in range(depth):
        x = step(net, x).at[:n_in].set(inp)
    return x


@pytest.mark.parametrize("name", ["mlp_identity_out", "sequential", "custom"])
def test_models_map_onto_the_network_with_their_own_forward_pass(key, name):
    model = _models(key)[name]
    net = ln.network_from_model(model)
    sizes = ln.layer_sizes(model)
    assert net.n == sum(sizes) and net.inputs == tuple(range(sizes[0]))
    assert net.outputs == tuple(range(net.n - sizes[-1], net.n))
    inp = jnp.linspace(-1.0, 1.2, sizes[0])
    x = _free_run(net, inp, len(sizes) - 1)
    # float64 forward passes of the same arithmetic in two orders: agree to rounding.
    np.testing.assert_allclose(x[-sizes[-1]:], model(inp), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(x[sizes[0]:], jnp.concatenate(tr.feedforward_mean_state(model, inp)), rtol=1e-12,
                               atol=1e-13)


def test_mlp_with_one_activation_keeps_its_single_f(key):
    # claims/thermodynamics.py relies on network_from_mlp giving the MLP's own f to every neuron.
    mlp = eqx.nn.MLP(2, 1, 3, 1, activation=jnp.tanh, final_activation=jnp.tanh, key=key)
    assert ln.network_from_mlp(mlp).activation is jnp.tanh


@pytest.mark.parametrize("f", [jax.nn.relu, jax.nn.leaky_relu, jax.nn.hard_tanh, jnp.abs,
                               lambda y: jnp.maximum(y, 0.0), lambda y: jnp.clip(y, -1.0, 1.0),
                               lambda y: jnp.where(y > 3.0, y, 3.0)])
def test_kinked_activations_are_refused(key, f):
    with pytest.raises(ValueError, match="kink"):
        ln.network_from_model(eqx.nn.MLP(2, 1, 3, 1, activation=f, key=key))


@pytest.mark.parametrize("f", [jax.nn.gelu, jax.nn.silu, jax.nn.softplus, jax.nn.sigmoid, jnp.sin,
                               lambda y: y**3 / 3 + y])
def test_smooth_activations_are_accepted(key, f):
    assert ln.check_activation(f) is f


def test_non_elementwise_activation_is_refused():
    with pytest.raises(ValueError, match="elementwise"):
        ln.check_activation(lambda y: y - jnp.mean(y))


FIELDS = ("free_energy", "average_loss", "entropy", "thermodynamic_entropy", "complexity", "heat_capacity")


@pytest.mark.parametrize("method", ["paper", "laplace"])
def test_fast_path_equals_the_dense_newton_path(key, method):
    # Two independent routes in float64: forward pass + block-tridiagonal Cholesky vs Newton solve of
    # ∂H/∂x_free = 0 + dense (N_free)³ Cholesky of (1-βm)I + βG. Both are exact up to rounding of
    # O(10 ε κ) with condition numbers ~10 here: 1e-10.
    fast_fn = eqx.filter_jit(lambda m, x: tr.feedforward_thermodynamics(m, 2.5, x, method=method))
    dense_fn = eqx.filter_jit(lambda m, x: ln.clamped_thermodynamics(m, 2.5, x, method=method, clamp="inputs"))
    for name, model in _models(key).items():
        n_in = ln.layer_sizes(model)[0]
        inputs = jnp.array([[0.3, -1.2, 0.8, 0.1], [2.0, 0.5, -0.7, 1.5]])[:, :n_in]
        fast = jax.vmap(fast_fn, in_axes=(None, 0))(model, inputs)
        dense = jax.vmap(dense_fn, in_axes=(None, 0))(model, inputs)
        np.testing.assert_allclose(np.array(fast), np.array(dense), rtol=1e-10, atol=1e-10, err_msg=name)
    # And the parameter gradient of F (the regularizer's): through the forward pass vs the implicit function.
    model = _models(key)["mlp_identity_out"]
    inp = jnp.array([0.3, -1.2, 0.8])
    g_fast = eqx.filter_jit(eqx.filter_grad(lambda m: tr.free_energy_term(m, 2.5, inp, method=method)))(model)
    g_dense = eqx.filter_jit(eqx.filter_grad(
        lambda m: ln.clamped_thermodynamics(m, 2.5, inp, method=method, clamp="inputs").free_energy))(model)
    chex.assert_trees_all_close(g_fast, g_dense, rtol=1e-10, atol=1e-12)


def _trapezoid_moments(log_weight, q, n, half_width=7.0, points=57):
    """∫ exp(log_weight(δ)) d^n δ and the weighted means of q, q² on an n-D trapezoid grid."""
    t = jnp.linspace(-half_width, half_width, points)
    h = t[1] - t[0]
    grid = jnp.stack(jnp.meshgrid(*([t] * n), indexing="ij"), axis=-1).reshape(-1, n)
    lw = jax.vmap(log_weight)(grid)
    qq = jax.vmap(q)(grid)
    w = jnp.exp(lw)
    z = jnp.sum(w) * h**n
    return z, jnp.sum(w * qq) / jnp.sum(w), jnp.sum(w * qq**2) / jnp.sum(w)


def _tiny(key, activation):
    # 1 input -> 1 -> 1 -> 1: three free neurons, the quadrature is 3-D.
    k1, k2, k3 = jax.random.split(key, 3)
    return eqx.nn.Sequential([eqx.nn.Linear(1, 1, key=k1), eqx.nn.Lambda(activation),
                              eqx.nn.Linear(1, 1, key=k2), eqx.nn.Lambda(activation),
                              eqx.nn.Linear(1, 1, key=k3), eqx.nn.Lambda(activation)])


@pytest.mark.parametrize("activation", ["tanh", "linear"])
def test_data_conditioned_thermodynamics_against_quadrature(key, activation):
    # Eq. (7) with the inputs clamped is the integral Z₇ = ∫d³δ exp(-½|δ|² - βQ(δ)), Q the quadratic
    # form of H about x*. Here Q(δ) = ½|r'(x*)δ|² from jax.jvp of the residual r(x) = x - f(wx + b) of the
    # free neurons (no G, no Cholesky, no block structure); for a linear net Q is H(x* + δ) itself (exact).
    # U = ⟨Q⟩ and dU/dT = β²(⟨Q²⟩ - ⟨Q⟩²) follow from the same weights. The integrand is a Gaussian with
    # variances ≤ 1 (A ≥ I): the box ±7 loses e^{-24}, and the trapezoid rule with h = 0.25 is
    # spectrally accurate (error ~ exp(-2π²σ²/h²) < 1e-9 for σ² ≥ 1/λ_max(A) ≈ 0.1 here): 1e-7.
    f = jnp.tanh if activation == "tanh" else (lambda y: y)
    model = _tiny(key, f)
    net = ln.network_from_model(model)
    beta = 1.7
    for inp in (jnp.array([0.4]), jnp.array([-1.3])):
        th = tr.feedforward_thermodynamics(model, beta, inp)
        x_star = _free_run(net, inp, 3)

        def residual(x):
            return (x - net.activation(net.w @ x + net.b))[1:]  # the free (non-input) rows

        def q(d):
            if activation == "linear":
                return 0.5 * jnp.sum(residual(x_star.at[1:].add(d)) ** 2)
            return 0.5 * jnp.sum(jax.jvp(residual, (x_star,), (jnp.concatenate([jnp.zeros(1), d]),))[1] ** 2)

        z, q1, q2 = _trapezoid_moments(lambda d: -0.5 * jnp.sum(d**2) - beta * q(d), q, 3)
        np.testing.assert_allclose(th.free_energy, -jnp.log(z) / beta, rtol=1e-7)
        np.testing.assert_allclose(th.average_loss, q1, rtol=1e-7)
        np.testing.assert_allclose(th.heat_capacity, beta**2 * (q2 - q1**2), rtol=1e-7)
        np.testing.assert_allclose(th.entropy, beta * (th.average_loss - th.free_energy), rtol=1e-12)


def test_data_conditioned_metrics_change_with_the_batch(key):
    # With two tanh hidden layers G depends on the data through f'(y*) (eq. (9)): two batches differ by
    # far more than rounding (1e-3 of the value would already be a million ulps).
    model = eqx.nn.MLP(8, 1, 32, 2, activation=jnp.tanh, key=key)
    xa = jax.random.normal(jax.random.PRNGKey(1), (16, 8))
    xb = 3.0 * jax.random.normal(jax.random.PRNGKey(2), (16, 8))
    ma, mb = tr.metrics(model, 4.0, xa), tr.metrics(model, 4.0, xb)
    for k in ("free_energy", "average_loss", "entropy", "complexity"):
        assert abs(float(ma[k] - mb[k])) > 1e-3 * abs(float(ma[k])), k
    # ... and the batch mean is the mean of the per-example values (B independent copies).
    per = jax.vmap(lambda x: tr.feedforward_thermodynamics(model, 4.0, x))(xa)
    np.testing.assert_allclose(ma["free_energy"], jnp.mean(per.free_energy), rtol=1e-12)


def test_decoupled_inputs_reduce_to_the_unclamped_network(key):
    # W_1 = 0: the inputs decouple. The unclamped network (today's thermo_metrics, all N neurons, Newton)
    # then has G = blockdiag(I_inputs, G_free) and x_in = tanh(0) = 0, so
    # βF_unclamped - βF_clamped = (n_in/2)(log(1 + β) - log 2π) and U_unclamped - U_clamped = n_in / (2(1 + β)),
    # whatever the clamped inputs. Float64, dense vs block path: 1e-10.
    mlp = eqx.nn.MLP(3, 2, 4, 2, activation=jnp.tanh, final_activation=jnp.tanh, key=key)
    mlp = eqx.tree_at(lambda m: m.layers[0].weight, mlp, jnp.zeros_like(mlp.layers[0].weight))
    beta, n_in = 3.0, 3
    free = ln.thermo_metrics(mlp, beta)
    for inp in (jnp.array([0.5, -2.0, 1.0]), jnp.array([3.0, 0.1, -0.4])):
        clamped = tr.feedforward_thermodynamics(mlp, beta, inp)
        np.testing.assert_allclose(beta * (free.free_energy - clamped.free_energy),
                                   0.5 * n_in * (np.log(1 + beta) - np.log(2 * np.pi)), rtol=1e-10)
        np.testing.assert_allclose(free.average_loss - clamped.average_loss, n_in / (2 * (1 + beta)), rtol=1e-10)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_both_models_train_under_filter_jit_grad_and_vmap(key, dtype):
    # The two models: the regression MLP with identity output, and a custom module of Linear layers.
    models = {"mlp": lambda k: eqx.nn.MLP(8, 1, 32, 2, activation=jnp.tanh, key=k, dtype=dtype),
              "custom": lambda k: eqx.nn.Sequential([eqx.nn.Linear(8, 6, key=k, dtype=dtype), eqx.nn.Lambda(jnp.tanh),
                                                     eqx.nn.Linear(6, 1, key=k, dtype=dtype)])}
    x = jax.random.normal(jax.random.PRNGKey(3), (16, 8), dtype)
    y = jnp.sin(x[:, :1])
    # Rounding of one step's F and grads: ~1e-5 relative in float32 (sums over 32² terms), ~1e-12 in float64.
    rtol = 2e-4 if dtype == jnp.float32 else 1e-10
    for name, make in models.items():
        model = make(key)

        def loss(m):
            return jnp.mean((jax.vmap(m)(x) - y) ** 2) + tr.free_energy_term(m, 5.0, x, strength=0.1, checks=False)

        # Reference evaluations are jitted once per model (eager calls compile op by op: minutes on 2 cores);
        # the eager path with its runtime checks on is covered by tests/bad_input/training.py.
        loss_j = eqx.filter_jit(loss)
        fe_j = eqx.filter_jit(lambda m: tr.metrics(m, 5.0, x)["free_energy"])
        opt = optax.adam(1e-2)
        state = opt.init(eqx.filter(model, eqx.is_inexact_array))

        @eqx.filter_jit
        def train_step(m, s):
            value, grads = eqx.filter_value_and_grad(loss)(m)
            with jax.numpy_dtype_promotion("standard"):  # optax mixes its int32 step count with floats
                updates, s = opt.update(grads, s, eqx.filter(m, eqx.is_inexact_array))
            return eqx.apply_updates(m, updates), s, value, tr.metrics(m, 5.0, x, checks=False), grads

        m1, _, v_jit, mets, g = train_step(model, state)
        assert v_jit.dtype == dtype and mets["free_energy"].dtype == dtype
        np.testing.assert_allclose(v_jit, loss_j(model), rtol=rtol)  # the step's value = the loss alone
        np.testing.assert_allclose(mets["free_energy"], fe_j(model), rtol=rtol)
        for _ in range(20):
            m1, state, *_ = train_step(m1, state)
        assert float(loss_j(m1)) < float(loss_j(model)), name  # the regularized loss goes down under Adam
        # jax.grad along a direction equals the central difference of the loss (float64 only: float32's
        # difference quotient carries ~1e-7/1e-3 = 1e-4 rounding, the check needs 1e-6). The gradient is
        # the one the first training step took at `model` (filter_value_and_grad is jax.grad over the
        # inexact leaves): no second compiled gradient program (8 s of CPU on the 8-32-32-1 MLP).
        if dtype == jnp.float64:
            params, static = eqx.partition(model, eqx.is_inexact_array)
            d = jax.tree_util.tree_map(lambda p: jax.random.normal(jax.random.PRNGKey(4), p.shape, p.dtype), params)
            g = eqx.filter(g, eqx.is_inexact_array)
            dirderiv = sum(jnp.vdot(a, b) for a, b in zip(jax.tree_util.tree_leaves(g), jax.tree_util.tree_leaves(d)))
            h = 1e-5
            shift = lambda s: eqx.combine(jax.tree_util.tree_map(lambda p, q: p + s * q, params, d), static)  # noqa: E731
            # central difference error h² |L'''| / 6 ~ 1e-10 and rounding ε/h ~ 1e-11: 1e-6 relative is ample.
            np.testing.assert_allclose(dirderiv, (loss_j(shift(h)) - loss_j(shift(-h))) / (2 * h), rtol=1e-6)
        # filter_vmap over an ensemble of models (seeds) equals the loop over them.
        keys = jax.random.split(key, 3)
        ensemble = eqx.filter_vmap(make)(keys)
        f_vmap = eqx.filter_jit(eqx.filter_vmap(lambda m: tr.metrics(m, 5.0, x)["free_energy"]))(ensemble)
        f_loop = jnp.stack([fe_j(make(k)) for k in keys])
        np.testing.assert_allclose(f_vmap, f_loop, rtol=rtol)


def test_free_energy_gradient_transformation_adds_strength_times_dF(key):
    model = eqx.nn.MLP(3, 1, 4, 2, activation=jnp.tanh, key=key)
    x = jax.random.normal(jax.random.PRNGKey(5), (6, 3))
    params = eqx.filter(model, eqx.is_inexact_array)
    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    tx = tr.free_energy_gradient(model, 2.0, 0.3, inputs=x)
    # jitted (eager calls compile op by op); the comparison is between two independent routes either way
    upd, _ = eqx.filter_jit(tx.update)(zeros, tx.init(params), params)
    want = eqx.filter_jit(eqx.filter_grad(lambda m: 0.3 * tr.metrics(m, 2.0, x)["free_energy"]))(model)
    chex.assert_trees_all_close(upd, want, rtol=1e-12, atol=1e-15)
    # This step's batch as an extra argument replaces the default one.
    upd2, _ = eqx.filter_jit(tx.update)(zeros, tx.init(params), params, inputs=x[:2])
    want2 = eqx.filter_jit(eqx.filter_grad(lambda m: 0.3 * tr.metrics(m, 2.0, x[:2])["free_energy"]))(model)
    chex.assert_trees_all_close(upd2, want2, rtol=1e-12, atol=1e-15)
    # In a chain, under filter_jit, it lowers F (sgd on F alone, strength 1).
    chain = optax.chain(tr.free_energy_gradient(model, 2.0, 1.0, inputs=x), optax.sgd(0.05))

    @eqx.filter_jit
    def stepped(m):
        p = eqx.filter(m, eqx.is_inexact_array)
        u, _ = chain.update(jax.tree_util.tree_map(jnp.zeros_like, p), chain.init(p), p)
        return eqx.apply_updates(m, u)

    assert float(tr.metrics(stepped(model), 2.0, x)["free_energy"]) < float(tr.metrics(model, 2.0, x)["free_energy"])


def test_train_student_with_the_transformation(key):
    task = ln.teacher_student_task(key=jax.random.PRNGKey(6), in_size=2, out_size=1, width=3, depth=1, n_data=16)
    student = eqx.nn.MLP(2, 1, 3, 1, activation=jnp.tanh, final_activation=jnp.tanh, key=key)
    opt = optax.chain(tr.free_energy_gradient(student, 2.0, 0.5, inputs=task.x), optax.adam(1e-2))
    _, hist = ln.train_student(task, 2.0, key=key, steps=30, optimizer=opt)
    assert float(hist.loss[-1]) < float(hist.loss[0])


def test_checks_false_leaves_no_runtime_check_in_the_step(key):
    # checks=True puts equinox.error_if (a callback) on β, the inputs and the weights; checks=False none.
    model = eqx.nn.MLP(3, 1, 4, 2, activation=jnp.tanh, key=key)
    x = jnp.ones((2, 3))
    params, static = eqx.partition(model, eqx.is_inexact_array)

    def jaxpr(checks):
        fn = lambda p, b: tr.free_energy_term(eqx.combine(p, static), b, x, checks=checks)  # noqa: E731
        return str(jax.make_jaxpr(jax.grad(fn))(params, 2.0))

    assert "callback" in jaxpr(True) and "callback" not in jaxpr(False)
    with pytest.raises(Exception, match="inputs contains NaN"):
        eqx.filter_jit(tr.metrics)(model, 2.0, x.at[0, 0].set(jnp.nan))
    assert np.isnan(float(eqx.filter_jit(lambda m, z: tr.metrics(m, 2.0, z, checks=False)["free_energy"])(
        model, x.at[0, 0].set(jnp.nan))))


def test_slq_free_energy_agrees_with_the_block_cholesky(key):
    # Monte Carlo: the SLQ value must lie within 4 standard errors (+ its truncation error) of the exact F;
    # a wrong operator (a missing Jᵀ or β) moves it by far more than the ~1% error of 64 probes.
    model = eqx.nn.MLP(5, 3, 12, 2, activation=jnp.tanh, key=key)
    x = jax.random.normal(jax.random.PRNGKey(7), (4, 5))
    est = tr.feedforward_free_energy_slq(model, 2.0, x, key=jax.random.PRNGKey(8), num_probes=64, num_steps=27)
    exact = tr.metrics(model, 2.0, x)["free_energy"]
    assert abs(float(est.value - exact)) <= 4 * float(est.std_error) + float(est.truncation_error)
    assert float(est.std_error) < 0.05 * abs(float(exact))
