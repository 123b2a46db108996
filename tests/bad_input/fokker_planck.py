"""Bad input for nnworld_jax.fokker_planck (eqs. (18)-(22)): densities, drifts, D, γ, the stepper."""

import jax
import jax.numpy as jnp

from nnworld_jax import fokker_planck as fp
from nnworld_jax.grid import Grid
from nnworld_jax.stepping import solve

from ._harness import Case

G = Grid((8,))
Q = G.axis(0)
P = fp.normalize(jnp.exp(jnp.cos(Q)), G)
F = jnp.sin(Q)
NAN_P = P.at[2].set(jnp.nan)
NEG_P = P.at[2].set(-1.0)
OU = fp.ornstein_uhlenbeck_drift(G, 1.0)


def run(fn, *args, **kw):
    return lambda: jax.block_until_ready(fn(*args, **kw))


def jit_grad(scalar_fn, x):
    return lambda: jax.block_until_ready(jax.jit(jax.grad(scalar_fn))(x))


def rhs_weighted(p=P, D=0.5, gamma=1.0, F=F):
    """A functional linear in p and in D: its gradient needs no primal, the check must still fire."""
    return jnp.sum(fp.fokker_planck_rhs(p, G, D, F=F, gamma=gamma) * Q)


def stepper(**kw):
    args = dict(F=F, gamma=1.0) | kw
    return fp.etdrk4(G, args.pop("D", 0.5), args.pop("dt", 0.1), **args)


INIT, STEP = stepper()


