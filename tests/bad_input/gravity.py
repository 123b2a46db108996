"""Bad input for nnworld_jax.gravity: pointwise densities (g, ∂g, ∂∂g), metric fields on a grid,
the action (88) with matter and its parameters, eagerly and under jit / vmap / grad."""

import functools
import math

import jax
import jax.numpy as jnp

from nnworld_jax import gravity as gv
from nnworld_jax.grid import Grid

from ._harness import Case


def run(fn, *args, **kw):
    return lambda: jax.block_until_ready(fn(*args, **kw))


def jit_grad(fn, x, *rest, **kw):
    """d fn / d(first argument) under jax.jit(jax.grad)."""
    return lambda: jax.block_until_ready(jax.jit(jax.grad(lambda a: jnp.sum(fn(a, *rest, **kw))))(x))


G = jnp.array([[1.0, 0.1], [0.1, 2.0]])
DG = 0.1 * jnp.ones((2, 2, 2))
DDG = 0.01 * jnp.ones((2, 2, 2, 2))
NAN_G = G.at[0, 0].set(jnp.nan)
ASYM_G = G.at[0, 1].set(0.5)
SING_G = jnp.array([[1.0, 1.0], [1.0, 1.0]])
ASYM_DG = DG.at[0, 1, 0].set(0.7)
GRID = Grid((8, 8))
FIELD = jnp.broadcast_to(jnp.eye(2).reshape(2, 2, 1, 1), (2, 2, 8, 8)) * 1.0
NAN_FIELD = FIELD.at[0, 0, 2, 3].set(jnp.nan)
ASYM_FIELD = FIELD.at[0, 1].set(0.2)
DEG_FIELD = FIELD.at[1, 1, 4, 4].set(0.0)
MATTER = jnp.zeros((1, 8, 8))
LAG = functools.partial(gv.scalar_field_lagrangian, mass=1.0)

CASES = []

# The pointwise densities share one policy: shapes, NaN, symmetric and non-degenerate g.
for name, extra in (("contractions", ()), ("onsager_density", ()), ("gamma_gamma_density", ()),
                    ("einstein_hilbert_density", (DDG,)), ("einstein_tensor_point", (DDG,))):
    fn = getattr(gv, name)
    f = f"gravity.{name}"
    CASES += [
        Case(f, "batched g (2, 2, 2)", run(fn, jnp.ones((2, 2, 2)), DG, *extra), r"g must have shape \(n, n\).*jax\.vmap",
             "input"),
        Case(f, "dg of the wrong shape", run(fn, G, DG[0], *extra), r"dg must have shape \(2, 2, 2\)", "input"),
        Case(f, "NaN in g", run(fn, NAN_G, DG, *extra), r"g contains NaN", "input"),
        Case(f, "inf in dg", run(fn, G, DG.at[1, 1, 1].set(jnp.inf), *extra), r"dg contains NaN or inf", "input"),
        Case(f, "non-symmetric g", run(fn, ASYM_G, DG, *extra), r"g must be symmetric", "domain"),
        Case(f, "dg not symmetric in (α, β)", run(fn, G, ASYM_DG, *extra), r"dg must be symmetric", "domain"),
        Case(f, "degenerate g", run(fn, SING_G, DG, *extra), r"g is degenerate", "domain"),
        Case(f, "degenerate g under jit(grad) in g", jit_grad(fn, SING_G, DG, *extra), r"g is degenerate", "transform"),
        Case(f, "NaN g under jit(vmap(grad))",
             lambda fn=fn, extra=extra: jax.block_until_ready(jax.jit(jax.vmap(jax.grad(
                 lambda a: jnp.sum(fn(a, DG, *extra)))))(jnp.stack([G, NAN_G]))), r"g contains NaN", "transform"),
    ]

