"""Bad input for nnworld_jax.reduced_gravity: ansatz metrics, reduced Lagrangians and actions
(domains r, A, B, a, N > 0, ρ₀ ≥ 0, G > 0, increasing grids), and the Newton solvers, eagerly and
under jit / vmap / grad."""

import math

import jax
import jax.numpy as jnp

from nnworld_jax import reduced_gravity as rg

from ._harness import Case


def run(fn, *args, **kw):
    return lambda: jax.block_until_ready(fn(*args, **kw))


R = jnp.linspace(3.0, 10.0, 8)
A = 1.0 - 2.0 / R
T = jnp.linspace(0.5, 2.0, 8)
AT = T ** (2 / 3)
ENDS = jnp.array([1 - 2 / 3.0, 1 - 2 / 10.0])
NEWTON = r"Newton did not converge"

CASES = [
    # ansatz metrics
    Case("reduced_gravity.static_spherical_metric", "A not callable", run(rg.static_spherical_metric, 1.0, jnp.exp),
         r"A must be a callable", "input"),
    Case("reduced_gravity.static_spherical_metric", "B not callable", run(rg.static_spherical_metric, jnp.exp, None),
         r"B must be a callable", "input"),
    Case("reduced_gravity.static_spherical_metric", "closure at a 3-vector",
         run(rg.static_spherical_metric(jnp.exp, jnp.exp), jnp.ones(3)), r"X must be one point of shape \(4,\)", "input"),
    Case("reduced_gravity.flrw_metric", "a not callable", run(rg.flrw_metric, 2.0), r"a must be a callable", "input"),
    Case("reduced_gravity.flrw_metric", "N not callable", run(rg.flrw_metric, jnp.exp, 1.0), r"N must be a callable", "input"),
    Case("reduced_gravity.flrw_metric", "closure at a batch of points", run(rg.flrw_metric(jnp.exp), jnp.ones((2, 4))),
         r"X must be one point.*jax\.vmap", "input"),
    # schwarzschild_lagrangian (elementwise)
    Case("reduced_gravity.schwarzschild_lagrangian", "A < 0 (inside the horizon)",
         run(rg.schwarzschild_lagrangian, 3.0, -0.1, 0.5, 0.1), r"A must be > 0", "domain"),
    Case("reduced_gravity.schwarzschild_lagrangian", "B = 0", run(rg.schwarzschild_lagrangian, 3.0, 0.5, 0.0, 0.1),
         r"B must be > 0", "domain"),
    Case("reduced_gravity.schwarzschild_lagrangian", "r = -1", run(rg.schwarzschild_lagrangian, -1.0, 0.5, 0.5, 0.1),
         r"r must be > 0", "domain"),
    Case("reduced_gravity.schwarzschild_lagrangian", "NaN in dB", run(rg.schwarzschild_lagrangian, 3.0, 0.5, 0.5, math.nan),
         r"dB contains NaN", "input"),
    Case("reduced_gravity.schwarzschild_lagrangian", "shapes that do not broadcast",
         run(rg.schwarzschild_lagrangian, R, A[:3], A, A), r"broadcast-compatible shapes.*A \(3,\)", "input"),
    Case("reduced_gravity.schwarzschild_lagrangian", "A < 0 under jit(grad)",
         lambda: jax.block_until_ready(jax.jit(jax.grad(lambda a: rg.schwarzschild_lagrangian(3.0, a, 0.5, 0.1)))(-0.2)),
         r"A must be > 0", "transform"),
    Case("reduced_gravity.schwarzschild_lagrangian", "B < 0 under jit(vmap(grad))",
         lambda: jax.block_until_ready(jax.jit(jax.vmap(jax.grad(lambda b: rg.schwarzschild_lagrangian(3.0, 0.5, b, 0.1))))(
             jnp.array([0.5, -0.5]))), r"B must be > 0", "transform"),
    # flrw_dust_lagrangian
    Case("reduced_gravity.flrw_dust_lagrangian", "rho0 of shape (2,)", run(rg.flrw_dust_lagrangian, 1.0, 0.5, 1.0, jnp.ones(2)),
         r"rho0 must be a scalar.*jax\.vmap", "input"),
    Case("reduced_gravity.flrw_dust_lagrangian", "rho0 < 0", run(rg.flrw_dust_lagrangian, 1.0, 0.5, 1.0, -1.0),
         r"rho0 must be finite and >= 0", "domain"),
    Case("reduced_gravity.flrw_dust_lagrangian", "newton_G = 0", run(rg.flrw_dust_lagrangian, 1.0, 0.5, 1.0, 1.0, 0.0),
         r"newton_G must be finite and > 0", "domain"),
    Case("reduced_gravity.flrw_dust_lagrangian", "lapse N = 0", run(rg.flrw_dust_lagrangian, 1.0, 0.5, 0.0, 1.0),
         r"N \(the lapse\) must be > 0", "domain"),
    Case("reduced_gravity.flrw_dust_lagrangian", "a = -1", run(rg.flrw_dust_lagrangian, -1.0, 0.5, 1.0, 1.0),
         r"a must be > 0", "domain"),
    Case("reduced_gravity.flrw_dust_lagrangian", "NaN adot", run(rg.flrw_dust_lagrangian, 1.0, math.nan, 1.0, 1.0),
         r"adot contains NaN", "input"),
    Case("reduced_gravity.flrw_dust_lagrangian", "newton_G = -1 under jit(grad)",
         lambda: jax.block_until_ready(jax.jit(jax.grad(lambda G_: rg.flrw_dust_lagrangian(1.0, 0.5, 1.0, 1.0, G_)))(-1.0)),
         r"newton_G must be finite and > 0", "transform"),
    # schwarzschild_action
    Case("reduced_gravity.schwarzschild_action", "shapes differ", run(rg.schwarzschild_action, A[:-1], A, R),
         r"must have the same shape", "input"),
    Case("reduced_gravity.schwarzschild_action", "two nodes", run(rg.schwarzschild_action, A[:2], A[:2], R[:2]),
         r"r must be a 1D grid of at least 3 nodes", "input"),
    Case("reduced_gravity.schwarzschild_action", "r decreasing", run(rg.schwarzschild_action, A, A, R[::-1]),
         r"r must be strictly increasing", "domain"),
    Case("reduced_gravity.schwarzschild_action", "NaN in r", run(rg.schwarzschild_action, A, A, R.at[2].set(jnp.nan)),
         r"r contains NaN", "input"),
    Case("reduced_gravity.schwarzschild_action", "B <= 0 at a node", run(rg.schwarzschild_action, A, A.at[3].set(-0.1), R),
         r"B must be > 0", "domain"),
    Case("reduced_gravity.schwarzschild_action", "r crossing 0", run(rg.schwarzschild_action, A, A, R - 5.0),
         r"r must be > 0", "domain"),
    Case("reduced_gravity.schwarzschild_action", "A <= 0 under jit(grad)",
         lambda: jax.block_until_ready(jax.jit(jax.grad(lambda a: rg.schwarzschild_action(a, A, R)))(A.at[4].set(-1.0))),
         r"A must be > 0", "transform"),
    # flrw_dust_action
    Case("reduced_gravity.flrw_dust_action", "shapes differ", run(rg.flrw_dust_action, AT[:-1], T, 1.0),
         r"must have the same shape", "input"),
    Case("reduced_gravity.flrw_dust_action", "t decreasing", run(rg.flrw_dust_action, AT, T[::-1], 1.0),
         r"t must be strictly increasing", "domain"),
    Case("reduced_gravity.flrw_dust_action", "lapse of the wrong length", run(rg.flrw_dust_action, AT, T, 1.0, lapse=jnp.ones(8)),
         r"lapse must have one value per cell", "input"),
    Case("reduced_gravity.flrw_dust_action", "negative lapse", run(rg.flrw_dust_action, AT, T, 1.0, lapse=-jnp.ones(7)),
         r"lapse must be > 0", "domain"),
    Case("reduced_gravity.flrw_dust_action", "rho0 = NaN", run(rg.flrw_dust_action, AT, T, math.nan),
         r"rho0 must be finite", "input"),
    Case("reduced_gravity.flrw_dust_action", "rho0 of shape (7,)", run(rg.flrw_dust_action, AT, T, jnp.ones(7)),
         r"rho0 must be a scalar", "input"),
    Case("reduced_gravity.flrw_dust_action", "a <= 0", run(rg.flrw_dust_action, -AT, T, 1.0), r"a must be > 0", "domain"),
    Case("reduced_gravity.flrw_dust_action", "NaN in a under jit(grad)",
         lambda: jax.block_until_ready(jax.jit(jax.grad(lambda a: rg.flrw_dust_action(a, T, 1.0)))(AT.at[3].set(jnp.nan))),
         r"a contains NaN", "transform"),
    # friedmann_constraint
    Case("reduced_gravity.friedmann_constraint", "newton_G = 0", run(rg.friedmann_constraint, AT, T, 1.0, 0.0),
         r"newton_G must be finite and > 0", "domain"),
    Case("reduced_gravity.friedmann_constraint", "t with a repeated node", run(rg.friedmann_constraint, AT, T.at[2].set(T[1]), 1.0),
         r"t must be strictly increasing", "domain"),
    Case("reduced_gravity.friedmann_constraint", "rho0 < 0", run(rg.friedmann_constraint, AT, T, -2.0),
         r"rho0 must be finite and >= 0", "domain"),
    Case("reduced_gravity.friedmann_constraint", "inf in a", run(rg.friedmann_constraint, AT.at[0].set(jnp.inf), T, 1.0),
         r"a contains NaN or inf", "input"),
    # solve_schwarzschild
    Case("reduced_gravity.solve_schwarzschild", "A_ends <= 0", run(rg.solve_schwarzschild, R, jnp.array([-0.1, 0.5]), ENDS),
         r"A_ends must be > 0", "domain"),
    Case("reduced_gravity.solve_schwarzschild", "A_ends of shape (3,)", run(rg.solve_schwarzschild, R, jnp.ones(3), ENDS),
         r"A_ends and B_ends must have shape \(2,\)", "input"),
    Case("reduced_gravity.solve_schwarzschild", "NaN in B_ends", run(rg.solve_schwarzschild, R, ENDS, ENDS.at[1].set(jnp.nan)),
         r"B_ends contains NaN", "input"),
    Case("reduced_gravity.solve_schwarzschild", "r decreasing", run(rg.solve_schwarzschild, R[::-1], ENDS, ENDS),
         r"r must be strictly increasing", "domain"),
    Case("reduced_gravity.solve_schwarzschild", "max_steps = -5", run(rg.solve_schwarzschild, R, ENDS, ENDS, max_steps=-5),
         r"max_steps must be an integer >= 1", "domain"),
    Case("reduced_gravity.solve_schwarzschild", "max_steps = 2.5", run(rg.solve_schwarzschild, R, ENDS, ENDS, max_steps=2.5),
         r"max_steps must be an integer", "input"),
    Case("reduced_gravity.solve_schwarzschild", "rtol = 0", run(rg.solve_schwarzschild, R, ENDS, ENDS, rtol=0.0),
         r"rtol must be finite and > 0", "domain"),
    Case("reduced_gravity.solve_schwarzschild", "atol = NaN", run(rg.solve_schwarzschild, R, ENDS, ENDS, atol=math.nan),
         r"atol must be finite and > 0", "input"),
    Case("reduced_gravity.solve_schwarzschild", "one Newton step (not converged)",
         run(rg.solve_schwarzschild, R, ENDS, ENDS, max_steps=1), NEWTON, "domain"),
    Case("reduced_gravity.solve_schwarzschild", "B_ends <= 0 under jit",
         lambda: jax.block_until_ready(jax.jit(lambda b: rg.solve_schwarzschild(R, ENDS, b).fields[0])(jnp.array([0.3, -0.5]))),
         r"B_ends must be > 0", "transform"),
    # solve_flrw_dust
    Case("reduced_gravity.solve_flrw_dust", "a_ends <= 0", run(rg.solve_flrw_dust, T, jnp.array([0.0, 1.0])),
         r"a_ends must be > 0", "domain"),
    Case("reduced_gravity.solve_flrw_dust", "NaN in t", run(rg.solve_flrw_dust, T.at[2].set(jnp.nan), jnp.array([1.0, 2.0])),
         r"t contains NaN", "input"),
    Case("reduced_gravity.solve_flrw_dust", "newton_G = 0", run(rg.solve_flrw_dust, T, jnp.array([1.0, 2.0]), newton_G=0.0),
         r"newton_G must be finite and > 0", "domain"),
    Case("reduced_gravity.solve_flrw_dust", "rho0 of shape (2,)", run(rg.solve_flrw_dust, T, jnp.array([1.0, 2.0]), rho0=jnp.ones(2)),
         r"rho0 must be a scalar", "input"),
    Case("reduced_gravity.solve_flrw_dust", "max_steps = 0", run(rg.solve_flrw_dust, T, jnp.array([1.0, 2.0]), max_steps=0),
         r"max_steps must be an integer >= 1", "domain"),
    Case("reduced_gravity.solve_flrw_dust", "a_ends of shape (3,)", run(rg.solve_flrw_dust, T, jnp.ones(3)),
         r"a_ends must have shape \(2,\)", "input"),
    Case("reduced_gravity.solve_flrw_dust", "a_ends <= 0 under jit",
         lambda: jax.block_until_ready(jax.jit(lambda e: rg.solve_flrw_dust(T, e).fields[0])(jnp.array([1.0, -1.0]))),
         r"a_ends must be > 0", "transform"),
]

EXEMPT = {"reduced_gravity.Solution": "a NamedTuple of results, built by the solvers (no input to check)"}
