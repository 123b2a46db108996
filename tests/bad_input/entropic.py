"""Bad input for nnworld_jax.entropic (eqs. (26)-(33)): fields p > 0, F, V; coefficients D ≥ 0, γ, μ > 0."""

import jax
import jax.numpy as jnp

from nnworld_jax import entropic as en
from nnworld_jax.grid import Grid
from nnworld_jax.stepping import State

from ._harness import Case

G = Grid((8,))
ST = Grid((4, 8))  # (t, q)
Q = G.axis(0)
P = jnp.exp(0.2 * jnp.cos(Q))
F = jnp.sin(Q)
V = jnp.cos(Q)
C = en.Coefficients(0.3, 0.7, 1.6)
NAN_F = F.at[1].set(jnp.nan)
SIGMA = en.spectral_filter(G, "two-thirds")


def run(fn, *args, **kw):
    return lambda: jax.block_until_ready(fn(*args, **kw))


def jit_grad(scalar_fn, x):
    return lambda: jax.block_until_ready(jax.jit(jax.grad(scalar_fn))(x))


def ham(p=P, F=F, V=V, c=C):
    return en.hamiltonian(p, F, V, G, c)


M = 2
PS, FS = jnp.broadcast_to(P, (M, 8)), jnp.broadcast_to(F, (M, 8))

