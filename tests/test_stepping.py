"""The one stepping layer (nnworld_jax.stepping): the driver's conventions, the diffrax solvers'
orders, the generic ETDRK4 and the permutation stencil against exact solutions, and the one failure
policy."""

import math

import chex
import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnworld_jax import stepping as st


def decay(rate=1.0, dt=0.1, **kw):
    return st.ode_stepper(lambda t, y: jax.tree.map(lambda v: -rate * v, y), dt, **kw)


# ------------------------------------------------------------------------------------- driver
def test_saves_include_the_initial_state_and_end_at_the_final_one():
    # One convention: save_every = s gives n_steps // s + 1 states, the first the initial one, the
    # last the state solve returns without saving (same program: equal to the bit).
    stepper = decay(dt=0.1)
    y0 = (jnp.array([1.0, 2.0]), jnp.array(3.0))
    saved = st.solve(stepper, y0, t0=0.5, n_steps=6, save_every=2)
    final = st.solve(stepper, y0, t0=0.5, n_steps=6)
    np.testing.assert_allclose(saved.t, [0.5, 0.7, 0.9, 1.1], rtol=1e-14)
    assert saved.y[0].shape == (4, 2) and saved.y[1].shape == (4,)
    np.testing.assert_array_equal(saved.y[0][0], y0[0])
    np.testing.assert_array_equal(saved.y[0][-1], final.y[0])
    assert float(final.t) == pytest.approx(1.1, rel=1e-14)
    # n_steps = 0: the initial state itself (checked and cast), with or without saving.
    zero = st.solve(stepper, y0, n_steps=0, save_every=1)
    assert zero.t.shape == (1,) and float(zero.y[1][0]) == 3.0
    # A State continues where it stopped: 2 + 4 steps equal 6 steps, to the bit (same arithmetic).
    resumed = st.solve(stepper, st.solve(stepper, y0, t0=0.5, n_steps=2), n_steps=4)
    np.testing.assert_array_equal(resumed.y[0], final.y[0])
    assert float(resumed.t) == pytest.approx(1.1, rel=1e-14)


def test_traced_step_count_compiles_once_and_agrees():
    # n_steps traced (fori_loop) serves every count from one program; each equals RK4's exact
    # amplification R(-dt)^n of y' = -y (R(z) = 1 + z + z²/2 + z³/6 + z⁴/24) to round-off.
    stepper = decay(dt=0.1)
    run = jax.jit(chex.assert_max_traces(lambda n: st.solve(stepper, jnp.ones(3), n_steps=n).y, n=1))
    r = 1 - 0.1 + 0.1**2 / 2 - 0.1**3 / 6 + 0.1**4 / 24
    for n in (0, 1, 7, 30):
        np.testing.assert_allclose(run(n), np.full(3, r**n), rtol=1e-13)


def test_gradient_through_the_saving_driver_is_the_amplification():
    # The scan route is reverse-differentiable: d y_n / d y_0 of y' = -y is R(-dt)^n exactly
    # (linear map), to round-off.
    stepper = decay(dt=0.2)
    grad = jax.grad(lambda y0: st.solve(stepper, y0, n_steps=10, save_every=5).y[-1])(1.0)
    r = 1 - 0.2 + 0.2**2 / 2 - 0.2**3 / 6 + 0.2**4 / 24
    assert float(grad) == pytest.approx(r**10, rel=1e-13)


def test_vmap_over_initial_states_and_over_dt():
    # A traced dt is fine; vmap over y0 and over dt equals separate runs (same program, 1e-15).
    ys = jnp.array([1.0, -2.0, 0.5])
    batched = jax.vmap(lambda y: st.solve(decay(dt=0.1), y, n_steps=5).y)(ys)
    np.testing.assert_allclose(batched, [st.solve(decay(dt=0.1), y, n_steps=5).y for y in ys], rtol=1e-15)
    dts = jnp.array([0.05, 0.1])
    by_dt = jax.vmap(lambda h: st.solve(decay(dt=h), 1.0, n_steps=4))(dts)
    np.testing.assert_allclose(by_dt.t, 4 * dts, rtol=1e-15)
    np.testing.assert_allclose(by_dt.y[1], st.solve(decay(dt=0.1), 1.0, n_steps=4).y, rtol=1e-15)


# -------------------------------------------------------------------------- diffrax solvers
@pytest.mark.parametrize("name", list(st.SOLVERS))
def test_each_solver_converges_at_its_declared_order(name):
    # y' = cos(t) y, y(0) = 1: y = exp(sin t), non-autonomous (checks the stage times). The fitted
    # slope of log error vs log dt over T = 2 must be the solver's declared order (diffrax's
    # order(); RK4's is ours): at least order - 0.35 (a wrong stage time or weight drops it by ≥ 1)
    # and below order + 1. Tsit5 is tuned for a small leading error constant, so at these dt its
    # next-order term still shows (measured slope 5.76 for order 5; dopri5 5.24, rk4 4.0).
    order = st.SOLVERS[name]().order(None)
    ns = (8, 16, 32) if order < 8 else (4, 6, 8)  # dopri8 reaches round-off (1e-15) beyond 8 steps
    run = jax.jit(lambda dt, n: st.solve(st.ode_stepper(lambda t, y: jnp.cos(t) * y, dt, solver=name), 1.0,
                                         n_steps=n).y)
    errs = [abs(float(run(2.0 / n, n)) - math.exp(math.sin(2.0))) for n in ns]
    slope = -np.polyfit(np.log(ns), np.log(errs), 1)[0]
    assert order - 0.35 < slope < order + 1, (name, order, slope, errs)