for name in ("einstein_hilbert_density", "einstein_tensor_point"):
    fn = getattr(gv, name)
    CASES += [
        Case(f"gravity.{name}", "ddg of the wrong shape", run(fn, G, DG, DDG[0]), r"ddg must have shape", "input"),
        Case(f"gravity.{name}", "NaN in ddg", run(fn, G, DG, DDG.at[0, 0, 0, 0].set(jnp.nan)), r"ddg contains NaN", "input"),
        Case(f"gravity.{name}", "ddg not symmetric in (μ, ν)", run(fn, G, DG, DDG.at[0, 0, 0, 1].set(0.3)),
             r"ddg must be symmetric", "domain"),
        # linear in ddg: the derivative never needs ddg's value, the guard on the result still fires
        Case(f"gravity.{name}", "NaN ddg under jit(grad) in ddg",
             lambda fn=fn: jax.block_until_ready(jax.jit(jax.grad(lambda d: jnp.sum(fn(G, DG, d))))(
                 DDG.at[0, 0, 0, 0].set(jnp.nan))), r"ddg contains NaN", "transform"),
    ]

CASES += [
    Case("gravity.onsager_density", "unknown tensor", run(gv.onsager_density, G, DG, "printed"), r"tensor must be one of",
         "input"),
    # scalar_field_lagrangian
    Case("gravity.scalar_field_lagrangian", "NaN in q", run(gv.scalar_field_lagrangian, G, jnp.array([jnp.nan]), jnp.ones((1, 2))),
         r"q or dq contains NaN", "input"),
    Case("gravity.scalar_field_lagrangian", "dq of the wrong shape", run(gv.scalar_field_lagrangian, G, jnp.ones(1), jnp.ones((1, 3))),
         r"dq shape \(m, 2\)", "input"),
    Case("gravity.scalar_field_lagrangian", "mass of shape (2,)",
         run(gv.scalar_field_lagrangian, G, jnp.ones(1), jnp.ones((1, 2)), mass=jnp.ones(2)), r"mass must be a scalar", "input"),
    Case("gravity.scalar_field_lagrangian", "mass = NaN",
         run(gv.scalar_field_lagrangian, G, jnp.ones(1), jnp.ones((1, 2)), mass=math.nan), r"mass must be finite", "input"),
    Case("gravity.scalar_field_lagrangian", "degenerate g", run(gv.scalar_field_lagrangian, SING_G, jnp.ones(1), jnp.ones((1, 2))),
         r"g is degenerate", "domain"),
    Case("gravity.scalar_field_lagrangian", "non-symmetric g", run(gv.scalar_field_lagrangian, ASYM_G, jnp.ones(1), jnp.ones((1, 2))),
         r"g must be symmetric", "domain"),
    # metric_derivatives
    Case("gravity.metric_derivatives", "field for another grid", run(gv.metric_derivatives, FIELD[..., :4], GRID),
         r"metric must have shape.*jax\.vmap", "input"),
    Case("gravity.metric_derivatives", "NaN in the field", run(gv.metric_derivatives, NAN_FIELD, GRID),
         r"metric contains NaN", "input"),
    Case("gravity.metric_derivatives", "unknown method", run(gv.metric_derivatives, FIELD, GRID, method="fd3"),
         r"method must be one of", "input"),
    Case("gravity.metric_derivatives", "grid is not a Grid", run(gv.metric_derivatives, FIELD, (8, 8)),
         r"grid must be a nnworld_jax\.grid\.Grid", "input"),
    Case("gravity.metric_derivatives", "NaN under jit(grad) (a linear map)",
         jit_grad(lambda m: gv.metric_derivatives(m, GRID), NAN_FIELD), r"metric contains NaN", "transform"),
]

# The field functions: shape, NaN, asymmetric, degenerate; under jit(grad) for the action.
for name in ("density_field", "gravity_action", "gravity_euler_lagrange", "total_action", "einstein_equations"):
    fn = getattr(gv, name)
    f = f"gravity.{name}"
    CASES += [
        Case(f, "batched field", run(fn, FIELD[None], GRID), r"metric must have shape.*jax\.vmap", "input"),
        Case(f, "NaN in the field", run(fn, NAN_FIELD, GRID), r"metric contains NaN", "input"),
        Case(f, "non-symmetric field", run(fn, ASYM_FIELD, GRID), r"metric must be symmetric", "domain"),
        Case(f, "degenerate at one point", run(fn, DEG_FIELD, GRID), r"metric is degenerate", "domain"),
        Case(f, "unknown method", run(fn, FIELD, GRID, method="fd3"), r"method must be one of", "input"),
    ]