CASES = [
    # lagrangian_density
    Case("entropic.lagrangian_density", "batched p", run(en.lagrangian_density, jnp.ones((2, 8)), F, F, V, G, C),
         r"p must have shape.*jax\.vmap", "input"),
    Case("entropic.lagrangian_density", "p = 0 somewhere", run(en.lagrangian_density, P.at[0].set(0.0), F, F, V, G, C),
         r"p must be finite and > 0", "domain"),
    Case("entropic.lagrangian_density", "NaN in F_t", run(en.lagrangian_density, P, F, NAN_F, V, G, C),
         r"F_t contains NaN", "input"),
    Case("entropic.lagrangian_density", "gamma = -0.7",
         run(en.lagrangian_density, P, F, F, V, G, en.Coefficients(0.3, -0.7, 1.6)), r"gamma > 0", "domain"),
    Case("entropic.lagrangian_density", "gamma of shape (2,)",
         run(en.lagrangian_density, P, F, F, V, G, en.Coefficients(0.3, jnp.ones(2), 1.6)),
         r"gamma must be a scalar.*jax\.vmap", "input"),
    Case("entropic.lagrangian_density", "c is a list", run(en.lagrangian_density, P, F, F, V, G, [0.3, 0.7]),
         r"c must be Coefficients", "input"),
    Case("entropic.lagrangian_density", "NaN F_t under jit(grad)",
         jit_grad(lambda ft: jnp.sum(en.lagrangian_density(P, F, ft, V, G, C)), NAN_F), r"F_t contains NaN",
         "transform"),
    # hamiltonian
    Case("entropic.hamiltonian", "negative p", run(ham, p=-P), r"p must be finite and > 0", "domain"),
    Case("entropic.hamiltonian", "NaN in V", run(ham, V=V.at[0].set(jnp.nan)), r"V contains NaN", "input"),
    Case("entropic.hamiltonian", "D = -1", run(ham, c=en.Coefficients(-1.0, 0.7, 1.6)), r"D >= 0", "domain"),
    Case("entropic.hamiltonian", "mu = 0", run(ham, c=en.Coefficients(0.3, 0.7, 0.0)), r"mu > 0", "domain"),
    Case("entropic.hamiltonian", "mu = inf", run(ham, c=en.Coefficients(0.3, 0.7, jnp.inf)), r"must be finite",
         "input"),
    Case("entropic.hamiltonian", "unknown method", lambda: en.hamiltonian(P, F, V, G, C, method="fd5"),
         r"method must be", "input"),
    Case("entropic.hamiltonian", "NaN V under jit(grad) in V (H is linear in V)",
         jit_grad(lambda v: ham(V=v), V.at[3].set(jnp.nan)), r"V contains NaN", "transform"),
    Case("entropic.hamiltonian", "D < 0 under jit(grad) in D (H is linear in D)",
         jit_grad(lambda d: ham(c=en.Coefficients(d, 0.7, 1.6)), -1.0), r"D >= 0", "transform"),
    Case("entropic.hamiltonian", "p <= 0 under jit(vmap(grad))",
         lambda: jax.block_until_ready(jax.jit(jax.vmap(jax.grad(lambda p: ham(p=p))))(jnp.stack([P, -P]))),
         r"p must be finite and > 0", "transform"),
    # action
    Case("entropic.action", "p of one time slice", run(en.action, P, F, V, ST, C), r"p must have shape \(4, 8\)",
         "input"),
    Case("entropic.action", "V of shape (3,)", run(en.action, jnp.ones((4, 8)), jnp.zeros((4, 8)), jnp.ones(3), ST, C),
         r"V must have shape", "input"),
    Case("entropic.action", "NaN in F", run(en.action, jnp.ones((4, 8)), jnp.full((4, 8), jnp.nan), V, ST, C),
         r"F contains NaN", "input"),
    Case("entropic.action", "1-D spacetime", run(en.action, P, F, V, G, C), r"time axis", "input"),
    Case("entropic.action", "NaN F under jit(grad)",
         jit_grad(lambda f: en.action(jnp.ones((4, 8)), f, V, ST, C), jnp.full((4, 8), jnp.nan)), r"F contains NaN",
         "transform"),
    # equations_of_motion
    Case("entropic.equations_of_motion", "batched F", run(en.equations_of_motion, P, jnp.zeros((2, 8)), V, G, C),
         r"F must have shape", "input"),
    Case("entropic.equations_of_motion", "p with a zero", run(en.equations_of_motion, P.at[4].set(0.0), F, V, G, C),
         r"p must be finite and > 0", "domain"),
    Case("entropic.equations_of_motion", "gamma = 0", run(en.equations_of_motion, P, F, V, G, en.Coefficients(0.3, 0, 1)),
         r"gamma > 0", "domain"),
    Case("entropic.equations_of_motion", "NaN F under jit",
         lambda: jax.block_until_ready(jax.jit(lambda f: en.equations_of_motion(P, f, V, G, C))(NAN_F)),
         r"F contains NaN", "transform"),
    # velocity
    Case("entropic.velocity", "batched F", run(en.velocity, jnp.zeros((2, 8)), G, C), r"F must have shape", "input"),
    Case("entropic.velocity", "NaN in F", run(en.velocity, NAN_F, G, C), r"F contains NaN", "input"),
    Case("entropic.velocity", "gamma = -1", run(en.velocity, F, G, en.Coefficients(0.3, -1.0, 1.0)), r"gamma > 0",
         "domain"),
    Case("entropic.velocity", "NaN F under jit(grad) (u is linear in F)",
         jit_grad(lambda f: jnp.sum(en.velocity(f, G, C)), NAN_F), r"F contains NaN", "transform"),
    # spectral_filter, apply_filter
    Case("entropic.spectral_filter", "unknown kind", run(en.spectral_filter, G, "gauss"), r"filter kind must be",
         "input"),
    Case("entropic.spectral_filter", "strength = -1", run(en.spectral_filter, G, strength=-1.0),
         r"strength must be finite and > 0", "domain"),
    Case("entropic.spectral_filter", "strength = inf", run(en.spectral_filter, G, strength=float("inf")),
         r"strength must be finite", "input"),
    Case("entropic.spectral_filter", "order = 2.5", run(en.spectral_filter, G, order=2.5),
         r"order must be an integer", "input"),
    Case("entropic.spectral_filter", "grid is a tuple", run(en.spectral_filter, (8,)), r"grid must be a Grid",
         "input"),
    Case("entropic.apply_filter", "shape mismatch", run(en.apply_filter, F, SIGMA[:4]), r"does not match", "input"),
    Case("entropic.apply_filter", "NaN in f", run(en.apply_filter, NAN_F, SIGMA), r"f contains NaN", "input"),
    Case("entropic.apply_filter", "NaN in sigma", run(en.apply_filter, F, SIGMA.at[0].set(jnp.nan)),
         r"sigma contains NaN", "input"),
    Case("entropic.apply_filter", "NaN f under jit(grad) (linear in f)",
         jit_grad(lambda f: jnp.sum(en.apply_filter(f, SIGMA) * Q), NAN_F), r"f contains NaN", "transform"),
    # entropic_stepper
    Case("entropic.entropic_stepper", "learning without a filter", run(en.entropic_stepper, V, G, C, 1e-3),
         r"ill-posed", "domain"),
    Case("entropic.entropic_stepper", "dt = 0", run(en.entropic_stepper, V, G, C, 0.0, learning=False),
         r"dt must be", "domain"),
    Case("entropic.entropic_stepper", "dt = nan", run(en.entropic_stepper, V, G, C, float("nan"), learning=False),
         r"dt must be", "input"),
    Case("entropic.entropic_stepper", "dt of shape (2,)", run(en.entropic_stepper, V, G, C, jnp.ones(2), learning=False),
         r"dt must be a concrete finite scalar", "input"),
    Case("entropic.entropic_stepper", "dt above RK4's bound", run(en.entropic_stepper, V, G, C, 10.0, learning=False),
         r"stability bound", "domain"),
    Case("entropic.entropic_stepper", "NaN in V", run(en.entropic_stepper, V.at[0].set(jnp.nan), G, C, 1e-3,
                                                      learning=False), r"V contains NaN", "input"),
    Case("entropic.entropic_stepper", "mu = -1", run(en.entropic_stepper, V, G, en.Coefficients(0.3, 0.7, -1.0), 1e-3,
                                                     learning=False), r"mu > 0", "domain"),
    Case("entropic.entropic_stepper", "filter of the wrong shape",
         run(en.entropic_stepper, V, G, C, 1e-3, filter=SIGMA[:4]), r"filter must have shape", "input"),
    Case("entropic.entropic_stepper", "init with p <= 0",
         lambda: en.entropic_stepper(V, G, C, 1e-3, learning=False).init((-P, F)), r"p must be finite and > 0", "domain"),
    Case("entropic.entropic_stepper", "init with NaN t0",
         lambda: en.entropic_stepper(V, G, C, 1e-3, learning=False).init((P, F), jnp.nan), r"t0 contains NaN", "input"),
    Case("entropic.entropic_stepper", "init with p alone (not the pair (p, F))",
         lambda: en.entropic_stepper(V, G, C, 1e-3, learning=False).init(P), r"y0 must be the pair \(p, F\)", "input"),
    Case("entropic.entropic_stepper", "NaN V under jit (the check is not discarded)",
         lambda: jax.block_until_ready(jax.jit(
             lambda v: en.entropic_stepper(v, G, C, 1e-3, learning=False).step(State(jnp.zeros(()), (P, F))).y[0])(
             V.at[0].set(jnp.nan))), r"V contains NaN", "transform"),
    # boundary_value_action, boundary_value_residual, solve_boundary_value
    Case("entropic.boundary_value_action", "p with a zero",
         run(en.boundary_value_action, PS.at[0, 0].set(0.0), FS, P, F, V, G, C, 1.0), r"p must be finite and > 0",
         "domain"),
    Case("entropic.boundary_value_action", "T = -1", run(en.boundary_value_action, PS, FS, P, F, V, G, C, -1.0),
         r"T must be finite and > 0", "domain"),
    Case("entropic.boundary_value_action", "T of shape (2,)",
         run(en.boundary_value_action, PS, FS, P, F, V, G, C, jnp.ones(2)), r"T must be a scalar", "input"),
    Case("entropic.boundary_value_action", "F of shape (3, 8)",
         run(en.boundary_value_action, PS, jnp.zeros((3, 8)), P, F, V, G, C, 1.0), r"p and F must both have shape",
         "input"),
    Case("entropic.boundary_value_action", "NaN in F_T", run(en.boundary_value_action, PS, FS, P, NAN_F, V, G, C, 1.0),
         r"F contains NaN", "input"),
    Case("entropic.boundary_value_action", "NaN F under jit(grad)",
         jit_grad(lambda f: en.boundary_value_action(PS, f, P, F, V, G, C, 1.0), FS.at[0, 0].set(jnp.nan)),
         r"F contains NaN", "transform"),
    Case("entropic.boundary_value_residual", "negative p0",
         run(en.boundary_value_residual, PS, FS, -P, F, V, G, C, 1.0), r"p must be finite and > 0", "domain"),
    Case("entropic.boundary_value_residual", "gamma = -0.7",
         run(en.boundary_value_residual, PS, FS, P, F, V, G, en.Coefficients(0.3, -0.7, 1.6), 1.0), r"gamma > 0",
         "domain"),
    Case("entropic.boundary_value_residual", "NaN in V", run(en.boundary_value_residual, PS, FS, P, F,
                                                             V.at[0].set(jnp.nan), G, C, 1.0), r"V contains NaN",
         "input"),
    Case("entropic.solve_boundary_value", "steps = 0", run(en.solve_boundary_value, P, F, V, G, C, 1.0, 0),
         r"steps must be an integer >= 1", "domain"),
    Case("entropic.solve_boundary_value", "steps = 2.5", run(en.solve_boundary_value, P, F, V, G, C, 1.0, 2.5),
         r"steps must be an integer", "input"),
    Case("entropic.solve_boundary_value", "T = inf", run(en.solve_boundary_value, P, F, V, G, C, jnp.inf, 2),
         r"T must be finite", "input"),
    Case("entropic.solve_boundary_value", "max_steps = -5",
         run(en.solve_boundary_value, P, F, V, G, C, 1.0, 2, max_steps=-5), r"max_steps must be an integer", "domain"),
    Case("entropic.solve_boundary_value", "guess with p <= 0",
         run(en.solve_boundary_value, P, F, V, G, C, 1.0, 2, guess=(-PS, FS)), r"p must be finite and > 0", "domain"),
    Case("entropic.solve_boundary_value", "guess of the wrong shape",
         run(en.solve_boundary_value, P, F, V, G, C, 1.0, 2, guess=(P, F)), r"guess must be two arrays", "input"),
    Case("entropic.solve_boundary_value", "negative p0", run(en.solve_boundary_value, -P, F, V, G, C, 1.0, 2),
         r"p must be finite and > 0", "domain"),
]

EXEMPT = {
    "entropic.Coefficients": "a NamedTuple (D, gamma, mu); every kernel checks it where it enters (cases above)",
    "entropic.BoundaryValueSolution": "a NamedTuple of results of solve_boundary_value",
}