CASES = [
    # normalize
    Case("fokker_planck.normalize", "batched p", run(fp.normalize, jnp.ones((2, 8)), G), r"use jax\.vmap", "input"),
    Case("fokker_planck.normalize", "NaN in p", run(fp.normalize, NAN_P, G), r"p contains NaN", "input"),
    Case("fokker_planck.normalize", "negative density", run(fp.normalize, NEG_P, G), r"negative values", "domain"),
    Case("fokker_planck.normalize", "zero density", run(fp.normalize, jnp.zeros(8), G), r"positive integral", "domain"),
    Case("fokker_planck.normalize", "NaN under jit(grad)", jit_grad(lambda p: jnp.sum(fp.normalize(p, G)), NAN_P),
         r"p contains NaN", "transform"),
    # ornstein_uhlenbeck_drift
    Case("fokker_planck.ornstein_uhlenbeck_drift", "k = -1 (unstable well)", run(fp.ornstein_uhlenbeck_drift, G, -1.0),
         r"k must be finite and > 0", "domain"),
    Case("fokker_planck.ornstein_uhlenbeck_drift", "k = 0", run(fp.ornstein_uhlenbeck_drift, G, 0),
         r"k must be finite and > 0", "domain"),
    Case("fokker_planck.ornstein_uhlenbeck_drift", "k of shape (2,)", run(fp.ornstein_uhlenbeck_drift, G, jnp.ones(2)),
         r"k must be a scalar.*jax\.vmap", "input"),
    Case("fokker_planck.ornstein_uhlenbeck_drift", "NaN k", run(fp.ornstein_uhlenbeck_drift, G, jnp.nan),
         r"k must be finite", "input"),
    Case("fokker_planck.ornstein_uhlenbeck_drift", "center with 2 entries on a 1-D grid",
         run(fp.ornstein_uhlenbeck_drift, G, 1.0, center=(1.0, 2.0)), r"center must have shape \(1,\)", "input"),
    Case("fokker_planck.ornstein_uhlenbeck_drift", "inf center",
         run(fp.ornstein_uhlenbeck_drift, G, 1.0, center=(jnp.inf,)), r"center contains NaN or inf", "input"),
    Case("fokker_planck.ornstein_uhlenbeck_drift", "k < 0 under jit(grad)",
         jit_grad(lambda k: jnp.sum(fp.ornstein_uhlenbeck_drift(G, k)), -1.0), r"k must be finite and > 0",
         "transform"),
    # fokker_planck_rhs
    Case("fokker_planck.fokker_planck_rhs", "batched p", run(fp.fokker_planck_rhs, jnp.ones((2, 8)), G, 0.5, F=F,
                                                             gamma=1.0), r"p must have shape.*jax\.vmap", "input"),
    Case("fokker_planck.fokker_planck_rhs", "D of shape (2,)", run(fp.fokker_planck_rhs, P, G, jnp.ones(2), F=F,
                                                                   gamma=1.0), r"D must be a scalar.*jax\.vmap", "input"),
    Case("fokker_planck.fokker_planck_rhs", "gamma of shape (2,)",
         run(fp.fokker_planck_rhs, P, G, 0.5, F=F, gamma=jnp.ones(2)), r"gamma must be a scalar", "input"),
    Case("fokker_planck.fokker_planck_rhs", "NaN in p", run(fp.fokker_planck_rhs, NAN_P, G, 0.5, F=F, gamma=1.0),
         r"p contains NaN", "input"),
    Case("fokker_planck.fokker_planck_rhs", "inf in F", run(fp.fokker_planck_rhs, P, G, 0.5, F=F.at[0].set(jnp.inf),
                                                            gamma=1.0), r"F contains NaN or inf", "input"),
    Case("fokker_planck.fokker_planck_rhs", "NaN in drift", run(fp.fokker_planck_rhs, P, G, 0.5,
                                                                drift=OU.at[0, 1].set(jnp.nan)),
         r"drift contains NaN", "input"),
    Case("fokker_planck.fokker_planck_rhs", "drift of the wrong shape",
         run(fp.fokker_planck_rhs, P, G, 0.5, drift=OU[0]), r"drift must have shape \(1, 8\)", "input"),
    Case("fokker_planck.fokker_planck_rhs", "D = 0", run(fp.fokker_planck_rhs, P, G, 0.0, F=F, gamma=1.0),
         r"D must be finite and > 0", "domain"),
    Case("fokker_planck.fokker_planck_rhs", "D = -0.5", run(fp.fokker_planck_rhs, P, G, -0.5, F=F, gamma=1.0),
         r"D must be finite and > 0", "domain"),
    Case("fokker_planck.fokker_planck_rhs", "gamma = -1", run(fp.fokker_planck_rhs, P, G, 0.5, F=F, gamma=-1.0),
         r"gamma must be finite and > 0", "domain"),
    Case("fokker_planck.fokker_planck_rhs", "negative density", run(fp.fokker_planck_rhs, NEG_P, G, 0.5, F=F, gamma=1.0),
         r"negative values", "domain"),
    Case("fokker_planck.fokker_planck_rhs", "F without gamma", run(fp.fokker_planck_rhs, P, G, 0.5, F=F),
         r"gamma", "input"),
    Case("fokker_planck.fokker_planck_rhs", "F and drift together", run(fp.fokker_planck_rhs, P, G, 0.5, F=F, drift=OU),
         r"exactly one of F", "input"),
    Case("fokker_planck.fokker_planck_rhs", "unknown method", run(fp.fokker_planck_rhs, P, G, 0.5, F=F, gamma=1.0,
                                                                  method="fd8"), r"method must be", "input"),
    Case("fokker_planck.fokker_planck_rhs", "D < 0 under jit(grad) in D", jit_grad(lambda D: rhs_weighted(D=D), -0.5),
         r"D must be finite and > 0", "transform"),
    Case("fokker_planck.fokker_planck_rhs", "NaN p under jit(grad) in p", jit_grad(lambda p: rhs_weighted(p=p), NAN_P),
         r"p contains NaN", "transform"),
    Case("fokker_planck.fokker_planck_rhs", "gamma < 0 under jit(grad) in gamma",
         jit_grad(lambda g: rhs_weighted(gamma=g), -1.0), r"gamma must be finite and > 0", "transform"),
    Case("fokker_planck.fokker_planck_rhs", "D < 0 under jit(vmap(grad))",
         lambda: jax.block_until_ready(jax.jit(jax.vmap(jax.grad(lambda D: rhs_weighted(D=D))))(jnp.array([0.5, -1.0]))),
         r"D must be finite and > 0", "transform"),
    # shannon_entropy
    Case("fokker_planck.shannon_entropy", "batched p", run(fp.shannon_entropy, jnp.ones((2, 8)), G),
         r"p must have shape", "input"),
    Case("fokker_planck.shannon_entropy", "NaN in p", run(fp.shannon_entropy, NAN_P, G), r"p contains NaN", "input"),
    Case("fokker_planck.shannon_entropy", "negative density", run(fp.shannon_entropy, NEG_P, G), r"negative values",
         "domain"),
    Case("fokker_planck.shannon_entropy", "negative_tol = -1", run(fp.shannon_entropy, P, G, negative_tol=-1.0),
         r"negative_tol must be", "domain"),
    Case("fokker_planck.shannon_entropy", "negative_tol = nan", run(fp.shannon_entropy, P, G, negative_tol=float("nan")),
         r"negative_tol must be", "input"),
    Case("fokker_planck.shannon_entropy", "negative density under jit(grad)",
         jit_grad(lambda p: fp.shannon_entropy(p, G), NEG_P), r"negative values", "transform"),
    # entropy_production_parts
    Case("fokker_planck.entropy_production_parts", "D = 0", run(fp.entropy_production_parts, P, G, 0.0, F=F, gamma=1.0),
         r"D must be finite and > 0", "domain"),
    Case("fokker_planck.entropy_production_parts", "NaN in p",
         run(fp.entropy_production_parts, NAN_P, G, 0.5, F=F, gamma=1.0), r"p contains NaN", "input"),
    Case("fokker_planck.entropy_production_parts", "drift_divergence of shape (3,)",
         run(fp.entropy_production_parts, P, G, 0.5, drift=OU, drift_divergence=jnp.ones(3)),
         r"drift_divergence must be a scalar or have shape", "input"),
    Case("fokker_planck.entropy_production_parts", "NaN drift_divergence",
         run(fp.entropy_production_parts, P, G, 0.5, drift=OU, drift_divergence=jnp.nan),
         r"drift_divergence contains NaN", "input"),
    Case("fokker_planck.entropy_production_parts", "drift_divergence with F",
         run(fp.entropy_production_parts, P, G, 0.5, F=F, gamma=1.0, drift_divergence=1.0),
         r"drift_divergence goes with a drift", "input"),
    Case("fokker_planck.entropy_production_parts", "gamma < 0 under jit(grad)",
         jit_grad(lambda g: fp.entropy_production_parts(P, G, 0.5, F=F, gamma=g).learning, -2.0),
         r"gamma must be finite and > 0", "transform"),
    # entropy_production
    Case("fokker_planck.entropy_production", "D of shape (2,)",
         run(fp.entropy_production, P, G, jnp.ones(2), F=F, gamma=1.0), r"D must be a scalar", "input"),
    Case("fokker_planck.entropy_production", "p with a zero (flow form takes log p)",
         run(fp.entropy_production, P.at[0].set(0.0), G, 0.5, F=F, gamma=1.0), r"p must be > 0 everywhere", "domain"),
    Case("fokker_planck.entropy_production", "NaN in p (operator form)",
         run(fp.entropy_production, NAN_P, G, 0.5, F=F, gamma=1.0, form="operator"), r"p contains NaN", "input"),
    Case("fokker_planck.entropy_production", "unknown form", run(fp.entropy_production, P, G, 0.5, F=F, gamma=1.0,
                                                                 form="heat"), r"form must be", "input"),
    Case("fokker_planck.entropy_production", "D = -1 (flux form)",
         run(fp.entropy_production, P, G, -1.0, F=F, gamma=1.0, form="flux"), r"D must be finite and > 0", "domain"),
    Case("fokker_planck.entropy_production", "D < 0 under jit(grad) (operator form)",
         jit_grad(lambda D: fp.entropy_production(P, G, D, F=F, gamma=1.0, form="operator"), -1.0),
         r"D must be finite and > 0", "transform"),
    Case("fokker_planck.entropy_production", "NaN F under jit(grad) in F",
         jit_grad(lambda f: fp.entropy_production(P, G, 0.5, F=f, gamma=1.0), F.at[1].set(jnp.nan)),
         r"F contains NaN", "transform"),
    # etdrk4 and its init/step
    Case("fokker_planck.etdrk4", "D = 0", run(fp.etdrk4, G, 0.0, 0.1, F=F, gamma=1.0), r"D must be finite and > 0",
         "domain"),
    Case("fokker_planck.etdrk4", "dt = -0.1", run(fp.etdrk4, G, 0.5, -0.1, F=F, gamma=1.0), r"dt must be finite and > 0",
         "domain"),
    Case("fokker_planck.etdrk4", "dt = inf", run(fp.etdrk4, G, 0.5, jnp.inf, F=F, gamma=1.0),
         r"dt must be finite and > 0", "input"),
    Case("fokker_planck.etdrk4", "dt of shape (2,)", run(fp.etdrk4, G, 0.5, jnp.ones(2), F=F, gamma=1.0),
         r"dt must be a scalar", "input"),
    Case("fokker_planck.etdrk4", "NaN in F", run(fp.etdrk4, G, 0.5, 0.1, F=F.at[0].set(jnp.nan), gamma=1.0),
         r"F contains NaN", "input"),
    Case("fokker_planck.etdrk4", "grid is a tuple", run(fp.etdrk4, (8,), 0.5, 0.1, F=F, gamma=1.0),
         r"grid must be a Grid", "input"),
    Case("fokker_planck.etdrk4", "init with a negative density", run(INIT, NEG_P), r"p0 has negative values", "domain"),
    Case("fokker_planck.etdrk4", "init with NaN t0", run(INIT, P, jnp.nan), r"t0 contains NaN", "input"),
    Case("fokker_planck.etdrk4", "D < 0 under jit",
         lambda: jax.block_until_ready(jax.jit(lambda D: fp.etdrk4(G, D, 0.1, F=F, gamma=1.0).step(INIT(P)).y)(-1.0)),
         r"D must be finite and > 0", "transform"),
    Case("fokker_planck.etdrk4", "a step that blows up (dt far above the drift's limit) under jit",
         lambda: jax.block_until_ready(jax.jit(lambda p: solve(stepper(F=None, gamma=None, drift=40 * OU, dt=2.0), p,
                                                              n_steps=40).y)(P)),
         r"fokker_planck\.etdrk4: a step left the domain of the state", "transform"),
]

EXEMPT = {
    "fokker_planck.EntropyProduction": "a NamedTuple of results; built by entropy_production_parts",
}
