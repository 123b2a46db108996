"""Bad input for nnworld_jax.stepping (the one stepping layer of every evolution equation): the driver's
counts, dt, solvers, the ETDRK4 symbol and the five-tap stencil, and the failure policy itself."""

import jax
import jax.numpy as jnp
import numpy as np

from nnworld_jax import stepping as st

from ._harness import Case, run

DECAY = st.ode_stepper(lambda t, y: -y, 0.1)
L = -0.3 * np.arange(5.0) ** 2  # a heat symbol on the rfft layout of 8 points
ZERO_N = lambda u: jnp.zeros(5, complex)  # noqa: E731

CASES = [
    # solve
    Case("stepping.solve", "n_steps = -1", run(st.solve, DECAY, 1.0, n_steps=-1), r"n_steps must be an integer >= 0",
         "domain"),
    Case("stepping.solve", "n_steps = 2.5 (would truncate)", run(st.solve, DECAY, 1.0, n_steps=2.5),
         r"n_steps must be an integer"),
    Case("stepping.solve", "save_every does not divide n_steps", run(st.solve, DECAY, 1.0, n_steps=5, save_every=2),
         r"save_every = 2 must divide n_steps = 5"),
    Case("stepping.solve", "save_every = -1", run(st.solve, DECAY, 1.0, n_steps=4, save_every=-1),
         r"save_every must be an integer >= 0", "domain"),
    Case("stepping.solve", "traced n_steps with saves",
         lambda: jax.jit(lambda n: st.solve(DECAY, 1.0, n_steps=n, save_every=1).y)(3),
         r"n_steps must be an integer known at trace time", "transform"),
    Case("stepping.solve", "negative traced n_steps under jit",
         lambda: jax.block_until_ready(jax.jit(lambda n: st.solve(DECAY, 1.0, n_steps=n).y)(-3)),
         r"n_steps must be an integer >= 0", "transform"),
    Case("stepping.solve", "float traced n_steps under jit",
         lambda: jax.jit(lambda n: st.solve(DECAY, 1.0, n_steps=n).y)(3.0), r"n_steps must be an integer scalar",
         "transform"),
    Case("stepping.solve", "a bare function as the stepper", run(st.solve, lambda s: s, 1.0, n_steps=1),
         r"stepper must be a Stepper"),
    Case("stepping.solve", "NaN in y0", run(st.solve, DECAY, jnp.array([1.0, jnp.nan]), n_steps=1), r"y0 contains NaN"),
    Case("stepping.solve", "t0 = inf", run(st.solve, DECAY, 1.0, t0=jnp.inf, n_steps=1), r"t0 contains NaN or inf"),
    Case("stepping.solve", "t0 with a State to continue from",
         run(st.solve, DECAY, st.State(jnp.zeros(()), jnp.ones(2)), t0=1.0, n_steps=1), r"t0 must not be given with a State"),
    Case("stepping.solve", "string y0", run(st.solve, DECAY, "1.0", n_steps=1), r"y0 must be a number"),
    # from_update
    Case("stepping.from_update", "dt = 0", run(st.from_update, lambda t, y: y, 0.0, name="u"), r"dt must be nonzero",
         "domain"),
    Case("stepping.from_update", "dt = nan", run(st.from_update, lambda t, y: y, jnp.nan, name="u"),
         r"dt contains NaN"),
    Case("stepping.from_update", "dt of shape (2,)", run(st.from_update, lambda t, y: y, jnp.ones(2), name="u"),
         r"dt must be a scalar"),
    Case("stepping.from_update", "dt = nan under jit",
         lambda: jax.block_until_ready(jax.jit(lambda h: st.from_update(lambda t, y: y, h, name="u").step(
             st.State(jnp.zeros(()), jnp.ones(2))).t)(jnp.nan)), r"dt contains NaN", "transform"),
    # ode_stepper
    Case("stepping.ode_stepper", "unknown solver", run(st.ode_stepper, lambda t, y: -y, 0.1, solver="rk5"),
         r"solver must be one of"),
    Case("stepping.ode_stepper", "vector field not callable", run(st.ode_stepper, 1.0, 0.1),
         r"vector_field must be a callable"),
    Case("stepping.ode_stepper", "solver of the wrong type", run(st.ode_stepper, lambda t, y: -y, 0.1, solver=4),
         r"solver must be a name"),
    Case("stepping.ode_stepper", "dt = 0", run(st.ode_stepper, lambda t, y: -y, 0.0), r"dt must be nonzero", "domain"),
    # etdrk4, etdrk4_coefficients
    Case("stepping.etdrk4", "symbol not on the rfft layout", run(st.etdrk4, L[:4], ZERO_N, 0.1, shape=(8,)),
         r"symbol must have the rfftn layout shape \(5,\)"),
    Case("stepping.etdrk4", "dt = -0.1", run(st.etdrk4, L, ZERO_N, -0.1, shape=(8,)), r"dt must be finite and > 0",
         "domain"),
    Case("stepping.etdrk4", "NaN in the symbol", run(st.etdrk4, np.where(L < -1, np.nan, L), ZERO_N, 0.1, shape=(8,)),
         r"symbol contains NaN"),
    Case("stepping.etdrk4", "nonlinear term not callable", run(st.etdrk4, L, 0.0, 0.1, shape=(8,)),
         r"nonlinear must be a callable"),
    Case("stepping.etdrk4", "y0 of the wrong shape", lambda: st.etdrk4(L, ZERO_N, 0.1, shape=(8,)).init(jnp.ones(6)),
         r"y0 must have shape \(8,\)"),
    Case("stepping.etdrk4", "dt = -0.1 under jit",
         lambda: jax.block_until_ready(jax.jit(lambda h: st.etdrk4(L, ZERO_N, h, shape=(8,)).step(
             st.State(jnp.zeros(()), jnp.ones(8))).y)(-0.1)), r"dt must be finite and > 0", "transform"),
    Case("stepping.etdrk4_coefficients", "n_contour = 2", run(st.etdrk4_coefficients, L, 0.1, 2),
         r"n_contour must be an integer >= 4", "domain"),
    # shift_rk4, shift_rk4_taps
    Case("stepping.shift_rk4", "rate = 0", run(st.shift_rk4, lambda y, j: y, 0.0, 0.1), r"rate must be finite and > 0",
         "domain"),
    Case("stepping.shift_rk4", "traced dt", lambda: jax.jit(lambda h: st.shift_rk4(lambda y, j: y, 1.0, h).init(
         jnp.ones(3)).y)(0.1), r"dt must be finite and > 0 \(a concrete scalar\)", "transform"),
    Case("stepping.shift_rk4", "powers not callable", run(st.shift_rk4, None, 1.0, 0.1), r"powers must be a callable"),
    Case("stepping.shift_rk4_taps", "c = nan", run(st.shift_rk4_taps, float("nan")), r"c must be a finite number"),
    # guard_state: the policy itself
    Case("stepping.guard_state", "a NaN state", run(st.guard_state, (jnp.ones(2), jnp.array(jnp.nan)), "mine"),
         r"mine: a step left the domain of the state \(finite\)"),
    Case("stepping.guard_state", "the scheme's own condition under jit",
         lambda: jax.block_until_ready(jax.jit(lambda y: st.guard_state(y, "mine", bad=y < 0, domain="finite, y >= 0"))(
             -jnp.ones(2))), r"mine: a step left the domain of the state \(finite, y >= 0\)", "transform"),
]

EXEMPT = {
    "stepping.State": "a NamedTuple (t, y); built and checked by every stepper's init",
    "stepping.Stepper": "a NamedTuple (init, step); built by the constructors (cases above)",
    "stepping.RK4": "a diffrax solver class (the classical tableau); used through ode_stepper (cases above)",
}