CASES += [
    Case("gravity.density_field", "unknown density", run(gv.density_field, FIELD, GRID, "ricci"), r"density must be one of",
         "input"),
    Case("gravity.gravity_action", "degenerate under jit(grad)",
         lambda: jax.block_until_ready(jax.jit(jax.grad(lambda m: gv.gravity_action(m, GRID)))(DEG_FIELD)),
         r"metric is degenerate", "transform"),
    Case("gravity.gravity_action", "NaN under jit(vmap(grad))",
         lambda: jax.block_until_ready(jax.jit(jax.vmap(jax.grad(lambda m: gv.gravity_action(m, GRID))))(
             jnp.stack([FIELD, NAN_FIELD]))), r"metric contains NaN", "transform"),
    Case("gravity.total_action", "newton_g = 0", run(gv.total_action, FIELD, GRID, newton_g=0.0), r"newton_g must be finite and > 0",
         "domain"),
    Case("gravity.total_action", "newton_g of shape (2,)", run(gv.total_action, FIELD, GRID, newton_g=jnp.ones(2)),
         r"newton_g must be a scalar.*jax\.vmap", "input"),
    Case("gravity.total_action", "cosmological_constant = inf", run(gv.total_action, FIELD, GRID, cosmological_constant=math.inf),
         r"cosmological_constant must be finite", "input"),
    Case("gravity.total_action", "newton_g = -1 traced under jit(grad)",
         lambda: jax.block_until_ready(jax.jit(jax.grad(lambda G_: gv.total_action(FIELD, GRID, newton_g=G_)))(-1.0)),
         r"newton_g must be finite and > 0", "transform"),
    Case("gravity.total_action", "matter without a Lagrangian", run(gv.total_action, FIELD, GRID, matter=MATTER),
         r"matter given without a matter_lagrangian", "input"),
    Case("gravity.total_action", "NaN in matter", run(gv.total_action, FIELD, GRID, matter=MATTER.at[0, 1, 1].set(jnp.nan),
                                                       matter_lagrangian=LAG), r"matter contains NaN", "input"),
    Case("gravity.total_action", "matter on another grid", run(gv.total_action, FIELD, GRID, matter=MATTER[..., :4], matter_lagrangian=LAG),
         r"matter must have shape", "input"),
    Case("gravity.total_action", "unknown gravity form", run(gv.total_action, FIELD, GRID, gravity="palatini"),
         r"gravity must be one of", "input"),
    Case("gravity.einstein_equations", "cosmological_constant of shape (2,)",
         run(gv.einstein_equations, FIELD, GRID, cosmological_constant=jnp.zeros(2)), r"cosmological_constant must be a scalar",
         "input"),
    Case("gravity.einstein_equations", "newton_g = NaN", run(gv.einstein_equations, FIELD, GRID, newton_g=math.nan),
         r"newton_g must be finite", "input"),
    # stress_energy
    Case("gravity.stress_energy", "no matter", run(gv.stress_energy, FIELD, None, GRID, matter_lagrangian=LAG),
         r"matter must be an array", "input"),
    Case("gravity.stress_energy", "NaN in matter", run(gv.stress_energy, FIELD, MATTER.at[0, 0, 0].set(jnp.inf), GRID,
                                                        matter_lagrangian=LAG), r"matter contains NaN or inf", "input"),
    Case("gravity.stress_energy", "degenerate metric", run(gv.stress_energy, DEG_FIELD, MATTER, GRID, matter_lagrangian=LAG),
         r"metric is degenerate", "domain"),
    Case("gravity.stress_energy", "matter_lagrangian not callable", run(gv.stress_energy, FIELD, MATTER, GRID, matter_lagrangian=1.0),
         r"matter_lagrangian must be a callable", "input"),
    # euler_lagrange (any action of the field)
    Case("gravity.euler_lagrange", "action not callable", run(gv.euler_lagrange, 1.0, FIELD, GRID), r"action must be a callable",
         "input"),
    Case("gravity.euler_lagrange", "NaN in the field", run(gv.euler_lagrange, jnp.sum, NAN_FIELD, GRID), r"metric contains NaN",
         "input"),
    Case("gravity.euler_lagrange", "non-symmetric field", run(gv.euler_lagrange, jnp.sum, ASYM_FIELD, GRID),
         r"metric must be symmetric", "domain"),
    Case("gravity.euler_lagrange", "batched field", run(gv.euler_lagrange, jnp.sum, FIELD[None], GRID),
         r"metric must have shape.*jax\.vmap", "input"),
    # reference_metric, sample_metric, einstein_tensor_of
    Case("gravity.reference_metric", "batched X", run(gv.reference_metric, jnp.zeros((2, 3)), eps=0.1),
         r"X must be one point.*jax\.vmap", "input"),
    Case("gravity.reference_metric", "NaN in X", run(gv.reference_metric, jnp.array([0.0, jnp.nan]), eps=0.1),
         r"X contains NaN", "input"),
    Case("gravity.reference_metric", "eps = NaN", run(gv.reference_metric, jnp.zeros(2), eps=math.nan), r"eps must be finite",
         "input"),
    Case("gravity.reference_metric", "eps of shape (2,)", run(gv.reference_metric, jnp.zeros(2), eps=jnp.ones(2)),
         r"eps must be a scalar", "input"),
    Case("gravity.reference_metric", "signature of the wrong length",
         run(gv.reference_metric, jnp.zeros(2), eps=0.1, signature=(-1.0, 1.0, 1.0)), r"signature must have one entry",
         "input"),
    Case("gravity.reference_metric", "signature with a zero", run(gv.reference_metric, jnp.zeros(2), eps=0.1, signature=(0.0, 1.0)),
         r"signature must be finite and non-zero", "domain"),
    Case("gravity.sample_metric", "metric_fn not callable", run(gv.sample_metric, GRID, jnp.eye(2)), r"metric_fn must be a callable",
         "input"),
    Case("gravity.sample_metric", "metric_fn of the wrong shape", run(gv.sample_metric, GRID, lambda X: jnp.eye(3)),
         r"metric_fn\(X\) must have shape \(2, 2\)", "input"),
    Case("gravity.sample_metric", "metric_fn NaN somewhere",
         run(gv.sample_metric, GRID, lambda X: jnp.eye(2) / jnp.sin(X[0])), r"metric_fn\(X\) is NaN or inf", "domain"),
    Case("gravity.sample_metric", "grid is not a Grid", run(gv.sample_metric, None, jnp.eye), r"grid must be a", "input"),
    Case("gravity.einstein_tensor_of", "metric_fn not callable", run(gv.einstein_tensor_of, G, jnp.zeros(2)),
         r"metric_fn must be a callable", "input"),
    Case("gravity.einstein_tensor_of", "NaN in X",
         run(gv.einstein_tensor_of, functools.partial(gv.reference_metric, eps=0.1), jnp.array([jnp.nan, 0.0])),
         r"X contains NaN", "input"),
    Case("gravity.einstein_tensor_of", "batched X",
         run(gv.einstein_tensor_of, functools.partial(gv.reference_metric, eps=0.1), jnp.zeros((2, 2))),
         r"X must be one point.*jax\.vmap", "input"),
    Case("gravity.einstein_tensor_of", "degenerate metric",
         run(gv.einstein_tensor_of, lambda X: jnp.diag(jnp.stack([X[0] * 0.0, 1.0 + X[1]])), jnp.zeros(2)),
         r"g is degenerate", "domain"),
]