def test_rk4_is_the_classical_tableau():
    # One step of the diffrax-run tableau equals the textbook formula on a nonlinear pytree ODE
    # (k1..k4 written out here as the independent reference), to round-off.
    def f(t, y):
        a, b = y
        return jnp.sin(t) * b, -a * b**2

    y0, t0, h = (jnp.array(0.7), jnp.array(-0.3)), 0.4, 0.25
    got = st.ode_stepper(f, h).step(st.State(jnp.asarray(t0), y0)).y

    def axpy(a, k):
        return tuple(u + a * v for u, v in zip(y0, k))

    k1 = f(t0, y0)
    k2 = f(t0 + h / 2, axpy(h / 2, k1))
    k3 = f(t0 + h / 2, axpy(h / 2, k2))
    k4 = f(t0 + h, axpy(h, k3))
    want = tuple(u + h / 6 * (a + 2 * b + 2 * c + d) for u, a, b, c, d in zip(y0, k1, k2, k3, k4))
    np.testing.assert_allclose(got, want, rtol=1e-14)


def test_ode_stepper_agrees_with_diffeqsolve():
    # The layer's Tsit5 step equals diffrax's own driver with the same fixed steps (diffeqsolve,
    # ConstantStepSize): same tableau, same arithmetic; 1e-13 allows the reordered sums of the
    # FSAL first stage.
    f = lambda t, y: jnp.stack([y[1], -jnp.sin(y[0])])  # noqa: E731  (pendulum)
    y0 = jnp.array([1.2, 0.0])
    ours = st.solve(st.ode_stepper(f, 0.05, solver="tsit5"), y0, n_steps=40).y
    ref = diffrax.diffeqsolve(diffrax.ODETerm(lambda t, y, a: f(t, y)), diffrax.Tsit5(), 0.0, 2.0, 0.05, y0,
                              stepsize_controller=diffrax.ConstantStepSize()).ys[-1]
    np.testing.assert_allclose(ours, ref, rtol=1e-13, atol=1e-14)


def test_backward_steps():
    # dt < 0 integrates backwards: y' = y from t = 1 back to 0 recovers y(0) = 1 (RK4 error ~1e-9
    # at |dt| = 0.05, bound 1e-7).
    s = st.solve(st.ode_stepper(lambda t, y: y, -0.05), math.e, t0=1.0, n_steps=20)
    assert float(s.t) == pytest.approx(0.0, abs=1e-14)
    assert abs(float(s.y) - 1.0) < 1e-7


# ------------------------------------------------------------------------------------ ETDRK4
def _heat_problem(n=32, D=0.3):
    x = 2 * np.pi * np.arange(n) / n
    k = np.fft.rfftfreq(n, d=1 / n)
    return x, k, -D * k**2


def test_etdrk4_is_exact_for_a_linear_symbol():
    # N = 0: the step is E û, e^{dt L} exactly, for any dt: the heat equation's Fourier decay to
    # round-off, at a step 100× the explicit limit.
    x, _, L = _heat_problem()
    u0 = np.exp(np.cos(x)) + 0.3 * np.sin(3 * x)
    stepper = st.etdrk4(L, lambda u: jnp.zeros(L.shape, complex), 2.0, shape=x.shape)
    got = st.solve(stepper, u0, n_steps=5).y
    want = np.fft.irfft(np.fft.rfft(u0) * np.exp(10.0 * L), n=x.size)
    np.testing.assert_allclose(got, want, atol=1e-13)


def test_etdrk4_converges_at_fourth_order_with_a_nonlinear_term():
    # ∂_t u = D u_xx + a u with the reaction a u treated as the explicit term: exact solution
    # û_k(t) = û_k(0) e^{(L_k + a)t}. ETDRK4 is order 4 in dt (fitted slope within 0.3), and the
    # coefficients from traced dt (the fori_loop contour) equal the host ones (one program per dt).
    x, _, L = _heat_problem()
    a = -1.5
    u0 = np.exp(np.sin(x))
    exact = np.fft.irfft(np.fft.rfft(u0) * np.exp((L + a) * 1.0), n=x.size)
    ns = (4, 8, 16)
    errs = []
    for n in ns:
        stepper = st.etdrk4(L, lambda u: a * jnp.fft.rfft(u), 1.0 / n, shape=x.shape)
        errs.append(float(np.max(np.abs(st.solve(stepper, u0, n_steps=n).y - exact))))
    slope = -np.polyfit(np.log(ns), np.log(errs), 1)[0]
    assert abs(slope - 4) < 0.3, (slope, errs)
    traced = jax.jit(lambda h: st.solve(st.etdrk4(L, lambda u: a * jnp.fft.rfft(u), h, shape=x.shape), u0,
                                        n_steps=8).y)(1.0 / 8)
    np.testing.assert_allclose(traced, st.solve(st.etdrk4(L, lambda u: a * jnp.fft.rfft(u), 1.0 / 8, shape=x.shape),
                                                u0, n_steps=8).y, atol=1e-13)


