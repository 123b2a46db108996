"""Bad input for nnworld_jax.hidden (eqs. (49)-(65)): subsystems' moving means, permutations, waves, light cone."""

import jax
import jax.numpy as jnp

from nnworld_jax import hidden as H
from nnworld_jax.network import Network

from ._harness import Case

NET = Network(0.3 * jnp.eye(4), jnp.zeros(4))
X = jnp.linspace(0.1, 0.4, 4)
XS = jnp.stack([X, -X])
NAN_XS = XS.at[0, 1].set(jnp.nan)
PERM = H.cycle_permutation(4)
G = jnp.broadcast_to(jnp.diag(jnp.array([-1.0, 1.0, 1.0])), (4, 3, 3))


def run(fn, *args, **kw):
    return lambda: jax.block_until_ready(fn(*args, **kw))


def jitted(fn, *args):
    return lambda: jax.block_until_ready(jax.jit(fn)(*args))


CASES = [
    Case("hidden.overall_state", "one subsystem given as (N,)", run(H.overall_state, X), r"xs must have shape \(D, N\)"),
    Case("hidden.overall_state", "NaN in xs", run(H.overall_state, NAN_XS), r"xs contains NaN"),
    Case("hidden.mean_step", "state of the wrong length", run(H.mean_step, NET, jnp.ones(3)), r"x.*shape"),
    Case("hidden.mean_step", "NaN state under jit", jitted(lambda x: H.mean_step(NET, x), X.at[0].set(jnp.nan)),
         r"x.*(NaN|finite)", "transform"),
    Case("hidden.mean_rhs", "alpha = -1", run(H.mean_rhs, NET, X, -1.0), r"alpha must be finite and > 0", "domain"),
    Case("hidden.mean_rhs", "alpha = -1 under jit", jitted(lambda a: H.mean_rhs(NET, X, a), -1.0),
         r"alpha must be finite and > 0", "transform"),
    Case("hidden.mean_rhs", "alpha of shape (2,)", run(H.mean_rhs, NET, X, jnp.ones(2)), r"alpha must be a scalar"),
    Case("hidden.mean_trajectory", "steps = -1", run(H.mean_trajectory, NET, XS, -1), r"steps must be an integer >= 0", "domain"),
    Case("hidden.mean_trajectory", "steps = 2.5 (would truncate)", run(H.mean_trajectory, NET, XS, 2.5),
         r"steps must be an integer"),
    Case("hidden.mean_trajectory", "xs0 of shape (N,)", run(H.mean_trajectory, NET, X, 2), r"xs0 must have shape \(D, N\)"),
    Case("hidden.linear_step", "NaN in x", run(H.linear_step, H.shift, X.at[2].set(jnp.nan)), r"x contains NaN"),
    Case("hidden.linear_rhs", "alpha = 0", run(H.linear_rhs, H.shift, X, 0.0), r"alpha must be finite and > 0", "domain"),
    Case("hidden.linear_rhs", "alpha = inf under jit", jitted(lambda a: H.linear_rhs(H.shift, X, a), jnp.inf),
         r"alpha must be finite and > 0", "transform"),
    Case("hidden.cycle_permutation", "n = 0", run(H.cycle_permutation, 0), r"n must be >= 1", "domain"),
    Case("hidden.multi_cycle_permutation", "a cycle of length 0", run(H.multi_cycle_permutation, [3, 0]),
         r"cycle lengths must be .*positive", "domain"),
    Case("hidden.apply_permutation", "perm for 3 neurons on a state of 4", run(H.apply_permutation, PERM[:3], X),
         r"perm must have shape \(4,\)"),
    Case("hidden.apply_permutation", "batched x", run(H.apply_permutation, PERM, XS), r"x must have shape \(N,\).*vmap"),
    Case("hidden.transpose_permutation", "repeated index", run(H.transpose_permutation, jnp.array([0, 0, 1])),
         r"perm must be a permutation", "domain"),
    Case("hidden.transpose_permutation", "float index map", run(H.transpose_permutation, jnp.array([1.0, 0.0])),
         r"perm must be a 1-d integer index map"),
    Case("hidden.shift", "scalar state", run(H.shift, jnp.array(1.0)), r"x must be a state with a neuron axis"),
    Case("hidden.shift_transpose", "scalar state", run(H.shift_transpose, jnp.array(1.0)),
         r"x must be a state with a neuron axis"),
    Case("hidden.permutation_rhs", "alpha = -2", run(H.permutation_rhs, X, -2.0), r"alpha must be finite and > 0", "domain"),
    Case("hidden.permutation_rhs", "alpha = -2 under jit", jitted(lambda a: H.permutation_rhs(X, a), -2.0),
         r"alpha must be finite and > 0", "transform"),
    Case("hidden.permutation_flow", "dt = 0", run(H.permutation_flow, 2.0, 0.0), r"dt must be finite and > 0", "domain"),
    Case("hidden.permutation_flow", "NaN initial state", lambda: H.permutation_flow(2.0, 0.1).init(X.at[0].set(jnp.nan)),
         r"x0 contains NaN"),
    Case("hidden.poisson_shift_exact", "alpha = -1", run(H.poisson_shift_exact, X, -1.0, 0.5),
         r"alpha must be finite and > 0", "domain"),
    Case("hidden.poisson_shift_exact", "tau = NaN under jit", jitted(lambda t: H.poisson_shift_exact(X, 2.0, t), jnp.nan),
         r"tau contains NaN", "transform"),
    Case("hidden.poisson_shift_exact", "batched x0", run(H.poisson_shift_exact, XS, 2.0, 0.5), r"x0 must have shape \(N,\)"),
    Case("hidden.profile_moments", "zero profile", run(H.profile_moments, jnp.zeros(5)), r"non-zero mass", "domain"),
    Case("hidden.profile_moments", "zero profile under jit", jitted(H.profile_moments, jnp.zeros(5)), r"non-zero mass",
         "transform"),
    Case("hidden.translated_profile", "direction = 2", run(H.translated_profile, jnp.exp, X, 0.5, 2),
         r"direction must be \+1 or -1", "domain"),
    Case("hidden.light_cone_interval", "one metric for all neurons", run(H.light_cone_interval, X, XS[:2], G[0]),
         r"metric must have shape \(N, D\+1, D\+1\).*per neuron"),
    Case("hidden.light_cone_interval", "asymmetric metric under jit",
         jitted(lambda g: H.light_cone_interval(X, XS[:2], g), G.at[1, 0, 2].set(0.3)), r"metric must be symmetric",
         "transform"),
    Case("hidden.light_cone_interval", "NaN in dxs", run(H.light_cone_interval, X, NAN_XS), r"dxs contains NaN"),
    Case("hidden.light_cone_residual", "mismatched shapes", run(H.light_cone_residual, XS, XS[:1]),
         r"xs_before and xs_after must have the same shape"),
    Case("hidden.light_cone_residual", "alpha = -1 under jit", jitted(lambda a: H.light_cone_residual(XS, 2 * XS, a), -1.0),
         r"alpha must be finite and > 0", "transform"),
]

EXEMPT: dict[str, str] = {}