def test_etdrk4_coefficients_have_no_cancellation_at_small_z():
    # At z = dt L → 0 the weights tend to dt/2 (Q), dt/6 (f1), dt/6 (f2), dt/6 (f3): the contour
    # mean gets them to 1e-12 relative where the closed forms lose everything to cancellation.
    E, _, Q, f1, f2, f3 = st.etdrk4_coefficients(np.array([-1e-9, 0.0]), 0.1)
    np.testing.assert_allclose(np.asarray([Q, f1, f2, f3]), [[0.05] * 2, [0.1 / 6] * 2, [0.1 / 6] * 2,
                                                             [0.1 / 6] * 2], rtol=1e-8)
    np.testing.assert_allclose(E, [math.exp(-1e-10), 1.0], rtol=1e-15)


# ------------------------------------------------------------------- the permutation stencil
def test_shift_rk4_is_rk4_of_the_linear_flow():
    # The five-tap stencil equals four RK4 stages of r(P - I)y (a second route: the diffrax tableau
    # on the vector field) to round-off, for a cyclic shift; the taps sum to 1 (constants kept).
    r, dt = 3.0, 0.1
    y0 = jnp.sin(jnp.arange(10.0)) ** 2
    stencil = st.shift_rk4(lambda y, j: jnp.roll(y, j), r, dt)
    field = st.ode_stepper(lambda t, y: r * (jnp.roll(y, 1) - y), dt)
    np.testing.assert_allclose(st.solve(stencil, y0, n_steps=7).y, st.solve(field, y0, n_steps=7).y, atol=1e-14)
    assert sum(st.shift_rk4_taps(r * dt)) == pytest.approx(1.0, abs=1e-15)


# ------------------------------------------------------------------------- failure policy
def test_a_blow_up_raises_with_the_common_message():
    # y' = y² from y(0) = 1 escapes at t = 1; steps of 0.25 run past it to inf/NaN: the same message
    # pattern eagerly (ValueError) and under jit (equinox runtime error).
    stepper = st.ode_stepper(lambda t, y: y**2, 0.25, name="blow-up")
    pattern = r"blow-up: a step left the domain of the state \(finite\)"
    with pytest.raises(ValueError, match=pattern):
        s = stepper.init(1.0)
        for _ in range(12):
            s = stepper.step(s)
    with pytest.raises(Exception, match=pattern):
        jax.block_until_ready(jax.jit(lambda y: st.solve(stepper, y, n_steps=12).y)(1.0))


def test_a_scheme_domain_condition_is_part_of_the_policy():
    # bad(y) adds the scheme's own condition (here y > 0) to the finiteness check, named in `domain`.
    stepper = st.ode_stepper(lambda t, y: -2.0 * jnp.ones_like(y), 0.5, name="drain", bad=lambda y: ~(y > 0),
                             domain="finite, y > 0", hint="the tank is empty")
    assert float(st.solve(stepper, 1.5, n_steps=1).y) == pytest.approx(0.5)
    with pytest.raises(Exception, match=r"drain: a step left the domain of the state \(finite, y > 0\): the tank"):
        jax.block_until_ready(jax.jit(lambda y: st.solve(stepper, y, n_steps=2).y)(1.5))


def test_init_promotes_integers_and_keeps_float32():
    # An integer y0 is promoted (never truncated); a float32 y0 keeps float32 for y and t.
    s = decay(dt=0.5).init(jnp.array([1, 2]))
    assert jnp.issubdtype(s.y.dtype, jnp.floating) and s.t.dtype == s.y.dtype
    s32 = st.solve(decay(dt=0.5), jnp.ones(2, jnp.float32), n_steps=3)
    assert s32.y.dtype == jnp.float32 and s32.t.dtype == jnp.float32


def test_a_state_to_continue_from_is_checked_like_an_initial_one():
    # A split-step propagator (from_update) has no per-step check, so a NaN State handed back to solve
    # would run silently; solve refuses it eagerly and under jit, as it refuses a NaN y0.
    stepper = st.from_update(lambda t, y: 0.5 * y, 0.1, name="halve", check_step=False)
    good = st.solve(stepper, jnp.ones(3), n_steps=2)
    np.testing.assert_allclose(st.solve(stepper, good, n_steps=1).y, 0.125)  # a finite state continues
    bad = st.State(good.t, good.y.at[1].set(jnp.nan))
    with pytest.raises(ValueError, match="State to continue from"):
        st.solve(stepper, bad, n_steps=1)
    with pytest.raises(Exception, match="State to continue from"):
        jax.jit(lambda s: st.solve(stepper, s, n_steps=1).y)(bad).block_until_ready()
    with pytest.raises(ValueError, match="State to continue from"):
        st.solve(stepper, st.State(jnp.asarray(jnp.inf), good.y), n_steps=1)
